import { agentTables } from '../../../stores/sql-tables.js'
import { SQL_TYPES as T } from '../db.js'
import { createIndex, createTable } from '../migrate.js'


/**
 * Idempotency keys are compared byte for byte: under the usual case-insensitive database
 * collation "Order-1" and "order-1" would otherwise be one key and answer with another
 * request's job. Keys are printable ASCII (validated by the producer), so varchar suffices.
 */
export const IDEMPOTENCY_KEY_TYPE = 'varchar(200)' as const
export const BINARY_COLLATION = 'Latin1_General_100_BIN2'

export function agentMigrations(prefix: string): string[] {
  const t = agentTables(prefix)
  return [
    [
      createTable(
        t.info,
        `    name nvarchar(50) NOT NULL CONSTRAINT ${t.info}_pk PRIMARY KEY,
    value nvarchar(200) NOT NULL`,
      ),
      createTable(
        t.inbox,
        `    job_id ${T.jobId} NOT NULL CONSTRAINT ${t.inbox}_pk PRIMARY KEY,
    message ${T.text} NOT NULL,
    enqueued_at ${T.time} NOT NULL,
    claimed_until ${T.time} NULL,
    claimed_by ${T.workerId} NULL`,
      ),
      createIndex(`${t.inbox}_order`, t.inbox, 'enqueued_at'),
      createTable(
        t.idempotency,
        `    idem_key ${IDEMPOTENCY_KEY_TYPE} COLLATE ${BINARY_COLLATION} NOT NULL CONSTRAINT ${t.idempotency}_pk PRIMARY KEY,
    job_id ${T.jobId} NOT NULL,
    expires_at ${T.time} NOT NULL`,
      ),
      createIndex(`${t.idempotency}_expiry`, t.idempotency, 'expires_at'),
      createTable(
        t.bucketJobs,
        `    job_id ${T.jobId} NOT NULL CONSTRAINT ${t.bucketJobs}_pk PRIMARY KEY,
    bucket_id ${T.bucketId} NOT NULL,
    due_at ${T.time} NOT NULL,
    message ${T.text} NOT NULL,
    fetched_at ${T.time} NULL`,
      ),
      // The owner's fetch: equality on bucket and "not fetched" (IS NULL), then due time in order.
      createIndex(`${t.bucketJobs}_due`, t.bucketJobs, 'bucket_id, fetched_at, due_at'),
    ].join('\n'),
  ]
}

import { agentTables } from '../../../stores/sql-tables.js'
import { TABLE_OPTIONS, UUID } from '../db.js'
import type { Migration } from '../migrate.js'


/**
 * Agent tables for MySQL 8 / MariaDB 10.6+. Messages are LONGTEXT (maxMessageBytes may exceed
 * MEDIUMTEXT's 16 MiB - 1). The bucket index leads with (bucket_id, fetched_at) so the owner's
 * "unfetched and due" scan is one index range in due order.
 */
export function agentMigrations(prefix: string): Migration[] {
  const t = agentTables(prefix)
  return [
    [
      `CREATE TABLE IF NOT EXISTS ${t.info} (
  name VARCHAR(50) NOT NULL PRIMARY KEY,
  value VARCHAR(200) NOT NULL
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.inbox} (
  job_id ${UUID} NOT NULL PRIMARY KEY,
  message LONGTEXT NOT NULL,
  enqueued_at DATETIME(3) NOT NULL,
  claimed_until DATETIME(3) NULL,
  claimed_by VARCHAR(200) NULL,
  KEY inbox_order (enqueued_at)
) ${TABLE_OPTIONS}`,
      // Binary, so keys compare byte for byte: no case folding, no trailing-space padding.
      `CREATE TABLE IF NOT EXISTS ${t.idempotency} (
  idempotency_key VARBINARY(800) NOT NULL PRIMARY KEY,
  job_id ${UUID} NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  KEY idempotency_expiry (expires_at)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.bucketJobs} (
  job_id ${UUID} NOT NULL PRIMARY KEY,
  bucket_id VARCHAR(200) NOT NULL,
  due_at DATETIME(3) NOT NULL,
  message LONGTEXT NOT NULL,
  fetched_at DATETIME(3) NULL,
  KEY bucket_jobs_due (bucket_id, fetched_at, due_at)
) ${TABLE_OPTIONS}`,
    ],
  ]
}

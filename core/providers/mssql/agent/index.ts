import { randomUUID } from 'node:crypto'
import { parseBucketJob, serializeBucketJob, serializeEnvelope } from '../../../envelope.js'
import type { BucketJob, JobEnvelope } from '../../../model.js'
import type { AgentSignal, AgentStore, EnqueueResult, InboxMessage } from '../../../stores/agent.js'
import { toInboxMessage } from '../../../stores/agent-rows.js'
import { atomic, checkedPrefix, lastPerKey, MssqlDb, param, retryOnDuplicateKey, rowsOf, SQL_TYPES as T, type Param, type Runner, type Statement } from '../db.js'
import { migrate, schemaText } from '../migrate.js'
import { agentMigrations, BINARY_COLLATION, IDEMPOTENCY_KEY_TYPE } from './schema.js'
import { agentTables, type AgentTables } from '../../../stores/sql-tables.js'

/**
 * Deletes of unbounded size run in slices below SQL Server's lock-escalation threshold (about
 * 5,000 locks), so a large purge never takes a table lock that would stall producers and owners.
 */
export const DELETE_SLICE = 4000

// ---- provisioning

export function buildEnsureFingerprint(t: AgentTables, fingerprint: string): Statement {
  return {
    text: `INSERT INTO ${t.info} (name, value)
SELECT N'fingerprint', @fingerprint
 WHERE NOT EXISTS (SELECT 1 FROM ${t.info} WITH (UPDLOCK, HOLDLOCK) WHERE name = N'fingerprint')`,
    params: [param('fingerprint', 'nvarchar(200)', fingerprint)],
    statements: 1,
  }
}

export function buildReadFingerprint(t: AgentTables): Statement {
  return { text: `SELECT value FROM ${t.info} WHERE name = N'fingerprint'`, params: [], statements: 1 }
}

// ---- producer side

/** Without idempotency keys: one INSERT of the whole batch; a duplicate id fails it whole. */
export function buildEnqueue(t: AgentTables, envelopes: JobEnvelope[], now: Date): Statement {
  return {
    text: `INSERT INTO ${t.inbox} (job_id, message, enqueued_at)
SELECT u.job_id, u.message, @now
  FROM OPENJSON(@messages) WITH (job_id ${T.jobId} '$.id', message ${T.text} '$.message') AS u`,
    params: [param('now', T.time, now), param('messages', T.text, JSON.stringify(envelopes.map((e) => ({ id: e.id, message: serializeEnvelope(e) }))))],
    statements: 1,
  }
}

/**
 * With idempotency keys, one atomic batch: claim each key (or take over an expired one) with
 * MERGE WITH (HOLDLOCK), which serializes concurrent requests for the same key on its key-range
 * lock; write only the jobs whose key was claimed (or that have none); answer every envelope with
 * the job its key stands for. Within one batch the first envelope of a key claims it.
 */
export function buildEnqueueWithKeys(t: AgentTables, envelopes: JobEnvelope[], windowMs: number, now: Date): Statement {
  const rows = envelopes.map((e, ord) => ({ ord, id: e.id, message: serializeEnvelope(e), key: e.idempotencyKey }))
  return {
    text: `SET XACT_ABORT ON;
BEGIN TRANSACTION;
DECLARE @input TABLE (ord int NOT NULL PRIMARY KEY, job_id ${T.jobId} NOT NULL, message ${T.text} NOT NULL,
                      idem_key ${IDEMPOTENCY_KEY_TYPE} COLLATE ${BINARY_COLLATION} NULL);
DECLARE @claimed TABLE (job_id ${T.jobId} NOT NULL PRIMARY KEY);
INSERT INTO @input (ord, job_id, message, idem_key)
SELECT ord, job_id, message, idem_key
  FROM OPENJSON(@envelopes) WITH (ord int '$.ord', job_id ${T.jobId} '$.id', message ${T.text} '$.message',
                                  idem_key ${IDEMPOTENCY_KEY_TYPE} '$.key');
MERGE ${t.idempotency} WITH (HOLDLOCK) AS k
USING (SELECT i.idem_key, i.job_id FROM @input AS i
        WHERE i.idem_key IS NOT NULL
          AND i.ord = (SELECT MIN(f.ord) FROM @input AS f WHERE f.idem_key = i.idem_key)) AS s
   ON k.idem_key = s.idem_key
WHEN MATCHED AND k.expires_at <= @now THEN UPDATE SET job_id = s.job_id, expires_at = @expiresAt
WHEN NOT MATCHED THEN INSERT (idem_key, job_id, expires_at) VALUES (s.idem_key, s.job_id, @expiresAt)
OUTPUT inserted.job_id INTO @claimed (job_id);
INSERT INTO ${t.inbox} (job_id, message, enqueued_at)
SELECT i.job_id, i.message, @now FROM @input AS i
 WHERE i.idem_key IS NULL OR i.job_id IN (SELECT job_id FROM @claimed);
SELECT CASE WHEN i.idem_key IS NULL THEN i.job_id ELSE k.job_id END AS job_id,
       CAST(CASE WHEN i.idem_key IS NULL OR k.job_id = i.job_id THEN 1 ELSE 0 END AS bit) AS fresh
  FROM @input AS i LEFT JOIN ${t.idempotency} AS k ON k.idem_key = i.idem_key
 ORDER BY i.ord;
COMMIT TRANSACTION;`,
    params: [param('now', T.time, now), param('expiresAt', T.time, new Date(now.getTime() + windowMs)), param('envelopes', T.text, JSON.stringify(rows))],
    statements: 4,
  }
}

// ---- ingest side

/**
 * Competing-consumer claim with a lease: the CTE takes the oldest unleased messages with UPDLOCK
 * and READPAST (rows another consumer is claiming are skipped, not waited for), the UPDATE through
 * it sets the lease, OUTPUT returns them. Nothing is deleted before `ackInbox`.
 */
export function buildClaimInbox(t: AgentTables, limit: number, leaseMs: number, consumer: string, now: Date, enqueuedBefore?: Date): Statement {
  const params: Param[] = [
    param('limit', 'int', limit),
    param('now', T.time, now),
    param('leaseUntil', T.time, new Date(now.getTime() + leaseMs)),
    param('consumer', T.workerId, consumer),
  ]
  let older = ''
  if (enqueuedBefore) {
    older = ' AND enqueued_at <= @enqueuedBefore'
    params.push(param('enqueuedBefore', T.time, enqueuedBefore))
  }
  return {
    text: `WITH next AS (
  SELECT TOP (@limit) job_id, message, claimed_until, claimed_by
    FROM ${t.inbox} WITH (ROWLOCK, UPDLOCK, READPAST)
   WHERE (claimed_until IS NULL OR claimed_until < @now)${older}
   ORDER BY enqueued_at, job_id)
UPDATE next SET claimed_until = @leaseUntil, claimed_by = @consumer
OUTPUT inserted.job_id, inserted.message`,
    params,
    statements: 1,
  }
}

export function buildAckInbox(t: AgentTables, receipts: string[]): Statement {
  return {
    text: `DELETE FROM ${t.inbox} WHERE job_id IN (SELECT job_id FROM OPENJSON(@receipts) WITH (job_id ${T.jobId} '$'))`,
    params: [param('receipts', T.text, JSON.stringify(receipts))],
    statements: 1,
  }
}

export function buildInboxDepth(t: AgentTables): Statement {
  return { text: `SELECT COUNT(*) AS n FROM ${t.inbox}`, params: [], statements: 1 }
}

// ---- buckets

/**
 * Idempotent per job id: a job already in the same bucket is left alone (a re-push must not
 * make a fetched job fetchable again); a job in another bucket is moved there, unfetched.
 */
export function buildPushToBuckets(t: AgentTables, jobs: BucketJob[]): Statement {
  const rows = jobs.map((j) => ({ id: j.id, bucketId: j.bucketId, dueAt: j.scheduledAt.toISOString(), message: serializeBucketJob(j) }))
  return {
    text: `MERGE ${t.bucketJobs} AS b
USING (SELECT job_id, bucket_id, due_at, message
         FROM OPENJSON(@jobs) WITH (job_id ${T.jobId} '$.id', bucket_id ${T.bucketId} '$.bucketId',
                                    due_at ${T.time} '$.dueAt', message ${T.text} '$.message')) AS u
   ON b.job_id = u.job_id
WHEN MATCHED AND b.bucket_id <> u.bucket_id THEN
  UPDATE SET bucket_id = u.bucket_id, due_at = u.due_at, message = u.message, fetched_at = NULL
WHEN NOT MATCHED THEN
  INSERT (job_id, bucket_id, due_at, message) VALUES (u.job_id, u.bucket_id, u.due_at, u.message);`,
    params: [param('jobs', T.text, JSON.stringify(rows))],
    statements: 1,
  }
}

/** The owner's skip-locked fetch of due jobs, oldest first; fetched jobs stay until settled. */
export function buildFetchDue(t: AgentTables, bucketId: string, dueBefore: Date, limit: number, now: Date): Statement {
  return {
    text: `WITH due AS (
  SELECT TOP (@limit) job_id, message, fetched_at
    FROM ${t.bucketJobs} WITH (ROWLOCK, UPDLOCK, READPAST)
   WHERE bucket_id = @bucketId AND fetched_at IS NULL AND due_at <= @dueBefore
   ORDER BY due_at, job_id)
UPDATE due SET fetched_at = @now
OUTPUT inserted.message`,
    params: [param('limit', 'int', limit), param('bucketId', T.bucketId, bucketId), param('dueBefore', T.time, dueBefore), param('now', T.time, now)],
    statements: 1,
  }
}

/** Finished jobs leave, retried ones become fetchable again at their new time; both guarded by bucket. */
export function buildSettle(t: AgentTables, done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Statement {
  const parts: string[] = []
  const params: Param[] = []
  if (done.length > 0) {
    parts.push(`DELETE b FROM ${t.bucketJobs} AS b
  JOIN OPENJSON(@done) WITH (job_id ${T.jobId} '$.jobId', bucket_id ${T.bucketId} '$.bucketId') AS u
    ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id`)
    params.push(param('done', T.text, JSON.stringify(done.map((d) => ({ jobId: d.jobId, bucketId: d.bucketId })))))
  }
  if (retried.length > 0) {
    parts.push(`UPDATE b SET due_at = u.due_at, message = u.message, fetched_at = NULL
  FROM ${t.bucketJobs} AS b
  JOIN OPENJSON(@retried) WITH (job_id ${T.jobId} '$.id', bucket_id ${T.bucketId} '$.bucketId',
                                due_at ${T.time} '$.dueAt', message ${T.text} '$.message') AS u
    ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id`)
    params.push(param('retried', T.text, JSON.stringify(retried.map((j) => ({ id: j.id, bucketId: j.bucketId, dueAt: j.scheduledAt.toISOString(), message: serializeBucketJob(j) })))))
  }
  return { text: atomic(parts), params, statements: parts.length }
}

export function buildClearBucketSlice(t: AgentTables, bucketId: string): Statement {
  return {
    text: `DELETE TOP (@slice) FROM ${t.bucketJobs} WHERE bucket_id = @bucketId`,
    params: [param('slice', 'int', DELETE_SLICE), param('bucketId', T.bucketId, bucketId)],
    statements: 1,
  }
}

export function buildBucketDepth(t: AgentTables, bucketId: string): Statement {
  return { text: `SELECT COUNT(*) AS n FROM ${t.bucketJobs} WHERE bucket_id = @bucketId`, params: [param('bucketId', T.bucketId, bucketId)], statements: 1 }
}

export function buildMissingFromBuckets(t: AgentTables, entries: Array<{ bucketId: string; jobId: string }>): Statement {
  return {
    text: `SELECT u.job_id
  FROM OPENJSON(@entries) WITH (job_id ${T.jobId} '$.jobId', bucket_id ${T.bucketId} '$.bucketId') AS u
 WHERE NOT EXISTS (SELECT 1 FROM ${t.bucketJobs} AS b WHERE b.job_id = u.job_id AND b.bucket_id = u.bucket_id)`,
    params: [param('entries', T.text, JSON.stringify(entries.map((e) => ({ jobId: e.jobId, bucketId: e.bucketId }))))],
    statements: 1,
  }
}

export function buildSignalCancel(t: AgentTables, bucketId: string, jobId: string): Statement {
  return {
    text: `DELETE FROM ${t.bucketJobs} WHERE job_id = @jobId AND bucket_id = @bucketId`,
    params: [param('jobId', T.jobId, jobId), param('bucketId', T.bucketId, bucketId)],
    statements: 1,
  }
}

export function buildPurgeExpiredSlice(t: AgentTables, now: Date): Statement {
  return {
    text: `DELETE TOP (@slice) FROM ${t.idempotency} WHERE expires_at <= @now`,
    params: [param('slice', 'int', DELETE_SLICE), param('now', T.time, now)],
    statements: 1,
  }
}

/** Repeat a sliced DELETE until a slice comes back short; returns the rows deleted. */
export async function deleteInSlices(db: Runner, statement: Statement): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = (await db.run(statement)).rowsAffected[0] ?? 0
    total += deleted
    if (deleted < DELETE_SLICE) return total
  }
}

export async function enqueue(db: Runner, t: AgentTables, envelopes: JobEnvelope[], idempotencyWindowMs: number, now: Date): Promise<EnqueueResult> {
  if (envelopes.length === 0) return { ids: [], duplicates: 0 }
  if (envelopes.every((e) => e.idempotencyKey === null)) {
    await db.run(buildEnqueue(t, envelopes, now))
    return { ids: envelopes.map((e) => e.id), duplicates: 0 }
  }
  // A racing request that inserted the same new key first makes ours fail on the key (the batch
  // rolls back whole); the second run sees its row and answers with its job.
  const result = await retryOnDuplicateKey(() => db.run<{ job_id: string; fresh: boolean }>(buildEnqueueWithKeys(t, envelopes, idempotencyWindowMs, now)))
  const rows = rowsOf(result)
  return { ids: rows.map((r) => r.job_id), duplicates: rows.filter((r) => !r.fresh).length }
}

export async function claimInbox(db: Runner, t: AgentTables, limit: number, leaseMs: number, consumer: string, now: Date, enqueuedBefore?: Date): Promise<InboxMessage[]> {
  const rows = rowsOf(await db.run<{ job_id: string; message: string }>(buildClaimInbox(t, limit, leaseMs, consumer, now, enqueuedBefore)))
  return rows.map(toInboxMessage)
}

export async function pushToBuckets(db: Runner, t: AgentTables, jobs: BucketJob[]): Promise<void> {
  if (jobs.length === 0) return
  // Two pushers inserting the same new job race on its key; the loser re-runs and matches it.
  await retryOnDuplicateKey(() => db.run(buildPushToBuckets(t, lastPerKey(jobs, (j) => j.id))))
}

export async function fetchDue(db: Runner, t: AgentTables, bucketId: string, dueBefore: Date, limit: number, now: Date): Promise<BucketJob[]> {
  const rows = rowsOf(await db.run<{ message: string }>(buildFetchDue(t, bucketId, dueBefore, limit, now)))
  // OUTPUT rows come in no guaranteed order.
  return rows.map((r) => parseBucketJob(r.message)).sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())
}

export async function settle(db: Runner, t: AgentTables, done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Promise<void> {
  if (done.length === 0 && retried.length === 0) return
  await db.run(buildSettle(t, done, lastPerKey(retried, (j) => j.id)))
}

/**
 * The agent on SQL Server: an inbox table claimed with READPAST/UPDLOCK under a lease (nothing is
 * deleted before it is safely in the master) and a bucket table the owner fetches from the same
 * way. SQL Server has no LISTEN/NOTIFY: `pushesSignals` is false and callers poll adaptively.
 */
export class MssqlAgentStore implements AgentStore {
  readonly provider = 'mssql'
  readonly maxLookAheadMs = null
  readonly pushesSignals = false
  readonly db: MssqlDb
  private readonly prefix: string
  private readonly t: AgentTables

  constructor(readonly name: string, url: string, prefix = 'jm_', options: { poolSize?: number } = {}) {
    const resource = `agent connection "${name}"`
    this.prefix = checkedPrefix(prefix, resource)
    this.db = new MssqlDb(url, resource, options)
    this.t = agentTables(this.prefix)
  }

  async provision(): Promise<void> {
    await migrate(this.db, this.prefix, 'agent', agentMigrations(this.prefix))
    await retryOnDuplicateKey(() => this.db.run(buildEnsureFingerprint(this.t, randomUUID())))
  }

  schemaSql = () => schemaText(this.prefix, 'agent', agentMigrations(this.prefix))

  async fingerprint(): Promise<string> {
    const row = rowsOf(await this.db.run<{ value: string }>(buildReadFingerprint(this.t)))[0]
    if (!row) throw new Error(`agent connection "${this.name}" has no fingerprint: it was never provisioned`)
    return row.value
  }

  async ping(): Promise<void> {
    await this.db.run({ text: 'SELECT 1 AS ok', params: [], statements: 1 })
  }

  close = () => this.db.close()

  enqueue = (envelopes: JobEnvelope[], idempotencyWindowMs: number, now: Date) => enqueue(this.db, this.t, envelopes, idempotencyWindowMs, now)
  claimInbox = (limit: number, leaseMs: number, consumer: string, now: Date, enqueuedBefore?: Date) =>
    claimInbox(this.db, this.t, limit, leaseMs, consumer, now, enqueuedBefore)

  async ackInbox(receipts: string[]): Promise<void> {
    if (receipts.length === 0) return
    await this.db.run(buildAckInbox(this.t, receipts))
  }

  async inboxDepth(): Promise<number> {
    return rowsOf(await this.db.run<{ n: number }>(buildInboxDepth(this.t)))[0]?.n ?? 0
  }

  // SQL buckets need no physical set-up: a bucket is the set of rows with its id.
  async createBucket(): Promise<void> {}
  async deleteBucket(bucketId: string): Promise<void> {
    await this.clearBucket(bucketId)
  }

  pushToBuckets = (jobs: BucketJob[]) => pushToBuckets(this.db, this.t, jobs)
  fetchDue = (bucketId: string, dueBefore: Date, limit: number, now: Date) => fetchDue(this.db, this.t, bucketId, dueBefore, limit, now)
  settle = (done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]) => settle(this.db, this.t, done, retried)

  clearBucket = (bucketId: string) => deleteInSlices(this.db, buildClearBucketSlice(this.t, bucketId))

  async bucketDepth(bucketId: string): Promise<number> {
    return rowsOf(await this.db.run<{ n: number }>(buildBucketDepth(this.t, bucketId)))[0]?.n ?? 0
  }

  async missingFromBuckets(entries: Array<{ bucketId: string; jobId: string }>): Promise<string[]> {
    if (entries.length === 0) return []
    return rowsOf(await this.db.run<{ job_id: string }>(buildMissingFromBuckets(this.t, entries))).map((r) => r.job_id)
  }

  /** No push channel on SQL Server: nothing to subscribe to. */
  async subscribe(_listener: (signal: AgentSignal) => void): Promise<() => Promise<void>> {
    return async () => {}
  }

  /**
   * Without a push channel this cannot reach the owner: removing the entry keeps a job that was
   * not fetched yet from running; one already fetched runs on, and its result no longer applies
   * in the master (the transition is guarded on bucket and status).
   */
  async signalCancel(bucketId: string, jobId: string): Promise<void> {
    await this.db.run(buildSignalCancel(this.t, bucketId, jobId))
  }

  purgeExpired = (now: Date) => deleteInSlices(this.db, buildPurgeExpiredSlice(this.t, now))
}

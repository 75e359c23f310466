import { randomUUID } from 'node:crypto'
import { parseBucketJob, serializeBucketJob, serializeEnvelope } from '../../../envelope.js'
import type { BucketJob, JobEnvelope } from '../../../model.js'
import type { AgentSignal, AgentStore, EnqueueResult, InboxMessage } from '../../../stores/agent.js'
import { toInboxMessage } from '../../../stores/agent-rows.js'
import { byId, chunkByBytes, jsonRows, LONG_TEXT, MySqlDb, sqlTime, TIME, UUID, varchar, type Session } from '../db.js'
import { migrate, schemaText } from '../migrate.js'
import { agentMigrations } from './schema.js'
import { agentTables, type AgentTables } from '../../../stores/sql-tables.js'

const BUCKET_ENTRY_COLUMNS = { job_id: UUID, bucket_id: varchar(200) }
const RETRY_COLUMNS = { job_id: UUID, bucket_id: varchar(200), due_at: TIME, message: LONG_TEXT }

/**
 * The agent on MySQL 8 / MariaDB 10.6+: an inbox table claimed with SELECT … FOR UPDATE SKIP
 * LOCKED under a lease (nothing is deleted before it is safely in the master), and a bucket
 * table the owner fetches from the same way.
 *
 * MySQL cannot push notifications, so there are no wake-up hints: `subscribe` registers nothing
 * and workers poll with adaptive back-off (the ingest and bucket loops wait 25 ms after finding
 * nothing, doubling up to `maxIdleMs`, 1 s by default). The worst-case pickup delay of work that
 * arrives while a worker is idle is therefore about `maxIdleMs`; under load the loops do not
 * sleep at all.
 */
export class MySqlAgentStore implements AgentStore {
  readonly provider = 'mysql'
  readonly maxLookAheadMs = null
  readonly pushesSignals = false
  readonly db: MySqlDb
  private readonly t: AgentTables

  constructor(readonly name: string, url: string, private readonly prefix = 'jm_', options: { max?: number } = {}) {
    this.db = new MySqlDb(url, `agent connection "${name}"`, options)
    this.t = agentTables(prefix)
  }

  async provision(): Promise<void> {
    await migrate(this.db, this.prefix, 'agent', agentMigrations(this.prefix))
    // The first provisioning writes the identity; later ones keep it (a no-op update, not IGNORE).
    await this.db.exec(`INSERT INTO ${this.t.info} (name, value) VALUES ('fingerprint', ?) ON DUPLICATE KEY UPDATE name = name`, [randomUUID()])
  }

  schemaSql = () => schemaText(this.prefix, agentMigrations(this.prefix))

  async fingerprint(): Promise<string> {
    const rows = await this.db.query<{ value: string }>(`SELECT value FROM ${this.t.info} WHERE name = 'fingerprint'`)
    if (!rows[0]) throw new Error(`agent connection "${this.name}" has no fingerprint: it was never provisioned`)
    return rows[0].value
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1')
  }

  close = () => this.db.close()

  /**
   * Without idempotency keys: one multi-row INSERT, atomic on its own (a duplicate id fails the
   * whole batch). With keys: one transaction that claims each key (or takes over an expired
   * one), reads back which job owns each key, and writes only the jobs that own theirs. A batch
   * too large for one statement is split, inside a transaction so it stays all or nothing.
   */
  async enqueue(envelopes: JobEnvelope[], idempotencyWindowMs: number, now: Date): Promise<EnqueueResult> {
    if (envelopes.length === 0) return { ids: [], duplicates: 0 }
    const keyed = envelopes.filter((e) => e.idempotencyKey !== null)
    if (keyed.length === 0) {
      const chunks = inboxChunks(envelopes, now)
      if (chunks.length === 1) await this.insertInbox(this.db, chunks)
      else await this.db.transaction((tx) => this.insertInbox(tx, chunks))
      return { ids: envelopes.map((e) => e.id), duplicates: 0 }
    }
    const expiresAt = new Date(now.getTime() + idempotencyWindowMs)
    return this.db.transaction(async (tx) => {
      // Left to right: job_id is decided on the old expires_at before expires_at itself moves.
      // Concurrent first requests for one key serialise on its row (or deadlock, and are retried).
      await tx.exec(
        `INSERT INTO ${this.t.idempotency} (idempotency_key, job_id, expires_at) VALUES ?
         ON DUPLICATE KEY UPDATE job_id = IF(expires_at <= ?, VALUES(job_id), job_id),
                                 expires_at = IF(expires_at <= ?, VALUES(expires_at), expires_at)`,
        [keyed.map((e) => [e.idempotencyKey, e.id, expiresAt]), now, now],
      )
      const owners = await tx.query<{ idempotency_key: Buffer; job_id: string }>(
        `SELECT idempotency_key, job_id FROM ${this.t.idempotency} WHERE idempotency_key IN (?)`,
        [keyed.map((e) => e.idempotencyKey)],
      )
      const ownerOf = new Map(owners.map((r) => [r.idempotency_key.toString('utf8'), r.job_id]))
      const ids = envelopes.map((e) => (e.idempotencyKey === null ? e.id : ownerOf.get(e.idempotencyKey)))
      if (ids.some((id) => id === undefined)) throw new Error('an idempotency key vanished inside its own transaction')
      const fresh = envelopes.filter((e, i) => ids[i] === e.id)
      await this.insertInbox(tx, inboxChunks(fresh, now))
      return { ids: ids as string[], duplicates: envelopes.length - fresh.length }
    })
  }

  private async insertInbox(session: Session, chunks: InboxRow[][]): Promise<void> {
    for (const rows of chunks) await session.exec(`INSERT INTO ${this.t.inbox} (job_id, message, enqueued_at) VALUES ?`, [rows])
  }

  /**
   * Claims walk the index in order (FORCE INDEX) so LIMIT ends the scan: with a filesort the
   * server would read and lock every matching row before sorting, leaving a concurrent claimer
   * nothing to skip to.
   */
  async claimInbox(limit: number, leaseMs: number, consumer: string, now: Date, enqueuedBefore?: Date): Promise<InboxMessage[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ job_id: string; message: string }>(
        `SELECT job_id, message FROM ${this.t.inbox} FORCE INDEX (inbox_order)
          WHERE (claimed_until IS NULL OR claimed_until < ?)${enqueuedBefore ? ' AND enqueued_at <= ?' : ''}
          ORDER BY enqueued_at
          LIMIT ?
          FOR UPDATE SKIP LOCKED`,
        enqueuedBefore ? [now, enqueuedBefore, limit] : [now, limit],
      )
      if (rows.length > 0) {
        await tx.exec(`UPDATE ${this.t.inbox} SET claimed_until = ?, claimed_by = ? WHERE job_id IN (?)`, [new Date(now.getTime() + leaseMs), consumer, rows.map((r) => r.job_id)])
      }
      return rows.map(toInboxMessage)
    })
  }

  async ackInbox(receipts: string[]): Promise<void> {
    if (receipts.length === 0) return
    await this.db.exec(`DELETE FROM ${this.t.inbox} WHERE job_id IN (?)`, [receipts])
  }

  async inboxDepth(): Promise<number> {
    const rows = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${this.t.inbox}`)
    return Number(rows[0]?.n ?? 0)
  }

  // SQL buckets need no physical set-up: a bucket is the set of rows with its id.
  async createBucket(): Promise<void> {}
  async deleteBucket(bucketId: string): Promise<void> {
    await this.clearBucket(bucketId)
  }

  /**
   * Insert, or move a job that sits in another bucket (its fetched mark cleared); a re-push to
   * the same bucket changes nothing, so a fetched job is not delivered twice.
   */
  async pushToBuckets(jobs: BucketJob[]): Promise<void> {
    const rows = byId(jobs, (j) => j.id).map((j) => [j.id, j.bucketId, j.scheduledAt, serializeBucketJob(j)] as const)
    // Each job is independent, so split batches need no transaction. bucket_id is assigned last:
    // the assignments before it compare against the bucket the job was in.
    for (const chunk of chunkByBytes(rows, (row) => row[3].length)) {
      await this.db.exec(
        `INSERT INTO ${this.t.bucketJobs} (job_id, bucket_id, due_at, message) VALUES ?
         ON DUPLICATE KEY UPDATE fetched_at = IF(bucket_id = VALUES(bucket_id), fetched_at, NULL),
                                 due_at = IF(bucket_id = VALUES(bucket_id), due_at, VALUES(due_at)),
                                 message = IF(bucket_id = VALUES(bucket_id), message, VALUES(message)),
                                 bucket_id = VALUES(bucket_id)`,
        [chunk],
      )
    }
  }

  /** Skip-locked like claimInbox, in due order along the (bucket_id, fetched_at, due_at) index. */
  async fetchDue(bucketId: string, dueBefore: Date, limit: number, now: Date): Promise<BucketJob[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ job_id: string; message: string }>(
        `SELECT job_id, message FROM ${this.t.bucketJobs} FORCE INDEX (bucket_jobs_due)
          WHERE bucket_id = ? AND fetched_at IS NULL AND due_at <= ?
          ORDER BY due_at
          LIMIT ?
          FOR UPDATE SKIP LOCKED`,
        [bucketId, dueBefore, limit],
      )
      if (rows.length > 0) await tx.exec(`UPDATE ${this.t.bucketJobs} SET fetched_at = ? WHERE job_id IN (?)`, [now, rows.map((r) => r.job_id)])
      return rows.map((r) => parseBucketJob(r.message))
    })
  }

  /** Two independent statements (each settles its own rows; a repeated settle is a no-op). */
  async settle(done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Promise<void> {
    if (done.length > 0) {
      await this.db.exec(
        `DELETE b FROM ${this.t.bucketJobs} b JOIN ${jsonRows(BUCKET_ENTRY_COLUMNS)} u ON b.job_id = u.job_id WHERE b.bucket_id = u.bucket_id`,
        [JSON.stringify(byId(done, (d) => d.jobId).map((d) => ({ job_id: d.jobId, bucket_id: d.bucketId })))],
      )
    }
    const again = byId(retried, (j) => j.id).map((j) => ({ job_id: j.id, bucket_id: j.bucketId, due_at: sqlTime(j.scheduledAt), message: serializeBucketJob(j) }))
    for (const chunk of chunkByBytes(again, (row) => row.message.length)) {
      await this.db.exec(
        `UPDATE ${this.t.bucketJobs} b JOIN ${jsonRows(RETRY_COLUMNS)} u ON b.job_id = u.job_id
            SET b.due_at = u.due_at, b.message = u.message, b.fetched_at = NULL
          WHERE b.bucket_id = u.bucket_id`,
        [JSON.stringify(chunk)],
      )
    }
  }

  async clearBucket(bucketId: string): Promise<number> {
    const { affectedRows } = await this.db.exec(`DELETE FROM ${this.t.bucketJobs} WHERE bucket_id = ?`, [bucketId])
    return affectedRows
  }

  async bucketDepth(bucketId: string): Promise<number> {
    const rows = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${this.t.bucketJobs} WHERE bucket_id = ?`, [bucketId])
    return Number(rows[0]?.n ?? 0)
  }

  async missingFromBuckets(entries: Array<{ bucketId: string; jobId: string }>): Promise<string[]> {
    if (entries.length === 0) return []
    const rows = await this.db.query<{ job_id: string }>(
      `SELECT u.job_id FROM ${jsonRows(BUCKET_ENTRY_COLUMNS)} u
         LEFT JOIN ${this.t.bucketJobs} b ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id
        WHERE b.job_id IS NULL`,
      [JSON.stringify(entries.map((e) => ({ job_id: e.jobId, bucket_id: e.bucketId })))],
    )
    return rows.map((r) => r.job_id)
  }

  /** No push channel on MySQL: nothing to register (see the class comment for the polling delay). */
  async subscribe(_listener: (signal: AgentSignal) => void): Promise<() => Promise<void>> {
    return async () => {}
  }

  /** Remove the job from its bucket, so an owner that has not fetched it never will. */
  async signalCancel(bucketId: string, jobId: string): Promise<void> {
    await this.db.exec(`DELETE FROM ${this.t.bucketJobs} WHERE job_id = ? AND bucket_id = ?`, [jobId, bucketId])
  }

  async purgeExpired(now: Date): Promise<number> {
    const { affectedRows } = await this.db.exec(`DELETE FROM ${this.t.idempotency} WHERE expires_at <= ?`, [now])
    return affectedRows
  }
}

type InboxRow = [jobId: string, message: string, enqueuedAt: Date]

function inboxChunks(envelopes: JobEnvelope[], now: Date): InboxRow[][] {
  const rows = envelopes.map((e): InboxRow => [e.id, serializeEnvelope(e), now])
  return chunkByBytes(rows, ([, message]) => message.length)
}

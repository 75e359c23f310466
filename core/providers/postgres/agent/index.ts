import { randomUUID } from 'node:crypto'
import { parseBucketJob, serializeBucketJob, serializeEnvelope } from '../../../envelope.js'
import type { BucketJob, JobEnvelope } from '../../../model.js'
import type { AgentSignal, AgentStore, EnqueueResult, InboxMessage } from '../../../stores/agent.js'
import { toInboxMessage } from '../../../stores/agent-rows.js'
import { PgDb } from '../db.js'
import { NotifyHints } from './notify-hints.js'
import { migrate, schemaText } from '../migrate.js'
import { agentMigrations, agentTables, type AgentTables } from './schema.js'

/**
 * The agent on PostgreSQL: an inbox table claimed with FOR UPDATE SKIP LOCKED under a lease
 * (nothing is deleted before it is safely in the master), a bucket table the owner fetches from,
 * and LISTEN/NOTIFY as a wake-up hint.
 */
export class PostgresAgentStore implements AgentStore {
  readonly provider = 'postgres'
  readonly maxLookAheadMs = null
  readonly pushesSignals = true
  readonly db: PgDb
  /**
   * The owner's fetches only mark rows as taken into its memory. Losing that mark in a server crash
   * is harmless (the owner ignores a job it already holds, and its next settlement is a durable
   * commit that flushes the mark too), so they commit without waiting for the WAL flush: at
   * defaults a bucket's drain rate is its in-memory limit divided by the fetch round trip.
   */
  private readonly fetchDb: PgDb
  private readonly t: AgentTables
  private readonly hints: NotifyHints

  constructor(readonly name: string, url: string, private readonly prefix = 'jm_', options: { max?: number } = {}) {
    this.db = new PgDb(url, `agent connection "${name}"`, options)
    this.fetchDb = new PgDb(url, `agent connection "${name}"`, { max: 2, asynchronousCommit: true })
    this.t = agentTables(prefix)
    this.hints = new NotifyHints(this.db, this.t.channel)
  }

  async provision(): Promise<void> {
    await migrate(this.db, this.prefix, 'agent', agentMigrations(this.prefix))
    await this.db.query(`INSERT INTO ${this.t.info} (key, value) VALUES ('fingerprint', $1) ON CONFLICT (key) DO NOTHING`, [randomUUID()])
  }

  schemaSql = () => schemaText(this.prefix, agentMigrations(this.prefix))

  async fingerprint(): Promise<string> {
    const rows = await this.db.query<{ value: string }>(`SELECT value FROM ${this.t.info} WHERE key = 'fingerprint'`)
    if (!rows[0]) throw new Error(`agent connection "${this.name}" has no fingerprint: it was never provisioned`)
    return rows[0].value
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1')
  }

  close = async () => {
    await this.hints.settled()
    await Promise.all([this.db.close(), this.fetchDb.close()])
  }

  async enqueue(envelopes: JobEnvelope[], idempotencyWindowMs: number, now: Date): Promise<EnqueueResult> {
    if (envelopes.length === 0) return { ids: [], duplicates: 0 }
    const ids = envelopes.map((e) => e.id)
    const messages = envelopes.map(serializeEnvelope)
    if (envelopes.every((e) => e.idempotencyKey === null)) {
      // One job (the common request) goes without array parameters: cheaper to encode and plan.
      if (envelopes.length === 1) {
        await this.db.query(`INSERT INTO ${this.t.inbox} (job_id, message, enqueued_at) VALUES ($1, $2, $3)`, [ids[0], messages[0], now])
      } else {
        await this.db.query(
          `INSERT INTO ${this.t.inbox} (job_id, message, enqueued_at) SELECT u.job_id, u.message, $3 FROM unnest($1::uuid[], $2::text[]) AS u(job_id, message)`,
          [ids, messages, now],
        )
      }
      this.hints.send('i')
      return { ids, duplicates: 0 }
    }
    // With idempotency keys: claim each key (or take over an expired one); only jobs whose key was
    // claimed are written; the others answer with the first job's id. One statement, atomic.
    const run = () =>
      this.db.query<{ job_id: string | null; fresh: boolean }>(
        `WITH input AS (
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS u(job_id, message, key, ord)
         ), claimed AS (
           INSERT INTO ${this.t.idempotency} AS k (key, job_id, expires_at)
           SELECT key, job_id, $4 FROM input WHERE key IS NOT NULL
           ON CONFLICT (key) DO UPDATE SET job_id = EXCLUDED.job_id, expires_at = EXCLUDED.expires_at WHERE k.expires_at <= $5
           RETURNING key, job_id
         ), ins AS (
           INSERT INTO ${this.t.inbox} (job_id, message, enqueued_at)
           SELECT i.job_id, i.message, $5 FROM input i
            WHERE i.key IS NULL OR EXISTS (SELECT 1 FROM claimed c WHERE c.job_id = i.job_id)
           RETURNING job_id
         )
         SELECT CASE WHEN i.key IS NULL OR c.job_id IS NOT NULL THEN i.job_id ELSE e.job_id END AS job_id,
                (i.key IS NULL OR c.job_id IS NOT NULL) AS fresh,
                (SELECT count(*) FROM ins) AS written
           FROM input i
           LEFT JOIN claimed c ON c.key = i.key
           LEFT JOIN ${this.t.idempotency} e ON e.key = i.key
          ORDER BY i.ord`,
        [ids, messages, envelopes.map((e) => e.idempotencyKey), new Date(now.getTime() + idempotencyWindowMs), now],
      )
    let rows = await run()
    // A concurrent request with the same new key commits between our snapshot and our insert: its
    // row is invisible to this statement. Running again sees it.
    if (rows.some((r) => r.job_id === null)) rows = await run()
    if (rows.some((r) => r.job_id === null)) throw new Error(`agent connection "${this.name}": idempotency key race did not settle`)
    if (rows.some((r) => r.fresh)) this.hints.send('i')
    return { ids: rows.map((r) => r.job_id!), duplicates: rows.filter((r) => !r.fresh).length }
  }

  async claimInbox(limit: number, leaseMs: number, consumer: string, now: Date, enqueuedBefore?: Date): Promise<InboxMessage[]> {
    const rows = await this.db.query<{ job_id: string; message: string }>(
      `WITH c AS (
         SELECT job_id FROM ${this.t.inbox}
          WHERE (claimed_until IS NULL OR claimed_until < $1) AND ($2::timestamptz IS NULL OR enqueued_at <= $2)
          ORDER BY enqueued_at
          LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE ${this.t.inbox} i SET claimed_until = $4, claimed_by = $5 FROM c WHERE i.job_id = c.job_id
       RETURNING i.job_id, i.message`,
      [now, enqueuedBefore ?? null, limit, new Date(now.getTime() + leaseMs), consumer],
    )
    return rows.map(toInboxMessage)
  }

  async ackInbox(receipts: string[]): Promise<void> {
    if (receipts.length === 0) return
    await this.db.query(`DELETE FROM ${this.t.inbox} WHERE job_id = ANY($1::uuid[])`, [receipts])
  }

  async inboxDepth(): Promise<number> {
    const rows = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t.inbox}`)
    return rows[0]?.n ?? 0
  }

  // SQL buckets need no physical set-up: a bucket is the set of rows with its id.
  async createBucket(): Promise<void> {}
  async deleteBucket(bucketId: string): Promise<void> {
    await this.clearBucket(bucketId)
  }

  async pushToBuckets(jobs: BucketJob[]): Promise<void> {
    if (jobs.length === 0) return
    const touched = await this.db.query<{ bucket_id: string }>(
      `WITH ins AS (
         INSERT INTO ${this.t.bucketJobs} AS b (job_id, bucket_id, due_at, message)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, "bucketId" text, "scheduledAt" timestamptz, message text)
         ON CONFLICT (job_id) DO UPDATE SET bucket_id = EXCLUDED.bucket_id, due_at = EXCLUDED.due_at,
            message = EXCLUDED.message, fetched_at = NULL
          WHERE b.bucket_id <> EXCLUDED.bucket_id
         RETURNING bucket_id)
       SELECT DISTINCT bucket_id FROM ins`,
      [jobs.map(bucketRow)],
    )
    for (const { bucket_id } of touched) this.hints.send(`b:${bucket_id}`)
  }

  async fetchDue(bucketId: string, dueBefore: Date, limit: number, now: Date): Promise<BucketJob[]> {
    const rows = await this.fetchDb.query<{ message: string }>(
      `WITH c AS (
         SELECT job_id FROM ${this.t.bucketJobs}
          WHERE bucket_id = $1 AND fetched_at IS NULL AND due_at <= $2
          ORDER BY due_at
          LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE ${this.t.bucketJobs} b SET fetched_at = $4 FROM c WHERE b.job_id = c.job_id
       RETURNING b.message`,
      [bucketId, dueBefore, limit, now],
    )
    return rows.map((r) => parseBucketJob(r.message)).sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())
  }

  async settle(done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Promise<void> {
    if (done.length === 0 && retried.length === 0) return
    await this.db.query(
      `WITH gone AS (
         DELETE FROM ${this.t.bucketJobs} b USING jsonb_to_recordset($1::jsonb) AS u("jobId" uuid, "bucketId" text)
          WHERE b.job_id = u."jobId" AND b.bucket_id = u."bucketId"
         RETURNING 1
       ), again AS (
         UPDATE ${this.t.bucketJobs} b SET due_at = u."scheduledAt", message = u.message, fetched_at = NULL
           FROM jsonb_to_recordset($2::jsonb) AS u(id uuid, "bucketId" text, "scheduledAt" timestamptz, message text)
          WHERE b.job_id = u.id AND b.bucket_id = u."bucketId"
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM gone) AS gone, (SELECT count(*) FROM again) AS again`,
      [done, retried.map(bucketRow)],
    )
  }

  async clearBucket(bucketId: string): Promise<number> {
    const rows = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${this.t.bucketJobs} WHERE bucket_id = $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [bucketId],
    )
    return rows[0]?.n ?? 0
  }

  async bucketDepth(bucketId: string): Promise<number> {
    const rows = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t.bucketJobs} WHERE bucket_id = $1`, [bucketId])
    return rows[0]?.n ?? 0
  }

  async missingFromBuckets(entries: Array<{ bucketId: string; jobId: string }>): Promise<string[]> {
    if (entries.length === 0) return []
    const rows = await this.db.query<{ job_id: string }>(
      `SELECT u.job_id FROM unnest($1::uuid[], $2::text[]) AS u(job_id, bucket_id)
         LEFT JOIN ${this.t.bucketJobs} b ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id
        WHERE b.job_id IS NULL`,
      [entries.map((e) => e.jobId), entries.map((e) => e.bucketId)],
    )
    return rows.map((r) => r.job_id)
  }

  async subscribe(listener: (signal: AgentSignal) => void): Promise<() => Promise<void>> {
    const { unlisten } = await this.db.sql.listen(this.t.channel, (payload) => {
      const signal = decodeSignal(payload)
      if (signal) listener(signal)
    })
    return unlisten
  }

  async signalCancel(bucketId: string, jobId: string): Promise<void> {
    await this.db.query(`DELETE FROM ${this.t.bucketJobs} WHERE job_id = $1 AND bucket_id = $2`, [jobId, bucketId])
    await this.hints.flush(`c:${bucketId}|${jobId}`)
  }

  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${this.t.idempotency} WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [now],
    )
    return rows[0]?.n ?? 0
  }
}

/**
 * A bucket table row as an element of the one JSONB parameter that pushes and settlements take
 * (one native JSON.stringify in the driver, where typed arrays were escaped element by element).
 */
function bucketRow(job: BucketJob): { id: string; bucketId: string; scheduledAt: Date; message: string } {
  return { id: job.id, bucketId: job.bucketId, scheduledAt: job.scheduledAt, message: serializeBucketJob(job) }
}

function decodeSignal(payload: string): AgentSignal | null {
  if (payload === 'i') return { kind: 'inbox' }
  if (payload.startsWith('b:')) return { kind: 'bucket', bucketId: payload.slice(2) }
  if (payload.startsWith('c:')) {
    const [bucketId, jobId] = payload.slice(2).split('|')
    if (bucketId && jobId) return { kind: 'cancel', bucketId, jobId }
  }
  return null
}

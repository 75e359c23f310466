import { IN_BUCKET_STATUSES, PRIORITY_RANK, TERMINAL_STATUSES, type AttemptRecord, type JobRecord, type JobStatus } from '../../../model.js'
import type { JobCursor, JobListFilter, JobMark, JobTransition, NewMasterJob } from '../../../stores/master.js'
import { byId, chunkByBytes, ER_DUP_ENTRY, errnoOf, jsonRows, LONG_TEXT, sqlTime, sqlTimeOrNull, TIME, UUID, varchar, type MySqlDb, type Session } from '../db.js'
import { toAttemptRecord, toJobRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const IN_BUCKET = IN_BUCKET_STATUSES.map((s) => `'${s}'`).join(',')
const TERMINAL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(',')

function jobRow(clusterId: string, j: NewMasterJob, now: Date): unknown[] {
  const e = j.envelope
  return [
    e.id, clusterId, e.definition, j.status, PRIORITY_RANK[e.priority], e.lane, JSON.stringify(e.payload ?? null), JSON.stringify(e.metadata),
    e.scheduledAt, e.scheduledAt, e.createdAt, now, e.maxRetries, e.timeoutMs, j.agentConnection, j.bucketId, e.idempotencyKey,
  ]
}

const INSERT_JOBS = (t: MasterTables) =>
  `INSERT INTO ${t.jobs} (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at,
      original_scheduled_at, created_at, updated_at, max_retries, timeout_ms, agent_connection, bucket_id, idempotency_key)
   VALUES ?`

/**
 * insertJobs: one multi-row INSERT per batch (batches of very large payloads are split to stay
 * under max_allowed_packet). A plain INSERT, neither IGNORE (which also turns truncation and
 * other real errors into warnings) nor ON DUPLICATE KEY (after which nothing tells which rows
 * were new): a re-delivered job makes the statement fail whole with a duplicate-key error, and
 * only then are the existing ids looked up and the rest inserted. The usual batch costs one
 * statement; a batch with re-deliveries costs three.
 */
export async function insertJobs(db: MySqlDb, t: MasterTables, clusterId: string, jobs: NewMasterJob[], now: Date): Promise<string[]> {
  const unique = [...new Map(jobs.map((j) => [j.envelope.id, j])).values()]
  const inserted: string[] = []
  for (const chunk of chunkByBytes(unique, approximateBytes)) {
    inserted.push(...(await insertNew(db, t, clusterId, chunk, now)))
  }
  return inserted
}

function approximateBytes(j: NewMasterJob): number {
  return 400 + JSON.stringify(j.envelope.payload ?? null).length + JSON.stringify(j.envelope.metadata).length
}

/** Each attempt either inserts everything still pending, or learns of rows another ingester just wrote. */
async function insertNew(db: MySqlDb, t: MasterTables, clusterId: string, jobs: NewMasterJob[], now: Date): Promise<string[]> {
  let pending = jobs
  for (let attempt = 1; ; attempt++) {
    try {
      await db.exec(INSERT_JOBS(t), [pending.map((j) => jobRow(clusterId, j, now))])
      return pending.map((j) => j.envelope.id)
    } catch (error) {
      if (errnoOf(error) !== ER_DUP_ENTRY || attempt === 3) throw error
    }
    const existing = await db.query<{ id: string }>(`SELECT id FROM ${t.jobs} WHERE id IN (?)`, [pending.map((j) => j.envelope.id)])
    const known = new Set(existing.map((r) => r.id))
    pending = pending.filter((j) => !known.has(j.envelope.id))
    if (pending.length === 0) return []
  }
}

const MARK_COLUMNS = { id: UUID, bucket_id: varchar(200), status: varchar(20), attempt: 'INT', worker_id: varchar(200), marked_at: TIME }

/** markJobs: Queued / Processing marks from bucket owners in one statement, guarded by bucket and in-bucket status. */
export async function markJobs(db: MySqlDb, t: MasterTables, marks: JobMark[], now: Date): Promise<void> {
  if (marks.length === 0) return
  const rows = byId(marks, (m) => m.id).map((m) => ({ id: m.id, bucket_id: m.bucketId, status: m.status, attempt: m.attempt, worker_id: m.workerId, marked_at: sqlTime(m.at) }))
  await db.exec(
    `UPDATE ${t.jobs} j JOIN ${jsonRows(MARK_COLUMNS)} u ON j.id = u.id
        SET j.status = u.status, j.attempts = GREATEST(j.attempts, u.attempt), j.worker_id = u.worker_id,
            j.started_at = IF(u.status = 'Processing', u.marked_at, j.started_at), j.updated_at = ?
      WHERE j.bucket_id = u.bucket_id AND j.status IN (${IN_BUCKET})`,
    [JSON.stringify(rows), now],
  )
}

const TRANSITION_COLUMNS = {
  id: UUID,
  from_bucket: varchar(200),
  from_statuses: varchar(200),
  status: varchar(20),
  bucket_id: varchar(200),
  agent_connection: varchar(100),
  scheduled_at: TIME,
  attempts: 'INT',
  finished_at: TIME,
  last_error: LONG_TEXT,
}

const ATTEMPT_COLUMNS = {
  job_id: UUID,
  attempt: 'INT',
  worker_id: varchar(200),
  bucket_id: varchar(200),
  started_at: TIME,
  ended_at: TIME,
  outcome: varchar(20),
  error: LONG_TEXT,
  result: LONG_TEXT,
}

/**
 * transitionJobs: guarded multi-row state change plus the attempt history rows, in one short
 * transaction. Without UPDATE … RETURNING the rows that pass the compare-and-set are locked and
 * listed first (that list is the answer), then changed in one UPDATE; the history goes in with
 * one INSERT … SELECT (taking each job's cluster from the job row).
 */
export async function transitionJobs(db: MySqlDb, t: MasterTables, transitions: JobTransition[], attempts: AttemptRecord[], now: Date): Promise<string[]> {
  if (transitions.length === 0 && attempts.length === 0) return []
  const rows = byId(transitions, (x) => x.id).map((x) => ({
    id: x.id,
    from_bucket: x.fromBucketId,
    from_statuses: x.fromStatuses.join(','),
    status: x.status,
    bucket_id: x.bucketId,
    agent_connection: x.agentConnection,
    scheduled_at: sqlTime(x.scheduledAt),
    attempts: x.attempts,
    finished_at: sqlTimeOrNull(x.finishedAt),
    last_error: x.lastError,
  }))
  return db.transaction(async (tx) => {
    const applied: string[] = []
    // Error texts can make a large flush exceed max_allowed_packet: chunked like the inserts.
    for (const chunk of chunkByBytes(rows, (r) => 300 + (r.last_error?.length ?? 0))) {
      const moves = JSON.stringify(chunk)
      const guarded = await tx.query<{ id: string }>(
        `SELECT j.id FROM ${t.jobs} j JOIN ${jsonRows(TRANSITION_COLUMNS)} u ON j.id = u.id
          WHERE j.bucket_id <=> u.from_bucket AND FIND_IN_SET(j.status, u.from_statuses) > 0
          FOR UPDATE`,
        [moves],
      )
      if (guarded.length === 0) continue
      const ids = guarded.map((r) => r.id)
      // The rows are locked: the guard checked above still holds.
      await tx.exec(
        `UPDATE ${t.jobs} j JOIN ${jsonRows(TRANSITION_COLUMNS)} u ON j.id = u.id
            SET j.status = u.status, j.bucket_id = u.bucket_id, j.agent_connection = u.agent_connection,
                j.scheduled_at = u.scheduled_at, j.attempts = GREATEST(j.attempts, u.attempts), j.finished_at = u.finished_at,
                j.last_error = COALESCE(u.last_error, j.last_error),
                j.worker_id = IF(u.bucket_id IS NULL, NULL, j.worker_id),
                j.claimed_until = NULL, j.updated_at = ?
          WHERE j.id IN (?)`,
        [moves, now, ids],
      )
      applied.push(...ids)
    }
    await insertAttempts(tx, t, attempts)
    return applied
  })
}

/** History rows of jobs that exist, one INSERT … SELECT per chunk (results can be up to 64 KiB each). */
async function insertAttempts(session: Session, t: MasterTables, attempts: AttemptRecord[]): Promise<void> {
  const rows = attempts.map((a) => ({
    job_id: a.jobId,
    attempt: a.attempt,
    worker_id: a.workerId,
    bucket_id: a.bucketId,
    started_at: sqlTime(a.startedAt),
    ended_at: sqlTime(a.endedAt),
    outcome: a.outcome,
    error: a.error,
    // Pre-serialised: JSON_TABLE reads it as text, which is exactly what the JSON column stores.
    result: a.result === undefined ? null : JSON.stringify(a.result),
  }))
  for (const chunk of chunkByBytes(rows, (r) => 300 + (r.error?.length ?? 0) + (r.result?.length ?? 0))) {
    await session.exec(
      `INSERT INTO ${t.attempts} (job_id, cluster_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result)
       SELECT a.job_id, j.cluster_id, a.attempt, a.worker_id, a.bucket_id, a.started_at, a.ended_at, a.outcome, a.error, a.result
         FROM ${jsonRows(ATTEMPT_COLUMNS)} a JOIN ${t.jobs} j ON j.id = a.job_id`,
      [JSON.stringify(chunk)],
    )
  }
}

/**
 * claimDueHeldJobs: skip-locked claim with a short lease, so concurrent coordinators split the
 * work; occurrences whose schedule skips overlapping runs wait until due. The scan is forced along (cluster_id, status, scheduled_at) so LIMIT ends it: a filesort
 * would lock every due row before sorting and leave the other coordinators nothing.
 */
export async function claimDueHeldJobs(db: MySqlDb, t: MasterTables, clusterId: string, dueBefore: Date, limit: number, claimMs: number, now: Date): Promise<JobRecord[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(
      `SELECT * FROM ${t.jobs} FORCE INDEX (jobs_due)
        WHERE cluster_id = ? AND status = 'HeldOnMaster' AND scheduled_at <= ?
          AND (claimed_until IS NULL OR claimed_until < ?)
          AND (skip_if_overlapping = FALSE OR scheduled_at <= ?)
        ORDER BY scheduled_at
        LIMIT ?
        FOR UPDATE SKIP LOCKED`,
      [clusterId, dueBefore, now, now, limit],
    )
    if (rows.length > 0) await tx.exec(`UPDATE ${t.jobs} SET claimed_until = ? WHERE id IN (?)`, [new Date(now.getTime() + claimMs), rows.map((r) => r.id)])
    return rows.map(toJobRecord)
  })
}

export async function jobsInBucket(db: MySqlDb, t: MasterTables, bucketId: string, limit: number): Promise<JobRecord[]> {
  const rows = await db.query(`SELECT * FROM ${t.jobs} WHERE bucket_id = ? AND status IN (${IN_BUCKET}) ORDER BY scheduled_at LIMIT ?`, [bucketId, limit])
  return rows.map(toJobRecord)
}

/**
 * findStrandedJobs: jobs recorded in a bucket that no longer exists or is retired (a push raced a
 * drain), and jobs AssignedToBucket long past due (an agent write lost between master and agent).
 */
export async function findStrandedJobs(db: MySqlDb, t: MasterTables, clusterId: string, now: Date, overdueMs: number, limit: number) {
  const orphaned = await db.query(
    `SELECT j.* FROM ${t.jobs} j LEFT JOIN ${t.buckets} b ON b.id = j.bucket_id
      WHERE j.cluster_id = ? AND j.bucket_id IS NOT NULL AND j.status IN (${IN_BUCKET})
        AND (b.id IS NULL OR b.status = 'ReadyToDelete')
      LIMIT ?`,
    [clusterId, limit],
  )
  const overdueBefore = new Date(now.getTime() - overdueMs)
  const overdue = await db.query(
    `SELECT j.* FROM ${t.jobs} j JOIN ${t.buckets} b ON b.id = j.bucket_id
      WHERE j.cluster_id = ? AND j.status = 'AssignedToBucket' AND j.scheduled_at < ? AND j.updated_at < ?
        AND b.status = 'Active'
      LIMIT ?`,
    [clusterId, overdueBefore, overdueBefore, limit],
  )
  return { orphaned: orphaned.map(toJobRecord), overdue: overdue.map(toJobRecord) }
}

/** cancelJob: lock the row, keep its before-image as the answer, then cancel it if not yet terminal. */
export async function cancelJob(db: MySqlDb, t: MasterTables, clusterId: string, id: string, now: Date): Promise<JobRecord | null> {
  return db.transaction(async (tx) => {
    const [before] = await tx.query(`SELECT * FROM ${t.jobs} WHERE id = ? AND cluster_id = ? FOR UPDATE`, [id, clusterId])
    if (!before || TERMINAL_STATUSES.includes(before.status)) return null
    await tx.exec(`UPDATE ${t.jobs} SET status = 'Cancelled', bucket_id = NULL, agent_connection = NULL, finished_at = ?, updated_at = ? WHERE id = ?`, [now, now, id])
    return toJobRecord(before)
  })
}

export async function getJobs(db: MySqlDb, t: MasterTables, clusterId: string, ids: string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return []
  const rows = await db.query(`SELECT * FROM ${t.jobs} WHERE cluster_id = ? AND id IN (?)`, [clusterId, ids])
  return rows.map(toJobRecord)
}

export async function listAttempts(db: MySqlDb, t: MasterTables, clusterId: string, jobId: string): Promise<AttemptRecord[]> {
  const rows = await db.query(`SELECT * FROM ${t.attempts} WHERE cluster_id = ? AND job_id = ? ORDER BY attempt, id`, [clusterId, jobId])
  return rows.map(toAttemptRecord)
}

/** The WHERE clause shared by countJobs and listJobs. Every value is a placeholder, metadata included. */
function filterSql(clusterId: string, filter: JobListFilter): { where: string; params: unknown[] } {
  const clauses = ['cluster_id = ?']
  const params: unknown[] = [clusterId]
  const add = (clause: string, value: unknown) => {
    clauses.push(clause)
    params.push(value)
  }
  if (filter.status !== undefined) add('status = ?', filter.status)
  if (filter.definition !== undefined) add('definition = ?', filter.definition)
  if (filter.lane !== undefined) {
    if (filter.lane === null) clauses.push('lane IS NULL')
    else add('lane = ?', filter.lane)
  }
  if (filter.bucketId !== undefined) add('bucket_id = ?', filter.bucketId)
  if (filter.scheduleId !== undefined) add('schedule_id = ?', filter.scheduleId)
  // Containment of the whole filter object: every key must be present with an equal value.
  if (filter.metadata && Object.keys(filter.metadata).length > 0) add('JSON_CONTAINS(metadata, ?)', JSON.stringify(filter.metadata))
  if (filter.createdFrom) add('created_at >= ?', filter.createdFrom)
  if (filter.createdTo) add('created_at < ?', filter.createdTo)
  return { where: clauses.join(' AND '), params }
}

export async function countJobs(db: MySqlDb, t: MasterTables, clusterId: string, filter: JobListFilter): Promise<number> {
  const { where, params } = filterSql(clusterId, filter)
  const rows = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t.jobs} WHERE ${where}`, params)
  return Number(rows[0]?.n ?? 0)
}

export async function listJobs(db: MySqlDb, t: MasterTables, clusterId: string, filter: JobListFilter, limit: number, after?: JobCursor): Promise<JobRecord[]> {
  const { where, params } = filterSql(clusterId, filter)
  // The keyset spelled out (not a row comparison) so the (cluster_id, created_at, id) index serves it.
  const keyset = after ? ' AND (created_at < ? OR (created_at = ? AND id < ?))' : ''
  const keysetParams = after ? [after.createdAt, after.createdAt, after.id] : []
  const rows = await db.query(`SELECT * FROM ${t.jobs} WHERE ${where}${keyset} ORDER BY created_at DESC, id DESC LIMIT ?`, [...params, ...keysetParams, limit])
  return rows.map(toJobRecord)
}

export async function countJobsByStatus(db: MySqlDb, t: MasterTables, clusterId: string): Promise<Partial<Record<JobStatus, number>>> {
  const rows = await db.query<{ status: JobStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM ${t.jobs} WHERE cluster_id = ? GROUP BY status`, [clusterId])
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
}

/** purgeFinishedJobs: lock a bounded batch of finished jobs, delete their history and them, in one transaction. */
export async function purgeFinishedJobs(db: MySqlDb, t: MasterTables, clusterId: string, before: Date, limit: number): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string }>(
      `SELECT id FROM ${t.jobs} WHERE cluster_id = ? AND finished_at < ? AND status IN (${TERMINAL})
        ORDER BY finished_at LIMIT ? FOR UPDATE SKIP LOCKED`,
      [clusterId, before, limit],
    )
    const ids = rows.map((r) => r.id)
    if (ids.length === 0) return 0
    await tx.exec(`DELETE FROM ${t.attempts} WHERE job_id IN (?)`, [ids])
    const { affectedRows } = await tx.exec(`DELETE FROM ${t.jobs} WHERE id IN (?)`, [ids])
    return affectedRows
  })
}

import { IN_BUCKET_STATUSES, PRIORITY_RANK, type AttemptRecord, type JobRecord, type JobStatus } from '../../../model.js'
import type { JobCursor, JobListFilter, JobMark, JobTransition, NewMasterJob } from '../../../stores/master.js'
import { isoOrNull, type PgDb } from '../db.js'
import { toAttemptRecord, toJobRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const IN_BUCKET = IN_BUCKET_STATUSES.map((s) => `'${s}'`).join(',')

/** insertJobs: one multi-row INSERT through unnest; a re-delivered job (same id) inserts nothing. */
export async function insertJobs(db: PgDb, t: MasterTables, clusterId: string, jobs: NewMasterJob[], now: Date): Promise<string[]> {
  if (jobs.length === 0) return []
  const rows = await db.query<{ id: string }>(
    `INSERT INTO ${t.jobs} (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at,
        original_scheduled_at, created_at, updated_at, max_retries, timeout_ms, agent_connection, bucket_id, idempotency_key)
     SELECT u.id, $1, u.definition, u.status, u.priority, u.lane, u.payload::jsonb, u.metadata::jsonb, u.scheduled_at::timestamptz,
        u.scheduled_at::timestamptz, u.created_at::timestamptz, $2, u.max_retries, u.timeout_ms, u.agent_connection, u.bucket_id, u.idempotency_key
     FROM unnest($3::uuid[], $4::text[], $5::text[], $6::smallint[], $7::text[], $8::text[], $9::text[],
        $10::text[], $11::text[], $12::int[], $13::bigint[], $14::text[], $15::text[], $16::text[])
       AS u(id, definition, status, priority, lane, payload, metadata, scheduled_at, created_at, max_retries, timeout_ms,
            agent_connection, bucket_id, idempotency_key)
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [
      clusterId,
      now,
      jobs.map((j) => j.envelope.id),
      jobs.map((j) => j.envelope.definition),
      jobs.map((j) => j.status),
      jobs.map((j) => PRIORITY_RANK[j.envelope.priority]),
      jobs.map((j) => j.envelope.lane),
      jobs.map((j) => JSON.stringify(j.envelope.payload ?? null)),
      jobs.map((j) => JSON.stringify(j.envelope.metadata)),
      jobs.map((j) => j.envelope.scheduledAt.toISOString()),
      jobs.map((j) => j.envelope.createdAt.toISOString()),
      jobs.map((j) => j.envelope.maxRetries),
      jobs.map((j) => j.envelope.timeoutMs),
      jobs.map((j) => j.agentConnection),
      jobs.map((j) => j.bucketId),
      jobs.map((j) => j.envelope.idempotencyKey),
    ],
  )
  return rows.map((r) => r.id)
}

/** markJobs: Queued / Processing marks from bucket owners, guarded by bucket and in-bucket status. */
export async function markJobs(db: PgDb, t: MasterTables, marks: JobMark[], now: Date): Promise<void> {
  if (marks.length === 0) return
  await db.query(
    `UPDATE ${t.jobs} j
        SET status = u.status, attempts = GREATEST(j.attempts, u.attempt), worker_id = u.worker_id,
            started_at = CASE WHEN u.status = 'Processing' THEN u.at::timestamptz ELSE j.started_at END, updated_at = $1
       FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[])
         AS u(id, bucket_id, status, attempt, worker_id, at)
      WHERE j.id = u.id AND j.bucket_id = u.bucket_id AND j.status IN (${IN_BUCKET})`,
    [
      now,
      marks.map((m) => m.id),
      marks.map((m) => m.bucketId),
      marks.map((m) => m.status),
      marks.map((m) => m.attempt),
      marks.map((m) => m.workerId),
      marks.map((m) => m.at.toISOString()),
    ],
  )
}

/** transitionJobs: guarded multi-row state change plus the attempt history rows, in one statement. */
export async function transitionJobs(db: PgDb, t: MasterTables, transitions: JobTransition[], attempts: AttemptRecord[], now: Date): Promise<string[]> {
  if (transitions.length === 0 && attempts.length === 0) return []
  const rows = await db.query<{ id: string }>(
    `WITH moved AS (
       UPDATE ${t.jobs} j
          SET status = u.status, bucket_id = u.bucket_id, agent_connection = u.agent_connection,
              scheduled_at = u.scheduled_at::timestamptz, attempts = GREATEST(j.attempts, u.attempts), finished_at = u.finished_at::timestamptz,
              last_error = COALESCE(u.last_error, j.last_error),
              worker_id = CASE WHEN u.bucket_id IS NULL THEN NULL ELSE j.worker_id END,
              claimed_until = NULL, updated_at = $1
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
                     $10::text[], $11::text[])
           AS u(id, from_bucket, from_statuses, status, bucket_id, agent_connection, scheduled_at, attempts, finished_at, last_error)
        WHERE j.id = u.id AND j.bucket_id IS NOT DISTINCT FROM u.from_bucket
          AND j.status = ANY(string_to_array(u.from_statuses, ','))
       RETURNING j.id
     ), history AS (
       INSERT INTO ${t.attempts} (job_id, cluster_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result)
       SELECT a.job_id, j.cluster_id, a.attempt, a.worker_id, a.bucket_id, a.started_at::timestamptz, a.ended_at::timestamptz, a.outcome, a.error, a.result::jsonb
         FROM unnest($12::uuid[], $13::int[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[])
           AS a(job_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result)
         JOIN ${t.jobs} j ON j.id = a.job_id
     )
     SELECT id FROM moved`,
    [
      now,
      transitions.map((x) => x.id),
      transitions.map((x) => x.fromBucketId),
      transitions.map((x) => x.fromStatuses.join(',')),
      transitions.map((x) => x.status),
      transitions.map((x) => x.bucketId),
      transitions.map((x) => x.agentConnection),
      transitions.map((x) => x.scheduledAt.toISOString()),
      transitions.map((x) => x.attempts),
      transitions.map((x) => isoOrNull(x.finishedAt)),
      transitions.map((x) => x.lastError),
      attempts.map((a) => a.jobId),
      attempts.map((a) => a.attempt),
      attempts.map((a) => a.workerId),
      attempts.map((a) => a.bucketId),
      attempts.map((a) => a.startedAt.toISOString()),
      attempts.map((a) => a.endedAt.toISOString()),
      attempts.map((a) => a.outcome),
      attempts.map((a) => a.error),
      attempts.map((a) => (a.result === undefined ? null : JSON.stringify(a.result))),
    ],
  )
  return rows.map((r) => r.id)
}

/**
 * claimDueHeldJobs: skip-locked claim with a short lease, so concurrent coordinators split the
 * work. Occurrences whose schedule skips overlapping runs wait until due: whether the previous
 * run has finished is decided when they are handed over.
 */
export async function claimDueHeldJobs(db: PgDb, t: MasterTables, clusterId: string, dueBefore: Date, limit: number, claimMs: number, now: Date): Promise<JobRecord[]> {
  const rows = await db.query(
    `WITH c AS (
       SELECT id FROM ${t.jobs}
        WHERE cluster_id = $1 AND status = 'HeldOnMaster' AND scheduled_at <= $2
          AND (claimed_until IS NULL OR claimed_until < $3)
          AND (NOT skip_if_overlapping OR scheduled_at <= $3)
        ORDER BY scheduled_at
        LIMIT $4
        FOR UPDATE SKIP LOCKED)
     UPDATE ${t.jobs} j SET claimed_until = $5 FROM c WHERE j.id = c.id
     RETURNING j.*`,
    [clusterId, dueBefore, now, limit, new Date(now.getTime() + claimMs)],
  )
  return rows.map(toJobRecord).sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())
}

export async function jobsInBucket(db: PgDb, t: MasterTables, bucketId: string, limit: number): Promise<JobRecord[]> {
  const rows = await db.query(
    `SELECT * FROM ${t.jobs} WHERE bucket_id = $1 AND status IN (${IN_BUCKET}) ORDER BY scheduled_at LIMIT $2`,
    [bucketId, limit],
  )
  return rows.map(toJobRecord)
}

/**
 * findStrandedJobs: jobs recorded in a bucket that no longer exists or is retired (a push raced a
 * drain), and jobs AssignedToBucket long past due (an agent write lost between master and agent).
 */
export async function findStrandedJobs(db: PgDb, t: MasterTables, clusterId: string, now: Date, overdueMs: number, limit: number) {
  const orphaned = await db.query(
    `SELECT j.* FROM ${t.jobs} j LEFT JOIN ${t.buckets} b ON b.id = j.bucket_id
      WHERE j.cluster_id = $1 AND j.bucket_id IS NOT NULL AND j.status IN (${IN_BUCKET})
        AND (b.id IS NULL OR b.status = 'ReadyToDelete')
      LIMIT $2`,
    [clusterId, limit],
  )
  const overdue = await db.query(
    `SELECT j.* FROM ${t.jobs} j JOIN ${t.buckets} b ON b.id = j.bucket_id
      WHERE j.cluster_id = $1 AND j.status = 'AssignedToBucket' AND j.scheduled_at < $2 AND j.updated_at < $2
        AND b.status = 'Active'
      LIMIT $3`,
    [clusterId, new Date(now.getTime() - overdueMs), limit],
  )
  return { orphaned: orphaned.map(toJobRecord), overdue: overdue.map(toJobRecord) }
}

export async function cancelJob(db: PgDb, t: MasterTables, clusterId: string, id: string, now: Date): Promise<JobRecord | null> {
  const rows = await db.query(
    `WITH before AS (SELECT * FROM ${t.jobs} WHERE id = $1 AND cluster_id = $2 FOR UPDATE)
     UPDATE ${t.jobs} j SET status = 'Cancelled', bucket_id = NULL, agent_connection = NULL, finished_at = $3, updated_at = $3
       FROM before WHERE j.id = before.id AND before.status NOT IN ('Succeeded','Failed','Cancelled')
     RETURNING before.*`,
    [id, clusterId, now],
  )
  return rows[0] ? toJobRecord(rows[0]) : null
}

export async function getJobs(db: PgDb, t: MasterTables, clusterId: string, ids: string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return []
  const rows = await db.query(`SELECT * FROM ${t.jobs} WHERE cluster_id = $1 AND id = ANY($2::uuid[])`, [clusterId, ids])
  return rows.map(toJobRecord)
}

export async function listAttempts(db: PgDb, t: MasterTables, clusterId: string, jobId: string): Promise<AttemptRecord[]> {
  const rows = await db.query(
    `SELECT * FROM ${t.attempts} WHERE cluster_id = $1 AND job_id = $2 ORDER BY attempt, id`,
    [clusterId, jobId],
  )
  return rows.map(toAttemptRecord)
}

/** The WHERE clause shared by countJobs and listJobs; parameters start at $2 ($1 is the cluster). */
function filterSql(filter: JobListFilter): { where: string; params: unknown[] } {
  const clauses = ['cluster_id = $1']
  const params: unknown[] = []
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value)
    clauses.push(clause(`$${params.length + 1}`))
  }
  if (filter.status !== undefined) add((n) => `status = ${n}`, filter.status)
  if (filter.definition !== undefined) add((n) => `definition = ${n}`, filter.definition)
  if (filter.lane !== undefined) {
    if (filter.lane === null) clauses.push('lane IS NULL')
    else add((n) => `lane = ${n}`, filter.lane)
  }
  if (filter.bucketId !== undefined) add((n) => `bucket_id = ${n}`, filter.bucketId)
  if (filter.scheduleId !== undefined) add((n) => `schedule_id = ${n}::uuid`, filter.scheduleId)
  if (filter.metadata && Object.keys(filter.metadata).length > 0) add((n) => `metadata @> ${n}::text::jsonb`, JSON.stringify(filter.metadata))
  if (filter.createdFrom) add((n) => `created_at >= ${n}`, filter.createdFrom)
  if (filter.createdTo) add((n) => `created_at < ${n}`, filter.createdTo)
  return { where: clauses.join(' AND '), params }
}

export async function countJobs(db: PgDb, t: MasterTables, clusterId: string, filter: JobListFilter): Promise<number> {
  const { where, params } = filterSql(filter)
  const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.jobs} WHERE ${where}`, [clusterId, ...params])
  return rows[0]?.n ?? 0
}

export async function listJobs(db: PgDb, t: MasterTables, clusterId: string, filter: JobListFilter, limit: number, after?: JobCursor): Promise<JobRecord[]> {
  const { where, params } = filterSql(filter)
  const all = [clusterId, ...params]
  let keyset = ''
  if (after) {
    all.push(after.createdAt, after.id)
    keyset = ` AND (created_at, id) < ($${all.length - 1}, $${all.length}::uuid)`
  }
  all.push(limit)
  const rows = await db.query(`SELECT * FROM ${t.jobs} WHERE ${where}${keyset} ORDER BY created_at DESC, id DESC LIMIT $${all.length}`, all)
  return rows.map(toJobRecord)
}

export async function countJobsByStatus(db: PgDb, t: MasterTables, clusterId: string): Promise<Partial<Record<JobStatus, number>>> {
  const rows = await db.query<{ status: JobStatus; n: number }>(`SELECT status, count(*)::int AS n FROM ${t.jobs} WHERE cluster_id = $1 GROUP BY status`, [clusterId])
  return Object.fromEntries(rows.map((r) => [r.status, r.n]))
}

export async function purgeFinishedJobs(db: PgDb, t: MasterTables, clusterId: string, before: Date, limit: number): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `WITH gone AS (
       DELETE FROM ${t.jobs} WHERE id IN (
         SELECT id FROM ${t.jobs} WHERE cluster_id = $1 AND finished_at < $2 AND status IN ('Succeeded','Failed','Cancelled')
          LIMIT $3)
       RETURNING id),
     history AS (DELETE FROM ${t.attempts} a USING gone WHERE a.job_id = gone.id)
     SELECT count(*)::int AS n FROM gone`,
    [clusterId, before, limit],
  )
  return rows[0]?.n ?? 0
}

import { IN_BUCKET_STATUSES, PRIORITY_RANK, TERMINAL_STATUSES, type AttemptRecord, type JobRecord, type JobStatus } from '../../../model.js'
import type { JobCursor, JobListFilter, JobMark, JobTransition, NewMasterJob } from '../../../stores/master.js'
import { atomic, firstPerKey, isoOrNull, lastPerKey, param, retryOnDuplicateKey, rowsOf, SQL_TYPES as T, type Param, type Runner, type Statement } from '../db.js'
import { toAttemptRecord, toJobRecord } from './rows.js'
import { columnList, JOB_COLUMNS } from './schema.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

/** Status lists are constants of the model, written as literals (a filtered plan needs literals). */
function literals(values: readonly string[]): string {
  return values.map((v) => `N'${v}'`).join(', ')
}
const IN_BUCKET = literals(IN_BUCKET_STATUSES)
const TERMINAL = literals(TERMINAL_STATUSES)
const COLUMNS = columnList(JOB_COLUMNS)

// ---- insertJobs

/**
 * One INSERT … SELECT over the whole batch, shredded from one JSON parameter (so a batch of any
 * size stays far under the 2,100-parameter limit). A re-delivered job (same id) inserts nothing.
 */
export function buildInsertJobs(t: MasterTables, clusterId: string, jobs: NewMasterJob[], now: Date): Statement {
  const rows = jobs.map((j) => ({
    id: j.envelope.id,
    definition: j.envelope.definition,
    status: j.status,
    priority: PRIORITY_RANK[j.envelope.priority],
    lane: j.envelope.lane,
    payload: JSON.stringify(j.envelope.payload ?? null),
    metadata: JSON.stringify(j.envelope.metadata),
    scheduledAt: j.envelope.scheduledAt.toISOString(),
    createdAt: j.envelope.createdAt.toISOString(),
    maxRetries: j.envelope.maxRetries,
    timeoutMs: j.envelope.timeoutMs,
    agentConnection: j.agentConnection,
    bucketId: j.bucketId,
    idempotencyKey: j.envelope.idempotencyKey,
  }))
  return {
    text: `INSERT INTO ${t.jobs} (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at,
    original_scheduled_at, created_at, updated_at, max_retries, timeout_ms, agent_connection, bucket_id, idempotency_key)
OUTPUT inserted.id
SELECT u.id, @clusterId, u.definition, u.status, u.priority, u.lane, u.payload, u.metadata, u.scheduled_at,
    u.scheduled_at, u.created_at, @now, u.max_retries, u.timeout_ms, u.agent_connection, u.bucket_id, u.idempotency_key
  FROM OPENJSON(@jobs) WITH (
    id ${T.jobId} '$.id', definition ${T.definition} '$.definition', status ${T.status} '$.status',
    priority smallint '$.priority', lane ${T.name} '$.lane', payload ${T.text} '$.payload', metadata ${T.text} '$.metadata',
    scheduled_at ${T.time} '$.scheduledAt', created_at ${T.time} '$.createdAt', max_retries int '$.maxRetries',
    timeout_ms bigint '$.timeoutMs', agent_connection ${T.name} '$.agentConnection', bucket_id ${T.bucketId} '$.bucketId',
    idempotency_key ${T.idempotencyKey} '$.idempotencyKey') AS u
 WHERE NOT EXISTS (SELECT 1 FROM ${t.jobs} AS j WHERE j.id = u.id)`,
    params: [param('clusterId', T.clusterId, clusterId), param('now', T.time, now), param('jobs', T.text, JSON.stringify(rows))],
    statements: 1,
  }
}

/** insertJobs: returns the ids that were new. Two ingesters racing on one id: the loser re-runs and inserts nothing. */
export async function insertJobs(db: Runner, t: MasterTables, clusterId: string, jobs: NewMasterJob[], now: Date): Promise<string[]> {
  if (jobs.length === 0) return []
  // The first copy of a job counts (a repeated id in one batch would otherwise violate the key).
  const unique = firstPerKey(jobs, (j) => j.envelope.id)
  const result = await retryOnDuplicateKey(() => db.run<{ id: string }>(buildInsertJobs(t, clusterId, unique, now)))
  return rowsOf(result).map((r) => r.id)
}

// ---- markJobs

export function buildMarkJobs(t: MasterTables, marks: JobMark[], now: Date): Statement {
  const rows = marks.map((m) => ({ id: m.id, bucketId: m.bucketId, status: m.status, attempt: m.attempt, workerId: m.workerId, at: m.at.toISOString() }))
  return {
    text: `UPDATE j
   SET status = u.status,
       attempts = CASE WHEN u.attempt > j.attempts THEN u.attempt ELSE j.attempts END,
       worker_id = u.worker_id,
       started_at = CASE WHEN u.status = N'Processing' THEN u.at ELSE j.started_at END,
       updated_at = @now
  FROM ${t.jobs} AS j
  JOIN OPENJSON(@marks) WITH (
    id ${T.jobId} '$.id', bucket_id ${T.bucketId} '$.bucketId', status ${T.status} '$.status', attempt int '$.attempt',
    worker_id ${T.workerId} '$.workerId', at ${T.time} '$.at') AS u
    ON j.id = u.id AND j.bucket_id = u.bucket_id
 WHERE j.status IN (${IN_BUCKET})`,
    params: [param('now', T.time, now), param('marks', T.text, JSON.stringify(rows))],
    statements: 1,
  }
}

/** markJobs: Queued / Processing marks from bucket owners, guarded by bucket and in-bucket status. */
export async function markJobs(db: Runner, t: MasterTables, marks: JobMark[], now: Date): Promise<void> {
  if (marks.length === 0) return
  // UPDATE … FROM applies an arbitrary one of several matching rows; the latest mark is the one that counts.
  await db.run(buildMarkJobs(t, lastPerKey(marks, (m) => m.id), now))
}

// ---- transitionJobs

/**
 * The guarded state change (compare-and-set on bucket and status) and the attempt history, in one
 * atomic batch. `from_statuses` travels as ",A,B," so the guard is a CHARINDEX on the row.
 */
export function buildTransitionJobs(t: MasterTables, transitions: JobTransition[], attempts: AttemptRecord[], now: Date): Statement {
  const parts: string[] = []
  const params: Param[] = []
  if (transitions.length > 0) {
    parts.push(`UPDATE j
   SET status = u.status, bucket_id = u.bucket_id, agent_connection = u.agent_connection, scheduled_at = u.scheduled_at,
       attempts = CASE WHEN u.attempts > j.attempts THEN u.attempts ELSE j.attempts END,
       finished_at = u.finished_at, last_error = COALESCE(u.last_error, j.last_error),
       worker_id = CASE WHEN u.bucket_id IS NULL THEN NULL ELSE j.worker_id END,
       claimed_until = NULL, updated_at = @now
OUTPUT inserted.id
  FROM ${t.jobs} AS j
  JOIN OPENJSON(@transitions) WITH (
    id ${T.jobId} '$.id', from_bucket ${T.bucketId} '$.fromBucketId', from_statuses nvarchar(200) '$.fromStatuses',
    status ${T.status} '$.status', bucket_id ${T.bucketId} '$.bucketId', agent_connection ${T.name} '$.agentConnection',
    scheduled_at ${T.time} '$.scheduledAt', attempts int '$.attempts', finished_at ${T.time} '$.finishedAt',
    last_error ${T.text} '$.lastError') AS u
    ON j.id = u.id
 WHERE (j.bucket_id = u.from_bucket OR (j.bucket_id IS NULL AND u.from_bucket IS NULL))
   AND CHARINDEX(N',' + j.status + N',', u.from_statuses) > 0`)
    params.push(
      param('now', T.time, now),
      param(
        'transitions',
        T.text,
        JSON.stringify(
          transitions.map((x) => ({
            id: x.id,
            fromBucketId: x.fromBucketId,
            fromStatuses: `,${x.fromStatuses.join(',')},`,
            status: x.status,
            bucketId: x.bucketId,
            agentConnection: x.agentConnection,
            scheduledAt: x.scheduledAt.toISOString(),
            attempts: x.attempts,
            finishedAt: isoOrNull(x.finishedAt),
            lastError: x.lastError,
          })),
        ),
      ),
    )
  }
  if (attempts.length > 0) {
    parts.push(`INSERT INTO ${t.attempts} (job_id, cluster_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result)
SELECT a.job_id, j.cluster_id, a.attempt, a.worker_id, a.bucket_id, a.started_at, a.ended_at, a.outcome, a.error, a.result
  FROM OPENJSON(@attempts) WITH (
    job_id ${T.jobId} '$.jobId', attempt int '$.attempt', worker_id ${T.workerId} '$.workerId', bucket_id ${T.bucketId} '$.bucketId',
    started_at ${T.time} '$.startedAt', ended_at ${T.time} '$.endedAt', outcome ${T.status} '$.outcome', error ${T.text} '$.error',
    result ${T.text} '$.result') AS a
  JOIN ${t.jobs} AS j ON j.id = a.job_id`)
    params.push(
      param(
        'attempts',
        T.text,
        JSON.stringify(
          attempts.map((a) => ({
            jobId: a.jobId,
            attempt: a.attempt,
            workerId: a.workerId,
            bucketId: a.bucketId,
            startedAt: a.startedAt.toISOString(),
            endedAt: a.endedAt.toISOString(),
            outcome: a.outcome,
            error: a.error,
            result: a.result === undefined ? null : JSON.stringify(a.result),
          })),
        ),
      ),
    )
  }
  return { text: atomic(parts), params, statements: parts.length }
}

/** transitionJobs: returns the ids whose transition applied. */
export async function transitionJobs(db: Runner, t: MasterTables, transitions: JobTransition[], attempts: AttemptRecord[], now: Date): Promise<string[]> {
  if (transitions.length === 0 && attempts.length === 0) return []
  const result = await db.run<{ id: string }>(buildTransitionJobs(t, lastPerKey(transitions, (x) => x.id), attempts, now))
  return transitions.length > 0 ? rowsOf(result).map((r) => r.id) : []
}

// ---- claimDueHeldJobs

/**
 * Skip-locked claim: the CTE takes the oldest due rows with UPDLOCK (so a concurrent claimer
 * cannot take them too) and READPAST (so it skips rows another claimer holds instead of
 * waiting), and the UPDATE through it sets the lease. Concurrent coordinators get disjoint sets.
 * Occurrences whose schedule skips overlapping runs wait until due.
 */
export function buildClaimDueHeldJobs(t: MasterTables, clusterId: string, dueBefore: Date, limit: number, claimMs: number, now: Date): Statement {
  return {
    text: `WITH due AS (
  SELECT TOP (@limit) ${COLUMNS}, claimed_until
    FROM ${t.jobs} WITH (ROWLOCK, UPDLOCK, READPAST)
   WHERE cluster_id = @clusterId AND status = N'HeldOnMaster' AND scheduled_at <= @dueBefore
     AND (claimed_until IS NULL OR claimed_until < @now)
     AND (skip_if_overlapping = 0 OR scheduled_at <= @now)
   ORDER BY scheduled_at, id)
UPDATE due SET claimed_until = @claimedUntil
OUTPUT ${columnList(JOB_COLUMNS, 'inserted')}`,
    params: [
      param('limit', 'int', limit),
      param('clusterId', T.clusterId, clusterId),
      param('dueBefore', T.time, dueBefore),
      param('now', T.time, now),
      param('claimedUntil', T.time, new Date(now.getTime() + claimMs)),
    ],
    statements: 1,
  }
}

export async function claimDueHeldJobs(db: Runner, t: MasterTables, clusterId: string, dueBefore: Date, limit: number, claimMs: number, now: Date): Promise<JobRecord[]> {
  const result = await db.run(buildClaimDueHeldJobs(t, clusterId, dueBefore, limit, claimMs, now))
  // OUTPUT rows come in no guaranteed order.
  return rowsOf(result).map(toJobRecord).sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())
}

// ---- reads

export function buildJobsInBucket(t: MasterTables, bucketId: string, limit: number): Statement {
  return {
    text: `SELECT TOP (@limit) ${COLUMNS} FROM ${t.jobs} WHERE bucket_id = @bucketId AND status IN (${IN_BUCKET}) ORDER BY scheduled_at, id`,
    params: [param('limit', 'int', limit), param('bucketId', T.bucketId, bucketId)],
    statements: 1,
  }
}

export async function jobsInBucket(db: Runner, t: MasterTables, bucketId: string, limit: number): Promise<JobRecord[]> {
  return rowsOf(await db.run(buildJobsInBucket(t, bucketId, limit))).map(toJobRecord)
}

/**
 * Two result sets in one round trip: jobs recorded in a bucket that no longer exists or is
 * retired (a push raced a drain), and jobs AssignedToBucket long past due in an active bucket
 * (an agent write lost between master and agent).
 */
export function buildFindStrandedJobs(t: MasterTables, clusterId: string, now: Date, overdueMs: number, limit: number): Statement {
  return {
    text: `SELECT TOP (@limit) ${columnList(JOB_COLUMNS, 'j')}
  FROM ${t.jobs} AS j LEFT JOIN ${t.buckets} AS b ON b.id = j.bucket_id
 WHERE j.cluster_id = @clusterId AND j.bucket_id IS NOT NULL AND j.status IN (${IN_BUCKET})
   AND (b.id IS NULL OR b.status = N'ReadyToDelete');
SELECT TOP (@limit) ${columnList(JOB_COLUMNS, 'j')}
  FROM ${t.jobs} AS j JOIN ${t.buckets} AS b ON b.id = j.bucket_id
 WHERE j.cluster_id = @clusterId AND j.status = N'AssignedToBucket' AND j.scheduled_at < @overdueBefore
   AND j.updated_at < @overdueBefore AND b.status = N'Active';`,
    params: [param('limit', 'int', limit), param('clusterId', T.clusterId, clusterId), param('overdueBefore', T.time, new Date(now.getTime() - overdueMs))],
    statements: 2,
  }
}

export async function findStrandedJobs(db: Runner, t: MasterTables, clusterId: string, now: Date, overdueMs: number, limit: number) {
  const result = await db.run(buildFindStrandedJobs(t, clusterId, now, overdueMs, limit))
  return { orphaned: rowsOf(result, 0).map(toJobRecord), overdue: rowsOf(result, 1).map(toJobRecord) }
}

/**
 * Cancel from any non-terminal status. OUTPUT deleted.* is the row as it was before; a concurrent
 * cancel blocks on the row lock, then re-checks the status and matches nothing.
 */
export function buildCancelJob(t: MasterTables, clusterId: string, id: string, now: Date): Statement {
  return {
    text: `UPDATE ${t.jobs}
   SET status = N'Cancelled', bucket_id = NULL, agent_connection = NULL, finished_at = @now, updated_at = @now
OUTPUT ${columnList(JOB_COLUMNS, 'deleted')}
 WHERE id = @id AND cluster_id = @clusterId AND status NOT IN (${TERMINAL})`,
    params: [param('now', T.time, now), param('id', T.jobId, id), param('clusterId', T.clusterId, clusterId)],
    statements: 1,
  }
}

export async function cancelJob(db: Runner, t: MasterTables, clusterId: string, id: string, now: Date): Promise<JobRecord | null> {
  const row = rowsOf(await db.run(buildCancelJob(t, clusterId, id, now)))[0]
  return row ? toJobRecord(row) : null
}

export function buildGetJob(t: MasterTables, clusterId: string, id: string): Statement {
  return {
    text: `SELECT ${COLUMNS} FROM ${t.jobs} WHERE cluster_id = @clusterId AND id = @id`,
    params: [param('clusterId', T.clusterId, clusterId), param('id', T.jobId, id)],
    statements: 1,
  }
}

export async function getJob(db: Runner, t: MasterTables, clusterId: string, id: string): Promise<JobRecord | null> {
  const row = rowsOf(await db.run(buildGetJob(t, clusterId, id)))[0]
  return row ? toJobRecord(row) : null
}

export function buildGetJobs(t: MasterTables, clusterId: string, ids: string[]): Statement {
  return {
    text: `SELECT ${COLUMNS} FROM ${t.jobs}
 WHERE cluster_id = @clusterId AND id IN (SELECT id FROM OPENJSON(@ids) WITH (id ${T.jobId} '$'))`,
    params: [param('clusterId', T.clusterId, clusterId), param('ids', T.text, JSON.stringify(ids))],
    statements: 1,
  }
}

export async function getJobs(db: Runner, t: MasterTables, clusterId: string, ids: string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return []
  return rowsOf(await db.run(buildGetJobs(t, clusterId, ids))).map(toJobRecord)
}

export function buildListAttempts(t: MasterTables, clusterId: string, jobId: string): Statement {
  return {
    text: `SELECT job_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result
  FROM ${t.attempts} WHERE cluster_id = @clusterId AND job_id = @jobId ORDER BY attempt, id`,
    params: [param('clusterId', T.clusterId, clusterId), param('jobId', T.jobId, jobId)],
    statements: 1,
  }
}

export async function listAttempts(db: Runner, t: MasterTables, clusterId: string, jobId: string): Promise<AttemptRecord[]> {
  const rows = rowsOf(await db.run(buildListAttempts(t, clusterId, jobId)))
  return rows.map(toAttemptRecord)
}

// ---- listing

/**
 * The WHERE clause shared by countJobs and listJobs (table alias `j`). Only the filters given
 * appear, so each combination gets a plan that can seek. Metadata: every pair of the filter must
 * be a pair of the job's metadata, compared as exact (binary) strings.
 */
export function jobFilter(clusterId: string, filter: JobListFilter): { where: string; params: Param[] } {
  const clauses = ['j.cluster_id = @clusterId']
  const params = [param('clusterId', T.clusterId, clusterId)]
  if (filter.status !== undefined) {
    clauses.push('j.status = @status')
    params.push(param('status', T.status, filter.status))
  }
  if (filter.definition !== undefined) {
    clauses.push('j.definition = @definition')
    params.push(param('definition', T.definition, filter.definition))
  }
  if (filter.lane === null) clauses.push('j.lane IS NULL')
  else if (filter.lane !== undefined) {
    clauses.push('j.lane = @lane')
    params.push(param('lane', T.name, filter.lane))
  }
  if (filter.bucketId !== undefined) {
    clauses.push('j.bucket_id = @bucketId')
    params.push(param('bucketId', T.bucketId, filter.bucketId))
  }
  if (filter.scheduleId !== undefined) {
    clauses.push('j.schedule_id = @scheduleId')
    params.push(param('scheduleId', T.jobId, filter.scheduleId))
  }
  if (filter.metadata && Object.keys(filter.metadata).length > 0) {
    clauses.push(`NOT EXISTS (SELECT 1 FROM OPENJSON(@metadata) AS f
                  WHERE NOT EXISTS (SELECT 1 FROM OPENJSON(j.metadata) AS m
                                     WHERE m.[key] = f.[key] AND m.[value] = f.[value] COLLATE Latin1_General_100_BIN2))`)
    params.push(param('metadata', T.text, JSON.stringify(filter.metadata)))
  }
  if (filter.createdFrom) {
    clauses.push('j.created_at >= @createdFrom')
    params.push(param('createdFrom', T.time, filter.createdFrom))
  }
  if (filter.createdTo) {
    clauses.push('j.created_at < @createdTo')
    params.push(param('createdTo', T.time, filter.createdTo))
  }
  return { where: clauses.join(' AND '), params }
}

export function buildCountJobs(t: MasterTables, clusterId: string, filter: JobListFilter): Statement {
  const { where, params } = jobFilter(clusterId, filter)
  return { text: `SELECT COUNT(*) AS n FROM ${t.jobs} AS j WHERE ${where}`, params, statements: 1 }
}

export async function countJobs(db: Runner, t: MasterTables, clusterId: string, filter: JobListFilter): Promise<number> {
  return rowsOf(await db.run<{ n: number }>(buildCountJobs(t, clusterId, filter)))[0]?.n ?? 0
}

/** Newest first; the keyset cursor continues strictly after (createdAt, id). */
export function buildListJobs(t: MasterTables, clusterId: string, filter: JobListFilter, limit: number, after?: JobCursor): Statement {
  const { where, params } = jobFilter(clusterId, filter)
  let keyset = ''
  if (after) {
    keyset = '\n   AND (j.created_at < @afterCreatedAt OR (j.created_at = @afterCreatedAt AND j.id < @afterId))'
    params.push(param('afterCreatedAt', T.time, after.createdAt), param('afterId', T.jobId, after.id))
  }
  params.push(param('limit', 'int', limit))
  return {
    text: `SELECT TOP (@limit) ${columnList(JOB_COLUMNS, 'j')}
  FROM ${t.jobs} AS j
 WHERE ${where}${keyset}
 ORDER BY j.created_at DESC, j.id DESC`,
    params,
    statements: 1,
  }
}

export async function listJobs(db: Runner, t: MasterTables, clusterId: string, filter: JobListFilter, limit: number, after?: JobCursor): Promise<JobRecord[]> {
  return rowsOf(await db.run(buildListJobs(t, clusterId, filter, limit, after))).map(toJobRecord)
}

export function buildCountJobsByStatus(t: MasterTables, clusterId: string): Statement {
  return {
    text: `SELECT status, COUNT(*) AS n FROM ${t.jobs} WHERE cluster_id = @clusterId GROUP BY status`,
    params: [param('clusterId', T.clusterId, clusterId)],
    statements: 1,
  }
}

export async function countJobsByStatus(db: Runner, t: MasterTables, clusterId: string): Promise<Partial<Record<JobStatus, number>>> {
  const rows = rowsOf(await db.run<{ status: JobStatus; n: number }>(buildCountJobsByStatus(t, clusterId)))
  return Object.fromEntries(rows.map((r) => [r.status, r.n]))
}

// ---- retention

/** Delete up to `limit` finished jobs and their attempts atomically; the count comes back as `n`. */
export function buildPurgeFinishedJobs(t: MasterTables, clusterId: string, before: Date, limit: number): Statement {
  return {
    text: `SET XACT_ABORT ON;
BEGIN TRANSACTION;
DECLARE @gone TABLE (id ${T.jobId} NOT NULL PRIMARY KEY);
DELETE TOP (@limit) FROM ${t.jobs}
OUTPUT deleted.id INTO @gone (id)
 WHERE cluster_id = @clusterId AND finished_at < @before AND status IN (${TERMINAL});
DELETE a FROM ${t.attempts} AS a JOIN @gone AS g ON g.id = a.job_id;
SELECT COUNT(*) AS n FROM @gone;
COMMIT TRANSACTION;`,
    params: [param('limit', 'int', limit), param('clusterId', T.clusterId, clusterId), param('before', T.time, before)],
    statements: 3,
  }
}

export async function purgeFinishedJobs(db: Runner, t: MasterTables, clusterId: string, before: Date, limit: number): Promise<number> {
  return rowsOf(await db.run<{ n: number }>(buildPurgeFinishedJobs(t, clusterId, before, limit)))[0]?.n ?? 0
}


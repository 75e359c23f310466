import { PRIORITY_RANK, TERMINAL_STATUSES, type ScheduleRecord } from '../../../model.js'
import { WITHDRAWN_OCCURRENCE_ERROR, type NewScheduledJob, type ScheduleListFilter, type ScheduleUpdate } from '../../../stores/master.js'
import { firstPerKey, isoOrNull, param, retryOnDuplicateKey, rowsOf, SQL_TYPES as T, type Param, type Runner, type Statement } from '../db.js'
import { toJobRecord, toScheduleRecord } from './rows.js'
import { columnList, JOB_COLUMNS, SCHEDULE_COLUMNS } from './schema.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const COLUMNS = columnList(SCHEDULE_COLUMNS)
const TERMINAL = TERMINAL_STATUSES.map((s) => `N'${s}'`).join(', ')

// ---- insertSchedules

/** A schedule as a JSON object for OPENJSON; payload and metadata travel as JSON text. */
function scheduleRow(s: ScheduleRecord) {
  return {
    id: s.id,
    clusterId: s.clusterId,
    kind: s.kind,
    name: s.name,
    definition: s.definition,
    everyMs: s.everyMs,
    cron: s.cron,
    timeZone: s.timeZone,
    payload: JSON.stringify(s.payload ?? null),
    metadata: JSON.stringify(s.metadata),
    priority: PRIORITY_RANK[s.priority],
    lane: s.lane,
    timeoutMs: s.timeoutMs,
    maxRetries: s.maxRetries,
    startAfter: isoOrNull(s.startAfter),
    endBefore: isoOrNull(s.endBefore),
    misfirePolicy: s.misfirePolicy,
    overlapPolicy: s.overlapPolicy,
    status: s.status,
    coveredUntil: s.coveredUntil.toISOString(),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    statusChangedAt: s.statusChangedAt.toISOString(),
    version: s.version,
    specHash: s.specHash,
    syncedAt: isoOrNull(s.syncedAt),
  }
}

/** One INSERT … SELECT shredded from one JSON parameter; an existing id inserts nothing. */
export function buildInsertSchedules(t: MasterTables, schedules: ScheduleRecord[]): Statement {
  return {
    text: `INSERT INTO ${t.schedules} (${COLUMNS})
OUTPUT inserted.id
SELECT ${columnList(SCHEDULE_COLUMNS, 'u')}
  FROM OPENJSON(@schedules) WITH (
    id ${T.jobId} '$.id', cluster_id ${T.clusterId} '$.clusterId', kind ${T.status} '$.kind', name ${T.definition} '$.name',
    definition ${T.definition} '$.definition', every_ms bigint '$.everyMs', cron ${T.cron} '$.cron', time_zone ${T.timeZone} '$.timeZone',
    payload ${T.text} '$.payload', metadata ${T.text} '$.metadata', priority smallint '$.priority', lane ${T.name} '$.lane',
    timeout_ms bigint '$.timeoutMs', max_retries int '$.maxRetries', start_after ${T.time} '$.startAfter', end_before ${T.time} '$.endBefore',
    misfire_policy ${T.status} '$.misfirePolicy', overlap_policy ${T.status} '$.overlapPolicy', status ${T.status} '$.status',
    covered_until ${T.time} '$.coveredUntil', created_at ${T.time} '$.createdAt', updated_at ${T.time} '$.updatedAt',
    status_changed_at ${T.time} '$.statusChangedAt', version int '$.version', spec_hash ${T.specHash} '$.specHash',
    synced_at ${T.time} '$.syncedAt') AS u
 WHERE NOT EXISTS (SELECT 1 FROM ${t.schedules} AS s WHERE s.id = u.id)`,
    params: [param('schedules', T.text, JSON.stringify(schedules.map(scheduleRow)))],
    statements: 1,
  }
}

/** Two inserters racing on one id: the loser re-runs and inserts nothing. */
export async function insertSchedules(db: Runner, t: MasterTables, schedules: ScheduleRecord[]): Promise<string[]> {
  if (schedules.length === 0) return []
  const unique = firstPerKey(schedules, (s) => s.id)
  return rowsOf(await retryOnDuplicateKey(() => db.run<{ id: string }>(buildInsertSchedules(t, unique)))).map((r) => r.id)
}

// ---- reads

export function buildGetSchedule(t: MasterTables, clusterId: string, id: string): Statement {
  return {
    text: `SELECT ${COLUMNS} FROM ${t.schedules} WHERE cluster_id = @clusterId AND id = @id`,
    params: [param('clusterId', T.clusterId, clusterId), param('id', T.jobId, id)],
    statements: 1,
  }
}

export async function getSchedule(db: Runner, t: MasterTables, clusterId: string, id: string): Promise<ScheduleRecord | null> {
  const row = rowsOf(await db.run(buildGetSchedule(t, clusterId, id)))[0]
  return row ? toScheduleRecord(row) : null
}

/** Only the filters given appear, so each combination gets a plan that can seek. */
export function buildListSchedules(t: MasterTables, clusterId: string, filter: ScheduleListFilter, limit: number): Statement {
  const clauses = ['cluster_id = @clusterId']
  const params: Param[] = [param('limit', 'int', limit), param('clusterId', T.clusterId, clusterId)]
  if (filter.status !== undefined) {
    clauses.push('status = @status')
    params.push(param('status', T.status, filter.status))
  }
  if (filter.kind !== undefined) {
    clauses.push('kind = @kind')
    params.push(param('kind', T.status, filter.kind))
  }
  return {
    text: `SELECT TOP (@limit) ${COLUMNS} FROM ${t.schedules}
 WHERE ${clauses.join(' AND ')}
 ORDER BY CASE WHEN name IS NULL THEN 1 ELSE 0 END, name, created_at, id`,
    params,
    statements: 1,
  }
}

export async function listSchedules(db: Runner, t: MasterTables, clusterId: string, filter: ScheduleListFilter, limit: number): Promise<ScheduleRecord[]> {
  return rowsOf(await db.run(buildListSchedules(t, clusterId, filter, limit))).map(toScheduleRecord)
}

// ---- claimDueSchedules

/**
 * Skip-locked claim, as claimDueHeldJobs: UPDLOCK so a concurrent planner cannot take the same
 * schedules, READPAST so it skips them instead of waiting; those covered least far first.
 */
export function buildClaimDueSchedules(t: MasterTables, clusterId: string, coverBefore: Date, limit: number, claimMs: number, now: Date): Statement {
  return {
    text: `WITH due AS (
  SELECT TOP (@limit) ${COLUMNS}, claimed_until
    FROM ${t.schedules} WITH (ROWLOCK, UPDLOCK, READPAST)
   WHERE cluster_id = @clusterId AND status = N'Active' AND covered_until < @coverBefore
     AND (claimed_until IS NULL OR claimed_until < @now)
   ORDER BY covered_until, id)
UPDATE due SET claimed_until = @claimedUntil
OUTPUT ${columnList(SCHEDULE_COLUMNS, 'inserted')}`,
    params: [
      param('limit', 'int', limit),
      param('clusterId', T.clusterId, clusterId),
      param('coverBefore', T.time, coverBefore),
      param('now', T.time, now),
      param('claimedUntil', T.time, new Date(now.getTime() + claimMs)),
    ],
    statements: 1,
  }
}

export async function claimDueSchedules(db: Runner, t: MasterTables, clusterId: string, coverBefore: Date, limit: number, claimMs: number, now: Date): Promise<ScheduleRecord[]> {
  const rows = rowsOf(await db.run(buildClaimDueSchedules(t, clusterId, coverBefore, limit, claimMs, now)))
  // OUTPUT rows come in no guaranteed order.
  return rows.map(toScheduleRecord).sort((a, b) => a.coveredUntil.getTime() - b.coveredUntil.getTime())
}

// ---- guarded writes

/** The compare-and-set on version shared by updateSchedule and commitSchedulePlan; @applied says whether it matched. */
function guardedWrite(t: MasterTables, next: ScheduleRecord, expectVersion: number, now: Date): { statements: string[]; params: Param[] } {
  return {
    statements: [
      'DECLARE @applied int',
      `UPDATE ${t.schedules}
   SET name = @name, definition = @definition, every_ms = @everyMs, cron = @cron, time_zone = @timeZone, payload = @payload,
       metadata = @metadata, priority = @priority, lane = @lane, timeout_ms = @timeoutMs, max_retries = @maxRetries,
       start_after = @startAfter, end_before = @endBefore, misfire_policy = @misfirePolicy, overlap_policy = @overlapPolicy,
       status = @status, status_changed_at = @statusChangedAt, covered_until = @coveredUntil, spec_hash = @specHash,
       synced_at = @syncedAt, version = version + 1, claimed_until = NULL, updated_at = @now
 WHERE cluster_id = @clusterId AND id = @id AND version = @expectVersion`,
      'SET @applied = @@ROWCOUNT',
      'SELECT @applied AS applied',
    ],
    params: [
      param('name', T.definition, next.name),
      param('definition', T.definition, next.definition),
      param('everyMs', 'bigint', next.everyMs),
      param('cron', T.cron, next.cron),
      param('timeZone', T.timeZone, next.timeZone),
      param('payload', T.text, JSON.stringify(next.payload ?? null)),
      param('metadata', T.text, JSON.stringify(next.metadata)),
      param('priority', 'smallint', PRIORITY_RANK[next.priority]),
      param('lane', T.name, next.lane),
      param('timeoutMs', 'bigint', next.timeoutMs),
      param('maxRetries', 'int', next.maxRetries),
      param('startAfter', T.time, next.startAfter),
      param('endBefore', T.time, next.endBefore),
      param('misfirePolicy', T.status, next.misfirePolicy),
      param('overlapPolicy', T.status, next.overlapPolicy),
      param('status', T.status, next.status),
      param('statusChangedAt', T.time, next.statusChangedAt),
      param('coveredUntil', T.time, next.coveredUntil),
      param('specHash', T.specHash, next.specHash),
      param('syncedAt', T.time, next.syncedAt),
      param('now', T.time, now),
      param('clusterId', T.clusterId, next.clusterId),
      param('id', T.jobId, next.id),
      param('expectVersion', 'int', expectVersion),
    ],
  }
}

/** One atomic batch: its result sets are @applied, then (when withdrawn) the cancelled jobs as they were. */
function transaction(statements: string[]): string {
  return ['SET XACT_ABORT ON;', 'BEGIN TRANSACTION;', ...statements.map((s) => `${s};`), 'COMMIT TRANSACTION;'].join('\n')
}

/** Statements other than DECLARE and SET (what statementCount counts). */
function counted(statements: string[]): number {
  return statements.filter((s) => !/^(DECLARE|SET) /.test(s)).length
}

export function buildUpdateSchedule(t: MasterTables, next: ScheduleRecord, expectVersion: number, withdrawOccurrences: boolean, now: Date): Statement {
  const write = guardedWrite(t, next, expectVersion, now)
  const statements = [...write.statements]
  const params = [...write.params]
  if (withdrawOccurrences) {
    statements.push(
      `IF @applied = 1
  DELETE FROM ${t.jobs}
   WHERE schedule_id = @id AND cluster_id = @clusterId AND status = N'HeldOnMaster' AND occurrence_at IS NOT NULL`,
      `IF @applied = 1
  UPDATE ${t.jobs}
     SET status = N'Cancelled', occurrence_at = NULL, bucket_id = NULL, agent_connection = NULL, finished_at = @now,
         last_error = @withdrawnError, updated_at = @now
  OUTPUT ${columnList(JOB_COLUMNS, 'deleted')}
   WHERE schedule_id = @id AND cluster_id = @clusterId AND status IN (N'AssignedToBucket', N'Queued') AND occurrence_at IS NOT NULL`,
    )
    params.push(param('withdrawnError', T.text, WITHDRAWN_OCCURRENCE_ERROR))
  }
  return { text: transaction(statements), params, statements: counted(statements) }
}

export async function updateSchedule(db: Runner, t: MasterTables, next: ScheduleRecord, expectVersion: number, options: { withdrawOccurrences: boolean }, now: Date): Promise<ScheduleUpdate> {
  const result = await db.run(buildUpdateSchedule(t, next, expectVersion, options.withdrawOccurrences, now))
  const applied = rowsOf(result, 0)[0]?.applied === 1
  return { applied, cancelled: applied ? rowsOf(result, 1).map(toJobRecord) : [] }
}

/**
 * The guarded write, then the occurrences the schedule does not have yet (the write's row lock
 * serializes every planner of the schedule), in one atomic batch.
 */
export function buildCommitSchedulePlan(t: MasterTables, next: ScheduleRecord, expectVersion: number, jobs: NewScheduledJob[], now: Date): Statement {
  const write = guardedWrite(t, next, expectVersion, now)
  const statements = [...write.statements]
  const params = [...write.params]
  if (jobs.length > 0) {
    statements.push(`IF @applied = 1
  INSERT INTO ${t.jobs} (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at,
      created_at, updated_at, max_retries, timeout_ms, schedule_id, occurrence_at, skip_if_overlapping)
  OUTPUT inserted.id
  SELECT u.id, @clusterId, u.definition, N'HeldOnMaster', u.priority, u.lane, u.payload, u.metadata, u.scheduled_at, u.scheduled_at,
      u.created_at, @now, u.max_retries, u.timeout_ms, u.schedule_id, u.occurrence_at, u.skip_if_overlapping
    FROM OPENJSON(@jobs) WITH (
      id ${T.jobId} '$.id', definition ${T.definition} '$.definition', priority smallint '$.priority', lane ${T.name} '$.lane',
      payload ${T.text} '$.payload', metadata ${T.text} '$.metadata', scheduled_at ${T.time} '$.scheduledAt',
      created_at ${T.time} '$.createdAt', max_retries int '$.maxRetries', timeout_ms bigint '$.timeoutMs',
      schedule_id ${T.jobId} '$.scheduleId', occurrence_at ${T.time} '$.occurrenceAt', skip_if_overlapping bit '$.skipIfOverlapping') AS u
   WHERE NOT EXISTS (SELECT 1 FROM ${t.jobs} AS j WHERE j.schedule_id = u.schedule_id AND j.occurrence_at = u.occurrence_at)`)
    params.push(
      param(
        'jobs',
        T.text,
        JSON.stringify(
          jobs.map((j) => ({
            id: j.envelope.id,
            definition: j.envelope.definition,
            priority: PRIORITY_RANK[j.envelope.priority],
            lane: j.envelope.lane,
            payload: JSON.stringify(j.envelope.payload ?? null),
            metadata: JSON.stringify(j.envelope.metadata),
            scheduledAt: j.envelope.scheduledAt.toISOString(),
            createdAt: j.envelope.createdAt.toISOString(),
            maxRetries: j.envelope.maxRetries,
            timeoutMs: j.envelope.timeoutMs,
            scheduleId: j.scheduleId,
            occurrenceAt: isoOrNull(j.occurrenceAt),
            skipIfOverlapping: j.skipIfOverlapping,
          })),
        ),
      ),
    )
  }
  return { text: transaction(statements), params, statements: counted(statements) }
}

export async function commitSchedulePlan(db: Runner, t: MasterTables, next: ScheduleRecord, expectVersion: number, jobs: NewScheduledJob[], now: Date): Promise<string[] | null> {
  const result = await db.run(buildCommitSchedulePlan(t, next, expectVersion, jobs, now))
  if (rowsOf(result, 0)[0]?.applied !== 1) return null
  return rowsOf(result, 1).map((r) => r.id as string)
}

// ---- claimOverlapSlots

/**
 * Compare-and-set of each schedule's live run. The row's update lock serializes two coordinators
 * on one schedule: the second re-reads it, sees the first's job as the live run, unfinished.
 */
export function buildClaimOverlapSlots(t: MasterTables, clusterId: string, entries: Array<{ scheduleId: string; jobId: string }>): Statement {
  return {
    text: `UPDATE s SET live_job_id = u.job_id
OUTPUT inserted.live_job_id AS job_id
  FROM ${t.schedules} AS s
  JOIN OPENJSON(@slots) WITH (schedule_id ${T.jobId} '$.scheduleId', job_id ${T.jobId} '$.jobId') AS u ON s.id = u.schedule_id
 WHERE s.cluster_id = @clusterId
   AND (s.live_job_id IS NULL OR s.live_job_id = u.job_id
        OR NOT EXISTS (SELECT 1 FROM ${t.jobs} AS j WHERE j.id = s.live_job_id AND j.status NOT IN (${TERMINAL})))`,
    params: [param('slots', T.text, JSON.stringify(entries.map((e) => ({ scheduleId: e.scheduleId, jobId: e.jobId })))), param('clusterId', T.clusterId, clusterId)],
    statements: 1,
  }
}

export async function claimOverlapSlots(db: Runner, t: MasterTables, clusterId: string, entries: Array<{ scheduleId: string; jobId: string }>): Promise<string[]> {
  if (entries.length === 0) return []
  // UPDATE … FROM must not meet one schedule row twice: one entry per schedule.
  const unique = firstPerKey(entries, (e) => e.scheduleId)
  return rowsOf<{ job_id: string }>(await db.run(buildClaimOverlapSlots(t, clusterId, unique))).map((r) => r.job_id)
}

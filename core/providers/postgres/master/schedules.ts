import { PRIORITY_RANK, TERMINAL_STATUSES, type ScheduleRecord } from '../../../model.js'
import { WITHDRAWN_OCCURRENCE_ERROR, type NewScheduledJob, type ScheduleListFilter, type ScheduleUpdate } from '../../../stores/master.js'
import { isoOrNull, type PgDb, type Tx } from '../db.js'
import { toJobRecord, toScheduleRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const TERMINAL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(',')

/** A schedule as one JSON row (read back with jsonb_to_recordset; jsonb keeps payload and metadata as they are). */
function scheduleRow(s: ScheduleRecord) {
  return {
    id: s.id,
    cluster_id: s.clusterId,
    kind: s.kind,
    name: s.name,
    definition: s.definition,
    every_ms: s.everyMs,
    cron: s.cron,
    time_zone: s.timeZone,
    payload: s.payload ?? null,
    metadata: s.metadata,
    priority: PRIORITY_RANK[s.priority],
    lane: s.lane,
    timeout_ms: s.timeoutMs,
    max_retries: s.maxRetries,
    start_after: isoOrNull(s.startAfter),
    end_before: isoOrNull(s.endBefore),
    misfire_policy: s.misfirePolicy,
    overlap_policy: s.overlapPolicy,
    status: s.status,
    covered_until: s.coveredUntil.toISOString(),
    spec_hash: s.specHash,
    synced_at: isoOrNull(s.syncedAt),
    version: s.version,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
    status_changed_at: s.statusChangedAt.toISOString(),
  }
}

const RECORDSET = `r(id uuid, cluster_id text, kind text, name text, definition text, every_ms bigint, cron text, time_zone text,
     payload jsonb, metadata jsonb, priority smallint, lane text, timeout_ms bigint, max_retries int, start_after timestamptz,
     end_before timestamptz, misfire_policy text, overlap_policy text, status text, covered_until timestamptz, spec_hash text,
     synced_at timestamptz, version int, created_at timestamptz, updated_at timestamptz, status_changed_at timestamptz)`

const COLUMNS = `id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane, timeout_ms,
     max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, spec_hash, synced_at, version,
     created_at, updated_at, status_changed_at`

/** insertSchedules: one INSERT … SELECT over a JSON recordset; an existing id inserts nothing. */
export async function insertSchedules(db: PgDb, t: MasterTables, schedules: ScheduleRecord[]): Promise<string[]> {
  if (schedules.length === 0) return []
  const rows = await db.query<{ id: string }>(
    `INSERT INTO ${t.schedules} (${COLUMNS})
     SELECT ${COLUMNS} FROM jsonb_to_recordset($1::text::jsonb) AS ${RECORDSET}
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [JSON.stringify(schedules.map(scheduleRow))],
  )
  return rows.map((r) => r.id)
}

export async function getSchedule(db: PgDb, t: MasterTables, clusterId: string, id: string): Promise<ScheduleRecord | null> {
  const rows = await db.query(`SELECT * FROM ${t.schedules} WHERE cluster_id = $1 AND id = $2::uuid`, [clusterId, id])
  return rows[0] ? toScheduleRecord(rows[0]) : null
}

export async function listSchedules(db: PgDb, t: MasterTables, clusterId: string, filter: ScheduleListFilter, limit: number): Promise<ScheduleRecord[]> {
  const rows = await db.query(
    `SELECT * FROM ${t.schedules}
      WHERE cluster_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)
      ORDER BY name NULLS LAST, created_at, id
      LIMIT $4`,
    [clusterId, filter.status ?? null, filter.kind ?? null, limit],
  )
  return rows.map(toScheduleRecord)
}

/** claimDueSchedules: skip-locked claim with a lease; the schedules covered least far come first (none starves). */
export async function claimDueSchedules(db: PgDb, t: MasterTables, clusterId: string, coverBefore: Date, limit: number, claimMs: number, now: Date): Promise<ScheduleRecord[]> {
  const rows = await db.query(
    `WITH c AS (
       SELECT id FROM ${t.schedules}
        WHERE cluster_id = $1 AND status = 'Active' AND covered_until < $2
          AND (claimed_until IS NULL OR claimed_until < $3)
        ORDER BY covered_until
        LIMIT $4
        FOR UPDATE SKIP LOCKED)
     UPDATE ${t.schedules} s SET claimed_until = $5 FROM c WHERE s.id = c.id
     RETURNING s.*`,
    [clusterId, coverBefore, now, limit, new Date(now.getTime() + claimMs)],
  )
  return rows.map(toScheduleRecord).sort((a, b) => a.coveredUntil.getTime() - b.coveredUntil.getTime())
}

/** The guarded write shared by updateSchedule and commitSchedulePlan: everything but identity and creation. */
async function writeSchedule(tx: Tx, t: MasterTables, next: ScheduleRecord, expectVersion: number, now: Date): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE ${t.schedules} s
        SET name = r.name, definition = r.definition, every_ms = r.every_ms, cron = r.cron, time_zone = r.time_zone,
            payload = r.payload, metadata = r.metadata, priority = r.priority, lane = r.lane, timeout_ms = r.timeout_ms,
            max_retries = r.max_retries, start_after = r.start_after, end_before = r.end_before,
            misfire_policy = r.misfire_policy, overlap_policy = r.overlap_policy, status = r.status,
            status_changed_at = r.status_changed_at, covered_until = r.covered_until, spec_hash = r.spec_hash,
            synced_at = r.synced_at, version = s.version + 1, claimed_until = NULL, updated_at = $2
       FROM jsonb_populate_record(NULL::${t.schedules}, $1::text::jsonb) AS r
      WHERE s.cluster_id = r.cluster_id AND s.id = r.id AND s.version = $3
      RETURNING s.id`,
    [JSON.stringify(scheduleRow(next)), now, expectVersion],
  )
  return rows.length === 1
}

export async function updateSchedule(db: PgDb, t: MasterTables, next: ScheduleRecord, expectVersion: number, options: { withdrawOccurrences: boolean }, now: Date): Promise<ScheduleUpdate> {
  return db.transaction(async (tx) => {
    if (!(await writeSchedule(tx, t, next, expectVersion, now))) return { applied: false, cancelled: [] }
    if (!options.withdrawOccurrences) return { applied: true, cancelled: [] }
    await tx.query(`DELETE FROM ${t.jobs} WHERE schedule_id = $1 AND cluster_id = $2 AND status = 'HeldOnMaster' AND occurrence_at IS NOT NULL`, [next.id, next.clusterId])
    const cancelled = await tx.query(
      `WITH before AS (
         SELECT * FROM ${t.jobs}
          WHERE schedule_id = $1 AND cluster_id = $2 AND status IN ('AssignedToBucket', 'Queued') AND occurrence_at IS NOT NULL
          FOR UPDATE)
       UPDATE ${t.jobs} j
          SET status = 'Cancelled', occurrence_at = NULL, bucket_id = NULL, agent_connection = NULL, finished_at = $3,
              last_error = $4, updated_at = $3
         FROM before WHERE j.id = before.id
       RETURNING before.*`,
      [next.id, next.clusterId, now, WITHDRAWN_OCCURRENCE_ERROR],
    )
    return { applied: true, cancelled: cancelled.map(toJobRecord) }
  })
}

/** commitSchedulePlan: the guarded coverage write and the occurrence inserts in one transaction. */
export async function commitSchedulePlan(db: PgDb, t: MasterTables, next: ScheduleRecord, expectVersion: number, jobs: NewScheduledJob[], now: Date): Promise<string[] | null> {
  return db.transaction(async (tx) => {
    if (!(await writeSchedule(tx, t, next, expectVersion, now))) return null
    if (jobs.length === 0) return []
    // ON CONFLICT without a target also covers the (schedule_id, occurrence_at) unique index.
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO ${t.jobs} (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at,
          original_scheduled_at, created_at, updated_at, max_retries, timeout_ms, schedule_id, occurrence_at, skip_if_overlapping)
       SELECT u.id, $1, u.definition, 'HeldOnMaster', u.priority, u.lane, u.payload::jsonb, u.metadata::jsonb, u.scheduled_at,
          u.scheduled_at, u.created_at, $2, u.max_retries, u.timeout_ms, u.schedule_id, u.occurrence_at, u.skip_if_overlapping::boolean
       FROM unnest($3::uuid[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],
          $10::timestamptz[], $11::int[], $12::bigint[], $13::uuid[], $14::timestamptz[], $15::text[])
         AS u(id, definition, priority, lane, payload, metadata, scheduled_at, created_at, max_retries, timeout_ms,
              schedule_id, occurrence_at, skip_if_overlapping)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        next.clusterId,
        now,
        jobs.map((j) => j.envelope.id),
        jobs.map((j) => j.envelope.definition),
        jobs.map((j) => PRIORITY_RANK[j.envelope.priority]),
        jobs.map((j) => j.envelope.lane),
        jobs.map((j) => JSON.stringify(j.envelope.payload ?? null)),
        jobs.map((j) => JSON.stringify(j.envelope.metadata)),
        jobs.map((j) => j.envelope.scheduledAt.toISOString()),
        jobs.map((j) => j.envelope.createdAt.toISOString()),
        jobs.map((j) => j.envelope.maxRetries),
        jobs.map((j) => j.envelope.timeoutMs),
        jobs.map((j) => j.scheduleId),
        jobs.map((j) => isoOrNull(j.occurrenceAt)),
        // As text: postgres.js would send a boolean array as one boolean.
        jobs.map((j) => String(j.skipIfOverlapping)),
      ],
    )
    return rows.map((r) => r.id)
  })
}

/**
 * claimOverlapSlots: compare-and-set of each schedule's live run. The row lock serializes two
 * coordinators on one schedule: the second sees the first's job as the live run, unfinished.
 */
export async function claimOverlapSlots(db: PgDb, t: MasterTables, clusterId: string, entries: Array<{ scheduleId: string; jobId: string }>): Promise<string[]> {
  if (entries.length === 0) return []
  const rows = await db.query<{ job_id: string }>(
    `UPDATE ${t.schedules} s SET live_job_id = u.job_id
       FROM unnest($2::uuid[], $3::uuid[]) AS u(schedule_id, job_id)
      WHERE s.cluster_id = $1 AND s.id = u.schedule_id
        AND (s.live_job_id IS NULL OR s.live_job_id = u.job_id
             OR NOT EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.id = s.live_job_id AND j.status NOT IN (${TERMINAL})))
     RETURNING u.job_id`,
    [clusterId, entries.map((e) => e.scheduleId), entries.map((e) => e.jobId)],
  )
  return rows.map((r) => r.job_id)
}

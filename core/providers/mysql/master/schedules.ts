import { PRIORITY_RANK, TERMINAL_STATUSES, type ScheduleRecord } from '../../../model.js'
import { WITHDRAWN_OCCURRENCE_ERROR, type NewScheduledJob, type ScheduleListFilter, type ScheduleUpdate } from '../../../stores/master.js'
import { ER_DUP_ENTRY, errnoOf, jsonRows, sqlTime, TIME, UUID, type MySqlDb, type Session } from '../db.js'
import { toJobRecord, toScheduleRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const TERMINAL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(',')

/** The written columns of a schedule, in the order of INSERT_COLUMNS and the row arrays. */
const INSERT_COLUMNS = `id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane,
    timeout_ms, max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, spec_hash,
    synced_at, version, created_at, updated_at, status_changed_at`

function scheduleValues(s: ScheduleRecord): unknown[] {
  return [
    s.id, s.clusterId, s.kind, s.name, s.definition, s.everyMs, s.cron, s.timeZone, JSON.stringify(s.payload ?? null), JSON.stringify(s.metadata),
    PRIORITY_RANK[s.priority], s.lane, s.timeoutMs, s.maxRetries, s.startAfter, s.endBefore, s.misfirePolicy, s.overlapPolicy, s.status,
    s.coveredUntil, s.specHash, s.syncedAt, s.version, s.createdAt, s.updatedAt, s.statusChangedAt,
  ]
}

/**
 * insertSchedules: a plain multi-row INSERT (as insertJobs: IGNORE would also hide real errors).
 * An id that exists makes it fail with a duplicate key; the existing ids are then looked up and
 * the rest inserted.
 */
export async function insertSchedules(db: MySqlDb, t: MasterTables, schedules: ScheduleRecord[]): Promise<string[]> {
  let pending = [...new Map(schedules.map((s) => [s.id, s])).values()]
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      await db.exec(`INSERT INTO ${t.schedules} (${INSERT_COLUMNS}) VALUES ?`, [pending.map(scheduleValues)])
      return pending.map((s) => s.id)
    } catch (error) {
      if (errnoOf(error) !== ER_DUP_ENTRY || attempt === 3) throw error
    }
    const existing = new Set((await db.query<{ id: string }>(`SELECT id FROM ${t.schedules} WHERE id IN (?)`, [pending.map((s) => s.id)])).map((r) => r.id))
    pending = pending.filter((s) => !existing.has(s.id))
  }
  return []
}

export async function getSchedule(db: MySqlDb, t: MasterTables, clusterId: string, id: string): Promise<ScheduleRecord | null> {
  const [row] = await db.query(`SELECT * FROM ${t.schedules} WHERE cluster_id = ? AND id = ?`, [clusterId, id])
  return row ? toScheduleRecord(row) : null
}

export async function listSchedules(db: MySqlDb, t: MasterTables, clusterId: string, filter: ScheduleListFilter, limit: number): Promise<ScheduleRecord[]> {
  const clauses = ['cluster_id = ?']
  const params: unknown[] = [clusterId]
  if (filter.status !== undefined) {
    clauses.push('status = ?')
    params.push(filter.status)
  }
  if (filter.kind !== undefined) {
    clauses.push('kind = ?')
    params.push(filter.kind)
  }
  const rows = await db.query(`SELECT * FROM ${t.schedules} WHERE ${clauses.join(' AND ')} ORDER BY name IS NULL, name, created_at, id LIMIT ?`, [...params, limit])
  return rows.map(toScheduleRecord)
}

/**
 * claimDueSchedules: skip-locked claim with a lease, those covered least far first (none
 * starves). The scan is forced along (cluster_id, status, covered_until) so LIMIT ends it, as
 * in claimDueHeldJobs.
 */
export async function claimDueSchedules(db: MySqlDb, t: MasterTables, clusterId: string, coverBefore: Date, limit: number, claimMs: number, now: Date): Promise<ScheduleRecord[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(
      `SELECT * FROM ${t.schedules} FORCE INDEX (schedules_due)
        WHERE cluster_id = ? AND status = 'Active' AND covered_until < ?
          AND (claimed_until IS NULL OR claimed_until < ?)
        ORDER BY covered_until
        LIMIT ?
        FOR UPDATE SKIP LOCKED`,
      [clusterId, coverBefore, now, limit],
    )
    if (rows.length > 0) await tx.exec(`UPDATE ${t.schedules} SET claimed_until = ? WHERE id IN (?)`, [new Date(now.getTime() + claimMs), rows.map((r) => r.id)])
    return rows.map(toScheduleRecord)
  })
}

/** The guarded write shared by updateSchedule and commitSchedulePlan: everything but identity and creation. */
async function writeSchedule(tx: Session, t: MasterTables, next: ScheduleRecord, expectVersion: number, now: Date): Promise<boolean> {
  const { affectedRows } = await tx.exec(
    `UPDATE ${t.schedules}
        SET name = ?, definition = ?, every_ms = ?, cron = ?, time_zone = ?, payload = ?, metadata = ?, priority = ?, lane = ?,
            timeout_ms = ?, max_retries = ?, start_after = ?, end_before = ?, misfire_policy = ?, overlap_policy = ?, status = ?,
            status_changed_at = ?, covered_until = ?, spec_hash = ?, synced_at = ?, version = version + 1, claimed_until = NULL,
            updated_at = ?
      WHERE cluster_id = ? AND id = ? AND version = ?`,
    [
      next.name, next.definition, next.everyMs, next.cron, next.timeZone, JSON.stringify(next.payload ?? null), JSON.stringify(next.metadata),
      PRIORITY_RANK[next.priority], next.lane, next.timeoutMs, next.maxRetries, next.startAfter, next.endBefore, next.misfirePolicy,
      next.overlapPolicy, next.status, next.statusChangedAt, next.coveredUntil, next.specHash, next.syncedAt, now,
      next.clusterId, next.id, expectVersion,
    ],
  )
  return affectedRows === 1
}

export async function updateSchedule(db: MySqlDb, t: MasterTables, next: ScheduleRecord, expectVersion: number, options: { withdrawOccurrences: boolean }, now: Date): Promise<ScheduleUpdate> {
  return db.transaction(async (tx) => {
    if (!(await writeSchedule(tx, t, next, expectVersion, now))) return { applied: false, cancelled: [] }
    if (!options.withdrawOccurrences) return { applied: true, cancelled: [] }
    await tx.exec(`DELETE FROM ${t.jobs} WHERE schedule_id = ? AND cluster_id = ? AND status = 'HeldOnMaster' AND occurrence_at IS NOT NULL`, [next.id, next.clusterId])
    const before = await tx.query(
      `SELECT * FROM ${t.jobs} WHERE schedule_id = ? AND cluster_id = ? AND status IN ('AssignedToBucket', 'Queued') AND occurrence_at IS NOT NULL FOR UPDATE`,
      [next.id, next.clusterId],
    )
    if (before.length > 0) {
      await tx.exec(
        `UPDATE ${t.jobs} SET status = 'Cancelled', occurrence_at = NULL, bucket_id = NULL, agent_connection = NULL, finished_at = ?,
            last_error = ?, updated_at = ?
          WHERE id IN (?)`,
        [now, WITHDRAWN_OCCURRENCE_ERROR, now, before.map((r) => r.id)],
      )
    }
    return { applied: true, cancelled: before.map(toJobRecord) }
  })
}

const OCCURRENCE_COLUMNS = { occurrence_at: TIME }

/**
 * commitSchedulePlan: the guarded write first (its row lock serializes every planner of the
 * schedule), then the occurrences the schedule does not have yet, in one transaction.
 */
export async function commitSchedulePlan(db: MySqlDb, t: MasterTables, next: ScheduleRecord, expectVersion: number, jobs: NewScheduledJob[], now: Date): Promise<string[] | null> {
  return db.transaction(async (tx) => {
    if (!(await writeSchedule(tx, t, next, expectVersion, now))) return null
    const planned = jobs.filter((j) => j.occurrenceAt !== null)
    const taken = new Set<number>()
    if (planned.length > 0) {
      const rows = await tx.query<{ occurrence_at: Date }>(
        `SELECT j.occurrence_at FROM ${t.jobs} j JOIN ${jsonRows(OCCURRENCE_COLUMNS)} u ON j.occurrence_at = u.occurrence_at WHERE j.schedule_id = ?`,
        [JSON.stringify(planned.map((j) => ({ occurrence_at: sqlTime(j.occurrenceAt!) }))), next.id],
      )
      for (const r of rows) taken.add(r.occurrence_at.getTime())
    }
    const fresh = jobs.filter((j) => j.occurrenceAt === null || !taken.has(j.occurrenceAt.getTime()))
    if (fresh.length === 0) return []
    await tx.exec(
      `INSERT INTO ${t.jobs} (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at,
          created_at, updated_at, max_retries, timeout_ms, schedule_id, occurrence_at, skip_if_overlapping)
       VALUES ?`,
      [
        fresh.map((j) => {
          const e = j.envelope
          return [
            e.id, next.clusterId, e.definition, 'HeldOnMaster', PRIORITY_RANK[e.priority], e.lane, JSON.stringify(e.payload ?? null), JSON.stringify(e.metadata),
            e.scheduledAt, e.scheduledAt, e.createdAt, now, e.maxRetries, e.timeoutMs, j.scheduleId, j.occurrenceAt, j.skipIfOverlapping,
          ]
        }),
      ],
    )
    return fresh.map((j) => j.envelope.id)
  })
}

const SLOT_COLUMNS = { schedule_id: UUID, job_id: UUID }

/**
 * claimOverlapSlots: compare-and-set of each schedule's live run, then read which entries hold
 * it. The UPDATE's row locks serialize two coordinators on one schedule: the second sees the
 * first's job as the live run, unfinished.
 */
export async function claimOverlapSlots(db: MySqlDb, t: MasterTables, clusterId: string, entries: Array<{ scheduleId: string; jobId: string }>): Promise<string[]> {
  if (entries.length === 0) return []
  const slots = JSON.stringify(entries.map((e) => ({ schedule_id: e.scheduleId, job_id: e.jobId })))
  return db.transaction(async (tx) => {
    await tx.exec(
      `UPDATE ${t.schedules} s JOIN ${jsonRows(SLOT_COLUMNS)} u ON s.id = u.schedule_id
          SET s.live_job_id = u.job_id
        WHERE s.cluster_id = ?
          AND (s.live_job_id IS NULL OR s.live_job_id = u.job_id
               OR NOT EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.id = s.live_job_id AND j.status NOT IN (${TERMINAL})))`,
      [slots, clusterId],
    )
    const rows = await tx.query<{ job_id: string }>(
      `SELECT u.job_id FROM ${t.schedules} s JOIN ${jsonRows(SLOT_COLUMNS)} u ON s.id = u.schedule_id AND s.live_job_id = u.job_id WHERE s.cluster_id = ?`,
      [slots, clusterId],
    )
    return rows.map((r) => r.job_id)
  })
}

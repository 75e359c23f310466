import type { WorkerRecord } from '../../../model.js'
import { toWorkerRecord } from '../../../stores/master-rows.js'
import type { PgDb } from '../db.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

export async function registerWorker(db: PgDb, t: MasterTables, w: WorkerRecord): Promise<void> {
  await db.query(
    `INSERT INTO ${t.workers} (id, cluster_id, name, agent_connection, lane, mode, heartbeat_at, started_at, stop_requested_at, host, pid)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [w.id, w.clusterId, w.name, w.agentConnection, w.lane, w.mode, w.heartbeatAt, w.startedAt, w.stopRequestedAt, w.host, w.pid],
  )
}

export async function heartbeat(db: PgDb, t: MasterTables, workerId: string, now: Date): Promise<{ stopRequested: boolean } | null> {
  const rows = await db.query(`UPDATE ${t.workers} SET heartbeat_at = $2 WHERE id = $1 RETURNING stop_requested_at`, [workerId, now])
  return rows[0] ? { stopRequested: rows[0].stop_requested_at !== null } : null
}

export async function listWorkers(db: PgDb, t: MasterTables, clusterId: string): Promise<WorkerRecord[]> {
  const rows = await db.query(`SELECT * FROM ${t.workers} WHERE cluster_id = $1 ORDER BY started_at`, [clusterId])
  return rows.map(toWorkerRecord)
}

/** reapDeadWorkers: delete workers silent since `heartbeatBefore`; their buckets become orphans. */
export async function reapDeadWorkers(db: PgDb, t: MasterTables, clusterId: string, heartbeatBefore: Date): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `DELETE FROM ${t.workers} WHERE cluster_id = $1 AND heartbeat_at < $2 RETURNING id`,
    [clusterId, heartbeatBefore],
  )
  return rows.map((r) => r.id)
}

export async function deleteWorker(db: PgDb, t: MasterTables, workerId: string): Promise<void> {
  await db.query(`DELETE FROM ${t.workers} WHERE id = $1`, [workerId])
}

export async function requestWorkerStop(db: PgDb, t: MasterTables, workerId: string, now: Date): Promise<boolean> {
  const rows = await db.query(
    `UPDATE ${t.workers} SET stop_requested_at = COALESCE(stop_requested_at, $2) WHERE id = $1 RETURNING id`,
    [workerId, now],
  )
  return rows.length > 0
}

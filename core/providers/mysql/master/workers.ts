import type { WorkerRecord } from '../../../model.js'
import { toWorkerRecord } from '../../../stores/master-rows.js'
import type { MySqlDb } from '../db.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

export async function registerWorker(db: MySqlDb, t: MasterTables, w: WorkerRecord): Promise<void> {
  await db.exec(
    `INSERT INTO ${t.workers} (id, cluster_id, name, agent_connection, lane, mode, heartbeat_at, started_at, stop_requested_at, host, pid)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [w.id, w.clusterId, w.name, w.agentConnection, w.lane, w.mode, w.heartbeatAt, w.startedAt, w.stopRequestedAt, w.host, w.pid],
  )
}

/** heartbeat: without UPDATE … RETURNING, the stop request is read after the update (only if the worker still exists). */
export async function heartbeat(db: MySqlDb, t: MasterTables, workerId: string, now: Date): Promise<{ stopRequested: boolean } | null> {
  const { affectedRows } = await db.exec(`UPDATE ${t.workers} SET heartbeat_at = ? WHERE id = ?`, [now, workerId])
  if (affectedRows === 0) return null
  const rows = await db.query<{ stop_requested_at: Date | null }>(`SELECT stop_requested_at FROM ${t.workers} WHERE id = ?`, [workerId])
  return rows[0] ? { stopRequested: rows[0].stop_requested_at !== null } : null
}

export async function listWorkers(db: MySqlDb, t: MasterTables, clusterId: string): Promise<WorkerRecord[]> {
  const rows = await db.query(`SELECT * FROM ${t.workers} WHERE cluster_id = ? ORDER BY started_at`, [clusterId])
  return rows.map(toWorkerRecord)
}

/**
 * reapDeadWorkers: delete workers silent since `heartbeatBefore`; their buckets become orphans.
 * The rows are locked before the delete, so a heartbeat racing the reaper either lands first
 * (the worker survives) or finds the worker gone; the answer names exactly the deleted ones.
 */
export async function reapDeadWorkers(db: MySqlDb, t: MasterTables, clusterId: string, heartbeatBefore: Date): Promise<string[]> {
  return db.transaction(async (tx) => {
    const dead = (await tx.query<{ id: string }>(`SELECT id FROM ${t.workers} WHERE cluster_id = ? AND heartbeat_at < ? FOR UPDATE`, [clusterId, heartbeatBefore])).map((r) => r.id)
    if (dead.length > 0) await tx.exec(`DELETE FROM ${t.workers} WHERE id IN (?)`, [dead])
    return dead
  })
}

export async function deleteWorker(db: MySqlDb, t: MasterTables, workerId: string): Promise<void> {
  await db.exec(`DELETE FROM ${t.workers} WHERE id = ?`, [workerId])
}

export async function requestWorkerStop(db: MySqlDb, t: MasterTables, workerId: string, now: Date): Promise<boolean> {
  const { affectedRows } = await db.exec(`UPDATE ${t.workers} SET stop_requested_at = COALESCE(stop_requested_at, ?) WHERE id = ?`, [now, workerId])
  return affectedRows > 0
}

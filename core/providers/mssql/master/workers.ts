import type { WorkerRecord } from '../../../model.js'
import { toWorkerRecord } from '../../../stores/master-rows.js'
import { param, rowsOf, SQL_TYPES as T, type Runner, type Statement } from '../db.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const COLUMNS = 'id, cluster_id, name, agent_connection, lane, mode, heartbeat_at, started_at, stop_requested_at, host, pid'

export function buildRegisterWorker(t: MasterTables, w: WorkerRecord): Statement {
  return {
    text: `INSERT INTO ${t.workers} (${COLUMNS})
VALUES (@id, @clusterId, @name, @agentConnection, @lane, @mode, @heartbeatAt, @startedAt, @stopRequestedAt, @host, @pid)`,
    params: [
      param('id', T.workerId, w.id),
      param('clusterId', T.clusterId, w.clusterId),
      param('name', T.name, w.name),
      param('agentConnection', T.name, w.agentConnection),
      param('lane', T.name, w.lane),
      param('mode', T.status, w.mode),
      param('heartbeatAt', T.time, w.heartbeatAt),
      param('startedAt', T.time, w.startedAt),
      param('stopRequestedAt', T.time, w.stopRequestedAt),
      param('host', 'nvarchar(255)', w.host),
      param('pid', 'int', w.pid),
    ],
    statements: 1,
  }
}

export async function registerWorker(db: Runner, t: MasterTables, w: WorkerRecord): Promise<void> {
  await db.run(buildRegisterWorker(t, w))
}

export function buildHeartbeat(t: MasterTables, workerId: string, now: Date): Statement {
  return {
    text: `UPDATE ${t.workers} SET heartbeat_at = @now OUTPUT inserted.stop_requested_at WHERE id = @workerId`,
    params: [param('now', T.time, now), param('workerId', T.workerId, workerId)],
    statements: 1,
  }
}

export async function heartbeat(db: Runner, t: MasterTables, workerId: string, now: Date): Promise<{ stopRequested: boolean } | null> {
  const row = rowsOf(await db.run(buildHeartbeat(t, workerId, now)))[0]
  return row ? { stopRequested: row.stop_requested_at !== null } : null
}

export function buildListWorkers(t: MasterTables, clusterId: string): Statement {
  return {
    text: `SELECT ${COLUMNS} FROM ${t.workers} WHERE cluster_id = @clusterId ORDER BY started_at, id`,
    params: [param('clusterId', T.clusterId, clusterId)],
    statements: 1,
  }
}

export async function listWorkers(db: Runner, t: MasterTables, clusterId: string): Promise<WorkerRecord[]> {
  return rowsOf(await db.run(buildListWorkers(t, clusterId))).map(toWorkerRecord)
}

/** Delete workers silent since `heartbeatBefore`; their buckets become orphans. */
export function buildReapDeadWorkers(t: MasterTables, clusterId: string, heartbeatBefore: Date): Statement {
  return {
    text: `DELETE FROM ${t.workers} OUTPUT deleted.id WHERE cluster_id = @clusterId AND heartbeat_at < @heartbeatBefore`,
    params: [param('clusterId', T.clusterId, clusterId), param('heartbeatBefore', T.time, heartbeatBefore)],
    statements: 1,
  }
}

export async function reapDeadWorkers(db: Runner, t: MasterTables, clusterId: string, heartbeatBefore: Date): Promise<string[]> {
  return rowsOf(await db.run<{ id: string }>(buildReapDeadWorkers(t, clusterId, heartbeatBefore))).map((r) => r.id)
}

export function buildDeleteWorker(t: MasterTables, workerId: string): Statement {
  return { text: `DELETE FROM ${t.workers} WHERE id = @workerId`, params: [param('workerId', T.workerId, workerId)], statements: 1 }
}

export async function deleteWorker(db: Runner, t: MasterTables, workerId: string): Promise<void> {
  await db.run(buildDeleteWorker(t, workerId))
}

/** The first request's time is kept. */
export function buildRequestWorkerStop(t: MasterTables, workerId: string, now: Date): Statement {
  return {
    text: `UPDATE ${t.workers} SET stop_requested_at = COALESCE(stop_requested_at, @now) OUTPUT inserted.id WHERE id = @workerId`,
    params: [param('now', T.time, now), param('workerId', T.workerId, workerId)],
    statements: 1,
  }
}

export async function requestWorkerStop(db: Runner, t: MasterTables, workerId: string, now: Date): Promise<boolean> {
  return rowsOf(await db.run(buildRequestWorkerStop(t, workerId, now))).length > 0
}

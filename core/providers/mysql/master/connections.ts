import type { AgentConnectionRecord } from '../../../model.js'
import type { MySqlDb } from '../db.js'
import { toAgentConnectionRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

export async function getAgentConnection(db: MySqlDb, t: MasterTables, clusterId: string, name: string): Promise<AgentConnectionRecord | null> {
  const rows = await db.query(`SELECT * FROM ${t.connections} WHERE cluster_id = ? AND name = ?`, [clusterId, name])
  return rows[0] ? toAgentConnectionRecord(rows[0]) : null
}

export async function listAgentConnections(db: MySqlDb, t: MasterTables, clusterId: string): Promise<AgentConnectionRecord[]> {
  const rows = await db.query(`SELECT * FROM ${t.connections} WHERE cluster_id = ? ORDER BY name`, [clusterId])
  return rows.map(toAgentConnectionRecord)
}

export async function upsertAgentConnection(db: MySqlDb, t: MasterTables, c: AgentConnectionRecord): Promise<void> {
  await db.exec(
    `INSERT INTO ${t.connections} (cluster_id, name, provider, fingerprint, protect, first_seen_at, last_seen_at, deletion_deferred_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE provider = VALUES(provider), fingerprint = VALUES(fingerprint), protect = VALUES(protect),
        last_seen_at = VALUES(last_seen_at), deletion_deferred_at = VALUES(deletion_deferred_at)`,
    [c.clusterId, c.name, c.provider, c.fingerprint, c.protect, c.firstSeenAt, c.lastSeenAt, c.deletionDeferredAt],
  )
}

export async function deleteAgentConnection(db: MySqlDb, t: MasterTables, clusterId: string, name: string): Promise<void> {
  await db.exec(`DELETE FROM ${t.connections} WHERE cluster_id = ? AND name = ?`, [clusterId, name])
}

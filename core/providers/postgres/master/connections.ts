import type { AgentConnectionRecord } from '../../../model.js'
import type { PgDb } from '../db.js'
import { toAgentConnectionRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

export async function getAgentConnection(db: PgDb, t: MasterTables, clusterId: string, name: string): Promise<AgentConnectionRecord | null> {
  const rows = await db.query(`SELECT * FROM ${t.connections} WHERE cluster_id = $1 AND name = $2`, [clusterId, name])
  return rows[0] ? toAgentConnectionRecord(rows[0]) : null
}

export async function listAgentConnections(db: PgDb, t: MasterTables, clusterId: string): Promise<AgentConnectionRecord[]> {
  const rows = await db.query(`SELECT * FROM ${t.connections} WHERE cluster_id = $1 ORDER BY name`, [clusterId])
  return rows.map(toAgentConnectionRecord)
}

export async function upsertAgentConnection(db: PgDb, t: MasterTables, c: AgentConnectionRecord): Promise<void> {
  await db.query(
    `INSERT INTO ${t.connections} (cluster_id, name, provider, fingerprint, protect, first_seen_at, last_seen_at, deletion_deferred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (cluster_id, name) DO UPDATE SET provider = EXCLUDED.provider, fingerprint = EXCLUDED.fingerprint,
        protect = EXCLUDED.protect, last_seen_at = EXCLUDED.last_seen_at, deletion_deferred_at = EXCLUDED.deletion_deferred_at`,
    [c.clusterId, c.name, c.provider, c.fingerprint, c.protect, c.firstSeenAt, c.lastSeenAt, c.deletionDeferredAt],
  )
}

export async function deleteAgentConnection(db: PgDb, t: MasterTables, clusterId: string, name: string): Promise<void> {
  await db.query(`DELETE FROM ${t.connections} WHERE cluster_id = $1 AND name = $2`, [clusterId, name])
}

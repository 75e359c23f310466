import type { ClusterSettings } from '../../../model.js'
import type { PgDb } from '../db.js'
import { toClusterSettings } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

function values(s: ClusterSettings): unknown[] {
  return [s.clusterId, s.mode, s.transientThresholdMs, s.defaultJobTimeoutMs, s.defaultMaxRetries, s.maxMessageBytes, s.timeZone, s.dataRetentionMs]
}

/** initCluster: the first process to start writes the settings; later ones read them (unless told to overwrite). */
export async function initCluster(db: PgDb, t: MasterTables, settings: ClusterSettings, overwrite: boolean, now: Date): Promise<ClusterSettings> {
  const rows = await db.query(
    `INSERT INTO ${t.clusters} (cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries,
        max_message_bytes, time_zone, data_retention_ms, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
     ON CONFLICT (cluster_id) DO UPDATE SET
        mode = EXCLUDED.mode, transient_threshold_ms = EXCLUDED.transient_threshold_ms,
        default_job_timeout_ms = EXCLUDED.default_job_timeout_ms, default_max_retries = EXCLUDED.default_max_retries,
        max_message_bytes = EXCLUDED.max_message_bytes, time_zone = EXCLUDED.time_zone,
        data_retention_ms = EXCLUDED.data_retention_ms, updated_at = EXCLUDED.updated_at
      WHERE $10::boolean
     RETURNING *`,
    [...values(settings), now, overwrite],
  )
  if (rows[0]) return toClusterSettings(rows[0])
  const stored = await getCluster(db, t, settings.clusterId)
  if (!stored) throw new Error(`cluster ${settings.clusterId} vanished during initialisation`)
  return stored
}

export async function getCluster(db: PgDb, t: MasterTables, clusterId: string): Promise<ClusterSettings | null> {
  const rows = await db.query(`SELECT * FROM ${t.clusters} WHERE cluster_id = $1`, [clusterId])
  return rows[0] ? toClusterSettings(rows[0]) : null
}

export async function updateCluster(db: PgDb, t: MasterTables, settings: ClusterSettings, now: Date): Promise<void> {
  await db.query(
    `UPDATE ${t.clusters} SET mode = $2, transient_threshold_ms = $3, default_job_timeout_ms = $4, default_max_retries = $5,
        max_message_bytes = $6, time_zone = $7, data_retention_ms = $8, updated_at = $9
      WHERE cluster_id = $1`,
    [...values(settings), now],
  )
}

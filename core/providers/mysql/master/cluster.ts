import type { ClusterSettings } from '../../../model.js'
import type { MySqlDb } from '../db.js'
import { toClusterSettings } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

function values(s: ClusterSettings): unknown[] {
  return [s.clusterId, s.mode, s.transientThresholdMs, s.defaultJobTimeoutMs, s.defaultMaxRetries, s.maxMessageBytes, s.timeZone, s.dataRetentionMs]
}

/** initCluster: the first process to start writes the settings; later ones read them (unless told to overwrite). */
export async function initCluster(db: MySqlDb, t: MasterTables, settings: ClusterSettings, overwrite: boolean, now: Date): Promise<ClusterSettings> {
  // A real upsert (never update-then-insert, which races): the duplicate either keeps the stored
  // row untouched or takes every setting, depending on `overwrite`.
  const onDuplicate = overwrite
    ? `mode = VALUES(mode), transient_threshold_ms = VALUES(transient_threshold_ms),
       default_job_timeout_ms = VALUES(default_job_timeout_ms), default_max_retries = VALUES(default_max_retries),
       max_message_bytes = VALUES(max_message_bytes), time_zone = VALUES(time_zone),
       data_retention_ms = VALUES(data_retention_ms), updated_at = VALUES(updated_at)`
    : 'cluster_id = cluster_id'
  await db.exec(
    `INSERT INTO ${t.clusters} (cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries,
        max_message_bytes, time_zone, data_retention_ms, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE ${onDuplicate}`,
    [...values(settings), now, now],
  )
  const stored = await getCluster(db, t, settings.clusterId)
  if (!stored) throw new Error(`cluster ${settings.clusterId} vanished during initialisation`)
  return stored
}

export async function getCluster(db: MySqlDb, t: MasterTables, clusterId: string): Promise<ClusterSettings | null> {
  const rows = await db.query(`SELECT * FROM ${t.clusters} WHERE cluster_id = ?`, [clusterId])
  return rows[0] ? toClusterSettings(rows[0]) : null
}

export async function updateCluster(db: MySqlDb, t: MasterTables, settings: ClusterSettings, now: Date): Promise<void> {
  const [clusterId, ...rest] = values(settings)
  await db.exec(
    `UPDATE ${t.clusters} SET mode = ?, transient_threshold_ms = ?, default_job_timeout_ms = ?, default_max_retries = ?,
        max_message_bytes = ?, time_zone = ?, data_retention_ms = ?, updated_at = ?
      WHERE cluster_id = ?`,
    [...rest, now, clusterId],
  )
}

import type { ClusterSettings } from '../../../model.js'
import { param, retryOnDuplicateKey, rowsOf, SQL_TYPES as T, type Param, type Runner, type Statement } from '../db.js'
import { toClusterSettings } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const COLUMNS = 'cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries, max_message_bytes, time_zone, data_retention_ms'

function settingParams(s: ClusterSettings, now: Date): Param[] {
  return [
    param('clusterId', T.clusterId, s.clusterId),
    param('mode', T.status, s.mode),
    param('transientThresholdMs', 'bigint', s.transientThresholdMs),
    param('defaultJobTimeoutMs', 'bigint', s.defaultJobTimeoutMs),
    param('defaultMaxRetries', 'int', s.defaultMaxRetries),
    param('maxMessageBytes', 'int', s.maxMessageBytes),
    param('timeZone', 'nvarchar(64)', s.timeZone),
    param('dataRetentionMs', 'bigint', s.dataRetentionMs),
    param('now', T.time, now),
  ]
}

const ASSIGNMENTS = `mode = @mode, transient_threshold_ms = @transientThresholdMs, default_job_timeout_ms = @defaultJobTimeoutMs,
    default_max_retries = @defaultMaxRetries, max_message_bytes = @maxMessageBytes, time_zone = @timeZone,
    data_retention_ms = @dataRetentionMs, updated_at = @now`

/**
 * The first process to start writes the settings; later ones read them, unless told to
 * overwrite. MERGE WITH (HOLDLOCK) makes check-and-insert one serialized step, and the SELECT
 * after it returns what is stored.
 */
export function buildInitCluster(t: MasterTables, settings: ClusterSettings, overwrite: boolean, now: Date): Statement {
  const whenMatched = overwrite ? `\nWHEN MATCHED THEN UPDATE SET ${ASSIGNMENTS}` : ''
  return {
    text: `MERGE ${t.clusters} WITH (HOLDLOCK) AS c
USING (SELECT @clusterId AS cluster_id) AS s ON c.cluster_id = s.cluster_id${whenMatched}
WHEN NOT MATCHED THEN INSERT (${COLUMNS}, created_at, updated_at)
  VALUES (@clusterId, @mode, @transientThresholdMs, @defaultJobTimeoutMs, @defaultMaxRetries, @maxMessageBytes, @timeZone, @dataRetentionMs, @now, @now);
SELECT ${COLUMNS} FROM ${t.clusters} WHERE cluster_id = @clusterId;`,
    params: settingParams(settings, now),
    statements: 2,
  }
}

export async function initCluster(db: Runner, t: MasterTables, settings: ClusterSettings, overwrite: boolean, now: Date): Promise<ClusterSettings> {
  const row = rowsOf(await retryOnDuplicateKey(() => db.run(buildInitCluster(t, settings, overwrite, now))))[0]
  if (!row) throw new Error(`cluster ${settings.clusterId} vanished during initialisation`)
  return toClusterSettings(row)
}

export function buildGetCluster(t: MasterTables, clusterId: string): Statement {
  return { text: `SELECT ${COLUMNS} FROM ${t.clusters} WHERE cluster_id = @clusterId`, params: [param('clusterId', T.clusterId, clusterId)], statements: 1 }
}

export async function getCluster(db: Runner, t: MasterTables, clusterId: string): Promise<ClusterSettings | null> {
  const row = rowsOf(await db.run(buildGetCluster(t, clusterId)))[0]
  return row ? toClusterSettings(row) : null
}

export function buildUpdateCluster(t: MasterTables, settings: ClusterSettings, now: Date): Statement {
  return { text: `UPDATE ${t.clusters} SET ${ASSIGNMENTS}\n WHERE cluster_id = @clusterId`, params: settingParams(settings, now), statements: 1 }
}

export async function updateCluster(db: Runner, t: MasterTables, settings: ClusterSettings, now: Date): Promise<void> {
  await db.run(buildUpdateCluster(t, settings, now))
}

import { masterTables } from '../../../stores/sql-tables.js'
import { TABLE_OPTIONS, UUID } from '../db.js'
import { unlessColumnExists, type Migration } from '../migrate.js'


/**
 * Master tables for MySQL 8 / MariaDB 10.6+. Times are DATETIME(3) holding UTC (every session
 * runs with time_zone '+00:00' and the driver converts in UTC); JSON columns are JSON (on
 * MariaDB an alias of LONGTEXT with a validity check), read back as text (see rows.ts).
 * There are no partial indexes, so the status column leads the indexes that filter on it.
 * Ordered migrations; each runs once, recorded in `schema_versions` under component "master".
 */
export function masterMigrations(prefix: string): Migration[] {
  const t = masterTables(prefix)
  return [
    [
      `CREATE TABLE IF NOT EXISTS ${t.clusters} (
  cluster_id VARCHAR(100) NOT NULL PRIMARY KEY,
  mode VARCHAR(20) NOT NULL,
  transient_threshold_ms BIGINT NOT NULL,
  default_job_timeout_ms BIGINT NOT NULL,
  default_max_retries INT NOT NULL,
  max_message_bytes INT NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  data_retention_ms BIGINT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.jobs} (
  id ${UUID} NOT NULL PRIMARY KEY,
  cluster_id VARCHAR(100) NOT NULL,
  definition VARCHAR(100) NOT NULL,
  status VARCHAR(20) NOT NULL,
  priority TINYINT NOT NULL,
  lane VARCHAR(100) NULL,
  payload JSON NULL,
  metadata JSON NOT NULL,
  scheduled_at DATETIME(3) NOT NULL,
  original_scheduled_at DATETIME(3) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  max_retries INT NOT NULL,
  timeout_ms BIGINT NOT NULL,
  agent_connection VARCHAR(100) NULL,
  bucket_id VARCHAR(200) NULL,
  worker_id VARCHAR(200) NULL,
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  idempotency_key VARCHAR(200) NULL,
  last_error TEXT NULL,
  claimed_until DATETIME(3) NULL,
  KEY jobs_due (cluster_id, status, scheduled_at),
  KEY jobs_status (cluster_id, status, created_at),
  KEY jobs_created (cluster_id, created_at, id),
  KEY jobs_bucket (bucket_id),
  KEY jobs_finished (cluster_id, finished_at)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.attempts} (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id ${UUID} NOT NULL,
  cluster_id VARCHAR(100) NOT NULL,
  attempt INT NOT NULL,
  worker_id VARCHAR(200) NULL,
  bucket_id VARCHAR(200) NULL,
  started_at DATETIME(3) NOT NULL,
  ended_at DATETIME(3) NOT NULL,
  outcome VARCHAR(20) NOT NULL,
  error TEXT NULL,
  result JSON NULL,
  KEY attempts_job (job_id, attempt)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.workers} (
  id VARCHAR(200) NOT NULL PRIMARY KEY,
  cluster_id VARCHAR(100) NOT NULL,
  name VARCHAR(100) NOT NULL,
  agent_connection VARCHAR(100) NULL,
  lane VARCHAR(100) NULL,
  mode VARCHAR(20) NOT NULL,
  heartbeat_at DATETIME(3) NOT NULL,
  started_at DATETIME(3) NOT NULL,
  stop_requested_at DATETIME(3) NULL,
  host VARCHAR(255) NOT NULL,
  pid INT NOT NULL,
  KEY workers_heartbeat (cluster_id, heartbeat_at)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.buckets} (
  id VARCHAR(200) NOT NULL PRIMARY KEY,
  cluster_id VARCHAR(100) NOT NULL,
  agent_connection VARCHAR(100) NOT NULL,
  priority TINYINT NOT NULL,
  lane VARCHAR(100) NULL,
  status VARCHAR(20) NOT NULL,
  owner_id VARCHAR(200) NULL,
  created_at DATETIME(3) NOT NULL,
  status_changed_at DATETIME(3) NOT NULL,
  KEY buckets_status (cluster_id, status)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.connections} (
  cluster_id VARCHAR(100) NOT NULL,
  name VARCHAR(100) NOT NULL,
  provider VARCHAR(20) NOT NULL,
  fingerprint VARCHAR(100) NOT NULL,
  protect BOOLEAN NOT NULL,
  first_seen_at DATETIME(3) NOT NULL,
  last_seen_at DATETIME(3) NOT NULL,
  deletion_deferred_at DATETIME(3) NULL,
  PRIMARY KEY (cluster_id, name)
) ${TABLE_OPTIONS}`,
    ],
    // 2: recurring schedules. Jobs record the schedule and occurrence they run; the unique key is
    // what makes an occurrence exist once however many planners run (NULLs do not collide).
    [
      ...unlessColumnExists(
        t.jobs,
        'schedule_id',
        `ALTER TABLE ${t.jobs}
  ADD COLUMN schedule_id ${UUID} NULL,
  ADD COLUMN occurrence_at DATETIME(3) NULL,
  ADD COLUMN skip_if_overlapping BOOLEAN NOT NULL DEFAULT FALSE,
  ADD UNIQUE KEY jobs_occurrence (schedule_id, occurrence_at)`,
      ),
      `CREATE TABLE IF NOT EXISTS ${t.schedules} (
  id ${UUID} NOT NULL PRIMARY KEY,
  cluster_id VARCHAR(100) NOT NULL,
  kind VARCHAR(20) NOT NULL,
  name VARCHAR(100) NULL,
  definition VARCHAR(100) NOT NULL,
  every_ms BIGINT NULL,
  cron VARCHAR(200) NULL,
  time_zone VARCHAR(64) NULL,
  payload JSON NULL,
  metadata JSON NOT NULL,
  priority TINYINT NOT NULL,
  lane VARCHAR(100) NULL,
  timeout_ms BIGINT NULL,
  max_retries INT NULL,
  start_after DATETIME(3) NULL,
  end_before DATETIME(3) NULL,
  misfire_policy VARCHAR(20) NOT NULL,
  overlap_policy VARCHAR(20) NOT NULL,
  status VARCHAR(20) NOT NULL,
  covered_until DATETIME(3) NOT NULL,
  claimed_until DATETIME(3) NULL,
  live_job_id ${UUID} NULL,
  spec_hash VARCHAR(64) NULL,
  synced_at DATETIME(3) NULL,
  version INT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  status_changed_at DATETIME(3) NOT NULL,
  KEY schedules_due (cluster_id, status, covered_until)
) ${TABLE_OPTIONS}`,
    ],
  ]
}

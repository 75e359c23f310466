import { masterTables } from '../../../stores/sql-tables.js'
import { SQL_TYPES as T } from '../db.js'
import { createIndex, createTable } from '../migrate.js'


/** Columns of a job row, in the order every statement selects (and OUTPUTs) them. */
export const JOB_COLUMNS = [
  'id', 'cluster_id', 'definition', 'status', 'priority', 'lane', 'payload', 'metadata', 'scheduled_at',
  'original_scheduled_at', 'created_at', 'updated_at', 'attempts', 'max_retries', 'timeout_ms', 'agent_connection',
  'bucket_id', 'worker_id', 'started_at', 'finished_at', 'idempotency_key', 'last_error', 'schedule_id', 'occurrence_at',
  'skip_if_overlapping',
] as const

/** Columns of a schedule row, in the order every statement selects (and OUTPUTs) them. */
export const SCHEDULE_COLUMNS = [
  'id', 'cluster_id', 'kind', 'name', 'definition', 'every_ms', 'cron', 'time_zone', 'payload', 'metadata', 'priority', 'lane',
  'timeout_ms', 'max_retries', 'start_after', 'end_before', 'misfire_policy', 'overlap_policy', 'status', 'covered_until',
  'created_at', 'updated_at', 'status_changed_at', 'version', 'spec_hash', 'synced_at',
] as const

/** `prefix.col, …` for a select list, or `inserted.col, …` / `deleted.col, …` for OUTPUT. */
export function columnList(columns: readonly string[], qualifier?: string): string {
  return columns.map((c) => (qualifier ? `${qualifier}.${c}` : c)).join(', ')
}

/**
 * Master tables for SQL Server. Every time column is datetimeoffset(3): an instant with its
 * offset (the engine always writes +00:00), so nothing depends on the server's time zone.
 * Ordered migrations; each runs once, recorded in `schema_versions` under component "master".
 */
export function masterMigrations(prefix: string): string[] {
  const t = masterTables(prefix)
  return [
    [
      createTable(
        t.clusters,
        `    cluster_id ${T.clusterId} NOT NULL CONSTRAINT ${t.clusters}_pk PRIMARY KEY,
    mode ${T.status} NOT NULL,
    transient_threshold_ms bigint NOT NULL,
    default_job_timeout_ms bigint NOT NULL,
    default_max_retries int NOT NULL,
    max_message_bytes int NOT NULL,
    time_zone nvarchar(64) NOT NULL,
    data_retention_ms bigint NULL,
    created_at ${T.time} NOT NULL,
    updated_at ${T.time} NOT NULL`,
      ),
      createTable(
        t.jobs,
        `    id ${T.jobId} NOT NULL CONSTRAINT ${t.jobs}_pk PRIMARY KEY,
    cluster_id ${T.clusterId} NOT NULL,
    definition ${T.definition} NOT NULL,
    status ${T.status} NOT NULL,
    priority smallint NOT NULL,
    lane ${T.name} NULL,
    payload ${T.text} NULL,
    metadata ${T.text} NOT NULL CONSTRAINT ${t.jobs}_metadata_default DEFAULT N'{}',
    scheduled_at ${T.time} NOT NULL,
    original_scheduled_at ${T.time} NOT NULL,
    created_at ${T.time} NOT NULL,
    updated_at ${T.time} NOT NULL,
    attempts int NOT NULL CONSTRAINT ${t.jobs}_attempts_default DEFAULT 0,
    max_retries int NOT NULL,
    timeout_ms bigint NOT NULL,
    agent_connection ${T.name} NULL,
    bucket_id ${T.bucketId} NULL,
    worker_id ${T.workerId} NULL,
    started_at ${T.time} NULL,
    finished_at ${T.time} NULL,
    idempotency_key ${T.idempotencyKey} NULL,
    last_error ${T.text} NULL,
    claimed_until ${T.time} NULL`,
      ),
      // Serves the held-job claim (status is compared with a literal) and per-status counts.
      createIndex(`${t.jobs}_held`, t.jobs, 'cluster_id, status, scheduled_at'),
      createIndex(`${t.jobs}_bucket`, t.jobs, 'bucket_id, status'),
      // Keyset listing, newest first (the clustered id completes the key).
      createIndex(`${t.jobs}_created`, t.jobs, 'cluster_id, created_at'),
      createIndex(`${t.jobs}_finished`, t.jobs, 'cluster_id, finished_at'),
      createTable(
        t.attempts,
        `    id bigint IDENTITY(1,1) NOT NULL CONSTRAINT ${t.attempts}_pk PRIMARY KEY,
    job_id ${T.jobId} NOT NULL,
    cluster_id ${T.clusterId} NOT NULL,
    attempt int NOT NULL,
    worker_id ${T.workerId} NULL,
    bucket_id ${T.bucketId} NULL,
    started_at ${T.time} NOT NULL,
    ended_at ${T.time} NOT NULL,
    outcome ${T.status} NOT NULL,
    error ${T.text} NULL,
    result ${T.text} NULL`,
      ),
      createIndex(`${t.attempts}_job`, t.attempts, 'job_id, attempt'),
      createTable(
        t.workers,
        `    id ${T.workerId} NOT NULL CONSTRAINT ${t.workers}_pk PRIMARY KEY,
    cluster_id ${T.clusterId} NOT NULL,
    name ${T.name} NOT NULL,
    agent_connection ${T.name} NULL,
    lane ${T.name} NULL,
    mode ${T.status} NOT NULL,
    heartbeat_at ${T.time} NOT NULL,
    started_at ${T.time} NOT NULL,
    stop_requested_at ${T.time} NULL,
    host nvarchar(255) NOT NULL,
    pid int NOT NULL`,
      ),
      createIndex(`${t.workers}_cluster`, t.workers, 'cluster_id, heartbeat_at'),
      createTable(
        t.buckets,
        `    id ${T.bucketId} NOT NULL CONSTRAINT ${t.buckets}_pk PRIMARY KEY,
    cluster_id ${T.clusterId} NOT NULL,
    agent_connection ${T.name} NOT NULL,
    priority smallint NOT NULL,
    lane ${T.name} NULL,
    status ${T.status} NOT NULL,
    owner_id ${T.workerId} NULL,
    created_at ${T.time} NOT NULL,
    status_changed_at ${T.time} NOT NULL`,
      ),
      createIndex(`${t.buckets}_cluster`, t.buckets, 'cluster_id, status'),
      createTable(
        t.connections,
        `    cluster_id ${T.clusterId} NOT NULL,
    name ${T.name} NOT NULL,
    provider ${T.status} NOT NULL,
    fingerprint nvarchar(200) NOT NULL,
    protect bit NOT NULL,
    first_seen_at ${T.time} NOT NULL,
    last_seen_at ${T.time} NOT NULL,
    deletion_deferred_at ${T.time} NULL,
    CONSTRAINT ${t.connections}_pk PRIMARY KEY (cluster_id, name)`,
      ),
    ].join('\n'),
    // 2: recurring schedules. Jobs record the schedule and occurrence they run; the filtered unique
    // index is what makes an occurrence exist once however many planners run (SQL Server counts
    // NULLs as equal in a unique index, hence the filter: a "run now" has no occurrence). The
    // indexes on the new columns are created through EXEC: the batch is compiled before the ALTER
    // runs, when the columns do not exist yet.
    [
      `IF COL_LENGTH(N'${t.jobs}', N'schedule_id') IS NULL
  ALTER TABLE ${t.jobs} ADD schedule_id ${T.jobId} NULL, occurrence_at ${T.time} NULL,
    skip_if_overlapping bit NOT NULL CONSTRAINT ${t.jobs}_skip_if_overlapping_default DEFAULT 0;`,
      `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${t.jobs}_occurrence' AND object_id = OBJECT_ID(N'${t.jobs}'))
  EXEC(N'CREATE UNIQUE INDEX ${t.jobs}_occurrence ON ${t.jobs} (schedule_id, occurrence_at) WHERE occurrence_at IS NOT NULL');`,
      `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${t.jobs}_schedule' AND object_id = OBJECT_ID(N'${t.jobs}'))
  EXEC(N'CREATE INDEX ${t.jobs}_schedule ON ${t.jobs} (schedule_id, created_at) WHERE schedule_id IS NOT NULL');`,
      createTable(
        t.schedules,
        `    id ${T.jobId} NOT NULL CONSTRAINT ${t.schedules}_pk PRIMARY KEY,
    cluster_id ${T.clusterId} NOT NULL,
    kind ${T.status} NOT NULL,
    name ${T.definition} NULL,
    definition ${T.definition} NOT NULL,
    every_ms bigint NULL,
    cron ${T.cron} NULL,
    time_zone ${T.timeZone} NULL,
    payload ${T.text} NULL,
    metadata ${T.text} NOT NULL,
    priority smallint NOT NULL,
    lane ${T.name} NULL,
    timeout_ms bigint NULL,
    max_retries int NULL,
    start_after ${T.time} NULL,
    end_before ${T.time} NULL,
    misfire_policy ${T.status} NOT NULL,
    overlap_policy ${T.status} NOT NULL,
    status ${T.status} NOT NULL,
    covered_until ${T.time} NOT NULL,
    claimed_until ${T.time} NULL,
    live_job_id ${T.jobId} NULL,
    spec_hash ${T.specHash} NULL,
    synced_at ${T.time} NULL,
    version int NOT NULL,
    created_at ${T.time} NOT NULL,
    updated_at ${T.time} NOT NULL,
    status_changed_at ${T.time} NOT NULL`,
      ),
      // Serves the planner's claim (status compared with a literal, least covered first) and listings.
      createIndex(`${t.schedules}_due`, t.schedules, 'cluster_id, status, covered_until'),
    ].join('\n'),
  ]
}

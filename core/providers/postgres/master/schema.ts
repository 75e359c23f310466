import { masterTables } from '../../../stores/sql-tables.js'


/**
 * Master tables for PostgreSQL. Every time column is timestamptz (UTC instants, whatever the server
 * zone). Ordered migrations; each runs once, recorded in `schema_versions` under component "master".
 */
export function masterMigrations(prefix: string): string[] {
  const t = masterTables(prefix)
  return [
    `
CREATE TABLE IF NOT EXISTS ${t.clusters} (
  cluster_id text PRIMARY KEY,
  mode text NOT NULL,
  transient_threshold_ms bigint NOT NULL,
  default_job_timeout_ms bigint NOT NULL,
  default_max_retries int NOT NULL,
  max_message_bytes int NOT NULL,
  time_zone text NOT NULL,
  data_retention_ms bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t.jobs} (
  id uuid PRIMARY KEY,
  cluster_id text NOT NULL,
  definition text NOT NULL,
  status text NOT NULL,
  priority smallint NOT NULL,
  lane text,
  payload jsonb,
  metadata jsonb NOT NULL DEFAULT '{}',
  scheduled_at timestamptz NOT NULL,
  original_scheduled_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  max_retries int NOT NULL,
  timeout_ms bigint NOT NULL,
  agent_connection text,
  bucket_id text,
  worker_id text,
  started_at timestamptz,
  finished_at timestamptz,
  idempotency_key text,
  last_error text,
  claimed_until timestamptz
);
CREATE INDEX IF NOT EXISTS ${t.jobs}_held ON ${t.jobs} (cluster_id, scheduled_at) WHERE status = 'HeldOnMaster';
CREATE INDEX IF NOT EXISTS ${t.jobs}_bucket ON ${t.jobs} (bucket_id) WHERE bucket_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${t.jobs}_status ON ${t.jobs} (cluster_id, status, created_at);
CREATE INDEX IF NOT EXISTS ${t.jobs}_finished ON ${t.jobs} (cluster_id, finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${t.attempts} (
  id bigserial PRIMARY KEY,
  job_id uuid NOT NULL,
  cluster_id text NOT NULL,
  attempt int NOT NULL,
  worker_id text,
  bucket_id text,
  started_at timestamptz NOT NULL,
  ended_at timestamptz NOT NULL,
  outcome text NOT NULL,
  error text,
  result jsonb
);
CREATE INDEX IF NOT EXISTS ${t.attempts}_job ON ${t.attempts} (job_id, attempt);
CREATE TABLE IF NOT EXISTS ${t.workers} (
  id text PRIMARY KEY,
  cluster_id text NOT NULL,
  name text NOT NULL,
  agent_connection text,
  lane text,
  mode text NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  started_at timestamptz NOT NULL,
  stop_requested_at timestamptz,
  host text NOT NULL,
  pid int NOT NULL
);
CREATE INDEX IF NOT EXISTS ${t.workers}_cluster ON ${t.workers} (cluster_id, heartbeat_at);
CREATE TABLE IF NOT EXISTS ${t.buckets} (
  id text PRIMARY KEY,
  cluster_id text NOT NULL,
  agent_connection text NOT NULL,
  priority smallint NOT NULL,
  lane text,
  status text NOT NULL,
  owner_id text,
  created_at timestamptz NOT NULL,
  status_changed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${t.buckets}_cluster ON ${t.buckets} (cluster_id, status);
CREATE TABLE IF NOT EXISTS ${t.connections} (
  cluster_id text NOT NULL,
  name text NOT NULL,
  provider text NOT NULL,
  fingerprint text NOT NULL,
  protect boolean NOT NULL,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  deletion_deferred_at timestamptz,
  PRIMARY KEY (cluster_id, name)
);`,
    // 2: recurring schedules. Jobs record the schedule and occurrence they run; the unique index is
    // what makes an occurrence exist once however many planners run (a "run now" has no occurrence).
    `
ALTER TABLE ${t.jobs}
  ADD COLUMN IF NOT EXISTS schedule_id uuid,
  ADD COLUMN IF NOT EXISTS occurrence_at timestamptz,
  ADD COLUMN IF NOT EXISTS skip_if_overlapping boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX IF NOT EXISTS ${t.jobs}_occurrence ON ${t.jobs} (schedule_id, occurrence_at) WHERE occurrence_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${t.jobs}_schedule ON ${t.jobs} (schedule_id, created_at) WHERE schedule_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${t.schedules} (
  id uuid PRIMARY KEY,
  cluster_id text NOT NULL,
  kind text NOT NULL,
  name text,
  definition text NOT NULL,
  every_ms bigint,
  cron text,
  time_zone text,
  payload jsonb,
  metadata jsonb NOT NULL DEFAULT '{}',
  priority smallint NOT NULL,
  lane text,
  timeout_ms bigint,
  max_retries int,
  start_after timestamptz,
  end_before timestamptz,
  misfire_policy text NOT NULL,
  overlap_policy text NOT NULL,
  status text NOT NULL,
  covered_until timestamptz NOT NULL,
  claimed_until timestamptz,
  live_job_id uuid,
  spec_hash text,
  synced_at timestamptz,
  version int NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  status_changed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${t.schedules}_due ON ${t.schedules} (cluster_id, covered_until) WHERE status = 'Active';
CREATE INDEX IF NOT EXISTS ${t.schedules}_status ON ${t.schedules} (cluster_id, status);`,
  ]
}

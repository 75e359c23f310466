import { agentTables as sqlAgentTables } from '../../../stores/sql-tables.js'

export function agentTables(prefix: string) {
  return {
    ...sqlAgentTables(prefix),
    /** LISTEN/NOTIFY channel for wake-up hints. */
    channel: `${prefix}agent`,
  }
}
export type AgentTables = ReturnType<typeof agentTables>

export function agentMigrations(prefix: string): string[] {
  const t = agentTables(prefix)
  return [
    `
CREATE TABLE IF NOT EXISTS ${t.info} (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.inbox} (
  job_id uuid PRIMARY KEY,
  message text NOT NULL,
  enqueued_at timestamptz NOT NULL,
  claimed_until timestamptz,
  claimed_by text
);
CREATE INDEX IF NOT EXISTS ${t.inbox}_order ON ${t.inbox} (enqueued_at);
CREATE TABLE IF NOT EXISTS ${t.idempotency} (
  key text PRIMARY KEY,
  job_id uuid NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${t.idempotency}_expiry ON ${t.idempotency} (expires_at);
CREATE TABLE IF NOT EXISTS ${t.bucketJobs} (
  job_id uuid PRIMARY KEY,
  bucket_id text NOT NULL,
  due_at timestamptz NOT NULL,
  message text NOT NULL,
  fetched_at timestamptz
);
CREATE INDEX IF NOT EXISTS ${t.bucketJobs}_due ON ${t.bucketJobs} (bucket_id, due_at) WHERE fetched_at IS NULL;
CREATE INDEX IF NOT EXISTS ${t.bucketJobs}_bucket ON ${t.bucketJobs} (bucket_id);`,
  ]
}

/** Table names of the SQL stores: the same on every SQL provider, none of which quotes them. */
export function masterTables(prefix: string) {
  return {
    clusters: `${prefix}clusters`,
    jobs: `${prefix}jobs`,
    attempts: `${prefix}job_attempts`,
    workers: `${prefix}workers`,
    buckets: `${prefix}buckets`,
    connections: `${prefix}agent_connections`,
    schedules: `${prefix}schedules`,
  }
}
export type MasterTables = ReturnType<typeof masterTables>

export function agentTables(prefix: string) {
  return {
    info: `${prefix}agent_info`,
    inbox: `${prefix}inbox`,
    idempotency: `${prefix}idempotency`,
    bucketJobs: `${prefix}bucket_jobs`,
  }
}
export type AgentTables = ReturnType<typeof agentTables>

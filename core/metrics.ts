import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client'
import type { ClusterContext } from './cluster.js'
import { BUCKET_STATUSES, JOB_STATUSES, laneKey, type AttemptOutcome, type BucketStatus, type Priority } from './model.js'

/**
 * Prometheus metrics. Worker-runtime metrics live in prom-client's default registry (a worker
 * process's health server exposes that registry); cluster-wide gauges are computed on scrape and
 * registered per caller (the management API's `/metrics`). No HTTP here.
 */

export const jobAttemptsTotal = new Counter({
  name: 'jobmaster_job_attempts_total',
  help: 'Finished job attempts run by this process, by job definition and outcome (throughput and failures)',
  labelNames: ['definition', 'outcome'] as const,
  registers: [register],
})

export const enqueueToStartSeconds = new Histogram({
  name: 'jobmaster_enqueue_to_start_seconds',
  help: 'Time from when a job was due (its enqueue time, unless delayed) to the start of its attempt',
  labelNames: ['connection', 'priority'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [register],
})

/** An attempt started: observe how long after its due time. */
export function recordAttemptStarted(connection: string, priority: Priority, scheduledAt: Date, startedAt: Date): void {
  enqueueToStartSeconds.observe({ connection, priority }, Math.max(0, startedAt.getTime() - scheduledAt.getTime()) / 1000)
}

export function recordAttemptFinished(definition: string, outcome: AttemptOutcome): void {
  jobAttemptsTotal.inc({ definition, outcome })
}

/** Buckets whose jobs still wait to run (a Lost or Draining bucket's jobs are queued work too). */
export const QUEUED_BUCKET_STATUSES: readonly BucketStatus[] = ['Active', 'Completing', 'Lost', 'Draining']

/**
 * Cluster-wide gauges, read from the stores on each scrape: queue depth per connection, lane and
 * priority (bucket depths in the agents), inbox depth per connection, jobs per status, workers
 * alive and dead, buckets per status. Connections this process has not opened are skipped.
 */
export function registerClusterMetrics(ctx: ClusterContext, registry: Registry): void {
  new Gauge({
    name: 'jobmaster_queue_depth',
    help: 'Jobs held in agent buckets (waiting or running), by connection, lane ("" = default lane) and priority',
    labelNames: ['connection', 'lane', 'priority'] as const,
    registers: [registry],
    async collect() {
      const buckets = await ctx.master.listBuckets(ctx.clusterId, { statuses: QUEUED_BUCKET_STATUSES })
      const reachable = buckets.filter((b) => ctx.agents.has(b.agentConnection))
      const depths = await Promise.all(reachable.map((b) => ctx.agent(b.agentConnection).bucketDepth(b.id)))
      this.reset()
      reachable.forEach((b, i) => this.inc({ connection: b.agentConnection, lane: laneKey(b.lane), priority: b.priority }, depths[i]!))
    },
  })
  new Gauge({
    name: 'jobmaster_inbox_depth',
    help: 'Jobs accepted by producers and not yet ingested into the master, by connection',
    labelNames: ['connection'] as const,
    registers: [registry],
    async collect() {
      const agents = [...ctx.agents.values()]
      const depths = await Promise.all(agents.map((a) => a.inboxDepth()))
      this.reset()
      agents.forEach((a, i) => this.set({ connection: a.name }, depths[i]!))
    },
  })
  new Gauge({
    name: 'jobmaster_jobs',
    help: 'Jobs recorded in the master, by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await ctx.master.countJobsByStatus(ctx.clusterId)
      for (const status of JOB_STATUSES) this.set({ status }, counts[status] ?? 0)
    },
  })
  new Gauge({
    name: 'jobmaster_workers',
    help: 'Registered workers, by state (alive: heartbeat within workerDeadAfter)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const workers = await ctx.master.listWorkers(ctx.clusterId)
      const deadBefore = ctx.clock.now().getTime() - ctx.config.workerDeadAfterMs
      const alive = workers.filter((w) => w.heartbeatAt.getTime() >= deadBefore).length
      this.set({ state: 'alive' }, alive)
      this.set({ state: 'dead' }, workers.length - alive)
    },
  })
  new Gauge({
    name: 'jobmaster_buckets',
    help: 'Buckets recorded in the master, by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const buckets = await ctx.master.listBuckets(ctx.clusterId)
      for (const status of BUCKET_STATUSES) this.set({ status }, buckets.filter((b) => b.status === status).length)
    },
  })
}

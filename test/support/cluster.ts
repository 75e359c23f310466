import { openCluster, type ClusterContext } from '../../core/cluster.js'
import { resolveConfig, type JobMasterConfigInput } from '../../core/config.js'
import { JobRegistry, type HandlerEntry } from '../../core/definitions.js'
import { silentLogger, type Logger } from '../../core/logger.js'
import { Producer } from '../../core/producer.js'
import { Worker, type WorkerTimings } from '../../core/worker/worker.js'
import type { Clock } from '../../core/clock.js'
import type { StaticSchedule } from '../../core/schedules/spec.js'
import { handlers } from '../../jobs/handlers.js'
import { PG_MASTER_URL } from './env.js'
import { dropPrefix, testPrefix } from './pg.js'

/** Fast timings for tests: seconds-scale behaviour in hundreds of milliseconds. */
export const FAST: Partial<WorkerTimings> = { assignHeldMs: 200, planSchedulesMs: 200, reapMs: 300, drainMs: 300, repairMs: 1000, orphanedInboxMs: 500, maxIdleMs: 200 }

export interface TestCluster {
  ctx: ClusterContext
  producer: Producer
  prefix: string
  workers: Worker[]
  startWorker(overrides?: Partial<NonNullable<JobMasterConfigInput['worker']>>, timings?: Partial<WorkerTimings>): Promise<Worker>
  /** Open a second context on the same cluster (another process, as far as the stores can tell). */
  openPeer(): Promise<ClusterContext>
  close(): Promise<void>
}

export interface TestClusterOptions {
  config?: Partial<JobMasterConfigInput>
  handlers?: HandlerEntry<any>[]
  clock?: Clock
  logger?: Logger
  prefix?: string
  keepTables?: boolean
  /** Static schedules the workers' processes declare (synced when a coordinating worker starts). */
  staticSchedules?: StaticSchedule[]
}

/** A cluster on the real local PostgreSQL, isolated by a random table prefix. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const prefix = options.prefix ?? testPrefix()
  const config = resolveConfig({
    masterUrl: PG_MASTER_URL,
    tablePrefix: prefix,
    clusterId: 'test',
    heartbeatInterval: 200,
    workerDeadAfter: 1500,
    inboxOrphanAfter: 1000,
    retryBaseDelay: 200,
    retryMaxDelay: 2000,
    ...options.config,
  })
  const registry = new JobRegistry([], options.handlers ?? handlers)
  const logger = options.logger ?? silentLogger
  const ctx = await openCluster(config, { registry, clock: options.clock, logger })
  const producer = new Producer({
    registry,
    agents: config.agents.map((a) => ({ store: ctx.agent(a.name), config: a })),
    maxMessageBytes: config.maxMessageBytes,
    idempotencyWindowMs: config.idempotencyWindowMs,
    clock: options.clock,
  })
  const peers: ClusterContext[] = []
  const workers: Worker[] = []
  return {
    ctx,
    producer,
    prefix,
    workers,
    async startWorker(overrides = {}, timings = {}) {
      const withWorker = resolveConfig({ ...configInputOf(config), worker: { ...overrides } })
      const peer = await openCluster(withWorker, { registry, clock: options.clock, logger, staticSchedules: options.staticSchedules })
      peers.push(peer)
      const worker = new Worker(peer, withWorker.worker!, { ...FAST, ...timings })
      await worker.start()
      workers.push(worker)
      return worker
    },
    async openPeer() {
      const peer = await openCluster(config, { registry, clock: options.clock, logger })
      peers.push(peer)
      return peer
    },
    async close() {
      await Promise.allSettled(workers.map((w) => (w.state === 'running' ? w.stop() : w.halt())))
      await Promise.allSettled(peers.map((p) => p.close()))
      await ctx.close()
      if (!options.keepTables) {
        await dropPrefix(PG_MASTER_URL, prefix)
        for (const a of config.agents) if (a.url !== PG_MASTER_URL) await dropPrefix(a.url, prefix)
      }
    },
  }
}

/** Turn a resolved config back into input form (for deriving variants). */
function configInputOf(c: ReturnType<typeof resolveConfig>): JobMasterConfigInput {
  return {
    clusterId: c.clusterId,
    masterUrl: c.masterUrl,
    agents: c.standalone ? [] : c.agents,
    tablePrefix: c.tablePrefix,
    autoProvision: c.autoProvision,
    applyClusterSettings: c.applyClusterSettings,
    transientThreshold: c.transientThresholdMs,
    defaultJobTimeout: c.defaultJobTimeoutMs,
    defaultMaxRetries: c.defaultMaxRetries,
    clusterMode: c.clusterMode,
    maxMessageBytes: c.maxMessageBytes,
    timeZone: c.timeZone,
    dataRetentionTtl: c.dataRetentionMs,
    heartbeatInterval: c.heartbeatIntervalMs,
    workerDeadAfter: c.workerDeadAfterMs,
    inboxOrphanAfter: c.inboxOrphanAfterMs,
    retryBaseDelay: c.retryBaseDelayMs,
    retryMaxDelay: c.retryMaxDelayMs,
    idempotencyWindow: c.idempotencyWindowMs,
  }
}

import { systemClock, type Clock } from './clock.js'
import type { JobMasterConfig } from './config.js'
import { recordConnectionSeen } from './connections.js'
import type { JobRegistry } from './definitions.js'
import { createLogger, type Logger } from './logger.js'
import type { ClusterSettings } from './model.js'
import { BucketDirectory } from './routing.js'
import type { StaticSchedule } from './schedules/spec.js'
import type { AgentStore } from './stores/agent.js'
import type { MasterStore } from './stores/master.js'
import { openAgent, openMaster } from './stores/registry.js'

/** Cluster settings as this process configured them (what it writes on first start). */
export function settingsFromConfig(config: JobMasterConfig): ClusterSettings {
  return {
    clusterId: config.clusterId,
    mode: config.clusterMode,
    transientThresholdMs: config.transientThresholdMs,
    defaultJobTimeoutMs: config.defaultJobTimeoutMs,
    defaultMaxRetries: config.defaultMaxRetries,
    maxMessageBytes: config.maxMessageBytes,
    timeZone: config.timeZone,
    dataRetentionMs: config.dataRetentionMs,
  }
}

/**
 * Everything the engine needs about one cluster in one process: configuration, stores, the
 * stored cluster settings (refreshed periodically so a mode change reaches running workers), a
 * bucket directory, the clock and the logger.
 */
export class ClusterContext {
  readonly directory: BucketDirectory
  /** When this process opened the cluster: its static schedule declarations are as new as this. */
  readonly openedAt: Date
  private current: ClusterSettings

  constructor(
    readonly config: JobMasterConfig,
    readonly master: MasterStore,
    readonly agents: ReadonlyMap<string, AgentStore>,
    readonly registry: JobRegistry,
    settings: ClusterSettings,
    readonly clock: Clock,
    readonly logger: Logger,
    /** Schedules declared in this process's code; null: it declares none and syncs nothing. */
    readonly staticSchedules: readonly StaticSchedule[] | null = null,
  ) {
    this.openedAt = clock.now()
    this.current = settings
    this.directory = new BucketDirectory(master, config.clusterId, clock)
  }

  get clusterId(): string {
    return this.config.clusterId
  }

  get settings(): ClusterSettings {
    return this.current
  }

  async refreshSettings(): Promise<ClusterSettings> {
    const stored = await this.master.getCluster(this.clusterId)
    if (stored) this.current = stored
    return this.current
  }

  agent(name: string): AgentStore {
    const found = this.agents.get(name)
    if (!found) throw new Error(`agent connection "${name}" is not configured in this process`)
    return found
  }

  /** How far ahead a bucket on this connection may hold jobs: min(TT, transport window). */
  lookAheadMs(agent: AgentStore): number {
    return Math.min(this.current.transientThresholdMs, agent.maxLookAheadMs ?? Number.POSITIVE_INFINITY)
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.master.close(), ...[...this.agents.values()].map((a) => a.close())])
  }
}

export interface OpenClusterOptions {
  registry: JobRegistry
  clock?: Clock
  logger?: Logger
  /** Agent connections to open (default: all configured). */
  agentNames?: string[]
  poolSize?: number
  /** Schedules declared in code, synced at start-up by this process if it coordinates. */
  staticSchedules?: readonly StaticSchedule[]
}

/**
 * Open the master and agent stores, provision schemas (unless disabled), initialise the cluster
 * settings (first start wins unless applyClusterSettings) and check every agent's fingerprint.
 */
export async function openCluster(config: JobMasterConfig, options: OpenClusterOptions): Promise<ClusterContext> {
  const clock = options.clock ?? systemClock
  const logger = options.logger ?? createLogger({ cluster: config.clusterId })
  const storeOptions = { tablePrefix: config.tablePrefix, poolSize: options.poolSize }
  const master = await openMaster(config.masterUrl, storeOptions)
  const wanted = config.agents.filter((a) => !options.agentNames || options.agentNames.includes(a.name))
  const agents = new Map<string, AgentStore>()
  try {
    for (const a of wanted) agents.set(a.name, await openAgent(a.name, a.url, storeOptions))
    if (config.autoProvision) {
      await master.provision()
      for (const agent of agents.values()) await agent.provision()
    }
    const now = clock.now()
    const settings = await master.initCluster(settingsFromConfig(config), config.applyClusterSettings, now)
    warnOnSettingsDrift(settingsFromConfig(config), settings, logger)
    for (const a of wanted) await recordConnectionSeen(master, agents.get(a.name)!, a, config.clusterId, now, logger, 'start-up')
    return new ClusterContext(config, master, agents, options.registry, settings, clock, logger, options.staticSchedules ?? null)
  } catch (error) {
    await Promise.allSettled([master.close(), ...[...agents.values()].map((a) => a.close())])
    throw error
  }
}

function warnOnSettingsDrift(configured: ClusterSettings, stored: ClusterSettings, logger: Logger): void {
  const differing = (Object.keys(configured) as Array<keyof ClusterSettings>).filter((k) => configured[k] !== stored[k])
  if (differing.length > 0) {
    logger.warn(
      { fields: differing },
      'cluster settings stored in the master differ from this process configuration; the stored ones apply (set JM_APPLY_CLUSTER_SETTINGS=true to overwrite)',
    )
  }
}

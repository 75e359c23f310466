/**
 * The worker fleets: one ECS service per entry, each scaling on its own. Adding a fleet is adding
 * an entry. This file is plain data and functions (no SST globals) so the tests can check every
 * entry against the worker's own configuration rules.
 */
import type { Priority, WorkerMode } from '../core/model.js'

export interface WorkerFleet {
  /** Name of the ECS service component: PascalCase, unique; it names the AWS resources. */
  service: string
  /** The agent connection the fleet serves: a name listed in the `JmAgents` secret. */
  agent: string
  /** The lane it serves; omitted for the default lane. */
  lane?: string
  mode: WorkerMode
  /** Tasks (containers) the service keeps running, whatever the load. */
  min: number
  /** Tasks the service may scale out to. */
  max: number
  /** Average CPU utilisation (%) the service scales in and out to hold. */
  cpuTarget: number
  batchSize: number
  parallelismFactor: number
  /** Buckets each worker owns per priority; a priority left out gets 1. */
  buckets: Partial<Record<Priority, number>>
  /** Fargate task size (the memory must be valid for the CPU: 0.5 vCPU → 1–4 GB, 1 vCPU → 2–8 GB…). */
  cpu: '0.25 vCPU' | '0.5 vCPU' | '1 vCPU' | '2 vCPU' | '4 vCPU'
  memory: `${number} GB`
}

export const fleets: readonly WorkerFleet[] = [
  {
    service: 'WorkersDefault',
    agent: 'pg-1',
    mode: 'Full',
    min: 2,
    max: 10,
    cpuTarget: 60,
    batchSize: 250,
    parallelismFactor: 1,
    buckets: {},
    cpu: '0.5 vCPU',
    memory: '1 GB',
  },
  {
    service: 'WorkersLongRun',
    agent: 'pg-1',
    lane: 'LongRun',
    mode: 'Execution',
    min: 1,
    max: 4,
    cpuTarget: 70,
    batchSize: 50,
    parallelismFactor: 2,
    buckets: { medium: 2 },
    cpu: '1 vCPU',
    memory: '2 GB',
  },
]

/** How long a stopping worker lets running handlers finish (JM_GRACE_PERIOD; the engine's default). */
export const WORKER_GRACE_PERIOD_SECONDS = 25

/**
 * How long ECS waits after SIGTERM before SIGKILL. It must outlast the grace period plus the rest
 * of a graceful stop (flush results, hand unstarted jobs back, retire buckets), or a scale-in or
 * deploy would cut that short and leave the buckets to the dead-worker recovery.
 * Fargate allows at most 120 s.
 */
export const ECS_STOP_TIMEOUT_SECONDS = 60

/** Port of the worker's /health and /metrics endpoint in the container. */
export const WORKER_HEALTH_PORT = 8080

/** The JM_ variables that make a worker container part of `fleet`. */
export function fleetEnvironment(fleet: WorkerFleet): Record<string, string> {
  const buckets = Object.entries(fleet.buckets).map(([priority, count]) => `${priority}=${count}`)
  return {
    JM_WORKER_AGENT: fleet.agent,
    ...(fleet.lane === undefined ? {} : { JM_WORKER_LANE: fleet.lane }),
    JM_WORKER_MODE: fleet.mode,
    JM_BATCH_SIZE: String(fleet.batchSize),
    JM_PARALLELISM_FACTOR: String(fleet.parallelismFactor),
    ...(buckets.length === 0 ? {} : { JM_BUCKETS: buckets.join(',') }),
    JM_GRACE_PERIOD: `${WORKER_GRACE_PERIOD_SECONDS}s`,
    JM_HEALTH_PORT: String(WORKER_HEALTH_PORT),
  }
}

/**
 * JM_AGENT_LANES for producers: each lane a fleet serves is routed first to that fleet's
 * connection (`pg-1=LongRun|Payroll`), so lane jobs land where workers of the lane run.
 * Undefined when no fleet serves a named lane.
 */
export function agentLanes(list: readonly WorkerFleet[] = fleets): string | undefined {
  const byAgent = new Map<string, Set<string>>()
  for (const fleet of list) {
    if (fleet.lane === undefined) continue
    const lanes = byAgent.get(fleet.agent) ?? new Set<string>()
    lanes.add(fleet.lane)
    byAgent.set(fleet.agent, lanes)
  }
  if (byAgent.size === 0) return undefined
  return [...byAgent].map(([agent, lanes]) => `${agent}=${[...lanes].join('|')}`).join(',')
}

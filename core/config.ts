import * as v from 'valibot'
import { SECOND, MINUTE, HOUR, DAY } from './durations.js'
import { durationSchema, issuesFrom } from './schemas.js'
import { ConfigError, type Issue } from './errors.js'
import { CLUSTER_MODES, PRIORITIES, WORKER_MODES, type ClusterMode, type Priority, type WorkerMode } from './model.js'
import { NAME_RULE, nameSchema, prefixSchema } from './names.js'

/** Name of the implicit agent connection when the master doubles as the agent (standalone mode). */
export const STANDALONE_CONNECTION = 'standalone'

export const TRANSIENT_THRESHOLD_MIN = 10 * SECOND
export const TRANSIENT_THRESHOLD_MAX = 24 * HOUR

const durationField = durationSchema

const intField = (label: string, min: number, max: number) =>
  v.pipe(
    v.union([v.number(), v.string()]),
    v.transform((x) => (typeof x === 'string' && /^-?\d+$/.test(x.trim()) ? Number(x) : x)),
    v.number(`${label} must be an integer`),
    v.integer(`${label} must be an integer`),
    v.minValue(min, `${label} must be at least ${min}`),
    v.maxValue(max, `${label} must be at most ${max}`),
  )

const boolField = v.pipe(
  v.union([v.boolean(), v.picklist(['true', 'false', '1', '0'])], 'must be true or false'),
  v.transform((x) => x === true || x === 'true' || x === '1'),
)

const urlField = (schemes: readonly string[]) =>
  v.pipe(
    v.string(),
    v.check((url) => {
      try {
        return schemes.includes(new URL(url).protocol.replace(/:$/, ''))
      } catch {
        return false
      }
    }, `must be a URL starting with ${schemes.map((s) => `${s}://`).join(', ')}`),
  )

export const MASTER_SCHEMES = ['postgres', 'postgresql', 'mysql', 'mssql', 'sqlserver'] as const
export const AGENT_SCHEMES = [...MASTER_SCHEMES, 'nats'] as const

const timeZoneField = v.pipe(
  v.string(),
  v.check((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz })
      return true
    } catch {
      return false
    }
  }, 'must be an IANA time zone such as "UTC" or "America/Sao_Paulo"'),
)

const agentSchema = v.object({
  name: nameSchema,
  url: urlField(AGENT_SCHEMES),
  protectConnectionChanges: v.optional(boolField, true),
  /** Lanes whose jobs producers send to this connection first. */
  lanes: v.optional(v.array(nameSchema), []),
})

const bucketCountField = intField('bucket count', 0, 100)

const workerSchema = v.object({
  /** Agent connection this worker is bound to (defaults to the only one, or standalone). */
  agent: v.optional(nameSchema),
  name: v.optional(nameSchema),
  lane: v.optional(v.nullable(nameSchema), null),
  mode: v.optional(v.picklist(WORKER_MODES, `must be one of ${WORKER_MODES.join(', ')}`), 'Full'),
  batchSize: v.optional(intField('batchSize', 1, 5000), 250),
  parallelismFactor: v.optional(intField('parallelismFactor', 1, 1000), 1),
  buckets: v.optional(
    v.object(Object.fromEntries(PRIORITIES.map((p) => [p, v.optional(bucketCountField, 1)])) as Record<
      Priority,
      v.OptionalSchema<typeof bucketCountField, 1>
    >),
    {},
  ),
  /** How long a graceful stop lets running handlers finish before aborting them. */
  gracePeriod: v.optional(durationField('gracePeriod', 0, 24 * HOUR), 25 * SECOND),
})

export const configSchema = v.object({
  clusterId: v.optional(nameSchema, 'local'),
  /** Required everywhere but in a producer-only process that names its agents. */
  masterUrl: v.optional(urlField(MASTER_SCHEMES)),
  agents: v.optional(v.array(agentSchema), []),
  tablePrefix: v.optional(prefixSchema, 'jm_'),
  autoProvision: v.optional(boolField, true),
  /** Write this process's cluster settings over the stored ones (otherwise the first start wins). */
  applyClusterSettings: v.optional(boolField, false),
  transientThreshold: v.optional(durationField('transientThreshold', TRANSIENT_THRESHOLD_MIN, TRANSIENT_THRESHOLD_MAX), 10 * MINUTE),
  defaultJobTimeout: v.optional(durationField('defaultJobTimeout', 1, 7 * DAY), 5 * MINUTE),
  defaultMaxRetries: v.optional(intField('defaultMaxRetries', 0, 25), 3),
  clusterMode: v.optional(v.picklist(CLUSTER_MODES, `must be one of ${CLUSTER_MODES.join(', ')}`), 'Active'),
  maxMessageBytes: v.optional(intField('maxMessageBytes', 1024, 16 * 1024 * 1024), 128 * 1024),
  timeZone: v.optional(timeZoneField, Intl.DateTimeFormat().resolvedOptions().timeZone),
  dataRetentionTtl: v.optional(v.nullable(durationField('dataRetentionTtl', MINUTE, 3650 * DAY)), 30 * DAY),
  heartbeatInterval: v.optional(durationField('heartbeatInterval', 100, MINUTE), 5 * SECOND),
  workerDeadAfter: v.optional(durationField('workerDeadAfter', SECOND, 10 * MINUTE), 15 * SECOND),
  inboxOrphanAfter: v.optional(durationField('inboxOrphanAfter', SECOND, HOUR), 30 * SECOND),
  retryBaseDelay: v.optional(durationField('retryBaseDelay', 0, DAY), 10 * SECOND),
  retryMaxDelay: v.optional(durationField('retryMaxDelay', 0, 7 * DAY), HOUR),
  idempotencyWindow: v.optional(durationField('idempotencyWindow', MINUTE, 30 * DAY), DAY),
  worker: v.optional(workerSchema),
})

export type JobMasterConfigInput = v.InferInput<typeof configSchema>
type ParsedConfig = v.InferOutput<typeof configSchema>

export interface AgentConfig {
  name: string
  url: string
  protectConnectionChanges: boolean
  lanes: string[]
}

export interface WorkerConfig {
  agent: string
  name: string | undefined
  lane: string | null
  mode: WorkerMode
  batchSize: number
  parallelismFactor: number
  buckets: Record<Priority, number>
  gracePeriodMs: number
}

/** Validated configuration with every duration in milliseconds. */
export interface JobMasterConfig {
  clusterId: string
  masterUrl: string
  /** Never empty: standalone mode adds the master as the `standalone` connection. */
  agents: AgentConfig[]
  standalone: boolean
  tablePrefix: string
  autoProvision: boolean
  applyClusterSettings: boolean
  transientThresholdMs: number
  defaultJobTimeoutMs: number
  defaultMaxRetries: number
  clusterMode: ClusterMode
  maxMessageBytes: number
  timeZone: string
  dataRetentionMs: number | null
  heartbeatIntervalMs: number
  workerDeadAfterMs: number
  inboxOrphanAfterMs: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  idempotencyWindowMs: number
  worker: WorkerConfig | null
}

/**
 * Validate a configuration written in code. Throws ConfigError naming every bad field.
 * `pathName` maps a field path to what the user wrote (the environment loader passes variable names).
 */
export function resolveConfig(input: JobMasterConfigInput, pathName: (path: string) => string = (p) => p): JobMasterConfig {
  const config = resolve(input, pathName)
  if (config.masterUrl === null) throw new ConfigError([{ path: pathName('masterUrl'), message: 'is required (postgres://, mysql:// or mssql:// URL)' }])
  return config as JobMasterConfig
}

/** A producer-only process: it writes to agents and never opens the master. */
export type ProducerConfig = Omit<JobMasterConfig, 'masterUrl'> & { masterUrl: string | null }

/**
 * Validate the configuration of a producer-only process. It needs agent connections, not the
 * master (keeping the master's credentials out of producers); in standalone mode the master URL
 * is required because the master is then the agent.
 */
export function resolveProducerConfig(input: JobMasterConfigInput, pathName: (path: string) => string = (p) => p): ProducerConfig {
  return resolve(input, pathName)
}

function resolve(input: JobMasterConfigInput, pathName: (path: string) => string): ProducerConfig {
  const result = v.safeParse(configSchema, input)
  if (!result.success) throw new ConfigError(issuesFrom(result.issues, '', pathName))
  const c: ParsedConfig = result.output
  const problems: Issue[] = []
  if (!c.masterUrl && c.agents.length === 0) {
    throw new ConfigError([{ path: pathName('masterUrl'), message: 'is required (or agents, for a producer-only process)' }])
  }

  const agents: AgentConfig[] = c.agents.map((a) => ({ ...a }))
  const seen = new Set<string>()
  c.agents.forEach((a, i) => {
    const key = a.name.toLowerCase()
    if (seen.has(key)) problems.push({ path: pathName(`agents.${i}.name`), message: `duplicate agent connection name "${a.name}"` })
    if (key === STANDALONE_CONNECTION) {
      problems.push({ path: pathName(`agents.${i}.name`), message: `"${STANDALONE_CONNECTION}" is reserved for standalone mode` })
    }
    seen.add(key)
  })
  const standalone = agents.length === 0
  if (standalone) {
    agents.push({ name: STANDALONE_CONNECTION, url: c.masterUrl!, protectConnectionChanges: true, lanes: [] })
  }

  let worker: WorkerConfig | null = null
  if (c.worker) {
    const agentName = c.worker.agent ?? (agents.length === 1 ? agents[0]!.name : undefined)
    if (!agentName) {
      problems.push({ path: pathName('worker.agent'), message: `required when several agent connections are configured (${agents.map((a) => a.name).join(', ')})` })
    } else if (!agents.some((a) => a.name === agentName)) {
      problems.push({ path: pathName('worker.agent'), message: `"${agentName}" is not a configured agent connection (${agents.map((a) => a.name).join(', ')})` })
    }
    const buckets = Object.fromEntries(PRIORITIES.map((p) => [p, c.worker!.buckets[p] ?? 1])) as Record<Priority, number>
    worker = {
      agent: agentName ?? '',
      name: c.worker.name,
      lane: c.worker.lane,
      mode: c.worker.mode,
      batchSize: c.worker.batchSize,
      parallelismFactor: c.worker.parallelismFactor,
      buckets,
      gracePeriodMs: c.worker.gracePeriod,
    }
  }
  if (c.retryMaxDelay < c.retryBaseDelay) {
    problems.push({ path: pathName('retryMaxDelay'), message: 'must not be shorter than retryBaseDelay' })
  }
  if (problems.length > 0) throw new ConfigError(problems)

  return {
    clusterId: c.clusterId,
    masterUrl: c.masterUrl ?? null,
    agents,
    standalone,
    tablePrefix: c.tablePrefix,
    autoProvision: c.autoProvision,
    applyClusterSettings: c.applyClusterSettings,
    transientThresholdMs: c.transientThreshold,
    defaultJobTimeoutMs: c.defaultJobTimeout,
    defaultMaxRetries: c.defaultMaxRetries,
    clusterMode: c.clusterMode,
    maxMessageBytes: c.maxMessageBytes,
    timeZone: c.timeZone,
    dataRetentionMs: c.dataRetentionTtl,
    heartbeatIntervalMs: c.heartbeatInterval,
    workerDeadAfterMs: c.workerDeadAfter,
    inboxOrphanAfterMs: c.inboxOrphanAfter,
    retryBaseDelayMs: c.retryBaseDelay,
    retryMaxDelayMs: c.retryMaxDelay,
    idempotencyWindowMs: c.idempotencyWindow,
    worker,
  }
}

export { NAME_RULE }

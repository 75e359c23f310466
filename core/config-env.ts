import { resolveConfig, resolveProducerConfig, type JobMasterConfig, type JobMasterConfigInput, type ProducerConfig } from './config.js'
import { ConfigError, type Issue } from './errors.js'
import { PRIORITIES, type Priority } from './model.js'

type Env = Record<string, string | undefined>

/** Every `JM_` variable and the configuration field it sets. The README's table mirrors this list. */
export const ENV_FIELDS: ReadonlyArray<readonly [variable: string, path: string]> = [
  ['JM_CLUSTER_ID', 'clusterId'],
  ['JM_MASTER_URL', 'masterUrl'],
  ['JM_AGENTS', 'agents'],
  ['JM_UNPROTECTED_AGENTS', 'agents.protectConnectionChanges'],
  ['JM_AGENT_LANES', 'agents.lanes'],
  ['JM_TABLE_PREFIX', 'tablePrefix'],
  ['JM_AUTO_PROVISION', 'autoProvision'],
  ['JM_APPLY_CLUSTER_SETTINGS', 'applyClusterSettings'],
  ['JM_TRANSIENT_THRESHOLD', 'transientThreshold'],
  ['JM_DEFAULT_JOB_TIMEOUT', 'defaultJobTimeout'],
  ['JM_DEFAULT_MAX_RETRIES', 'defaultMaxRetries'],
  ['JM_CLUSTER_MODE', 'clusterMode'],
  ['JM_MAX_MESSAGE_BYTES', 'maxMessageBytes'],
  ['JM_TIME_ZONE', 'timeZone'],
  ['JM_DATA_RETENTION_TTL', 'dataRetentionTtl'],
  ['JM_HEARTBEAT_INTERVAL', 'heartbeatInterval'],
  ['JM_WORKER_DEAD_AFTER', 'workerDeadAfter'],
  ['JM_INBOX_ORPHAN_AFTER', 'inboxOrphanAfter'],
  ['JM_RETRY_BASE_DELAY', 'retryBaseDelay'],
  ['JM_RETRY_MAX_DELAY', 'retryMaxDelay'],
  ['JM_IDEMPOTENCY_WINDOW', 'idempotencyWindow'],
  ['JM_WORKER_AGENT', 'worker.agent'],
  ['JM_WORKER_NAME', 'worker.name'],
  ['JM_WORKER_LANE', 'worker.lane'],
  ['JM_WORKER_MODE', 'worker.mode'],
  ['JM_BATCH_SIZE', 'worker.batchSize'],
  ['JM_PARALLELISM_FACTOR', 'worker.parallelismFactor'],
  ['JM_BUCKETS', 'worker.buckets'],
  ['JM_GRACE_PERIOD', 'worker.gracePeriod'],
  ['JM_AUTH', 'producer.auth'],
  ['JM_API_KEYS', 'producer.apiKeys'],
]

/** Map a config path back to the variable that set it, so errors name what the operator wrote. */
function variableFor(path: string): string {
  let best: string | undefined
  let bestLength = -1
  for (const [variable, field] of ENV_FIELDS) {
    const generic = path.replace(/\.\d+(?=\.|$)/g, '')
    if ((generic === field || generic.startsWith(`${field}.`)) && field.length > bestLength) {
      best = variable
      bestLength = field.length
    }
  }
  return best ?? path
}

/** `name=value,name=value` → pairs; the value keeps any further `=` (URLs with query strings). */
function parsePairs(variable: string, text: string, issues: Issue[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean)
  for (const [i, part] of parts.entries()) {
    const at = part.indexOf('=')
    if (at <= 0) {
      // Name the entry by position: its text may be a URL with a password.
      issues.push({ path: variable, message: `entry ${i + 1} is not of the form name=value` })
      continue
    }
    pairs.push([part.slice(0, at).trim(), part.slice(at + 1).trim()])
  }
  return pairs
}

export interface EnvOptions {
  /** Include the worker section (worker entrypoint, local cluster). */
  worker?: boolean
  /** Fallback master URL (the local cluster's embedded database). */
  defaultMasterUrl?: string
}

/** Build the configuration from `JM_` environment variables; errors name the variable. */
export function configFromEnv(env: Env = process.env, options: EnvOptions = {}): JobMasterConfig {
  return resolveConfig(inputFromEnv(env, options) as JobMasterConfigInput, variableFor)
}

/** A producer-only process: `JM_AGENTS` suffices (the master URL is needed only in standalone mode). */
export function producerConfigFromEnv(env: Env = process.env): ProducerConfig {
  return resolveProducerConfig(inputFromEnv(env, { worker: false }) as JobMasterConfigInput, variableFor)
}

function inputFromEnv(env: Env, options: EnvOptions): Record<string, unknown> {
  const issues: Issue[] = []
  const get = (name: string) => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  const input: Record<string, unknown> = {}
  const set = (variable: string, key: string) => {
    const value = get(variable)
    if (value !== undefined) input[key] = value
  }
  set('JM_CLUSTER_ID', 'clusterId')
  const masterUrl = get('JM_MASTER_URL') ?? options.defaultMasterUrl
  if (masterUrl !== undefined) input.masterUrl = masterUrl

  const unprotected = new Set((get('JM_UNPROTECTED_AGENTS') ?? '').split(',').map((s) => s.trim()).filter(Boolean))
  const lanes = new Map<string, string[]>()
  const lanesText = get('JM_AGENT_LANES')
  if (lanesText) {
    for (const [name, list] of parsePairs('JM_AGENT_LANES', lanesText, issues)) lanes.set(name, list.split('|').map((s) => s.trim()).filter(Boolean))
  }
  const agentsText = get('JM_AGENTS')
  if (agentsText) {
    input.agents = parsePairs('JM_AGENTS', agentsText, issues).map(([name, url]) => ({
      name,
      url,
      protectConnectionChanges: !unprotected.has(name),
      lanes: lanes.get(name) ?? [],
    }))
  }
  for (const name of [...unprotected, ...lanes.keys()]) {
    const known = (input.agents as Array<{ name: string }> | undefined)?.some((a) => a.name === name)
    if (!known) issues.push({ path: unprotected.has(name) ? 'JM_UNPROTECTED_AGENTS' : 'JM_AGENT_LANES', message: `"${name}" is not listed in JM_AGENTS` })
  }

  for (const [variable, key] of [
    ['JM_TABLE_PREFIX', 'tablePrefix'],
    ['JM_AUTO_PROVISION', 'autoProvision'],
    ['JM_APPLY_CLUSTER_SETTINGS', 'applyClusterSettings'],
    ['JM_TRANSIENT_THRESHOLD', 'transientThreshold'],
    ['JM_DEFAULT_JOB_TIMEOUT', 'defaultJobTimeout'],
    ['JM_DEFAULT_MAX_RETRIES', 'defaultMaxRetries'],
    ['JM_CLUSTER_MODE', 'clusterMode'],
    ['JM_MAX_MESSAGE_BYTES', 'maxMessageBytes'],
    ['JM_TIME_ZONE', 'timeZone'],
    ['JM_HEARTBEAT_INTERVAL', 'heartbeatInterval'],
    ['JM_WORKER_DEAD_AFTER', 'workerDeadAfter'],
    ['JM_INBOX_ORPHAN_AFTER', 'inboxOrphanAfter'],
    ['JM_RETRY_BASE_DELAY', 'retryBaseDelay'],
    ['JM_RETRY_MAX_DELAY', 'retryMaxDelay'],
    ['JM_IDEMPOTENCY_WINDOW', 'idempotencyWindow'],
  ] as const) {
    set(variable, key)
  }
  const retention = get('JM_DATA_RETENTION_TTL')
  if (retention !== undefined) input.dataRetentionTtl = /^(none|forever|null)$/i.test(retention) ? null : retention

  const wantsWorker = options.worker ?? ENV_FIELDS.some(([variable, path]) => path.startsWith('worker.') && get(variable) !== undefined)
  if (wantsWorker) {
    const worker: Record<string, unknown> = {}
    const w = (variable: string, key: string) => {
      const value = get(variable)
      if (value !== undefined) worker[key] = value
    }
    w('JM_WORKER_AGENT', 'agent')
    w('JM_WORKER_NAME', 'name')
    w('JM_WORKER_LANE', 'lane')
    w('JM_WORKER_MODE', 'mode')
    w('JM_BATCH_SIZE', 'batchSize')
    w('JM_PARALLELISM_FACTOR', 'parallelismFactor')
    w('JM_GRACE_PERIOD', 'gracePeriod')
    const buckets = get('JM_BUCKETS')
    if (buckets !== undefined) worker.buckets = parseBuckets(buckets, issues)
    input.worker = worker
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return input
}

/** `JM_BUCKETS`: one number for every priority ("2"), or per priority ("critical=2,medium=3"). */
function parseBuckets(text: string, issues: Issue[]): Record<string, string> {
  if (/^\d+$/.test(text)) return Object.fromEntries(PRIORITIES.map((p) => [p, text]))
  const result: Record<string, string> = {}
  for (const [priority, count] of parsePairs('JM_BUCKETS', text, issues)) {
    if (!PRIORITIES.includes(priority as Priority)) {
      issues.push({ path: 'JM_BUCKETS', message: `unknown priority "${priority}" (one of ${PRIORITIES.join(', ')})` })
      continue
    }
    result[priority] = count
  }
  return result
}

/**
 * How the producer function authenticates requests:
 * - `api-key`: every request carries one of `JM_API_KEYS` in `x-api-key`;
 * - `iam`: the Lambda Function URL's AWS_IAM auth signs requests; the function still refuses an
 *   event without an IAM identity (so flipping the URL to NONE does not open it);
 * - `none`: no check at all, chosen explicitly (a private network, a test).
 */
export type ProducerAuth = { mode: 'api-key'; apiKeys: string[] } | { mode: 'iam' } | { mode: 'none' }
export const PRODUCER_AUTH_MODES = ['api-key', 'iam', 'none'] as const
export const MIN_API_KEY_LENGTH = 16

/**
 * `JM_AUTH` (default `api-key`) and `JM_API_KEYS` (comma-separated). A producer never starts open
 * by accident: `api-key` without keys is an error, so is a key list with another mode. Messages
 * name the variable and the key's position, never the key.
 */
export function producerAuthFromEnv(env: Env = process.env): ProducerAuth {
  const mode = env.JM_AUTH?.trim() || 'api-key'
  const keys = (env.JM_API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean)
  const issues: Issue[] = []
  if (!(PRODUCER_AUTH_MODES as readonly string[]).includes(mode)) {
    issues.push({ path: 'JM_AUTH', message: `must be one of ${PRODUCER_AUTH_MODES.join(', ')}` })
  } else if (mode === 'api-key' && keys.length === 0) {
    issues.push({ path: 'JM_API_KEYS', message: 'is required: set API keys (comma-separated), or JM_AUTH=iam (Function URL IAM auth) or JM_AUTH=none to run without keys' })
  } else if (mode !== 'api-key' && keys.length > 0) {
    issues.push({ path: 'JM_AUTH', message: `is "${mode}" but JM_API_KEYS is set: choose one` })
  }
  keys.forEach((key, i) => {
    if (key.length < MIN_API_KEY_LENGTH) issues.push({ path: 'JM_API_KEYS', message: `key ${i + 1} is shorter than ${MIN_API_KEY_LENGTH} characters` })
    else if (!/^[\x21-\x7e]+$/.test(key)) issues.push({ path: 'JM_API_KEYS', message: `key ${i + 1} must be printable ASCII without spaces` })
  })
  if (issues.length > 0) throw new ConfigError(issues)
  return mode === 'api-key' ? { mode, apiKeys: keys } : { mode: mode as 'iam' | 'none' }
}

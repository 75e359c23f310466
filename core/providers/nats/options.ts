import { parseDuration, DAY, HOUR, MINUTE, SECOND } from '../../durations.js'
import { ConfigError } from '../../errors.js'
import { PREFIX_PATTERN, PREFIX_RULE } from '../../names.js'

/** Everything the NATS agent reads from its connection URL and store options. */
export interface NatsAgentOptions {
  /** `host:port` of the server. */
  server: string
  user?: string
  pass?: string
  token?: string
  /** Namespace of every stream and subject (the store's table prefix). */
  prefix: string
  /** Longest look-ahead a bucket holds (SPEC §5: short, default 2 min). */
  lookAheadMs: number
  /** Max age of the inbox and bucket streams: a safety net, not the normal way messages leave. */
  retentionMs: number
  /** Max bytes of each stream; writes beyond it are refused (discard new), never silently dropped. */
  maxBytes: number
  replicas: number
  /** JetStream request timeout (publish acknowledgements, API calls, pulls). */
  timeoutMs: number
}

const QUERY_FIELDS = ['lookAhead', 'retention', 'maxBytes', 'replicas', 'timeout'] as const

/**
 * `nats://[user:pass@ | token@]host[:port][?lookAhead=2m&retention=8d&maxBytes=1073741824&replicas=1&timeout=5s]`.
 * Errors name the configuration field, never the URL (it may hold credentials).
 */
export function parseNatsUrl(name: string, url: string, prefix: string): NatsAgentOptions {
  const field = `agents.${name}`
  const fail = (message: string): never => {
    throw new ConfigError([{ path: field, message }])
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return fail('is not a valid nats:// URL')
  }
  if (parsed.protocol !== 'nats:') fail('must be a nats:// URL')
  if (!parsed.hostname) fail('nats:// URL needs a host')
  if (!PREFIX_PATTERN.test(prefix)) fail(`prefix must be ${PREFIX_RULE}`)
  for (const key of parsed.searchParams.keys()) {
    if (!(QUERY_FIELDS as readonly string[]).includes(key)) fail(`unknown NATS option "${key}" (known: ${QUERY_FIELDS.join(', ')})`)
  }
  const duration = (key: string, fallback: number, min: number, max: number): number => {
    const raw = parsed.searchParams.get(key)
    if (raw === null) return fallback
    const value = parseDuration(raw)
    if (value === undefined || value < min || value > max) return fail(`${key} must be a duration between ${min} ms and ${max} ms`)
    return value
  }
  const integer = (key: string, fallback: number, min: number, max: number): number => {
    const raw = parsed.searchParams.get(key)
    if (raw === null) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) return fail(`${key} must be an integer between ${min} and ${max}`)
    return value
  }
  const user = decodeURIComponent(parsed.username)
  const pass = decodeURIComponent(parsed.password)
  return {
    server: `${parsed.hostname.replace(/^\[|\]$/g, '')}:${parsed.port || '4222'}`,
    // A user without password is a token (`nats://s3cr3t@host`), as the NATS CLI reads it.
    ...(user && pass ? { user, pass } : user ? { token: user } : {}),
    prefix,
    lookAheadMs: duration('lookAhead', 2 * MINUTE, 10 * SECOND, HOUR),
    // Jobs may run up to 7 days (longest timeout) while their bucket entry must stay.
    retentionMs: duration('retention', 8 * DAY, HOUR, 365 * DAY),
    maxBytes: integer('maxBytes', 1024 ** 3, 1024 ** 2, 1024 ** 4),
    replicas: integer('replicas', 1, 1, 5),
    timeoutMs: duration('timeout', 5 * SECOND, 500, MINUTE),
  }
}

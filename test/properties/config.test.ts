import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { resolveConfig, type JobMasterConfigInput } from '../../core/config.js'
import { configFromEnv, ENV_FIELDS, producerAuthFromEnv, producerConfigFromEnv } from '../../core/config-env.js'
import { ConfigError } from '../../core/errors.js'
import { PRIORITIES, WORKER_MODES } from '../../core/model.js'
import { authSettingsFromEnv } from '../../functions/auth.js'
import { coordinatorSettingsFromEnv } from '../../functions/coordinator.js'
import { anyDuration, anyText } from './arbitraries.js'

/**
 * Property-based configuration: whatever a deployment writes — in code (resolveConfig) or in JM_
 * environment variables (configFromEnv, the producer's, the coordinator's, the management API's
 * authentication) — the outcome is a configuration or a ConfigError whose issues name a field,
 * never another exception; and no error ever contains a password, key or secret it was given.
 */
const SECRET = `s3cr3t-${randomBytes(6).toString('hex')}`
const RUNS = { numRuns: 400 }

/** URLs with the secret as password, well-formed or not, for every scheme. */
const secretUrl = fc.oneof(
  fc.constantFrom('postgres', 'postgresql', 'mysql', 'mssql', 'sqlserver', 'nats', 'redis', 'http').map((scheme) => `${scheme}://user:${SECRET}@127.0.0.1:5432/db`),
  fc.constantFrom(`postgres//user:${SECRET}@host/db`, `user:${SECRET}@host`, `postgres://user:${SECRET}@`, `postgres://:${SECRET}@[::1`, `nats://${SECRET}@127.0.0.1:4222`, `mysql://root:${SECRET}@h/db?ssl=${SECRET}`),
)
const url = fc.oneof(secretUrl, anyText, fc.constant('postgres://127.0.0.1/db'))
const name = fc.oneof(fc.constantFrom('pg', 'maria', 'standalone', 'nats-1'), anyText)

const codeConfig: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    clusterId: name,
    masterUrl: url,
    agents: fc.oneof(fc.array(fc.record({ name, url, protectConnectionChanges: fc.oneof(fc.boolean(), anyText), lanes: fc.oneof(fc.array(name), anyText) }, { requiredKeys: [] }), { maxLength: 3 }), fc.jsonValue()),
    tablePrefix: fc.oneof(fc.constantFrom('jm_', 'x'), anyText),
    autoProvision: fc.oneof(fc.boolean(), anyText),
    transientThreshold: anyDuration,
    defaultJobTimeout: anyDuration,
    defaultMaxRetries: fc.oneof(fc.integer({ min: -3, max: 30 }), anyText, fc.double()),
    clusterMode: fc.oneof(fc.constantFrom('Active', 'Passive', 'Archive'), anyText),
    maxMessageBytes: fc.oneof(fc.integer(), anyText),
    timeZone: fc.oneof(fc.constantFrom('UTC', 'Europe/Lisbon', 'Mars/Olympus'), anyText),
    dataRetentionTtl: fc.oneof(anyDuration, fc.constant(null)),
    heartbeatInterval: anyDuration,
    workerDeadAfter: anyDuration,
    retryBaseDelay: anyDuration,
    retryMaxDelay: anyDuration,
    worker: fc.oneof(
      fc.record({ agent: name, name, lane: fc.oneof(name, fc.constant(null)), mode: fc.oneof(fc.constantFrom(...WORKER_MODES), anyText), batchSize: fc.oneof(fc.integer(), anyText), parallelismFactor: fc.oneof(fc.integer(), anyText), buckets: fc.dictionary(fc.oneof(fc.constantFrom(...PRIORITIES), anyText), fc.oneof(fc.integer(), anyText)), gracePeriod: anyDuration }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    unknownField: fc.jsonValue(),
  },
  { requiredKeys: [] },
)

/**
 * JM_ environment maps: every known variable possibly set to anything; the secret where secrets go
 * (URL passwords, API keys, user entries, JWT settings) and where one is pasted by mistake (JM_AUTH).
 */
const envMap: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      ...Object.fromEntries(ENV_FIELDS.map(([variable]) => [variable, anyText])),
      JM_MASTER_URL: url,
      JM_AGENTS: fc.oneof(fc.array(fc.tuple(name, url), { maxLength: 3 }).map((pairs) => pairs.map(([n, u]) => `${n}=${u}`).join(',')), secretUrl, anyText),
      JM_UNPROTECTED_AGENTS: fc.oneof(name, anyText),
      JM_AGENT_LANES: fc.oneof(fc.constantFrom('pg=Payroll|Mail'), anyText),
      JM_BUCKETS: fc.oneof(fc.constantFrom('2', 'critical=2,medium=3', 'urgent=1'), anyText),
      JM_AUTH: fc.oneof(fc.constantFrom('api-key', 'iam', 'none', SECRET), anyText),
      JM_API_KEYS: fc.oneof(fc.constantFrom(SECRET, `${SECRET},short`, `${SECRET} with space`), anyText),
      JM_MANAGEMENT_API_KEYS: fc.oneof(fc.constantFrom(`ops:${SECRET}`, `ops:${SECRET}:admin`, `bad name:${SECRET}`, `ops:${SECRET}:read:extra`, SECRET), anyText),
      JM_MANAGEMENT_API_USERS: fc.oneof(fc.constantFrom(`alice:${SECRET}:${SECRET}`, `alice:00:${SECRET}`), anyText),
      JM_JWT_SECRET: fc.oneof(fc.constantFrom(SECRET), anyText),
      JM_JWT_PUBLIC_KEY: fc.oneof(fc.constantFrom(`-----BEGIN PUBLIC KEY-----\\n${SECRET}\\n-----END PUBLIC KEY-----`), anyText),
      JM_COORDINATOR_TICKS: anyText,
      JM_COORDINATOR_TICK_EVERY: anyText,
      JM_COORDINATOR_FAN_OUT_ABOVE: anyText,
    },
    { requiredKeys: [] },
  )
  .map((env) => env as Record<string, string>)

/** Run `read`: it returns, or throws a ConfigError naming fields and quoting no secret. */
async function returnsOrNamesTheField(read: () => unknown): Promise<void> {
  let error: unknown
  try {
    await read()
    return
  } catch (caught) {
    error = caught
  }
  expect(error).toBeInstanceOf(ConfigError)
  const issues = (error as ConfigError).issues
  expect(issues.length).toBeGreaterThan(0)
  for (const issue of issues) {
    expect(issue.path.length).toBeGreaterThan(0)
    expect(issue.message.length).toBeGreaterThan(0)
  }
  expect((error as Error).message).not.toContain(SECRET)
  expect(JSON.stringify(issues)).not.toContain(SECRET)
}

describe('configuration in code', () => {
  test('resolveConfig: a configuration or a ConfigError naming fields, never quoting a secret', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(codeConfig, fc.jsonValue()), (input) => returnsOrNamesTheField(() => resolveConfig(input as JobMasterConfigInput))), RUNS)
  })
})

describe('configuration from JM_ environment variables', () => {
  test('configFromEnv (worker), producerConfigFromEnv and producerAuthFromEnv', async () => {
    await fc.assert(
      fc.asyncProperty(envMap, async (env) => {
        await returnsOrNamesTheField(() => configFromEnv(env, { worker: true }))
        await returnsOrNamesTheField(() => producerConfigFromEnv(env))
        await returnsOrNamesTheField(() => producerAuthFromEnv(env))
      }),
      RUNS,
    )
  })

  test('the management API authentication and the coordinator function settings', async () => {
    await fc.assert(
      fc.asyncProperty(envMap, async (env) => {
        await returnsOrNamesTheField(() => authSettingsFromEnv(env))
        await returnsOrNamesTheField(() => coordinatorSettingsFromEnv(env))
      }),
      RUNS,
    )
  })
})

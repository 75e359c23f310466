import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DAY } from '../../core/durations.js'
import { Producer } from '../../core/producer.js'
import { openAgent, openMaster } from '../../core/stores/registry.js'
import { createApiApp } from '../../functions/api.js'
import { authSettingsFromEnv, userEntryLine } from '../../functions/auth.js'
import { createProducerApp } from '../../functions/producer.js'
import { captureLogger } from '../api/support.js'
import { PrivatePostgres } from '../chaos/support/servers.js'
import { closedPort } from '../producer/support.js'
import { startWorkerProcess, type WorkerProcess } from '../support/child.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { waitFor } from '../support/wait.js'

/**
 * Secrets never appear in logs or errors. Every secret this file hands to the system — database
 * and NATS passwords in connection URLs, management API keys, user passwords, the JWT secret, the
 * producer's API key — is looked for in every log line (worker processes at debug level included)
 * and every response body produced while the system runs, fails to connect, refuses credentials,
 * and reports errors.
 */
const hex = () => randomBytes(8).toString('hex')
const DB_PASSWORD = `db-${hex()}`
const MARIA_PASSWORD = `maria-${hex()}`
const NATS_PASSWORD = `nats-${hex()}`
const MSSQL_PASSWORD = `mssql-${hex()}`
const OPS_KEY = `ops-${hex()}${hex()}`
const ALICE_PASSWORD = `alice-${hex()}`
const JWT_SECRET = `jwt-${hex()}${hex()}${hex()}`
const PRODUCER_KEY = `producer-${hex()}${hex()}`
const SECRETS = [DB_PASSWORD, MARIA_PASSWORD, NATS_PASSWORD, MSSQL_PASSWORD, OPS_KEY, ALICE_PASSWORD, JWT_SECRET, PRODUCER_KEY]

/** The shared PostgreSQL trusts local connections, so a URL with any password works. */
const withPassword = (url: string, password: string) => {
  const u = new URL(url)
  u.password = password
  return u.toString()
}

let cluster: TestCluster
let deadPort: number
/** Every log line and response body of this file. */
const seen: string[] = []
const log = captureLogger()

beforeAll(async () => {
  cluster = await startTestCluster({ config: { agents: [{ name: 'pg', url: PG_AGENT_URL }] }, logger: log.logger })
  deadPort = await closedPort()
})
afterAll(async () => {
  await cluster?.close()
})

function leaked(texts: string[]): Array<{ secret: string; in: string }> {
  return texts.flatMap((text) => SECRETS.filter((s) => text.includes(s)).map((secret) => ({ secret, in: text.slice(Math.max(0, text.indexOf(secret) - 200), text.indexOf(secret) + 50) })))
}

describe('worker processes (debug logging)', () => {
  const processes: WorkerProcess[] = []
  afterAll(() => processes.forEach((p) => p.child.kill('SIGKILL')))

  test('a worker running, failing and stopping jobs with password-bearing URLs logs no password', async () => {
    const worker = startWorkerProcess({
      JM_LOG_LEVEL: 'debug',
      JM_MASTER_URL: withPassword(PG_MASTER_URL, DB_PASSWORD),
      JM_AGENTS: `pg=${withPassword(PG_AGENT_URL, DB_PASSWORD)}`,
      JM_TABLE_PREFIX: cluster.prefix,
      JM_CLUSTER_ID: 'test',
      JM_WORKER_NAME: 'leaky',
      JM_HEARTBEAT_INTERVAL: '200',
      JM_WORKER_DEAD_AFTER: '1500',
    })
    processes.push(worker)
    const ids = (await cluster.producer.enqueueBatch([...Array.from({ length: 10 }, () => ({ definition: 'echo', payload: 'hi' })), { definition: 'fail', payload: {}, maxRetries: 0 }])).map((j) => j.id)
    await waitFor('the worker to finish the jobs', async () => {
      const jobs = await cluster.ctx.master.getJobs('test', ids)
      return jobs.length === ids.length && jobs.every((j) => j.status === 'Succeeded' || j.status === 'Failed')
    }, 30_000, 100)
    worker.child.kill('SIGTERM')
    await worker.exited
    expect(worker.output()).toMatch(/worker started[\s\S]*worker stopped/)
    seen.push(worker.output())
    expect(leaked([worker.output()])).toEqual([])
  })

  test.each([
    ['an unreachable master', () => ({ JM_MASTER_URL: `postgres://postgres:${DB_PASSWORD}@127.0.0.1:${deadPort}/jobmaster` })],
    ['an unreachable MariaDB agent', () => ({ JM_MASTER_URL: PG_MASTER_URL, JM_AGENTS: `maria=mysql://root:${MARIA_PASSWORD}@127.0.0.1:${deadPort}/jm` })],
    ['an unreachable NATS agent', () => ({ JM_MASTER_URL: PG_MASTER_URL, JM_AGENTS: `nats=nats://jm:${NATS_PASSWORD}@127.0.0.1:${deadPort}` })],
    ['a malformed agent URL', () => ({ JM_MASTER_URL: PG_MASTER_URL, JM_AGENTS: `pg=postgres//jm:${DB_PASSWORD}@127.0.0.1/db` })],
  ])('a worker that cannot start because of %s says why without the password', async (_why, env) => {
    const worker = startWorkerProcess({ JM_LOG_LEVEL: 'debug', JM_TABLE_PREFIX: cluster.prefix, JM_CLUSTER_ID: 'test', ...env() })
    processes.push(worker)
    const { code } = await worker.exited
    expect(code).toBe(1)
    expect(worker.output().length).toBeGreaterThan(0)
    seen.push(worker.output())
    expect(leaked([worker.output()])).toEqual([])
  }, 60_000)
})

/** Run `work` on a store, then close it whatever happened. */
async function closing<T>(store: { close(): Promise<void> }, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } finally {
    await store.close().catch(() => {})
  }
}

describe('store errors', () => {
  test('unreachable stores, and a password PostgreSQL refuses, fail with errors that name the connection, not its URL', async () => {
    const guarded = await PrivatePostgres.start() // password authentication, unlike the shared server
    const wrongPassword = withPassword(guarded.url, DB_PASSWORD)
    const master = (url: string) => () => openMaster(url, { tablePrefix: 'jm_' }).then((m) => closing(m, () => m.provision()))
    const agent = (url: string) => () => openAgent('a', url, { tablePrefix: 'jm_' }).then((a) => closing(a, () => a.fingerprint()))
    const attempts = [
      master(wrongPassword),
      agent(wrongPassword),
      master(`postgres://jm:${DB_PASSWORD}@127.0.0.1:${deadPort}/db`),
      master(`mysql://root:${MARIA_PASSWORD}@127.0.0.1:${deadPort}/db`),
      master(`mssql://sa:${MSSQL_PASSWORD}@127.0.0.1:${deadPort}/db`),
      agent(`nats://jm:${NATS_PASSWORD}@127.0.0.1:${deadPort}`),
      agent(`postgres://jm:${DB_PASSWORD}@127.0.0.1:${deadPort}/db`),
    ]
    for (const attempt of attempts) {
      const error = (await attempt().then(() => null, (e: unknown) => e)) as Error | null
      expect(error).toBeInstanceOf(Error)
      const text = `${error!.message} ${String((error as { cause?: unknown }).cause ?? '')} ${error!.stack ?? ''}`
      seen.push(text)
      expect(leaked([text])).toEqual([])
    }
    expect(seen.some((text) => text.includes('password authentication failed'))).toBe(true)
    await guarded.dispose()
  }, 60_000)
})

describe('HTTP functions', () => {
  test('the producer: refused keys and an unreachable password-bearing agent (503)', async () => {
    const dead = await openAgent('dead', `postgres://jm:${DB_PASSWORD}@127.0.0.1:${deadPort}/db`, { tablePrefix: cluster.prefix })
    const producer = new Producer({ registry: cluster.producer.registry, agents: [{ store: dead, config: { name: 'dead', lanes: [] } }], maxMessageBytes: 4096, idempotencyWindowMs: DAY })
    const app = createProducerApp({ producer, maxMessageBytes: 4096, apiKeys: [PRODUCER_KEY], logger: log.logger })
    const post = async (headers: Record<string, string>) => {
      const res = await app.request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ definition: 'noop' }) })
      seen.push(await res.text())
      return res.status
    }
    expect(await post({ 'x-api-key': `${PRODUCER_KEY.slice(0, -1)}0` })).toBe(401)
    expect(await post({})).toBe(401)
    expect(await post({ 'x-api-key': PRODUCER_KEY })).toBe(503)
    await dead.close()
  }, 30_000)

  test('the management API: refused credentials near the real ones, reads of connections, workers, cluster and metrics', async () => {
    const auth = await authSettingsFromEnv({
      JM_MANAGEMENT_API_KEYS: `ops:${OPS_KEY}`,
      JM_MANAGEMENT_API_USERS: await userEntryLine('alice', ALICE_PASSWORD),
      JM_JWT_SECRET: JWT_SECRET,
    })
    const app = createApiApp(cluster.ctx, { auth, logger: log.logger })
    const call = async (path: string, headers: Record<string, string>) => {
      const res = await app.request(path, { headers })
      seen.push(await res.text())
      return res.status
    }
    expect(await call('/v1/cluster', { 'x-api-key': `${OPS_KEY}0` })).toBe(401)
    expect(await call('/v1/cluster', { 'x-user-name': 'alice', 'x-password': `${ALICE_PASSWORD}0` })).toBe(401)
    expect(await call('/v1/cluster', { authorization: `Bearer ${JWT_SECRET}` })).toBe(401)
    for (const path of ['/v1/cluster', '/v1/connections', '/v1/workers', '/v1/buckets', '/v1/jobs', '/metrics']) expect(await call(path, { 'x-api-key': OPS_KEY })).toBe(200)
  })
})

test('no secret in any log line or response body of this file', () => {
  const everything = [...seen, ...log.lines]
  expect(everything.length).toBeGreaterThan(20)
  expect(leaked(everything)).toEqual([])
})

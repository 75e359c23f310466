import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { producerAuthFromEnv } from '../../core/config-env.js'
import { ConfigError } from '../../core/errors.js'
import { createLambdaProducer, type LambdaProducer } from '../../functions/producer-lambda.js'
import { sampleDefinitions } from '../../jobs/definitions.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { rawQuery, testPrefix } from '../support/pg.js'
import { capturingLogger, closedPort, functionUrlEvent, inboxJobs, lambdaContext, provisionedAgents, type FunctionUrlRequest } from './support.js'

/**
 * The Lambda entry (functions/producer-lambda.ts, as functions/producer-handler.ts builds it) fed
 * real Function URL events (payload format 2.0), configured from environment variables only, with
 * the master unreachable and one of three agent connections down.
 */
const prefix = testPrefix('pl')
const API_KEY = 'lambda-key-5b8e1c0f9a7d4e2b'
const MASTER_PASSWORD = 'M4ster-S3cret-pw'
const AGENT_PASSWORD = 'Ag3nt-S3cret-pw'

let agents: Awaited<ReturnType<typeof provisionedAgents>>
/** Stands in for the master: accepts TCP connections and counts them. A producer must make none. */
let fakeMaster: Server
let masterConnections = 0
let env: Record<string, string>
const producers: LambdaProducer[] = []
const { logger, lines } = capturingLogger()

beforeAll(async () => {
  agents = await provisionedAgents(prefix, { 'pg-a': PG_AGENT_URL, 'pg-b': PG_MASTER_URL })
  fakeMaster = createServer((socket) => {
    masterConnections++
    socket.destroy()
  })
  await new Promise<void>((ready) => fakeMaster.listen(0, '127.0.0.1', ready))
  const masterPort = (fakeMaster.address() as { port: number }).port
  env = {
    JM_CLUSTER_ID: 'lambda-test',
    JM_MASTER_URL: `postgres://jobmaster:${MASTER_PASSWORD}@127.0.0.1:${masterPort}/jobmaster`,
    JM_AGENTS: `pg-a=${PG_AGENT_URL},pg-dead=postgres://jobmaster:${AGENT_PASSWORD}@127.0.0.1:${await closedPort()}/jobmaster,pg-b=${PG_MASTER_URL}`,
    JM_TABLE_PREFIX: prefix,
    JM_MAX_MESSAGE_BYTES: '4096',
    JM_IDEMPOTENCY_WINDOW: '1h',
    JM_API_KEYS: `${API_KEY},another-key-0000000000`,
  }
})
afterAll(async () => {
  await Promise.all(producers.map((p) => p.close()))
  await agents?.cleanup()
  await new Promise((closed) => fakeMaster?.close(closed))
})

/** A fresh Lambda instance (a cold start) configured from `overrides` over the test environment. */
function instance(overrides: Record<string, string | undefined> = {}): LambdaProducer {
  const producer = createLambdaProducer({ definitions: sampleDefinitions, env: { ...env, ...overrides }, logger })
  producers.push(producer)
  return producer
}

async function invoke(producer: LambdaProducer, request: FunctionUrlRequest, apiKey: string | null = API_KEY) {
  const headers = { ...(apiKey === null ? {} : { 'x-api-key': apiKey }), ...request.headers }
  const result = await producer.handler(functionUrlEvent({ ...request, headers }), lambdaContext())
  return { ...result, json: JSON.parse(result.body) as any }
}

const allInboxJobs = async () => [...(await inboxJobs(PG_AGENT_URL, prefix)), ...(await inboxJobs(PG_MASTER_URL, prefix))]

describe('the producer function on a Function URL', () => {
  const lambda = () => producers[0] ?? instance()

  test('accepts a job with the master unreachable and one agent down, never contacting the master', async () => {
    const res = await invoke(lambda(), { path: '/v1/jobs', body: { definition: 'sleep', payload: { ms: 1 }, priority: 'critical' } })
    expect(res.statusCode).toBe(202)
    expect(res.isBase64Encoded).toBe(false)
    expect(res.headers?.['content-type']).toMatch(/^application\/json/)
    expect(res.json).toMatchObject({ status: 'SavePending', duplicate: false })
    expect((await allInboxJobs()).map((j) => j.id)).toContain(res.json.id)
    for (let i = 0; i < 6; i++) expect((await invoke(lambda(), { path: '/v1/jobs', body: { definition: 'noop' } })).statusCode).toBe(202)
    expect(masterConnections).toBe(0)
  })

  test('accepts a base64-encoded body', async () => {
    const res = await invoke(lambda(), { path: '/v1/jobs', body: { definition: 'echo', payload: { text: 'ünïcödé' } }, base64: true })
    expect(res.statusCode).toBe(202)
    expect((await allInboxJobs()).find((j) => j.id === res.json.id)?.payload).toEqual({ text: 'ünïcödé' })
  })

  test('accepts a batch, all in one connection', async () => {
    const jobs = Array.from({ length: 250 }, (_, i) => ({ definition: 'echo', payload: i, delay: '1m' }))
    const res = await invoke(lambda(), { path: '/v1/jobs/batch', body: { jobs } })
    expect(res.statusCode).toBe(202)
    expect(res.json).toMatchObject({ status: 'SavePending', duplicates: 0 })
    const a = new Set((await inboxJobs(PG_AGENT_URL, prefix)).map((j) => j.id))
    const b = new Set((await inboxJobs(PG_MASTER_URL, prefix)).map((j) => j.id))
    const inA = res.json.ids.filter((id: string) => a.has(id)).length
    const inB = res.json.ids.filter((id: string) => b.has(id)).length
    expect([inA, inB].sort()).toEqual([0, 250])
  })

  test('a retry with the same idempotencyKey through another cold-started instance returns the first job', async () => {
    const body = { definition: 'echo', payload: { invoice: 981 }, idempotencyKey: 'invoice-981-reminder' }
    const first = await invoke(instance(), { path: '/v1/jobs', body })
    const retry = await invoke(instance(), { path: '/v1/jobs', body })
    expect(first.json.duplicate).toBe(false)
    expect(retry.statusCode).toBe(202)
    expect(retry.json).toEqual({ id: first.json.id, status: 'SavePending', duplicate: true })
    expect((await allInboxJobs()).filter((j) => j.idempotencyKey === 'invoice-981-reminder')).toHaveLength(1)
  })

  test('bad input: 400 naming the field, 413 too large, 415 not JSON, nothing written', async () => {
    const before = (await allInboxJobs()).length
    const cases: Array<[FunctionUrlRequest, number, string | undefined]> = [
      [{ path: '/v1/jobs', body: { definition: 'report.monthly', payload: { token: 'hide-me' } } }, 400, 'definition'],
      [{ path: '/v1/jobs', body: { definition: 'sleep', payload: { ms: 'hide-me' } } }, 400, 'payload.ms'],
      [{ path: '/v1/jobs', body: { definition: 'echo', payload: 'hide-me', lane: 'a lane' } }, 400, 'lane'],
      [{ path: '/v1/jobs', body: '{"definition": "echo", "payload": "hide-me"' }, 400, '(body)'],
      [{ path: '/v1/jobs', body: { definition: 'echo', payload: 'hide-me'.repeat(1000) } }, 413, 'payload'],
      [{ path: '/v1/jobs', body: { definition: 'echo', payload: 'hide-me', }, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, '(body)'],
      [{ path: '/v1/jobs/batch', body: { jobs: [{ definition: 'noop' }, { definition: 'sleep', payload: { ms: 'hide-me' } }] } }, 400, 'jobs.1.payload.ms'],
      [{ path: '/v1/jobs/batch', body: { jobs: Array.from({ length: 1001 }, () => ({ definition: 'noop' })) } }, 400, 'jobs'],
    ]
    for (const [request, status, path] of cases) {
      const res = await invoke(lambda(), request)
      expect({ status: res.statusCode, path: res.json.issues?.[0]?.path }).toEqual({ status, path })
      expect(res.body).not.toContain('hide-me')
    }
    expect((await allInboxJobs()).length).toBe(before)
  })

  test('unknown routes answer 404 in the same JSON shape', async () => {
    const res = await invoke(lambda(), { path: '/v1/nothing-here' })
    expect(res).toMatchObject({ statusCode: 404, json: { error: 'not found' } })
  })

  test('serves its OpenAPI document', async () => {
    const res = await invoke(lambda(), { path: '/v1/openapi.json' })
    expect(res.statusCode).toBe(200)
    expect(res.json).toMatchObject({ openapi: '3.1.0', security: [{ apiKey: [] }] })
    expect(Object.keys(res.json.components.schemas)).toEqual(expect.arrayContaining(['JobRequest', 'BatchRequest', 'AcceptedJob', 'AcceptedBatch', 'Error', 'Job.sleep']))
  })

  test('reports its cold start once', async () => {
    const fresh = instance()
    const count = () => lines.filter((l) => l.includes('producer cold start')).length
    const before = count()
    await invoke(fresh, { path: '/v1/jobs', body: { definition: 'noop' } })
    await invoke(fresh, { path: '/v1/jobs', body: { definition: 'noop' } })
    expect(count()).toBe(before + 1)
    const report = JSON.parse(lines.filter((l) => l.includes('producer cold start')).at(-1)!)
    expect(report.coldStart).toEqual({ moduleLoadedMs: expect.any(Number), firstInvocationMs: expect.any(Number), sinceProcessStartMs: expect.any(Number) })
  })
})

describe('authentication', () => {
  test('missing or wrong x-api-key → 401 and nothing written', async () => {
    const lambda = instance()
    const before = (await allInboxJobs()).length
    expect(await invoke(lambda, { path: '/v1/jobs', body: { definition: 'noop' } }, null)).toMatchObject({ statusCode: 401, json: { error: 'x-api-key header required' } })
    expect(await invoke(lambda, { path: '/v1/jobs', body: { definition: 'noop' } }, `${API_KEY.slice(0, -1)}0`)).toMatchObject({ statusCode: 401, json: { error: 'invalid x-api-key' } })
    expect(await invoke(lambda, { path: '/v1/jobs/batch', body: { jobs: [{ definition: 'noop' }] } }, 'short')).toMatchObject({ statusCode: 401 })
    expect(await invoke(lambda, { path: '/v1/openapi.json' }, null)).toMatchObject({ statusCode: 401 })
    expect((await allInboxJobs()).length).toBe(before)
    expect((await invoke(lambda, { path: '/v1/jobs', body: { definition: 'noop' } }, 'another-key-0000000000')).statusCode).toBe(202)
  })

  test('the function refuses to start without keys unless JM_AUTH says how else', () => {
    const start = (overrides: Record<string, string | undefined>) => () => createLambdaProducer({ definitions: sampleDefinitions, env: { ...env, ...overrides }, logger })
    expect(start({ JM_API_KEYS: undefined })).toThrow(ConfigError)
    expect(start({ JM_API_KEYS: undefined })).toThrow(/JM_API_KEYS: is required/)
    expect(start({ JM_API_KEYS: ' , ' })).toThrow(/JM_API_KEYS: is required/)
    expect(start({ JM_AUTH: 'none' })).toThrow(/JM_AUTH: is "none" but JM_API_KEYS is set/)
    expect(start({ JM_AUTH: 'basic' })).toThrow(/JM_AUTH: must be one of api-key, iam, none/)
    expect(start({ JM_API_KEYS: undefined, JM_AUTH: 'none' })).not.toThrow()
    expect(start({ JM_API_KEYS: undefined, JM_AUTH: 'iam' })).not.toThrow()
  })

  test('a producer needs its agents, not the master (standalone: the master is the agent)', () => {
    const start = (overrides: Record<string, string | undefined>) => () => createLambdaProducer({ definitions: sampleDefinitions, env: { ...env, ...overrides }, logger })
    expect(start({ JM_MASTER_URL: undefined })).not.toThrow()
    expect(start({ JM_MASTER_URL: undefined, JM_AGENTS: undefined })).toThrow(/JM_MASTER_URL: is required \(or agents, for a producer-only process\)/)
  })

  test('a weak key is refused without being echoed', () => {
    const error = (() => {
      try {
        producerAuthFromEnv({ JM_API_KEYS: `${API_KEY},tiny-secret,has space in-it-0123456789` })
      } catch (e) {
        return e as ConfigError
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect(error!.issues).toEqual([
      { path: 'JM_API_KEYS', message: 'key 2 is shorter than 16 characters' },
      { path: 'JM_API_KEYS', message: 'key 3 must be printable ASCII without spaces' },
    ])
    expect(error!.message).not.toContain('tiny-secret')
  })

  test('JM_AUTH=none accepts requests without a key', async () => {
    const open = instance({ JM_API_KEYS: undefined, JM_AUTH: 'none' })
    expect((await invoke(open, { path: '/v1/jobs', body: { definition: 'noop' } }, null)).statusCode).toBe(202)
    expect((await invoke(open, { path: '/v1/openapi.json' }, null)).json.security).toBeUndefined()
  })

  test('JM_AUTH=iam: only events carrying the Function URL\'s IAM identity are served', async () => {
    const iam = instance({ JM_API_KEYS: undefined, JM_AUTH: 'iam' })
    expect(await invoke(iam, { path: '/v1/jobs', body: { definition: 'noop' } }, null)).toMatchObject({ statusCode: 401, json: { error: 'AWS IAM (SigV4) authentication required' } })
    expect((await invoke(iam, { path: '/v1/jobs', body: { definition: 'noop' }, iam: true }, null)).statusCode).toBe(202)
  })
})

describe('secrets stay out of logs and answers', () => {
  test('API keys and database passwords appear in no log line and no response, even when every agent is down', async () => {
    const allDown = instance({ JM_AGENTS: env.JM_AGENTS!.split(',').filter((a) => a.startsWith('pg-dead')).join(',') })
    const answers = [
      await invoke(allDown, { path: '/v1/jobs', body: { definition: 'noop' } }),
      await invoke(allDown, { path: '/v1/jobs/batch', body: { jobs: [{ definition: 'noop' }] } }),
      await invoke(allDown, { path: '/v1/jobs', body: { definition: 'noop' } }, `${API_KEY}-nope`),
      await invoke(instance(), { path: '/v1/jobs', body: { definition: 'noop' } }),
    ]
    expect(answers.map((a) => a.statusCode)).toEqual([503, 503, 401, 202])
    expect(answers[0]!.json).toEqual({ error: 'job transport unavailable; nothing was written, retry later' })
    const logged = lines.join('\n')
    expect(logged).toContain('no agent connection accepted the write')
    expect(logged).toContain('ECONNREFUSED')
    for (const text of [logged, ...answers.map((a) => a.body)]) {
      for (const secret of [API_KEY, 'another-key-0000000000', MASTER_PASSWORD, AGENT_PASSWORD]) expect(text).not.toContain(secret)
    }
  })
})

describe('producer-only configuration', () => {
  test('JM_AGENT_LANES routes a lane to its connection', async () => {
    const lanes = instance({ JM_AGENT_LANES: 'pg-b=Payroll' })
    await rawQuery(PG_MASTER_URL, `DELETE FROM ${prefix}inbox WHERE message::jsonb->>'lane' = 'Payroll'`)
    for (let i = 0; i < 4; i++) expect((await invoke(lanes, { path: '/v1/jobs', body: { definition: 'noop', lane: 'Payroll' } })).statusCode).toBe(202)
    expect((await inboxJobs(PG_MASTER_URL, prefix)).filter((j) => j.lane === 'Payroll')).toHaveLength(4)
    expect((await inboxJobs(PG_AGENT_URL, prefix)).filter((j) => j.lane === 'Payroll')).toHaveLength(0)
  })
})

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { JobRegistry } from '../../core/definitions.js'
import { DAY } from '../../core/durations.js'
import { silentLogger, type Logger } from '../../core/logger.js'
import { Producer } from '../../core/producer.js'
import type { AgentStore } from '../../core/stores/agent.js'
import { openAgent } from '../../core/stores/registry.js'
import { createProducerApp } from '../../functions/producer.js'
import { sampleDefinitions } from '../../jobs/definitions.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { rawQuery, testPrefix } from '../support/pg.js'
import { capturingLogger, inboxJobs, provisionedAgents } from './support.js'

/**
 * The producer app through `app.request`, writing to two real PostgreSQL agent connections.
 * Producer-only: no master is configured or opened anywhere in this file.
 */
const prefix = testPrefix('ph')
const URLS = { 'pg-a': PG_AGENT_URL, 'pg-b': PG_MASTER_URL }
const API_KEY = 'k-test-0123456789abcdef'
const OTHER_KEY = 'k-test-second-key-fedcba9876'
const MAX_BYTES = 4096
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/

let agents: Awaited<ReturnType<typeof provisionedAgents>>
const extraStores: AgentStore[] = []
beforeAll(async () => {
  agents = await provisionedAgents(prefix, URLS)
})
afterAll(async () => {
  await Promise.all(extraStores.map((s) => s.close()))
  await agents?.cleanup()
})
beforeEach(async () => {
  for (const url of Object.values(URLS)) await rawQuery(url, `TRUNCATE ${prefix}inbox, ${prefix}idempotency`)
})

/** A producer app as one process (a Lambda instance, a server) would build it. */
function producerApp(options: { stores?: Record<string, AgentStore>; logger?: Logger } = {}) {
  const stores = options.stores ?? agents.stores
  const producer = new Producer({
    registry: new JobRegistry(sampleDefinitions),
    agents: Object.entries(stores).map(([name, store]) => ({ store, config: { name, lanes: [] } })),
    maxMessageBytes: MAX_BYTES,
    idempotencyWindowMs: DAY,
  })
  return createProducerApp({ producer, maxMessageBytes: MAX_BYTES, apiKeys: [API_KEY, OTHER_KEY], logger: options.logger ?? silentLogger })
}

/** Separate store instances (own pools) on the same databases: another producer instance. */
async function otherInstanceStores(): Promise<Record<string, AgentStore>> {
  const stores: Record<string, AgentStore> = {}
  for (const [name, url] of Object.entries(URLS)) stores[name] = await openAgent(name, url, { tablePrefix: prefix, poolSize: 2 })
  extraStores.push(...Object.values(stores))
  return stores
}

type Answer = { status: number; body: any; text: string }
async function post(app: ReturnType<typeof producerApp>, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text), text }
}

async function allInboxes() {
  return { 'pg-a': await inboxJobs(URLS['pg-a'], prefix), 'pg-b': await inboxJobs(URLS['pg-b'], prefix) }
}
async function nothingWritten(): Promise<void> {
  const inboxes = await allInboxes()
  expect(inboxes['pg-a'].length + inboxes['pg-b'].length).toBe(0)
}

describe('accepting jobs', () => {
  test('one job: 202 with its id, written to exactly one agent inbox', async () => {
    const app = producerApp()
    const res = await post(app, '/v1/jobs', { definition: 'sleep', payload: { ms: 5 }, delay: '30s', priority: 'high', metadata: { tenant: 'acme' } })
    expect(res.status).toBe(202)
    expect(res.body).toEqual({ id: expect.stringMatching(UUID), status: 'SavePending', duplicate: false })
    const inboxes = await allInboxes()
    const written = [...inboxes['pg-a'], ...inboxes['pg-b']]
    expect(written).toEqual([{ id: res.body.id, definition: 'sleep', lane: null, idempotencyKey: null, payload: { ms: 5 } }])
  })

  test('a batch of 1,000: 202 with the ids in order, written in one statement to one connection', async () => {
    const app = producerApp()
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ definition: 'echo', payload: { i } }))
    const res = await post(app, '/v1/jobs/batch', { jobs })
    expect(res.status).toBe(202)
    expect(res.body.ids).toHaveLength(1000)
    expect(new Set(res.body.ids).size).toBe(1000)
    expect(res.body).toMatchObject({ status: 'SavePending', duplicates: 0 })
    const inboxes = await allInboxes()
    const [full, empty] = inboxes['pg-a'].length > 0 ? [inboxes['pg-a'], inboxes['pg-b']] : [inboxes['pg-b'], inboxes['pg-a']]
    expect(empty).toEqual([])
    expect(full.map((j) => j.id).sort()).toEqual([...res.body.ids].sort())
    const payloadOf = new Map(full.map((j) => [j.id, j.payload]))
    expect(res.body.ids.map((id: string) => payloadOf.get(id))).toEqual(jobs.map((j) => j.payload))
  })
})

describe('idempotencyKey: a retry returns the first job, across producer instances', () => {
  test('the same key through a second app instance with its own store connections', async () => {
    const first = producerApp()
    const second = producerApp({ stores: await otherInstanceStores() })
    const a = await post(first, '/v1/jobs', { definition: 'echo', payload: { order: 42 }, idempotencyKey: 'order-42-mail' })
    const b = await post(second, '/v1/jobs', { definition: 'echo', payload: { order: 42 }, idempotencyKey: 'order-42-mail' })
    expect(a.body).toMatchObject({ status: 'SavePending', duplicate: false })
    expect(b.status).toBe(202)
    expect(b.body).toEqual({ id: a.body.id, status: 'SavePending', duplicate: true })

    // One job, and the key's record beside it on the connection the key hashes to.
    const inboxes = await allInboxes()
    const holder = inboxes['pg-a'].length === 1 ? 'pg-a' : 'pg-b'
    expect([...inboxes['pg-a'], ...inboxes['pg-b']].map((j) => j.id)).toEqual([a.body.id])
    const keyRows = await rawQuery<{ key: string; job_id: string }>(URLS[holder], `SELECT key, job_id FROM ${prefix}idempotency`)
    expect(keyRows).toEqual([{ key: 'order-42-mail', job_id: a.body.id }])
  })

  test('a batch is routed by its first keyed job, so a retry meets its keys even when job 0 has none', async () => {
    const first = producerApp()
    const second = producerApp({ stores: await otherInstanceStores() })
    // Move the second instance's round-robin position: unkeyed routing must not decide where keys go.
    expect((await post(second, '/v1/jobs', { definition: 'noop' })).status).toBe(202)
    const batch = { jobs: [{ definition: 'noop' }, { definition: 'echo', payload: 'x', idempotencyKey: 'batch-7-job-1' }] }
    const a = await post(first, '/v1/jobs/batch', batch)
    const b = await post(second, '/v1/jobs/batch', batch)
    expect(a.body.duplicates).toBe(0)
    expect(b.body.duplicates).toBe(1)
    expect(b.body.ids[1]).toBe(a.body.ids[1])
    expect(b.body.ids[0]).not.toBe(a.body.ids[0]) // an unkeyed job is a new job every time
  })

  test('different keys are different jobs; keys spread over the connections by their hash', async () => {
    const app = producerApp()
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await post(app, '/v1/jobs', { definition: 'noop', idempotencyKey: `key-${i}` })).body.id)
    expect(ids.size).toBe(20)
    const inboxes = await allInboxes()
    expect(inboxes['pg-a'].length).toBeGreaterThan(0)
    expect(inboxes['pg-b'].length).toBeGreaterThan(0)
  })
})

describe('bad input: 4xx naming the field, nothing written, the payload never echoed', () => {
  const secret = 'do-not-echo-7f3a'
  const cases: Array<[name: string, path: string, body: unknown, status: number, issuePath: string, message?: RegExp]> = [
    ['unknown definition', '/v1/jobs', { definition: 'email.send', payload: { secret } }, 400, 'definition', /^unknown job definition "email\.send"$/],
    ['payload not matching its schema', '/v1/jobs', { definition: 'sleep', payload: { ms: secret } }, 400, 'payload.ms'],
    ['payload missing a field', '/v1/jobs', { definition: 'sleep', payload: { secret } }, 400, 'payload.ms'],
    ['bad lane name', '/v1/jobs', { definition: 'echo', payload: { secret }, lane: 'pay roll' }, 400, 'lane'],
    ['metadata value not a string', '/v1/jobs', { definition: 'echo', payload: { secret }, metadata: { k: 5 } }, 400, 'metadata.k'],
    ['unknown field', '/v1/jobs', { definition: 'echo', payload: { secret }, colour: secret }, 400, 'colour'],
    ['unknown priority', '/v1/jobs', { definition: 'echo', priority: secret }, 400, 'priority'],
    ['maxRetries out of range', '/v1/jobs', { definition: 'echo', maxRetries: 26 }, 400, 'maxRetries'],
    ['runAt not a time', '/v1/jobs', { definition: 'echo', runAt: secret }, 400, 'runAt'],
    ['runAt and delay together', '/v1/jobs', { definition: 'echo', runAt: new Date().toISOString(), delay: 5 }, 400, 'runAt'],
    ['delay not a duration', '/v1/jobs', { definition: 'echo', delay: secret }, 400, 'delay'],
    ['empty idempotencyKey', '/v1/jobs', { definition: 'echo', idempotencyKey: '' }, 400, 'idempotencyKey'],
    ['definition missing', '/v1/jobs', { payload: { secret } }, 400, 'definition'],
    ['malformed JSON', '/v1/jobs', `{"definition":"echo","payload":"${secret}"`, 400, '(body)'],
    ['JSON that is not an object', '/v1/jobs', [{ definition: 'echo', payload: secret }], 400, '(body)'],
    ['job over maxMessageBytes', '/v1/jobs', { definition: 'echo', payload: secret + 'x'.repeat(MAX_BYTES) }, 413, 'payload', /over the limit of 4096 bytes/],
    ['body over the route limit', '/v1/jobs', { definition: 'echo', payload: secret + 'x'.repeat(8 * MAX_BYTES) }, 413, '(body)'],
    ['empty batch', '/v1/jobs/batch', { jobs: [] }, 400, 'jobs'],
    ['batch over 1,000 jobs', '/v1/jobs/batch', { jobs: Array.from({ length: 1001 }, () => ({ definition: 'noop' })) }, 400, 'jobs', /limited to 1000/],
    ['batch without jobs', '/v1/jobs/batch', { job: [] }, 400, 'jobs'],
    ['one bad payload in a batch', '/v1/jobs/batch', { jobs: [{ definition: 'noop' }, { definition: 'noop' }, { definition: 'sleep', payload: { ms: secret } }] }, 400, 'jobs.2.payload.ms'],
    ['one unknown definition in a batch', '/v1/jobs/batch', { jobs: [{ definition: 'noop' }, { definition: 'nope', payload: secret }] }, 400, 'jobs.1.definition'],
    ['one bad option in a batch', '/v1/jobs/batch', { jobs: [{ definition: 'noop' }, { definition: 'noop', lane: secret + '!' }] }, 400, 'jobs.1.lane'],
    ['a key twice in one batch', '/v1/jobs/batch', { jobs: [{ definition: 'noop', idempotencyKey: 'a' }, { definition: 'noop', idempotencyKey: 'a' }] }, 400, 'jobs.1.idempotencyKey'],
    ['one job too large in a batch', '/v1/jobs/batch', { jobs: [{ definition: 'noop' }, { definition: 'echo', payload: secret + 'x'.repeat(MAX_BYTES) }] }, 413, 'jobs.1.payload'],
  ]
  test.each(cases)('%s', async (_name, path, body, status, issuePath, message) => {
    const res = await post(producerApp(), path, body, {})
    expect(res.status).toBe(status)
    expect(res.body.error).toEqual(expect.any(String))
    expect(res.body.issues[0].path).toBe(issuePath)
    if (message) expect(res.body.issues[0].message).toMatch(message)
    expect(res.text).not.toContain(secret)
    await nothingWritten()
  })

  test('a body not declared as JSON is refused with 415', async () => {
    const res = await post(producerApp(), '/v1/jobs', JSON.stringify({ definition: 'noop' }), { 'content-type': 'text/plain' })
    expect(res).toMatchObject({ status: 415, body: { error: 'unsupported media type', issues: [{ path: '(body)' }] } })
    await nothingWritten()
  })

  test('every issue of a batch is reported at once', async () => {
    const res = await post(producerApp(), '/v1/jobs/batch', {
      jobs: [{ definition: 'sleep', payload: { ms: -1 } }, { definition: 'noop' }, { definition: 'nope' }, { definition: 'fail', payload: { message: 7 } }],
    })
    expect(res.status).toBe(400)
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['jobs.0.payload.ms', 'jobs.2.definition', 'jobs.3.payload.message'])
  })
})

describe('API keys', () => {
  test('missing or wrong x-api-key → 401; either configured key is accepted', async () => {
    const app = producerApp()
    const missing = await app.request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"definition":"noop"}' })
    expect(missing.status).toBe(401)
    expect(await missing.json()).toEqual({ error: 'x-api-key header required' })
    for (const wrong of [API_KEY.slice(0, -1), `${API_KEY}x`, API_KEY.toUpperCase(), 'x']) {
      const res = await post(app, '/v1/jobs', { definition: 'noop' }, { 'x-api-key': wrong })
      expect(res).toMatchObject({ status: 401, body: { error: 'invalid x-api-key' } })
    }
    await nothingWritten()
    expect((await post(app, '/v1/jobs', { definition: 'noop' }, { 'x-api-key': OTHER_KEY })).status).toBe(202)
    expect((await app.request('/v1/openapi.json')).status).toBe(401)
  })

  test('a key never reaches a log line or a response', async () => {
    const { logger, lines } = capturingLogger()
    const app = producerApp({ logger })
    const answers = [
      await post(app, '/v1/jobs', { definition: 'noop' }),
      await post(app, '/v1/jobs', { definition: 'noop' }, { 'x-api-key': `${API_KEY}-almost` }),
      await post(app, '/v1/jobs', { definition: 'nope' }),
      await post(app, '/v1/jobs/batch', { jobs: [] }, { 'x-api-key': OTHER_KEY }),
    ]
    expect(answers.map((a) => a.status)).toEqual([202, 401, 400, 400])
    expect(lines.some((l) => l.includes('request refused'))).toBe(true)
    for (const text of [...lines, ...answers.map((a) => a.text)]) {
      expect(text).not.toContain(API_KEY)
      expect(text).not.toContain(OTHER_KEY)
    }
  })
})

describe('/v1/openapi.json', () => {
  test('generated from the request schemas and each definition\'s payload schema', async () => {
    const res = await producerApp().request('/v1/openapi.json', { headers: { 'x-api-key': API_KEY } })
    expect(res.status).toBe(200)
    const doc = (await res.json()) as any
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(['/v1/jobs', '/v1/jobs/batch', '/v1/schedules', '/v1/openapi.json'])
    expect(doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/JobRequest' })
    expect(Object.keys(doc.paths['/v1/jobs'].post.responses)).toEqual(['202', '400', '401', '409', '413', '415', '503'])
    expect(doc.security).toEqual([{ apiKey: [] }])
    expect(doc.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' })

    const schemas = doc.components.schemas
    expect(schemas.JobRequest.oneOf.map((s: { $ref: string }) => s.$ref)).toEqual(['noop', 'echo', 'sleep', 'fail'].map((id) => `#/components/schemas/Job.${id}`))
    expect(schemas.JobRequest.discriminator.propertyName).toBe('definition')
    expect(schemas['Job.sleep'].properties.definition).toMatchObject({ const: 'sleep' })
    expect(schemas['Job.sleep'].properties.payload).toMatchObject({ type: 'object', properties: { ms: { type: 'integer', minimum: 0 } }, required: ['ms'] })
    expect(schemas['Job.sleep'].required).toEqual(['definition', 'payload'])
    expect(schemas['Job.echo'].required).toEqual(['definition']) // its schema accepts a missing payload
    expect(schemas['Job.sleep'].additionalProperties).toBe(false)
    expect(schemas['Job.sleep'].properties.runAt).toMatchObject({ type: 'string', format: 'date-time' })
    expect(schemas['Job.sleep'].properties.priority.enum).toEqual(['very-low', 'low', 'medium', 'high', 'critical'])
    expect(schemas['Job.sleep'].properties.idempotencyKey).toMatchObject({ type: 'string', maxLength: 200, description: expect.stringContaining('JM_IDEMPOTENCY_WINDOW') })
    expect(schemas.BatchRequest.properties.jobs).toEqual({ type: 'array', items: { $ref: '#/components/schemas/JobRequest' }, minItems: 1, maxItems: 1000 })
    expect(schemas.AcceptedJob.required).toEqual(['id', 'status', 'duplicate'])
    expect(schemas.AcceptedBatch.properties.ids).toMatchObject({ type: 'array', items: { type: 'string', format: 'uuid' } })
    expect(schemas.Error.properties.issues.items.required).toEqual(['path', 'message'])
  })
})

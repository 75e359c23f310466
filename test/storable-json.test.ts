import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { defineJob, handle } from '../core/definitions.js'
import { MAX_JSON_DEPTH } from '../core/json-storable.js'
import { createProducerApp } from '../functions/producer.js'
import { handlers as samples } from '../jobs/handlers.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { startMySqlCluster } from './support/mysql.js'
import { waitFor } from './support/wait.js'

/**
 * A producer must accept only what every master can store, and a worker must report only what its
 * master can store: PostgreSQL's jsonb refuses U+0000 and unpaired surrogates, MariaDB's JSON
 * columns refuse 32 levels of nesting. One job or result a master refuses would fail every batch
 * statement it is part of, again and again: before this was enforced, one such job accepted by a
 * producer stopped its connection's whole ingest, and one such result stopped its worker's reporting.
 */
const nested = (depth: number): unknown => {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value }
  return value
}

const misbehave = defineJob({ id: 'unstorable-result', schema: v.picklist(['nul', 'surrogate', 'deep', 'throw-nul']) })
const handlers = [
  ...samples,
  handle(misbehave, async (kind) => {
    if (kind === 'nul') return { text: 'a\u0000b' }
    if (kind === 'surrogate') return ['\udc00']
    if (kind === 'deep') return nested(MAX_JSON_DEPTH + 10)
    throw new Error('bad \u0000 byte')
  }),
]

describe('the producer refuses what a master could not store, naming the field, writing nothing', () => {
  let cluster: TestCluster
  let app: ReturnType<typeof createProducerApp>
  beforeAll(async () => {
    cluster = await startTestCluster()
    app = createProducerApp({ producer: cluster.producer, maxMessageBytes: 1024 * 1024 })
  })
  afterAll(() => cluster?.close())

  const post = async (path: string, body: string) => {
    const res = await app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    return { status: res.status, body: (await res.json()) as { issues?: Array<{ path: string; message: string }> } }
  }

  test.each([
    ['a NUL in a payload string', JSON.stringify({ definition: 'echo', payload: { a: 'x\u0000y' } }), 'payload.a', /NUL character/],
    ['a NUL in a payload key', JSON.stringify({ definition: 'echo', payload: { 'a\u0000': 1 } }), 'payload', /has a key that contains a NUL/],
    ['an unpaired surrogate', JSON.stringify({ definition: 'echo', payload: ['\ud800'] }), 'payload.0', /unpaired UTF-16 surrogate/],
    ['a NUL in a metadata value', JSON.stringify({ definition: 'noop', metadata: { k: '\u0000' } }), 'metadata.k', /NUL character/],
    [`${MAX_JSON_DEPTH + 1} levels of nesting`, JSON.stringify({ definition: 'echo', payload: nested(MAX_JSON_DEPTH + 1) }), 'payload', /nested more than 30 levels/],
    ['100,000 levels of nesting', `{"definition":"echo","payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'payload', /nested more than 30 levels/],
  ])('%s', async (_name, body, path, message) => {
    const depthBefore = await cluster.ctx.agent('standalone').inboxDepth()
    const single = await post('/v1/jobs', body)
    expect(single.status).toBe(400)
    expect(single.body.issues).toEqual([{ path, message: expect.stringMatching(message) }])
    const batch = await post('/v1/jobs/batch', `{"jobs":[{"definition":"noop"},${body}]}`)
    expect(batch.status).toBe(400)
    expect(batch.body.issues).toEqual([{ path: `jobs.1.${path}`, message: expect.stringMatching(message) }])
    expect(await cluster.ctx.agent('standalone').inboxDepth()).toBe(depthBefore)
  })

  test.each([
    ['a NUL in the payload', { payload: { a: 'x\u0000y' } }, 'payload.a'],
    ['an unpaired surrogate in a payload key', { payload: { '\ud800': 1 } }, 'payload'],
    ['a NUL in a metadata value', { metadata: { k: '\u0000' } }, 'metadata.k'],
    [`${MAX_JSON_DEPTH + 1} levels of nesting`, { payload: nested(MAX_JSON_DEPTH + 1) }, 'payload'],
  ])('a schedule with %s', async (_name, fields, path) => {
    const depthBefore = await cluster.ctx.agent('standalone').inboxDepth()
    const answer = await post('/v1/schedules', JSON.stringify({ definition: 'echo', every: '1h', ...fields }))
    expect(answer.status).toBe(400)
    expect(answer.body.issues).toEqual([{ path, message: expect.any(String) }])
    expect(await cluster.ctx.agent('standalone').inboxDepth()).toBe(depthBefore)
  })
})

describe.each([
  ['PostgreSQL', () => startTestCluster({ handlers })],
  ['MariaDB', () => startMySqlCluster({ handlers })],
])('on a %s master, whatever was accepted is stored and whatever a handler returns is reported', (_name, start) => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await start()
    await cluster.startWorker({ name: 'runner' })
  })
  afterAll(() => cluster?.close())

  test('payloads at the limits are ingested; unstorable results and errors are recorded in a storable form; nothing blocks', async () => {
    const awkward = { smile: '😀', control: '\u0001\u001f', quote: `'"\\`, sql: "'); DROP TABLE jobs; --" }
    const jobs = [
      { definition: 'echo', payload: nested(MAX_JSON_DEPTH) },
      { definition: 'echo', payload: awkward, metadata: { note: '😀 \u0001' } },
      { definition: 'unstorable-result', payload: 'nul', maxRetries: 0 },
      { definition: 'unstorable-result', payload: 'surrogate', maxRetries: 0 },
      { definition: 'unstorable-result', payload: 'deep', maxRetries: 0 },
      { definition: 'unstorable-result', payload: 'throw-nul', maxRetries: 0 },
      ...Array.from({ length: 20 }, () => ({ definition: 'noop' })),
    ]
    const ids = (await cluster.producer.enqueueBatch(jobs)).map((j) => j.id)
    const finished = await waitFor('every job to finish', async () => {
      const found = await cluster.ctx.master.getJobs('test', ids)
      return found.length === ids.length && found.every((j) => j.status === 'Succeeded' || j.status === 'Failed') ? found : null
    }, 20_000)
    const byId = new Map(finished.map((j) => [j.id, j]))
    expect(ids.map((id) => byId.get(id)!.status)).toEqual([...Array(5).fill('Succeeded'), 'Failed', ...Array(20).fill('Succeeded')])
    expect(byId.get(ids[0]!)!.payload).toEqual(nested(MAX_JSON_DEPTH))
    expect(byId.get(ids[1]!)!.payload).toEqual(awkward)
    expect(byId.get(ids[1]!)!.metadata).toEqual({ note: '😀 \u0001' })
    const results = await Promise.all(ids.slice(2, 6).map(async (id) => (await cluster.ctx.master.listAttempts('test', id))[0]!))
    expect(results.slice(0, 3).map((a) => a.result)).toEqual([
      { unstorable: expect.stringMatching(/^result\.text contains a NUL/) },
      { unstorable: expect.stringMatching(/^result\.0 contains .* unpaired UTF-16 surrogate/) },
      { unstorable: expect.stringMatching(/^result is nested more than 30 levels/) },
    ])
    expect(results[3]!.error).toBe('Error: bad \ufffd byte')
  })
})

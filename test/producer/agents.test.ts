import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { ManualClock } from '../../core/clock.js'
import { JobRegistry } from '../../core/definitions.js'
import { DAY, MINUTE } from '../../core/durations.js'
import { TransportUnavailableError } from '../../core/errors.js'
import { silentLogger } from '../../core/logger.js'
import { Producer } from '../../core/producer.js'
import type { AgentStore } from '../../core/stores/agent.js'
import { openAgent } from '../../core/stores/registry.js'
import { createProducerApp } from '../../functions/producer.js'
import { echo, noop, sampleDefinitions } from '../../jobs/definitions.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../workers/embedded-postgres.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { rawQuery, testPrefix } from '../support/pg.js'
import { closedPort, inboxJobs, provisionedAgents } from './support.js'

/**
 * Agent selection against real PostgreSQL agents: spread, lane affinity, an unreachable
 * connection skipped, a database stopped under a running producer, all down → 503 and nothing
 * written. No master anywhere.
 */
const prefix = testPrefix('pa')
const URLS = { 'pg-a': PG_AGENT_URL, 'pg-b': PG_MASTER_URL }
const registry = new JobRegistry(sampleDefinitions)

let agents: Awaited<ReturnType<typeof provisionedAgents>>
let deadUrl: string
const opened: AgentStore[] = []
beforeAll(async () => {
  agents = await provisionedAgents(prefix, URLS)
  deadUrl = `postgres://postgres:n0t-a-real-password@127.0.0.1:${await closedPort()}/jobmaster`
})
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()))
  await agents?.cleanup()
})
beforeEach(async () => {
  for (const url of Object.values(URLS)) await rawQuery(url, `TRUNCATE ${prefix}inbox, ${prefix}idempotency`)
})

async function store(name: string, url: string): Promise<AgentStore> {
  const s = await openAgent(name, url, { tablePrefix: prefix, poolSize: 2 })
  opened.push(s)
  return s
}

/** Counts the writes a store was asked to do (to see which connections the producer tried). */
function counted(inner: AgentStore): AgentStore & { attempts: number } {
  const wrapper = Object.create(inner) as AgentStore & { attempts: number }
  wrapper.attempts = 0
  wrapper.enqueue = async (...args) => {
    wrapper.attempts++
    return inner.enqueue(...args)
  }
  return wrapper
}

function producer(connections: Array<{ store: AgentStore; lanes?: string[] }>, clock?: ManualClock): Producer {
  return new Producer({
    registry,
    agents: connections.map(({ store, lanes = [] }) => ({ store, config: { name: store.name, lanes } })),
    maxMessageBytes: 128 * 1024,
    idempotencyWindowMs: DAY,
    clock,
  })
}

const depth = async (url: string) => (await inboxJobs(url, prefix)).length

describe('choosing a connection', () => {
  test('without affinity, jobs spread evenly over the connections', async () => {
    const p = producer([{ store: agents.stores['pg-a']! }, { store: agents.stores['pg-b']! }])
    for (let i = 0; i < 10; i++) await p.enqueue(noop, undefined)
    expect([await depth(URLS['pg-a']), await depth(URLS['pg-b'])]).toEqual([5, 5])
  })

  test('lane affinity (JM_AGENT_LANES) sends a lane to its connections; other lanes spread', async () => {
    const p = producer([{ store: agents.stores['pg-a']!, lanes: ['Payroll'] }, { store: agents.stores['pg-b']! }])
    for (let i = 0; i < 6; i++) await p.enqueue(noop, undefined, { lane: 'Payroll' })
    for (let i = 0; i < 4; i++) await p.enqueue(noop, undefined, { lane: 'Mail' })
    const a = await inboxJobs(URLS['pg-a'], prefix)
    const b = await inboxJobs(URLS['pg-b'], prefix)
    expect(a.filter((j) => j.lane === 'Payroll')).toHaveLength(6)
    expect(b.filter((j) => j.lane === 'Payroll')).toHaveLength(0)
    expect(a.filter((j) => j.lane === 'Mail')).toHaveLength(2)
    expect(b.filter((j) => j.lane === 'Mail')).toHaveLength(2)
  })

  test('a batch with keys lands where its first key hashes, for every producer instance', async () => {
    const one = producer([{ store: agents.stores['pg-a']! }, { store: agents.stores['pg-b']! }])
    const other = producer([{ store: await store('pg-a', URLS['pg-a']) }, { store: await store('pg-b', URLS['pg-b']) }])
    const holders = new Set<string>()
    for (let i = 0; i < 8; i++) {
      const batch = [{ definition: 'noop' }, { definition: 'noop', idempotencyKey: `route-${i}` }]
      const first = await one.enqueueBatch(batch)
      await other.enqueue(noop, undefined) // moves `other`'s round-robin: routing by key must not depend on it
      const again = await other.enqueueBatch(batch)
      expect(again[1]).toEqual({ id: first[1]!.id, status: 'SavePending', duplicate: true })
      const rows = await rawQuery<{ n: number }>(URLS['pg-a'], `SELECT count(*)::int AS n FROM ${prefix}idempotency WHERE key = $1`, [`route-${i}`])
      holders.add(rows[0]!.n === 1 ? 'pg-a' : 'pg-b')
    }
    expect(holders.size).toBe(2) // the keys used both connections
  })
})

describe('an unreachable connection is skipped for a healthy one', () => {
  test('a connection at a closed port: every job is accepted by the healthy one; the dead one is tried once, then skipped', async () => {
    const dead = counted(await store('pg-dead', deadUrl))
    const healthy = counted(agents.stores['pg-a']!)
    const p = producer([{ store: dead }, { store: healthy }])
    const started = Date.now()
    const ids = []
    for (let i = 0; i < 10; i++) ids.push((await p.enqueue(echo, { i })).id)
    expect(Date.now() - started).toBeLessThan(5000)
    expect((await inboxJobs(URLS['pg-a'], prefix)).map((j) => j.id).sort()).toEqual(ids.sort())
    expect(dead.attempts).toBe(1)
    expect(healthy.attempts).toBe(10)
  })

  test('lane affinity falls back to the other connections when the lane\'s connection is down', async () => {
    const p = producer([{ store: await store('pg-dead', deadUrl), lanes: ['Payroll'] }, { store: agents.stores['pg-b']! }])
    for (let i = 0; i < 3; i++) await p.enqueue(noop, undefined, { lane: 'Payroll' })
    expect((await inboxJobs(URLS['pg-b'], prefix)).map((j) => j.lane)).toEqual(['Payroll', 'Payroll', 'Payroll'])
  })

  test('keyed requests whose key hashes to the dead connection fail over in the same order everywhere, so retries still meet the first job', async () => {
    const one = producer([{ store: await store('pg-dead', deadUrl) }, { store: agents.stores['pg-a']! }, { store: agents.stores['pg-b']! }])
    const other = producer([{ store: await store('pg-dead', deadUrl) }, { store: await store('pg-a', URLS['pg-a']) }, { store: await store('pg-b', URLS['pg-b']) }])
    for (let i = 0; i < 12; i++) {
      const first = await one.enqueue(echo, { i }, { idempotencyKey: `dead-or-alive-${i}` })
      const retry = await other.enqueue(echo, { i }, { idempotencyKey: `dead-or-alive-${i}` })
      expect(retry).toEqual({ id: first.id, status: 'SavePending', duplicate: true })
    }
    expect((await depth(URLS['pg-a'])) + (await depth(URLS['pg-b']))).toBe(12)
  })
})

describe('a database stopped under a running producer', () => {
  let embedded: EmbeddedDatabase
  const dataDir = join(tmpdir(), `jm-producer-agent-${process.pid}-${Date.now()}`)
  let port: number
  beforeAll(async () => {
    port = await closedPort()
    embedded = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger })
    const provisioner = await store('pg-e', embedded.url)
    await provisioner.provision()
  })
  afterAll(async () => {
    await embedded?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('writes move to the healthy connection; with every connection down the answer is 503 and nothing is written', async () => {
    const stopped = counted(await store('pg-e', embedded.url))
    const p = producer([{ store: stopped }, { store: agents.stores['pg-a']! }])
    const app = createProducerApp({ producer: p, maxMessageBytes: 128 * 1024, logger: silentLogger })
    const post = (path: string, body: unknown) => app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    // Both up: the connections share the work, and the embedded one holds live pooled connections.
    for (let i = 0; i < 4; i++) expect((await post('/v1/jobs', { definition: 'echo', payload: i })).status).toBe(202)
    const before = await inboxJobs(embedded.url, prefix)
    expect(before).toHaveLength(2)

    await embedded.stop()
    for (let i = 0; i < 6; i++) expect((await post('/v1/jobs', { definition: 'echo', payload: 100 + i })).status).toBe(202)
    expect((await post('/v1/jobs/batch', { jobs: [{ definition: 'noop' }, { definition: 'noop' }] })).status).toBe(202)
    expect(await depth(URLS['pg-a'])).toBe(2 + 6 + 2)

    // Every connection down: 503, and (once the database is back) nothing of that request in it.
    const allDown = producer([{ store: await store('pg-e', embedded.url) }, { store: await store('pg-dead', deadUrl) }])
    const appAllDown = createProducerApp({ producer: allDown, maxMessageBytes: 128 * 1024, logger: silentLogger })
    const refused = await appAllDown.request('/v1/jobs/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs: [{ definition: 'echo', payload: 'lost?' }, { definition: 'noop' }] }) })
    expect(refused.status).toBe(503)
    expect(await refused.json()).toEqual({ error: 'job transport unavailable; nothing was written, retry later' })
    await expect(allDown.enqueue(noop, undefined)).rejects.toThrow(TransportUnavailableError)

    embedded = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger })
    expect((await inboxJobs(embedded.url, prefix)).map((j) => j.id)).toEqual(before.map((j) => j.id))
  })
})

describe('the idempotency window (JM_IDEMPOTENCY_WINDOW)', () => {
  test('within the window a key returns the first job; after it, the key is free again', async () => {
    const clock = new ManualClock(Date.now())
    const p = new Producer({
      registry,
      agents: [{ store: agents.stores['pg-a']!, config: { name: 'pg-a', lanes: [] } }],
      maxMessageBytes: 128 * 1024,
      idempotencyWindowMs: 10 * MINUTE,
      clock,
    })
    const first = await p.enqueue(echo, 'mail', { idempotencyKey: 'window-1' })
    clock.advance(10 * MINUTE - 1000)
    expect(await p.enqueue(echo, 'mail', { idempotencyKey: 'window-1' })).toEqual({ ...first, duplicate: true })
    clock.advance(2000)
    const later = await p.enqueue(echo, 'mail', { idempotencyKey: 'window-1' })
    expect(later.duplicate).toBe(false)
    expect(later.id).not.toBe(first.id)
    // The key now points at the new job for a fresh window.
    expect(await p.enqueue(echo, 'mail', { idempotencyKey: 'window-1' })).toEqual({ ...later, duplicate: true })
  })
})

import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openCluster, type ClusterContext } from '../../core/cluster.js'
import { resolveConfig } from '../../core/config.js'
import { JobRegistry } from '../../core/definitions.js'
import { DAY } from '../../core/durations.js'
import { parseEnvelope } from '../../core/envelope.js'
import { ingestMessages } from '../../core/ingest.js'
import { MAX_JSON_DEPTH } from '../../core/json-storable.js'
import { silentLogger } from '../../core/logger.js'
import { Producer } from '../../core/producer.js'
import type { InboxMessage } from '../../core/stores/agent.js'
import { createProducerApp } from '../../functions/producer.js'
import { sampleDefinitions } from '../../jobs/definitions.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { dropMySqlPrefix, ensureMySqlDatabases, MYSQL_MASTER_URL } from '../support/mysql.js'
import { dropPrefix, rawQuery, testPrefix } from '../support/pg.js'
import { anyDepth, anyDuration, anyPayload, anyText, contentType, jobRequest, nestedText, nestedValue, plausibleJobRequest, rawBody } from './arbitraries.js'

/**
 * Property-based bad input on every producer endpoint (functions/producer.ts), against a real
 * PostgreSQL agent: whatever the body, the answer is 202 or a 4xx with a clear error (`error`, and
 * `issues` naming fields), never a 5xx; a refused request writes nothing and never echoes its
 * payload; and everything accepted is stored by a PostgreSQL and a MariaDB master exactly as sent
 * (so injection attempts in names, lanes and metadata are refused or stored as inert data).
 */
const MAX_BYTES = 16 * 1024
const CANARY = 'ECHO-CANARY-5f2c'
const RUNS = { numRuns: 150 }
const prefix = testPrefix('pp')
const registry = new JobRegistry(sampleDefinitions)

let pg: ClusterContext
let maria: ClusterContext
let app: ReturnType<typeof createProducerApp>
/** Every accepted job or schedule with the request that created it. */
const accepted = new Map<string, Record<string, unknown>>()

beforeAll(async () => {
  await ensureMySqlDatabases()
  pg = await openCluster(resolveConfig({ clusterId: 'props', masterUrl: PG_MASTER_URL, tablePrefix: prefix, agents: [{ name: 'pg', url: PG_AGENT_URL }] }), { registry, logger: silentLogger })
  maria = await openCluster(resolveConfig({ clusterId: 'props', masterUrl: MYSQL_MASTER_URL, tablePrefix: prefix }), { registry, logger: silentLogger })
  const producer = new Producer({ registry, agents: [{ store: pg.agent('pg'), config: { name: 'pg', lanes: [] } }], maxMessageBytes: MAX_BYTES, idempotencyWindowMs: DAY })
  app = createProducerApp({ producer, maxMessageBytes: MAX_BYTES, logger: silentLogger })
})
afterAll(async () => {
  await pg?.close()
  await maria?.close()
  await dropPrefix(PG_MASTER_URL, prefix)
  await dropPrefix(PG_AGENT_URL, prefix)
  await dropMySqlPrefix(MYSQL_MASTER_URL, prefix)
})

const inboxCount = async () => (await rawQuery<{ n: number }>(PG_AGENT_URL, `SELECT count(*)::int AS n FROM ${prefix}inbox`))[0]!.n

interface Answer {
  status: number
  text: string
  body: any
}

async function send(path: string, body: string, type = 'application/json'): Promise<Answer> {
  const res = await app.request(path, { method: 'POST', headers: type ? { 'content-type': type } : {}, body })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = JSON.parse(text)
  } catch {
    // checked below: every answer must be JSON
  }
  return { status: res.status, text, body: parsed }
}

/** The contract of every answer; returns whether the request was accepted. */
function checkAnswer(answer: Answer): boolean {
  expect([202, 400, 413, 415]).toContain(answer.status)
  expect(answer.body).toBeTypeOf('object')
  if (answer.status === 202) return true
  expect(answer.body.error).toEqual(expect.any(String))
  expect(answer.body.error.length).toBeGreaterThan(0)
  for (const issue of answer.body.issues ?? []) {
    expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) })
    expect(issue.path.length * issue.message.length).toBeGreaterThan(0)
  }
  expect(answer.text).not.toContain(CANARY)
  return false
}

/** Send; a refused request must leave the inbox as it was; an accepted one is remembered. */
async function attempt(path: string, request: unknown, text = JSON.stringify(request), type?: string): Promise<Answer> {
  const before = await inboxCount()
  const answer = await send(path, text, type)
  if (checkAnswer(answer)) {
    const ids: string[] = answer.body.ids ?? [answer.body.id]
    const requests = path === '/v1/jobs/batch' ? (request as { jobs: Record<string, unknown>[] }).jobs : [request as Record<string, unknown>]
    // A repeated idempotency key answers with the first job: that one keeps its own request.
    ids.forEach((id, i) => accepted.has(id) || accepted.set(id, requests[i]!))
  } else {
    expect(await inboxCount()).toBe(before)
  }
  return answer
}

function parsedOrNull(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const withCanary = (request: Record<string, unknown>) => ('payload' in request ? { ...request, payload: { canary: CANARY, value: request.payload } } : request)

describe('POST /v1/jobs', () => {
  test('any job request: 202, or a 4xx naming the problem with nothing written', async () => {
    await fc.assert(fc.asyncProperty(jobRequest, async (request) => void (await attempt('/v1/jobs', withCanary(request)))), RUNS)
  })

  test('plausible requests with arbitrary payloads and metadata values are accepted unless unstorable or too large', async () => {
    await fc.assert(
      fc.asyncProperty(plausibleJobRequest, async (request) => {
        const answer = await attempt('/v1/jobs', request)
        if (answer.status !== 202) expect(answer.body.issues.map((i: { path: string }) => i.path.split('.')[0])).toEqual(expect.arrayContaining([expect.stringMatching(/^(payload|metadata|\(body\))$/)]))
      }),
      RUNS,
    )
  })

  test(`nesting: accepted up to ${MAX_JSON_DEPTH} levels, refused with a 400 naming the payload beyond`, async () => {
    await fc.assert(
      fc.asyncProperty(anyDepth, async (depth) => {
        const request = { definition: 'echo', payload: depth <= MAX_JSON_DEPTH ? nestedValue(depth) : null }
        const answer = await attempt('/v1/jobs', request, `{"definition":"echo","payload":${nestedText(depth)}}`)
        if (depth <= MAX_JSON_DEPTH) expect(answer.status).toBe(202)
        else if (answer.status === 400) expect(answer.body.issues).toEqual([{ path: 'payload', message: expect.stringContaining('nested more than') }])
        else expect(answer.status).toBe(413) // deep enough to be longer than the body limit
      }),
      { numRuns: 60 },
    )
  })

  test('size: accepted up to maxMessageBytes serialized, 413 beyond, nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX_BYTES - 600, max: 3 * MAX_BYTES }), async (length) => {
        const answer = await attempt('/v1/jobs', { definition: 'echo', payload: 'x'.repeat(length) })
        expect(answer.status).toBe(length < MAX_BYTES - 400 ? 202 : length > MAX_BYTES ? 413 : answer.status)
      }),
      { numRuns: 40 },
    )
  })
})

describe('POST /v1/jobs/batch', () => {
  test('any batch: accepted whole, or refused whole with nothing written', async () => {
    const batch = fc.oneof(fc.array(jobRequest, { maxLength: 6 }), fc.array(plausibleJobRequest, { minLength: 1, maxLength: 20 }))
    await fc.assert(fc.asyncProperty(batch, async (jobs) => void (await attempt('/v1/jobs/batch', { jobs: jobs.map(withCanary) }))), RUNS)
  })
})

describe('POST /v1/schedules', () => {
  const scheduleRequest = fc.record(
    {
      definition: fc.oneof(fc.constantFrom('echo', 'noop'), anyText),
      payload: anyPayload,
      every: fc.oneof(fc.constantFrom('1m', '5s', '1h'), anyDuration),
      cron: fc.oneof(fc.constantFrom('*/5 * * * *', '0 0 9 * * 1-5', '61 * * * *', 'every day'), anyText),
      timeZone: fc.oneof(fc.constantFrom('UTC', 'America/Sao_Paulo', 'Mars/Olympus'), anyText),
      name: fc.oneof(fc.constantFrom('nightly-report'), anyText),
      metadata: fc.dictionary(fc.constantFrom('tenant', 'note'), anyText),
      lane: fc.oneof(fc.constant('Payroll'), anyText),
      startAfter: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyText),
      misfire: fc.oneof(fc.constantFrom('run-once', 'skip'), anyText),
      idempotencyKey: fc.oneof(fc.uuid(), anyText),
    },
    { requiredKeys: ['definition'] },
  )
  test('any schedule request: 202, or a 4xx naming the problem with nothing written', async () => {
    await fc.assert(fc.asyncProperty(scheduleRequest, async (request) => void (await attempt('/v1/schedules', withCanary(request)))), RUNS)
  })

  test('plausible schedules with arbitrary payloads and metadata values are accepted unless unstorable or too large', async () => {
    const plausible = fc.record({ definition: fc.constant('echo'), every: fc.constantFrom('1m', '1h'), payload: anyPayload, metadata: fc.dictionary(fc.constantFrom('tenant', 'note'), anyText) })
    await fc.assert(
      fc.asyncProperty(plausible, async (request) => {
        const answer = await attempt('/v1/schedules', request)
        if (answer.status !== 202) expect(answer.body.issues.map((i: { path: string }) => i.path.split('.')[0])).toEqual(expect.arrayContaining([expect.stringMatching(/^(payload|metadata|\(body\))$/)]))
      }),
      RUNS,
    )
  })
})

describe('raw bodies and content types', () => {
  test('whatever the bytes and the declared type, every POST endpoint answers 202 or 4xx, writing nothing when refusing', async () => {
    const path = fc.constantFrom('/v1/jobs', '/v1/jobs/batch', '/v1/schedules')
    await fc.assert(
      fc.asyncProperty(path, rawBody, contentType, async (to, text, type) => void (await attempt(to, parsedOrNull(text), text, type))),
      RUNS,
    )
  })
})

describe('everything accepted is stored as sent', () => {
  test('ingested into a PostgreSQL and a MariaDB master: every job and schedule, payload and metadata unchanged', async () => {
    expect(accepted.size).toBeGreaterThan(100)
    const rows = await rawQuery<{ job_id: string; message: string }>(PG_AGENT_URL, `SELECT job_id::text, message FROM ${prefix}inbox`)
    const messages: InboxMessage[] = rows.map((r) => ({ envelope: parseEnvelope(r.message), receipt: r.job_id }))
    expect(new Set(messages.map((m) => m.envelope.id))).toEqual(new Set(accepted.keys()))
    // One at a time when a batch fails, so a failure names the job no master could store.
    for (const ctx of [maria, pg]) {
      for (let i = 0; i < messages.length; i += 200) {
        const chunk = messages.slice(i, i + 200)
        await ingestMessages(ctx, pg.agent('pg'), chunk).catch(async () => {
          for (const m of chunk) {
            await ingestMessages(ctx, pg.agent('pg'), [m]).catch((error: Error) => {
              throw new Error(`${ctx.master.provider} master cannot store accepted request ${JSON.stringify(accepted.get(m.envelope.id))}: ${error.message}`)
            })
          }
        })
      }
    }
    const normal = (value: unknown) => JSON.parse(JSON.stringify(value ?? null))
    for (const ctx of [pg, maria]) {
      const jobs = new Map((await ctx.master.getJobs('props', [...accepted.keys()])).map((j) => [j.id, j]))
      const schedules = new Map((await ctx.master.listSchedules('props', {}, 10_000)).map((s) => [s.id, s]))
      for (const [id, request] of accepted) {
        const stored = jobs.get(id) ?? schedules.get(id)
        expect(stored, `${ctx.master.provider}: ${id}`).toBeDefined()
        expect(normal(stored!.payload)).toEqual(normal(request.payload))
        expect(stored!.metadata).toEqual(expect.objectContaining(normal(request.metadata ?? {})))
      }
    }
  })
})

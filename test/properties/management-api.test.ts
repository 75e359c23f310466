import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ingestMessages } from '../../core/ingest.js'
import { createApiApp } from '../../functions/api.js'
import { apiKeyEntry } from '../../functions/auth.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { rawQuery } from '../support/pg.js'
import { PG_MASTER_URL } from '../support/env.js'
import { anyText, jobRequest, NASTY_STRINGS } from './arbitraries.js'

/**
 * Property-based bad input on every route of the management API (functions/api.ts), found by
 * walking the app's own route table (so a route added later is covered too), authenticated with an
 * operate key: whatever the path parameters, query and body, the answer is 2xx or a 4xx with a
 * clear error, never a 5xx; a refused request changes nothing in the master; and filters treat
 * injection attempts as data (every job listed matches the filter exactly).
 */
const KEY = randomBytes(24).toString('base64url')
const RUNS = { numRuns: 200 }
let cluster: TestCluster
let app: ReturnType<typeof createApiApp>
let jobIds: string[] = []

beforeAll(async () => {
  cluster = await startTestCluster()
  app = createApiApp(cluster.ctx, { auth: { apiKeys: [apiKeyEntry('ops', KEY)], users: [], jwt: null }, logger: cluster.ctx.logger })
  // Jobs to find and operate on, waiting in the master (no worker runs them), some with nasty metadata.
  const jobs = await cluster.producer.enqueueBatch([
    ...NASTY_STRINGS.filter((s) => s.length <= 1000 && !/[\u0000\ud800-\udfff]/.test(s)).map((note) => ({ definition: 'noop', delay: '1d', metadata: { note } })),
    ...Array.from({ length: 10 }, (_, i) => ({ definition: 'echo', payload: i, lane: 'Payroll', delay: '1h', metadata: { tenant: `t${i % 3}` } })),
  ])
  jobIds = jobs.map((j) => j.id)
  const agent = cluster.ctx.agent('standalone')
  await ingestMessages(cluster.ctx, agent, await agent.claimInbox(1000, 60_000, 'props', new Date()))
})
afterAll(() => cluster?.close())

/** Everything an operation could change, in one comparable string. */
async function masterState(): Promise<string> {
  const p = cluster.prefix
  const rows = await Promise.all([
    rawQuery(PG_MASTER_URL, `SELECT id, status, scheduled_at, attempts, bucket_id FROM ${p}jobs ORDER BY id`),
    rawQuery(PG_MASTER_URL, `SELECT * FROM ${p}clusters`),
    rawQuery(PG_MASTER_URL, `SELECT id, stop_requested_at FROM ${p}workers ORDER BY id`),
    rawQuery(PG_MASTER_URL, `SELECT id, status FROM ${p}schedules ORDER BY id`),
  ])
  return JSON.stringify(rows)
}

interface Route {
  method: string
  path: string
}

/** The API's routes from Hono's own table (middleware entries deduplicated), the public dashboard aside. */
function routes(): Route[] {
  const seen = new Map<string, Route>()
  for (const r of app.routes) if (r.method !== 'ALL' && !r.path.startsWith('/dashboard')) seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path })
  return [...seen.values()]
}

/** Text as a client puts it in a URL: percent-encoded UTF-8, an unpaired surrogate as the bytes it would be. */
function encodeSegment(text: string): string {
  return text
    .split(/([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/)
    .map((part, i) => (i % 2 ? '%ED%B3%BF' : encodeURIComponent(part)))
    .join('')
}
/** Path parameters: ids, any text (encoded), and raw malformed percent sequences. */
const paramValue = fc.oneof(
  fc.oneof(fc.uuid(), anyText, fc.constantFrom('0190b6a2-0000-7000-8000-000000000000', 'w.1234abcd', '..', 'a/b')).map(encodeSegment),
  fc.constantFrom('%', '%zz', '%ff%fe', '%00', '..%2f..', '%C0%AE', '%2e%2e'),
)
const queryPairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom('status', 'definition', 'lane', 'limit', 'cursor', 'createdFrom', 'createdTo', 'connection', 'kind', 'metadata.tenant', 'metadata.note'), fc.string().map((k) => `metadata.${k}`), anyText), anyText), { maxLength: 5 })
const body = fc.oneof(fc.constant(undefined), fc.jsonValue().map((v) => JSON.stringify(v)), jobRequest.map((v) => JSON.stringify(v)), anyText, fc.record({ delay: fc.oneof(anyText, fc.integer()), runAt: anyText, mode: fc.oneof(fc.constantFrom('Active', 'Passive', 'Archive'), anyText) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)))

function url(route: Route, params: string[], query: Array<[string, string]>): string {
  let i = 0
  const path = route.path.replace(/:[A-Za-z]+/g, () => params[i++] ?? 'x')
  const search = query.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&')
  return search ? `${path}?${search}` : path
}

async function call(method: string, target: string, text: string | undefined) {
  const headers: Record<string, string> = { 'x-api-key': KEY }
  if (text !== undefined) headers['content-type'] = 'application/json'
  const res = await app.request(target, { method, headers, body: text })
  const raw = await res.text()
  return { status: res.status, raw, type: res.headers.get('content-type') ?? '' }
}

describe('every route, any input', () => {
  test('never a 5xx; a 4xx is a JSON error naming the problem and changes nothing', async () => {
    const all = routes()
    expect(all.length).toBeGreaterThanOrEqual(15)
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...all), fc.array(paramValue, { minLength: 1, maxLength: 2 }), queryPairs, body, async (route, params, query, text) => {
        const before = route.method === 'GET' ? null : await masterState()
        const answer = await call(route.method, url(route, params, query), route.method === 'GET' ? undefined : text)
        expect(answer.status, `${route.method} ${route.path} → ${answer.raw.slice(0, 300)}`).toBeLessThan(500)
        if (answer.status >= 400) {
          const error = JSON.parse(answer.raw) as { error: string; issues?: Array<{ path: string; message: string }> }
          expect(error.error).toEqual(expect.any(String))
          for (const issue of error.issues ?? []) expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) })
          if (before !== null) expect(await masterState()).toBe(before)
        }
      }),
      RUNS,
    )
  })

  test('operations on the existing jobs with arbitrary bodies: applied (2xx) or refused with the job unchanged', async () => {
    const operation = fc.constantFrom('cancel', 'retry', 'reschedule')
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...jobIds), operation, body, async (id, op, text) => {
        const before = await masterState()
        const answer = await call('POST', `/v1/jobs/${id}/${op}`, text)
        expect(answer.status, answer.raw.slice(0, 300)).toBeLessThan(500)
        if (answer.status >= 400) expect(await masterState()).toBe(before)
      }),
      { numRuns: 60 },
    )
  })
})

describe('filters treat injection attempts as data', () => {
  test('every job listed matches the filters exactly; the count agrees with the listing', async () => {
    const filter = fc.record(
      {
        definition: fc.oneof(fc.constantFrom('noop', 'echo'), anyText),
        lane: fc.oneof(fc.constantFrom('Payroll', ''), anyText),
        'metadata.note': fc.oneof(fc.constantFrom(...NASTY_STRINGS.filter((s) => s.length <= 1000)), anyText),
        'metadata.tenant': fc.oneof(fc.constantFrom('t0', 't1', "t0' OR '1'='1"), anyText),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(filter, async (f) => {
        const query = Object.entries({ ...f, limit: '500' }).map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&')
        const list = await call('GET', `/v1/jobs?${query}`, undefined)
        const count = await call('GET', `/v1/jobs/count?${query}`, undefined)
        expect([200, 400]).toContain(list.status)
        expect(count.status).toBe(list.status)
        if (list.status !== 200) return
        const jobs = (JSON.parse(list.raw) as { jobs: Array<{ definition: string; lane: string | null; metadata: Record<string, string> }> }).jobs
        expect(JSON.parse(count.raw).count).toBe(jobs.length)
        for (const job of jobs) {
          if (f.definition !== undefined) expect(job.definition).toBe(f.definition)
          if (f.lane !== undefined) expect(job.lane).toBe(f.lane === '' ? null : f.lane)
          if (f['metadata.note'] !== undefined) expect(job.metadata.note).toBe(f['metadata.note'])
          if (f['metadata.tenant'] !== undefined) expect(job.metadata.tenant).toBe(f['metadata.tenant'])
        }
      }),
      RUNS,
    )
  })
})

import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { JobRegistry } from '../../core/definitions.js'
import { DAY } from '../../core/durations.js'
import { silentLogger } from '../../core/logger.js'
import { Producer } from '../../core/producer.js'
import { scheduleRequestEnvelope, SCHEDULE_REQUEST_DEFINITION } from '../../core/schedules/inbox.js'
import { buildScheduleSpec } from '../../core/schedules/spec.js'
import { WITHDRAWN_OCCURRENCE_ERROR } from '../../core/stores/master.js'
import { apiKeyEntry } from '../../functions/auth.js'
import { createProducerApp } from '../../functions/producer.js'
import { echo, sampleDefinitions } from '../../jobs/definitions.js'
import { apiCaller, captureLogger, type ApiCaller } from '../api/support.js'
import { inboxJobs, provisionedAgents } from '../producer/support.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { PG_AGENT_URL } from '../support/env.js'
import { testPrefix } from '../support/pg.js'
import { waitFor } from '../support/wait.js'

/**
 * Dynamic schedules end to end: `POST /v1/schedules` on the producer (agents only), ingest into
 * the master, and the management API's list, pause, resume, run now and cancel.
 */
const KEY = randomBytes(24).toString('base64url')
const READ_KEY = randomBytes(24).toString('base64url')
let cluster: TestCluster
let api: ApiCaller
let producerApp: ReturnType<typeof createProducerApp>
const log = captureLogger()

beforeAll(async () => {
  cluster = await startTestCluster()
  await cluster.startWorker({ name: 'schedules-api' })
  api = apiCaller(cluster.ctx, { apiKeys: [apiKeyEntry('ops', KEY), apiKeyEntry('viewer', READ_KEY, 'read')], users: [], jwt: null }, log.logger, { 'x-api-key': KEY })
  producerApp = createProducerApp({ producer: cluster.producer, maxMessageBytes: cluster.ctx.settings.maxMessageBytes })
})
afterAll(() => cluster?.close())

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await producerApp.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

/** Create through the producer and wait until ingest has created it in the master. */
async function created(body: Record<string, unknown>): Promise<string> {
  const res = await post('/v1/schedules', body)
  expect(res.status).toBe(202)
  await waitFor(`schedule ${res.body.id} in the master`, () => cluster.ctx.master.getSchedule('test', res.body.id))
  return res.body.id
}

describe('POST /v1/schedules (producer)', () => {
  test('202 with the id; ingest creates it Active; a retry with the same key returns the same schedule', async () => {
    const body = { definition: 'echo', payload: { report: 'daily' }, cron: '0 30 8 * * 1-5', timeZone: 'America/Sao_Paulo', name: 'daily-report', idempotencyKey: `sched-${randomUUID()}` }
    const first = await post('/v1/schedules', body)
    expect(first).toMatchObject({ status: 202, body: { status: 'SavePending', duplicate: false } })
    const again = await post('/v1/schedules', body)
    expect(again.body).toEqual({ id: first.body.id, status: 'SavePending', duplicate: true })
    const stored = await waitFor('the schedule in the master', () => cluster.ctx.master.getSchedule('test', first.body.id))
    expect(stored).toMatchObject({ kind: 'dynamic', name: 'daily-report', status: 'Active', definition: 'echo', cron: '0 30 8 * * 1-5', timeZone: 'America/Sao_Paulo', payload: { report: 'daily' } })
    const view = await api.call('GET', `/v1/schedules/${first.body.id}`)
    expect(view.body).toMatchObject({ id: first.body.id, status: 'Active', effectiveTimeZone: 'America/Sao_Paulo', misfire: 'run-once', overlap: 'allow' })
    // 08:30 in São Paulo is 11:30 UTC.
    expect(view.body.nextRunAt).toMatch(/T11:30:00\.000Z$/)
  })

  test.each([
    ['an invalid cron expression', { definition: 'echo', cron: '61 * * * *' }, 'cron', /Invalid value for minute: 61/],
    ['both every and cron', { definition: 'echo', every: '1m', cron: '* * * * *' }, 'every', /exactly one/],
    ['an unknown zone', { definition: 'echo', cron: '0 9 * * *', timeZone: 'Mars/Olympus' }, 'timeZone', /IANA/],
    ['an unknown definition', { definition: 'nope', every: '1m' }, 'definition', /unknown job definition/],
    ['a payload that does not match', { definition: 'sleep', every: '1m', payload: { ms: 'long' } }, 'payload.ms', /.+/],
    ['an interval under a second', { definition: 'echo', every: 100 }, 'every', /between 1s/],
  ])('400 naming the field: %s', async (_case, body, path, message) => {
    const res = await post('/v1/schedules', body)
    expect(res.status).toBe(400)
    expect(res.body.issues.map((i: { path: string }) => i.path)).toContain(path)
    expect(res.body.issues.find((i: { path: string }) => i.path === path).message).toMatch(message)
  })

  test('a producer with agents only (no master anywhere) accepts a schedule into the inbox', async () => {
    const prefix = testPrefix('ps')
    const agents = await provisionedAgents(prefix, { 'pg-a': PG_AGENT_URL })
    try {
      const producer = new Producer({ registry: new JobRegistry(sampleDefinitions), agents: [{ store: agents.stores['pg-a']!, config: { name: 'pg-a', lanes: [] } }], maxMessageBytes: 4096, idempotencyWindowMs: DAY })
      const app = createProducerApp({ producer, maxMessageBytes: 4096, logger: silentLogger })
      const res = await app.request('/v1/schedules', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ definition: 'noop', every: '5m' }) })
      expect(res.status).toBe(202)
      const inbox = await inboxJobs(PG_AGENT_URL, prefix)
      expect(inbox).toMatchObject([{ id: ((await res.json()) as { id: string }).id, definition: SCHEDULE_REQUEST_DEFINITION, payload: { definition: 'noop', everyMs: 300_000 } }])
    } finally {
      await agents.cleanup()
    }
  })
})

describe('ingest of schedule requests', () => {
  test('a request this version cannot read is not dropped: it is kept as a Failed job with the reason', async () => {
    const spec = buildScheduleSpec(echo, { x: 1 }, { every: '1m' }, { now: new Date(), maxMessageBytes: 4096 })
    const envelope = scheduleRequestEnvelope(spec, randomUUID(), new Date(), null)
    const unreadable = { ...envelope, payload: { ...(envelope.payload as object), misfirePolicy: 'replay-everything' } }
    await cluster.ctx.agent('standalone').enqueue([unreadable], DAY, new Date())
    const kept = await waitFor('the unreadable request in the master', async () => {
      const job = await cluster.ctx.master.getJob('test', envelope.id)
      return job?.status === 'Failed' ? job : null
    })
    expect(kept).toMatchObject({ definition: SCHEDULE_REQUEST_DEFINITION, lastError: expect.stringMatching(/^unreadable schedule request: misfirePolicy: /) })
    expect(await cluster.ctx.master.getSchedule('test', envelope.id)).toBeNull()
  })
})

describe('operating a schedule (management API)', () => {
  test('pause withdraws what was planned (also from buckets), resume plans again from now, run now, cancel for good; each audited', async () => {
    const id = await created({ definition: 'echo', every: '1m', payload: { tick: true } })
    // Planned ahead and handed to a bucket (due within the look-ahead).
    await waitFor('occurrences in a bucket', async () => (await cluster.ctx.master.countJobs('test', { scheduleId: id, status: 'AssignedToBucket' })) >= 9)

    const paused = await api.call('POST', `/v1/schedules/${id}/pause`)
    expect(paused.status).toBe(200)
    expect(paused.body).toMatchObject({ schedule: { status: 'Paused', nextRunAt: null }, previousStatus: 'Active', ownersNotNotified: 0 })
    expect(paused.body.withdrawnFromBuckets).toBeGreaterThanOrEqual(9)
    const withdrawn = await cluster.ctx.master.listJobs('test', { scheduleId: id, status: 'Cancelled' }, 100)
    expect(withdrawn.length).toBe(paused.body.withdrawnFromBuckets)
    expect(withdrawn.every((j) => j.lastError === WITHDRAWN_OCCURRENCE_ERROR && j.occurrenceAt === null)).toBe(true)
    expect(await cluster.ctx.master.countJobs('test', { scheduleId: id, status: 'AssignedToBucket' })).toBe(0)

    const twice = await api.call('POST', `/v1/schedules/${id}/pause`)
    expect(twice).toMatchObject({ status: 409, body: { currentStatus: 'Paused' } })

    const run = await api.call('POST', `/v1/schedules/${id}/run`)
    expect(run.status).toBe(200)
    expect(run.body.job).toMatchObject({ scheduleId: id, occurrenceAt: null, definition: 'echo', payload: { tick: true } })
    await waitFor('the run-now job done', async () => (await cluster.ctx.master.getJob('test', run.body.job.id))?.status === 'Succeeded')

    const resumed = await api.call('POST', `/v1/schedules/${id}/resume`)
    expect(resumed.body).toMatchObject({ schedule: { status: 'Active' }, previousStatus: 'Paused' })
    expect(new Date(resumed.body.schedule.nextRunAt).getTime()).toBeGreaterThan(Date.now())
    await waitFor('planned again', async () => (await cluster.ctx.master.countJobs('test', { scheduleId: id, status: 'AssignedToBucket' })) >= 9)

    const listed = await api.call('GET', `/v1/jobs?schedule=${id}&limit=500`)
    expect(listed.body.jobs.every((j: { scheduleId: string }) => j.scheduleId === id)).toBe(true)

    const cancelled = await api.call('POST', `/v1/schedules/${id}/cancel`)
    expect(cancelled.body).toMatchObject({ schedule: { status: 'Cancelled' }, previousStatus: 'Active' })
    expect(await cluster.ctx.master.countJobs('test', { scheduleId: id, status: 'AssignedToBucket' })).toBe(0)
    expect(await api.call('POST', `/v1/schedules/${id}/resume`)).toMatchObject({ status: 409, body: { currentStatus: 'Cancelled' } })
    expect(await api.call('POST', `/v1/schedules/${id}/run`)).toMatchObject({ status: 409 })

    const audit = log.entries().filter((e) => e.event === 'management-operation' && e.target === `schedule/${id}`)
    expect(audit.map((e) => [e.operation, e.outcome])).toEqual([
      ['schedule.pause', 'applied'],
      ['schedule.pause', 'conflict'],
      ['schedule.run-now', 'applied'],
      ['schedule.resume', 'applied'],
      ['schedule.cancel', 'applied'],
      ['schedule.resume', 'conflict'],
      ['schedule.run-now', 'conflict'],
    ])
  })

  test('GET /v1/schedules lists and filters; bad input is a 400 naming it; unknown ids 404; read-only keys cannot operate', async () => {
    const id = await created({ definition: 'noop', every: '1h', name: 'listed' })
    const all = await api.call('GET', '/v1/schedules?kind=dynamic&status=Active')
    expect(all.status).toBe(200)
    expect(all.body.schedules.map((s: { id: string }) => s.id)).toContain(id)
    expect(all.body.schedules.every((s: { kind: string; status: string }) => s.kind === 'dynamic' && s.status === 'Active')).toBe(true)
    expect((await api.call('GET', '/v1/schedules?status=Sleeping')).body.issues[0].path).toBe('status')
    expect((await api.call('GET', '/v1/jobs?schedule=not-an-id')).body.issues[0].path).toBe('schedule')
    expect((await api.call('GET', '/v1/schedules/nope')).status).toBe(400)
    expect((await api.call('GET', `/v1/schedules/${randomUUID()}`)).status).toBe(404)
    expect((await api.call('POST', `/v1/schedules/${randomUUID()}/pause`)).status).toBe(404)
    const forbidden = await api.call('POST', `/v1/schedules/${id}/pause`, { headers: { 'x-api-key': READ_KEY } })
    expect(forbidden.status).toBe(403)
    expect((await cluster.ctx.master.getSchedule('test', id))!.status).toBe('Active')
  })
})

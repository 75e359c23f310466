import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ClusterContext } from '../../core/cluster.js'
import type { JobStatus } from '../../core/model.js'
import { OperationConflictError, rescheduleJob } from '../../core/operations.js'
import type { MasterStore } from '../../core/stores/master.js'
import type { Worker } from '../../core/worker/worker.js'
import { apiKeyEntry } from '../../functions/auth.js'
import { echo, fail, noop, sleep } from '../../jobs/definitions.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'
import { apiCaller, captureLogger, type ApiCaller } from './support.js'

const KEY = randomBytes(24).toString('base64url')
/** Marks payloads: the audit log must never contain a job's payload. */
const PAYLOAD_MARKER = `payload-${randomBytes(6).toString('hex')}`
const BATCH = `b${randomBytes(4).toString('hex')}`

let cluster: TestCluster
let worker: Worker
let api: ApiCaller
const log = captureLogger()

beforeAll(async () => {
  cluster = await startTestCluster()
  worker = await cluster.startWorker()
  api = apiCaller(cluster.ctx, { apiKeys: [apiKeyEntry('ops', KEY)], users: [], jwt: null }, log.logger, { 'x-api-key': KEY })
})
afterAll(() => cluster.close())

const master = () => cluster.ctx.master
const getJob = (id: string) => master().getJob('test', id)

async function statusOf(id: string, wanted: JobStatus, timeoutMs = 10_000) {
  return waitFor(`job ${id} ${wanted}`, async () => {
    const job = await getJob(id)
    return job?.status === wanted ? job : null
  }, timeoutMs)
}

describe('reading the cluster', () => {
  test('GET /v1/cluster: the stored settings', async () => {
    const res = await api.call('GET', '/v1/cluster')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ clusterId: 'test', mode: 'Active', transientThresholdMs: 600_000, defaultMaxRetries: 3 })
  })

  test('GET /v1/workers: each worker with its heartbeat age', async () => {
    const res = await api.call('GET', '/v1/workers')
    expect(res.status).toBe(200)
    expect(res.body.workers).toHaveLength(1)
    const [w] = res.body.workers
    expect(w).toMatchObject({ id: worker.id, mode: 'Full', agentConnection: 'standalone', alive: true, stopRequestedAt: null })
    expect(w.heartbeatAgeMs).toBeGreaterThanOrEqual(0)
    expect(w.heartbeatAgeMs).toBeLessThan(1500)
  })

  test('GET /v1/buckets: buckets with their depth, filtered by status or connection', async () => {
    const all = await api.call('GET', '/v1/buckets')
    expect(all.body.buckets).toHaveLength(5)
    for (const b of all.body.buckets) expect(b).toMatchObject({ agentConnection: 'standalone', status: 'Active', ownerId: worker.id, depth: expect.any(Number) })
    expect((await api.call('GET', '/v1/buckets?status=Lost')).body.buckets).toEqual([])
    expect((await api.call('GET', '/v1/buckets?connection=standalone&status=Active')).body.buckets).toHaveLength(5)
    const bad = await api.call('GET', '/v1/buckets?status=Broken')
    expect(bad.status).toBe(400)
    expect(bad.body.issues[0].path).toBe('status')
  })

  test('GET /v1/connections: each connection with inbox and queue depth', async () => {
    const res = await api.call('GET', '/v1/connections')
    expect(res.body.connections).toEqual([
      expect.objectContaining({ name: 'standalone', provider: 'postgres', protect: true, open: true, inboxDepth: expect.any(Number), buckets: 5, queueDepth: expect.any(Number) }),
    ])
  })
})

describe('jobs: search, pagination, detail, counts', () => {
  const ids: string[] = []
  let boundary: Date

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) ids.push((await cluster.producer.enqueue(echo, { n: i, note: PAYLOAD_MARKER }, { metadata: { tenant: 'acme', batch: BATCH } })).id)
    await new Promise((r) => setTimeout(r, 20))
    boundary = new Date()
    await new Promise((r) => setTimeout(r, 20))
    for (let i = 3; i < 5; i++) ids.push((await cluster.producer.enqueue(echo, { n: i }, { metadata: { tenant: 'globex', batch: BATCH } })).id)
    // No worker serves lane Payroll: the job waits in the master.
    ids.push((await cluster.producer.enqueue(noop, undefined, { lane: 'Payroll', metadata: { batch: BATCH } })).id)
    for (const id of ids.slice(0, 5)) await statusOf(id, 'Succeeded')
    await statusOf(ids[5]!, 'HeldOnMaster')
  })

  const list = async (query: string) => {
    const res = await api.call('GET', `/v1/jobs?metadata.batch=${BATCH}&${query}`)
    expect(res.status).toBe(200)
    return res.body as { jobs: Array<{ id: string; payload?: unknown; createdAt: string }>; nextCursor: string | null }
  }
  const idsOf = (page: { jobs: Array<{ id: string }> }) => page.jobs.map((j) => j.id).sort()

  test('filters: metadata, status, definition, lane, default lane, created range', async () => {
    expect(idsOf(await list(''))).toEqual([...ids].sort())
    expect(idsOf(await list('metadata.tenant=acme'))).toEqual(ids.slice(0, 3).sort())
    expect(idsOf(await list('status=Succeeded'))).toEqual(ids.slice(0, 5).sort())
    expect(idsOf(await list('definition=noop'))).toEqual([ids[5]])
    expect(idsOf(await list('lane=Payroll'))).toEqual([ids[5]])
    expect(idsOf(await list('lane='))).toEqual(ids.slice(0, 5).sort())
    expect(idsOf(await list(`createdFrom=${boundary.toISOString()}`))).toEqual(ids.slice(3).sort())
    expect(idsOf(await list(`createdTo=${boundary.toISOString()}`))).toEqual(ids.slice(0, 3).sort())
    expect((await list('')).jobs.every((j) => j.payload === undefined)).toBe(true)
  })

  test('cursor pagination: newest first, every job once, an opaque cursor', async () => {
    const first = await list('limit=4')
    expect(first.jobs).toHaveLength(4)
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/)
    const second = await list(`limit=4&cursor=${first.nextCursor}`)
    expect(second.jobs).toHaveLength(2)
    expect(second.nextCursor).toBeNull()
    const seen = [...first.jobs, ...second.jobs]
    expect(seen.map((j) => j.id).sort()).toEqual([...ids].sort())
    const times = seen.map((j) => Date.parse(j.createdAt))
    expect(times).toEqual([...times].sort((a, b) => b - a))
  })

  test('GET /v1/jobs/count and /v1/jobs/by-status', async () => {
    expect((await api.call('GET', `/v1/jobs/count?metadata.batch=${BATCH}&status=Succeeded`)).body).toEqual({ count: 5 })
    const byStatus = await api.call('GET', '/v1/jobs/by-status')
    expect(Object.keys(byStatus.body.counts)).toEqual(['SavePending', 'HeldOnMaster', 'AssignedToBucket', 'Queued', 'Processing', 'Succeeded', 'Failed', 'Cancelled'])
    expect(byStatus.body.counts.Succeeded).toBeGreaterThanOrEqual(5)
    expect(byStatus.body.total).toBe(Object.values(byStatus.body.counts as Record<string, number>).reduce((a, b) => a + b, 0))
  })

  test('GET /v1/jobs/:id: the job with its payload and attempts', async () => {
    const res = await api.call('GET', `/v1/jobs/${ids[0]}`)
    expect(res.body).toMatchObject({ id: ids[0], definition: 'echo', status: 'Succeeded', attemptCount: 1, payload: { n: 0, note: PAYLOAD_MARKER }, metadata: { tenant: 'acme', batch: BATCH } })
    expect(res.body.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'Succeeded', workerId: worker.id, result: { n: 0, note: PAYLOAD_MARKER }, error: null })])
    expect((await api.call('GET', '/v1/jobs/0190b6a2-0000-7000-8000-000000000000')).status).toBe(404)
    const bad = await api.call('GET', '/v1/jobs/not-an-id')
    expect(bad.status).toBe(400)
    expect(bad.body.issues).toEqual([{ path: 'id', message: 'must be a job id (UUID)' }])
  })

  test.each([
    ['status=Nope', 'status'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['cursor=garbage', 'cursor'],
    ['createdFrom=yesterday', 'createdFrom'],
    ['colour=red', 'colour'],
    ['metadata.bad%20key=x', 'metadata.bad key'],
    ['status=Queued&status=Failed', 'status'],
  ])('a bad query (%s) is a 400 naming %s', async (query, path) => {
    const res = await api.call('GET', `/v1/jobs?${query}`)
    expect(res.status).toBe(400)
    expect(res.body.issues.map((i: { path: string }) => i.path)).toContain(path)
  })
})

describe('operations', () => {
  test('cancel a job waiting in the master', async () => {
    const { id } = await cluster.producer.enqueue(echo, { note: PAYLOAD_MARKER }, { delay: '1h' })
    await statusOf(id, 'HeldOnMaster')
    const res = await api.call('POST', `/v1/jobs/${id}/cancel`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ previousStatus: 'HeldOnMaster', ownerNotified: null, job: { id, status: 'Cancelled' } })
    const again = await api.call('POST', `/v1/jobs/${id}/cancel`)
    expect(again.status).toBe(409)
    expect(again.body.currentStatus).toBe('Cancelled')
    expect((await api.call('POST', '/v1/jobs/0190b6a2-0000-7000-8000-000000000000/cancel')).status).toBe(404)
  })

  test('cancel a job in a bucket: its agent copy is dropped', async () => {
    const { id } = await cluster.producer.enqueue(echo, { note: PAYLOAD_MARKER }, { delay: '5m' })
    const held = await statusOf(id, 'AssignedToBucket')
    const agent = cluster.ctx.agent('standalone')
    expect(await agent.missingFromBuckets([{ bucketId: held.bucketId!, jobId: id }])).toEqual([])
    const res = await api.call('POST', `/v1/jobs/${id}/cancel`)
    expect(res.body).toMatchObject({ previousStatus: 'AssignedToBucket', ownerNotified: true, job: { status: 'Cancelled', bucketId: null } })
    expect(await agent.missingFromBuckets([{ bucketId: held.bucketId!, jobId: id }])).toEqual([id])
  })

  test('cancel a running job: its handler is aborted and the attempt recorded Cancelled', async () => {
    const { id } = await cluster.producer.enqueue(sleep, { ms: 30_000 })
    await statusOf(id, 'Processing')
    const started = Date.now()
    const res = await api.call('POST', `/v1/jobs/${id}/cancel`)
    expect(res.body).toMatchObject({ previousStatus: 'Processing', ownerNotified: true })
    const attempts = await waitFor('a Cancelled attempt', async () => {
      const list = await master().listAttempts('test', id)
      return list.length > 0 ? list : null
    }, 5000)
    expect(attempts).toEqual([expect.objectContaining({ outcome: 'Cancelled', error: 'cancelled while running' })])
    expect(Date.now() - started).toBeLessThan(5000)
    expect((await getJob(id))!.status).toBe('Cancelled')
  })

  test('retry a Failed job: it runs once more', async () => {
    const { id } = await cluster.producer.enqueue(fail, { message: 'boom' }, { maxRetries: 0 })
    await statusOf(id, 'Failed')
    const res = await api.call('POST', `/v1/jobs/${id}/retry`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ previousStatus: 'Failed', job: { status: 'HeldOnMaster', finishedAt: null } })
    const failedAgain = await waitFor('the second attempt', async () => {
      const job = await getJob(id)
      return job?.status === 'Failed' && job.attempts === 2 ? job : null
    })
    expect(failedAgain.lastError).toContain('boom')
    expect((await master().listAttempts('test', id)).map((a) => a.outcome)).toEqual(['Failed', 'Failed'])
    const succeeded = await cluster.producer.enqueue(echo, 1)
    await statusOf(succeeded.id, 'Succeeded')
    const refused = await api.call('POST', `/v1/jobs/${succeeded.id}/retry`)
    expect(refused.status).toBe(409)
    expect(refused.body.error).toContain('only a Failed job can be retried')
  })

  test('reschedule a job waiting in the master', async () => {
    const { id } = await cluster.producer.enqueue(echo, 1, { delay: '1h' })
    await statusOf(id, 'HeldOnMaster')
    const before = Date.now()
    const res = await api.call('POST', `/v1/jobs/${id}/reschedule`, { body: { delay: '2h' } })
    expect(res.status).toBe(200)
    expect(res.body.job.status).toBe('HeldOnMaster')
    const at = Date.parse(res.body.job.scheduledAt)
    expect(at).toBeGreaterThanOrEqual(before + 2 * 3600_000)
    expect(at).toBeLessThan(Date.now() + 2 * 3600_000 + 1000)
    await api.call('POST', `/v1/jobs/${id}/cancel`)
  })

  test('reschedule a job from its bucket to now: the agent copy is dropped and it runs once', async () => {
    const { id } = await cluster.producer.enqueue(echo, 1, { delay: '5m' })
    const held = await statusOf(id, 'AssignedToBucket')
    const res = await api.call('POST', `/v1/jobs/${id}/reschedule`, { body: { runAt: new Date().toISOString() } })
    expect(res.body).toMatchObject({ previousStatus: 'AssignedToBucket', ownerNotified: true })
    const done = await statusOf(id, 'Succeeded')
    expect(done.attempts).toBe(1)
    expect(done.originalScheduledAt.getTime()).toBe(held.originalScheduledAt.getTime())
  })

  test('a running job cannot be rescheduled (409)', async () => {
    const { id } = await cluster.producer.enqueue(sleep, { ms: 30_000 })
    await statusOf(id, 'Processing')
    const res = await api.call('POST', `/v1/jobs/${id}/reschedule`, { body: { delay: '1m' } })
    expect(res.status).toBe(409)
    expect(res.body.currentStatus).toBe('Processing')
    await api.call('POST', `/v1/jobs/${id}/cancel`)
  })

  test('a job that moves while it is being rescheduled is left alone (409)', async () => {
    const { id } = await cluster.producer.enqueue(echo, 1, { delay: '5m' })
    const stale = await statusOf(id, 'AssignedToBucket')
    // The job changes after the operation read it (here: another operator reschedules it first).
    await rescheduleJob(cluster.ctx, id, new Date(Date.now() + 3600_000))
    const staleMaster = new Proxy(cluster.ctx.master, {
      get: (target, prop) => (prop === 'getJob' ? async () => stale : Reflect.get(target, prop)),
    }) as MasterStore
    const c = cluster.ctx
    const staleCtx = new ClusterContext(c.config, staleMaster, c.agents, c.registry, c.settings, c.clock, c.logger)
    await expect(rescheduleJob(staleCtx, id, new Date())).rejects.toBeInstanceOf(OperationConflictError)
    expect((await getJob(id))!.status).toBe('HeldOnMaster')
    await api.call('POST', `/v1/jobs/${id}/cancel`)
  })

  test.each<[unknown, string]>([
    [{ runAt: new Date().toISOString(), delay: 1000 }, 'runAt'],
    [{}, 'runAt'],
    [{ runAt: 'soon' }, 'runAt'],
    [{ delay: 'later' }, 'delay'],
    [{ delay: '1m', priority: 'high' }, 'priority'],
    ['not json', '(body)'],
  ])('a bad reschedule body (%j) is a 400 naming %s', async (body, path) => {
    const res = await api.call('POST', '/v1/jobs/0190b6a2-0000-7000-8000-000000000000/reschedule', { body })
    expect(res.status).toBe(400)
    expect(res.body.issues.map((i: { path: string }) => i.path)).toContain(path)
  })

  test('change the cluster mode; Archive refuses job changes', async () => {
    const passive = await api.call('POST', '/v1/cluster/mode', { body: { mode: 'Passive' } })
    expect(passive.body).toMatchObject({ previousMode: 'Active', cluster: { mode: 'Passive' } })
    expect((await master().getCluster('test'))!.mode).toBe('Passive')
    const bad = await api.call('POST', '/v1/cluster/mode', { body: { mode: 'Sleepy' } })
    expect(bad.status).toBe(400)
    expect(bad.body.issues[0].path).toBe('mode')

    const { id } = await cluster.producer.enqueue(echo, 1, { delay: '1h' })
    await statusOf(id, 'HeldOnMaster')
    await api.call('POST', '/v1/cluster/mode', { body: { mode: 'Archive' } })
    const refused = await api.call('POST', `/v1/jobs/${id}/cancel`)
    expect(refused.status).toBe(409)
    expect(refused.body.error).toContain('Archive')
    expect((await api.call('POST', '/v1/cluster/mode', { body: { mode: 'Active' } })).body.previousMode).toBe('Archive')
    expect((await api.call('POST', `/v1/jobs/${id}/cancel`)).status).toBe(200)
  })

  test('request a worker stop: it stops gracefully on its next heartbeat', async () => {
    const drainer = await cluster.startWorker({ mode: 'Drain', name: 'drainer' })
    const res = await api.call('POST', `/v1/workers/${drainer.id}/stop`)
    expect(res.status).toBe(200)
    expect(res.body.worker).toMatchObject({ id: drainer.id, name: 'drainer', stopRequestedAt: expect.any(String) })
    await expect(Promise.race([drainer.stopped.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('timeout'), 5000))])).resolves.toBe('stopped')
    expect((await api.call('POST', '/v1/workers/nobody.12345678/stop')).status).toBe(404)
    expect((await api.call('POST', '/v1/workers/bad%20id/stop')).status).toBe(400)
  })

  test('every operation is logged: actor, operation, target, outcome; never a payload', () => {
    const operations = log.entries().filter((e) => e.event === 'management-operation')
    for (const e of operations) {
      expect(e).toMatchObject({ actor: 'api-key:ops', operation: expect.any(String), target: expect.any(String), outcome: expect.any(String) })
    }
    const seen = new Set(operations.map((e) => `${e.operation} ${e.outcome}`))
    for (const expected of [
      'job.cancel applied',
      'job.cancel conflict',
      'job.cancel not-found',
      'job.retry applied',
      'job.retry conflict',
      'job.reschedule applied',
      'job.reschedule conflict',
      'job.reschedule invalid',
      'cluster.mode applied',
      'cluster.mode invalid',
      'worker.stop applied',
      'worker.stop not-found',
    ]) {
      expect(seen).toContain(expected)
    }
    expect(log.lines.join('\n')).not.toContain(PAYLOAD_MARKER)
    expect(log.lines.join('\n')).not.toContain(KEY)
  })
})

describe('GET /metrics', () => {
  test('queue depth per connection, lane and priority; inbox depth; jobs, workers, buckets; runtime counters', async () => {
    const { id } = await cluster.producer.enqueue(echo, 1, { delay: '5m', priority: 'high' })
    await statusOf(id, 'AssignedToBucket')
    const res = await api.call('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = res.body as string
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `))
      return line === undefined ? undefined : Number(line.slice(series.length + 1))
    }
    expect(value('jobmaster_queue_depth{connection="standalone",lane="",priority="high"}')).toBeGreaterThanOrEqual(1)
    expect(value('jobmaster_inbox_depth{connection="standalone"}')).toBeGreaterThanOrEqual(0)
    expect(value('jobmaster_jobs{status="Succeeded"}')).toBeGreaterThanOrEqual(6)
    expect(value('jobmaster_jobs{status="AssignedToBucket"}')).toBeGreaterThanOrEqual(1)
    expect(value('jobmaster_workers{state="alive"}')).toBe(1)
    expect(value('jobmaster_buckets{status="Active"}')).toBe(5)
    // This process runs the worker: its runtime metrics come from the default registry.
    expect(value('jobmaster_job_attempts_total{definition="echo",outcome="Succeeded"}')).toBeGreaterThanOrEqual(6)
    expect(value('jobmaster_job_attempts_total{definition="fail",outcome="Failed"}')).toBeGreaterThanOrEqual(2)
    expect(value('jobmaster_job_attempts_total{definition="sleep",outcome="Cancelled"}')).toBeGreaterThanOrEqual(1)
    expect(value('jobmaster_enqueue_to_start_seconds_count{connection="standalone",priority="medium"}')).toBeGreaterThanOrEqual(6)
    expect(text).toContain('jobmaster_enqueue_to_start_seconds_bucket{le="0.1",connection="standalone",priority="medium"}')
  })
})

import { afterEach, expect, test } from 'vitest'
import { cancelJob } from '../core/operations.js'
import { fail, noop, sleep as sleepJob } from '../jobs/definitions.js'
import { startTestCluster, type TestCluster, type TestClusterOptions } from './support/cluster.js'
import { PG_MASTER_URL } from './support/env.js'
import { deleteNatsPrefix, NATS_URL } from './support/nats.js'
import { dropPrefix, testPrefix } from './support/pg.js'
import { waitFor } from './support/wait.js'

/** A cluster whose only agent connection is NATS JetStream (the master stays PostgreSQL). */
async function startNatsCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const prefix = testPrefix('nc')
  const cluster = await startTestCluster({
    ...options,
    prefix,
    keepTables: true,
    config: { agents: [{ name: 'nats1', url: NATS_URL }], retryBaseDelay: 300, retryMaxDelay: 1000, ...options.config },
  })
  return {
    ...cluster,
    async close() {
      await cluster.close()
      await dropPrefix(PG_MASTER_URL, prefix)
      await deleteNatsPrefix(NATS_URL, prefix)
    },
  }
}

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

test('2,000 noop jobs through a Full worker on NATS: each succeeds exactly once', async () => {
  const c = (cluster = await startNatsCluster())
  await c.startWorker()
  const started = Date.now()
  const ids: string[] = []
  for (let batch = 0; batch < 2; batch++) {
    const accepted = await c.producer.enqueueBatch(Array.from({ length: 1000 }, (_, n) => ({ definition: 'noop', payload: { n: batch * 1000 + n } })))
    ids.push(...accepted.map((j) => j.id))
  }
  await waitFor('2,000 jobs Succeeded', async () => (await c.ctx.master.countJobs('test', { status: 'Succeeded' })) === 2000, 45_000, 100)
  console.info(`nats cluster: 2,000 noop jobs enqueued and Succeeded in ${Date.now() - started} ms`)
  expect(await c.ctx.master.countJobsByStatus('test')).toEqual({ Succeeded: 2000 })
  for (const id of ids.filter((_, i) => i % 100 === 0)) {
    expect((await c.ctx.master.listAttempts('test', id)).map((a) => a.outcome)).toEqual(['Succeeded'])
  }
  await waitFor('the inbox to be acknowledged', async () => (await c.ctx.agent('nats1').inboxDepth()) === 0, 5000)
}, 60_000)

test('delayed jobs wait in their bucket (parked) and start on time, not before', async () => {
  const c = (cluster = await startNatsCluster())
  await c.startWorker()
  const delays = [1500, 2500, 3500, 800, 3000]
  const jobs = await Promise.all(delays.map((delay) => c.producer.enqueue(noop, {}, { delay })))
  for (const [i, { id }] of jobs.entries()) {
    const job = await waitFor(`job ${i} Succeeded`, async () => {
      const j = await c.ctx.master.getJob('test', id)
      return j?.status === 'Succeeded' ? j : null
    }, 15_000, 50)
    const [attempt] = await c.ctx.master.listAttempts('test', id)
    const lateMs = attempt!.startedAt.getTime() - job.scheduledAt.getTime()
    expect(lateMs).toBeGreaterThanOrEqual(0)
    expect(lateMs).toBeLessThan(1000)
  }
}, 30_000)

test('a failing job is retried in its bucket until its retries run out', async () => {
  const c = (cluster = await startNatsCluster())
  await c.startWorker()
  const { id } = await c.producer.enqueue(fail, { message: 'nope' }, { maxRetries: 2 })
  const job = await waitFor('Failed', async () => {
    const j = await c.ctx.master.getJob('test', id)
    return j?.status === 'Failed' ? j : null
  }, 20_000)
  expect(job.attempts).toBe(3)
  expect((await c.ctx.master.listAttempts('test', id)).map((a) => a.outcome)).toEqual(['Failed', 'Failed', 'Failed'])
}, 30_000)

test('cancelling a running job reaches its handler through the NATS cancel signal', async () => {
  const c = (cluster = await startNatsCluster({ config: { heartbeatInterval: 5000, workerDeadAfter: 15_000 } }))
  await c.startWorker()
  const { id } = await c.producer.enqueue(sleepJob, { ms: 60_000 })
  await waitFor('running', async () => (await c.ctx.master.getJob('test', id))?.status === 'Processing', 10_000)
  const cancelled = Date.now()
  expect((await cancelJob(c.ctx, id)).ownerNotified).toBe(true)
  const attempts = await waitFor('a Cancelled attempt', async () => {
    const list = await c.ctx.master.listAttempts('test', id)
    return list.length > 0 ? list : null
  }, 10_000)
  expect(attempts.map((a) => a.outcome)).toEqual(['Cancelled'])
  // Heartbeats are 5 s apart here, so only the push signal can explain a fast abort.
  expect(Date.now() - cancelled).toBeLessThan(1500)
}, 30_000)

test('jobs held by a crashed worker are recovered and run by another worker', async () => {
  const c = (cluster = await startNatsCluster())
  const crashed = await c.startWorker()
  const jobs = await c.producer.enqueueBatch(Array.from({ length: 30 }, () => ({ definition: 'sleep', payload: { ms: 1000 } })))
  await waitFor('the first worker to run jobs', () => crashed.stats().running >= 4, 10_000, 10)
  expect(crashed.stats().reported).toBe(0)
  await crashed.halt()
  const haltedAt = Date.now()
  const rescuer = await c.startWorker()
  await waitFor('all 30 jobs Succeeded', async () => (await c.ctx.master.countJobs('test', { status: 'Succeeded' })) === 30, 40_000, 100)
  console.info(`nats cluster: 30 one-second jobs of a crashed worker Succeeded ${Date.now() - haltedAt} ms after the crash`)
  for (const { id } of jobs) {
    const succeeded = (await c.ctx.master.listAttempts('test', id)).filter((a) => a.outcome === 'Succeeded')
    expect(succeeded.map((a) => a.workerId)).toEqual([rescuer.id])
  }
}, 60_000)

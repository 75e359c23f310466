import { afterEach, expect, test } from 'vitest'
import type { RowDataPacket } from 'mysql2/promise'
import type { TestCluster } from './support/cluster.js'
import { sleep as sleepJob } from '../jobs/definitions.js'
import { MYSQL_MASTER_URL, mysqlQuery, startMySqlCluster } from './support/mysql.js'
import { waitFor } from './support/wait.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

test('2,000 noop jobs through a Full worker on MariaDB: each succeeds exactly once', async () => {
  const c = (cluster = await startMySqlCluster())
  await c.startWorker()
  const started = Date.now()
  const ids: string[] = []
  for (let batch = 0; batch < 2; batch++) {
    const accepted = await c.producer.enqueueBatch(Array.from({ length: 1000 }, (_, n) => ({ definition: 'noop', payload: { n: batch * 1000 + n } })))
    ids.push(...accepted.map((j) => j.id))
  }
  await waitFor('2,000 jobs Succeeded', async () => (await c.ctx.master.countJobs('test', { status: 'Succeeded' })) === 2000, 45_000, 100)
  console.info(`mysql cluster: 2,000 noop jobs enqueued and Succeeded in ${Date.now() - started} ms`)

  expect(await c.ctx.master.countJobsByStatus('test')).toEqual({ Succeeded: 2000 })
  const runs = await mysqlQuery<RowDataPacket>(
    MYSQL_MASTER_URL,
    `SELECT job_id, COUNT(*) AS attempts, SUM(outcome = 'Succeeded') AS succeeded FROM ${c.prefix}job_attempts WHERE cluster_id = 'test' GROUP BY job_id`,
  )
  expect(new Set(runs.map((r) => r.job_id))).toEqual(new Set(ids))
  expect(runs.filter((r) => Number(r.attempts) !== 1 || Number(r.succeeded) !== 1)).toEqual([])
  // The ingester acknowledges its inbox batch just after pushing it into buckets.
  await waitFor('the inbox to be acknowledged', async () => (await c.ctx.agent('maria').inboxDepth()) === 0, 5000)
}, 60_000)

test('jobs held by a crashed worker are recovered and run by another worker', async () => {
  const c = (cluster = await startMySqlCluster())
  const crashed = await c.startWorker()
  const jobs = await c.producer.enqueueBatch(Array.from({ length: 30 }, () => ({ definition: 'sleep', payload: { ms: 1000 } })))
  // Halt while every run slot is busy and no job has finished yet: the worker holds all of them.
  await waitFor('the first worker to run jobs', () => crashed.stats().running >= 4, 10_000, 10)
  const holding = crashed.stats()
  expect(holding.reported).toBe(0)
  await crashed.halt()
  const haltedAt = Date.now()

  const rescuer = await c.startWorker()
  const firstRecoveredRunMs = waitFor('a recovered job to start', () => rescuer.stats().started > 0, 30_000, 20).then(() => Date.now() - haltedAt)
  await waitFor('all 30 jobs Succeeded', async () => (await c.ctx.master.countJobs('test', { status: 'Succeeded' })) === 30, 40_000, 100)
  const recoveryMs = Date.now() - haltedAt
  console.info(
    `mysql cluster: crashed worker held ${holding.running} running + ${holding.waiting} waiting jobs; ` +
      `first recovered job started ${await firstRecoveredRunMs} ms after the crash, all 30 one-second jobs Succeeded after ${recoveryMs} ms`,
  )

  for (const { id } of jobs) {
    const succeeded = (await c.ctx.master.listAttempts('test', id)).filter((a) => a.outcome === 'Succeeded')
    expect(succeeded.map((a) => a.workerId)).toEqual([rescuer.id])
  }
  expect(recoveryMs).toBeLessThan(30_000)
}, 60_000)

test('cancelling a running job on a transport without push still aborts its handler', async () => {
  // MariaDB cannot push signals: the worker learns of the cancellation from the master, once per heartbeat.
  const c = (cluster = await startMySqlCluster())
  await c.startWorker()
  const { id } = await c.producer.enqueue(sleepJob, { ms: 60_000 })
  await waitFor('running', async () => (await c.ctx.master.getJob('test', id))?.status === 'Processing', 10_000)
  const cancelled = Date.now()
  expect(await c.ctx.master.cancelJob('test', id, new Date())).not.toBeNull()
  const attempts = await waitFor('a Cancelled attempt', async () => {
    const list = await c.ctx.master.listAttempts('test', id)
    return list.length > 0 ? list : null
  }, 10_000)
  expect(attempts.map((a) => a.outcome)).toEqual(['Cancelled'])
  // The test cluster heartbeats every 200 ms; the handler stopped long before its 60 s.
  expect(Date.now() - cancelled).toBeLessThan(3000)
}, 30_000)

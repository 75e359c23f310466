import { afterAll, beforeAll, expect, test } from 'vitest'
import { assignHeldJobs } from '../core/coordinator/assign-held-jobs.js'
import { PG_MASTER_URL } from './support/env.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { createExecutionLog, record, recordingHandlers } from './support/jobs.js'
import { rawQuery, testPrefix } from './support/pg.js'
import { waitFor } from './support/wait.js'

let cluster: TestCluster
let log: string
beforeAll(async () => {
  const prefix = testPrefix()
  log = `${prefix}exec_log`
  await createExecutionLog(PG_MASTER_URL, log)
  cluster = await startTestCluster({ prefix, handlers: recordingHandlers(PG_MASTER_URL, log), config: { transientThreshold: '10s' } })
  // An Execution worker runs jobs but performs no coordinator duties: hand-overs below are ours.
  await cluster.startWorker({ mode: 'Execution' })
})
afterAll(() => cluster?.close())

async function startedAt(jobId: string): Promise<Date> {
  const rows = await waitFor(`run of ${jobId}`, async () => {
    const r = await rawQuery<{ at: Date }>(PG_MASTER_URL, `SELECT at FROM ${log} WHERE job_id = $1`, [jobId])
    return r.length > 0 ? r : null
  }, 20_000, 20)
  return rows[0]!.at
}

test('delayed and timed jobs start at their time (±1 s)', async () => {
  const now = Date.now()
  const jobs = await Promise.all([
    cluster.producer.enqueue(record, {}, { delay: '1500ms' }),
    cluster.producer.enqueue(record, {}, { delay: 3000 }),
    cluster.producer.enqueue(record, {}, { runAt: new Date(now + 2500).toISOString() }),
  ])
  const expected = [now + 1500, now + 3000, now + 2500]
  const actual = await Promise.all(jobs.map((j) => startedAt(j.id)))
  const errors = actual.map((a, i) => a.getTime() - expected[i]!)
  console.log(`start error vs requested time (ms): ${errors.join(', ')}`)
  for (const e of errors) expect(Math.abs(e)).toBeLessThanOrEqual(1000)
  for (const e of errors) expect(e).toBeGreaterThanOrEqual(-50) // never early (clock resolution aside)
})

test('a job due beyond the transient threshold stays HeldOnMaster until a coordinator pass hands it over', async () => {
  const delayMs = 11_000 // TT is 10 s
  const enqueuedAt = Date.now()
  const { id } = await cluster.producer.enqueue(record, {}, { delay: delayMs })
  const ingested = await waitFor('ingest', async () => {
    const j = await cluster.ctx.master.getJob('test', id)
    return j?.status === 'HeldOnMaster' ? j : null
  })
  expect(ingested.bucketId).toBeNull()
  // A pass now finds nothing due within the threshold: the job stays on the master.
  expect(await assignHeldJobs(cluster.ctx)).toEqual({ assigned: 0, unroutable: 0 })
  expect((await cluster.ctx.master.getJob('test', id))!.status).toBe('HeldOnMaster')
  await new Promise((r) => setTimeout(r, enqueuedAt + delayMs - 10_000 + 200 - Date.now()))
  expect((await cluster.ctx.master.getJob('test', id))!.status).toBe('HeldOnMaster')
  expect((await assignHeldJobs(cluster.ctx)).assigned).toBe(1)
  const handed = (await cluster.ctx.master.getJob('test', id))!
  expect(handed.status).toBe('AssignedToBucket')
  expect(handed.bucketId).toBe(cluster.workers[0]!.ownBuckets.find((b) => b.priority === 'medium')!.id)
  const ran = await startedAt(id)
  expect(Math.abs(ran.getTime() - (enqueuedAt + delayMs))).toBeLessThanOrEqual(1000)
  await waitFor('Succeeded', async () => (await cluster.ctx.master.getJob('test', id))?.status === 'Succeeded')
})

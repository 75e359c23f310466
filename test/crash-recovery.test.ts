import { afterAll, beforeAll, expect, test } from 'vitest'
import { PG_MASTER_URL } from './support/env.js'
import { startWorkerProcess, type WorkerProcess } from './support/child.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { createExecutionLog, recordingHandlers } from './support/jobs.js'
import { rawQuery, testPrefix } from './support/pg.js'
import { waitFor } from './support/wait.js'

const JOBS = 300
let cluster: TestCluster
let prefix: string
let log: string
let victim: WorkerProcess | undefined

beforeAll(async () => {
  prefix = testPrefix()
  log = `${prefix}exec_log`
  await createExecutionLog(PG_MASTER_URL, log)
  cluster = await startTestCluster({ prefix, handlers: recordingHandlers(PG_MASTER_URL, log), config: { workerDeadAfter: 2000 } })
})
afterAll(async () => {
  victim?.child.kill('SIGKILL')
  await cluster?.close()
})

test('a worker process killed with SIGKILL while holding jobs has every one recovered and run by another worker', async () => {
  victim = startWorkerProcess({
    JM_MASTER_URL: PG_MASTER_URL,
    JM_TABLE_PREFIX: prefix,
    JM_CLUSTER_ID: 'test',
    JM_WORKER_NAME: 'victim',
    JM_HEARTBEAT_INTERVAL: '300',
    JM_WORKER_DEAD_AFTER: '2000',
    JM_PARALLELISM_FACTOR: '2',
    JM_HANDLERS: 'test/support/jobs.ts',
    JM_TEST_EXEC_URL: PG_MASTER_URL,
    JM_TEST_EXEC_TABLE: log,
  })
  await waitFor('the victim to register its buckets', async () => (await cluster.ctx.master.listBuckets('test', { statuses: ['Active'] })).length === 5, 30_000, 100)
  const victimPid = victim.child.pid!

  await cluster.producer.enqueueBatch(Array.from({ length: JOBS }, () => ({ definition: 'record', payload: { ms: 100 } })))
  // Let it ingest everything and run a good part, so it dies holding queued and running jobs.
  await waitFor('the victim to be mid-run', async () => {
    const [r] = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${log} WHERE pid = $1`, [victimPid])
    return r!.n >= 40
  }, 30_000, 20)
  victim.child.kill('SIGKILL')
  const killedAt = Date.now()
  await victim.exited
  const held = await rawQuery<{ status: string; n: number }>(PG_MASTER_URL, `SELECT status, count(*)::int AS n FROM ${prefix}jobs WHERE bucket_id IS NOT NULL GROUP BY status`)
  const heldByVictim = held.reduce((sum, r) => sum + r.n, 0)
  expect(heldByVictim).toBeGreaterThan(0)

  const rescuer = await cluster.startWorker({ name: 'rescuer' })
  await waitFor(`all ${JOBS} Succeeded`, async () => (await cluster.ctx.master.countJobs('test', { status: 'Succeeded' })) === JOBS, 60_000, 100)

  const [firstRescue] = await rawQuery<{ at: Date }>(PG_MASTER_URL, `SELECT min(at) AS at FROM ${log} WHERE pid = $1`, [process.pid])
  const recoverySeconds = (firstRescue!.at.getTime() - killedAt) / 1000
  const runs = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id, count(*)::int AS n FROM ${log} GROUP BY job_id`)
  const duplicated = runs.filter((r) => r.n > 1).map((r) => r.job_id)
  // The guarantee: a job runs twice only if its first run was cut off before its result was recorded.
  const reportedByVictim = new Set(
    (await rawQuery<{ job_id: string }>(PG_MASTER_URL, `SELECT job_id FROM ${prefix}job_attempts WHERE worker_id LIKE 'victim.%' AND outcome = 'Succeeded'`)).map((r) => r.job_id),
  )
  const ranOnVictim = new Set((await rawQuery<{ job_id: string }>(PG_MASTER_URL, `SELECT DISTINCT job_id FROM ${log} WHERE pid = $1`, [victimPid])).map((r) => r.job_id))
  const lostAttempts = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${prefix}job_attempts WHERE outcome = 'WorkerLost'`)

  console.log(
    `SIGKILL recovery: ${heldByVictim} jobs held by the killed worker, ${JOBS}/${JOBS} Succeeded, lost 0, ` +
      `ran twice ${duplicated.length} (each cut off before its result was recorded), WorkerLost attempts recorded ${lostAttempts[0]!.n}, ` +
      `kill → first re-run ${recoverySeconds.toFixed(1)} s (workerDeadAfter 2 s)`,
  )
  expect(runs).toHaveLength(JOBS)
  for (const id of duplicated) {
    expect(ranOnVictim.has(id)).toBe(true)
    expect(reportedByVictim.has(id)).toBe(false)
  }
  expect(recoverySeconds).toBeLessThan(30)
  expect(rescuer.stats().started).toBeGreaterThan(0)
  expect(await cluster.ctx.master.listBuckets('test', { statuses: ['Lost', 'Draining', 'ReadyToDelete'] })).toEqual([])
})

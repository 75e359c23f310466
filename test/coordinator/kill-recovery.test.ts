import { afterEach, describe, expect, test } from 'vitest'
import { coordinatorTick } from '../../core/coordinator/tick.js'
import { DEFAULT_TIMINGS } from '../../core/worker/worker.js'
import { PG_MASTER_URL } from '../support/env.js'
import { startWorkerProcess, type WorkerProcess } from '../support/child.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { createExecutionLog, recordingHandlers } from '../support/jobs.js'
import { rawQuery, testPrefix } from '../support/pg.js'
import { waitFor } from '../support/wait.js'

/**
 * A worker process is SIGKILLed holding jobs. Recovery is measured with production timings
 * (heartbeat 5 s, dead after 15 s): once by the scheduled coordinator alone (ticking every 10 s,
 * as the function does with JM_COORDINATOR_TICKS=6), once by a live Drain worker.
 */
const JOBS = 150
let cluster: TestCluster | undefined
let victim: WorkerProcess | undefined
afterEach(async () => {
  victim?.child.kill('SIGKILL')
  await cluster?.close()
})

async function killVictimMidRun(prefix: string, log: string): Promise<{ killedAt: number; held: number; victimPid: number }> {
  victim = startWorkerProcess({
    JM_MASTER_URL: PG_MASTER_URL,
    JM_TABLE_PREFIX: prefix,
    JM_CLUSTER_ID: 'test',
    JM_WORKER_NAME: 'victim',
    JM_WORKER_MODE: 'Execution',
    JM_HANDLERS: 'test/support/jobs.ts',
    JM_TEST_EXEC_URL: PG_MASTER_URL,
    JM_TEST_EXEC_TABLE: log,
  })
  await waitFor('victim buckets', async () => (await cluster!.ctx.master.listBuckets('test', { statuses: ['Active'] })).some((b) => b.ownerId?.startsWith('victim.')), 30_000, 100)
  await cluster!.producer.enqueueBatch(Array.from({ length: JOBS }, () => ({ definition: 'record', payload: { ms: 200 } })))
  const victimPid = victim.child.pid!
  await waitFor('victim mid-run', async () => {
    const [r] = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${log} WHERE pid = $1`, [victimPid])
    return r!.n >= 10
  }, 30_000, 20)
  victim.child.kill('SIGKILL')
  const killedAt = Date.now()
  await victim.exited
  const [held] = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${prefix}jobs j JOIN ${prefix}buckets b ON b.id = j.bucket_id WHERE b.owner_id LIKE 'victim.%'`)
  return { killedAt, held: held!.n, victimPid }
}

async function report(label: string, prefix: string, log: string, killedAt: number, held: number, victimPid: number) {
  await waitFor(`all ${JOBS} Succeeded`, async () => (await cluster!.ctx.master.countJobs('test', { status: 'Succeeded' })) === JOBS, 90_000, 200)
  const [rerun] = await rawQuery<{ at: Date }>(PG_MASTER_URL, `SELECT min(at) AS at FROM ${log} WHERE pid <> $1`, [victimPid])
  const runs = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id, count(*)::int AS n FROM ${log} GROUP BY job_id`)
  const twice = runs.filter((r) => r.n > 1).length
  const seconds = (rerun!.at.getTime() - killedAt) / 1000
  console.log(`${label}: killed worker held ${held} jobs; ${JOBS}/${JOBS} Succeeded, lost 0, ran twice ${twice}, kill → first re-run ${seconds.toFixed(1)} s`)
  expect(runs).toHaveLength(JOBS)
  expect(await cluster!.ctx.master.listBuckets('test', { statuses: ['Lost', 'Draining'] })).toEqual([])
  return seconds
}

describe('SIGKILL with jobs in flight (production timings)', () => {
  test('recovered by coordinator ticks alone', async () => {
    const prefix = testPrefix()
    const log = `${prefix}exec_log`
    await createExecutionLog(PG_MASTER_URL, log)
    cluster = await startTestCluster({ prefix, handlers: recordingHandlers(PG_MASTER_URL, log), config: { heartbeatInterval: '5s', workerDeadAfter: '15s' } })
    const { killedAt, held, victimPid } = await killVictimMidRun(prefix, log)
    expect(held).toBeGreaterThan(0)
    // Runs recovered jobs; performs no coordinator duty itself.
    await cluster.startWorker({ mode: 'Execution', name: 'runner' }, DEFAULT_TIMINGS)
    const ticker = await cluster.openPeer()
    let ticking = true
    const ticks = (async () => {
      while (ticking) {
        await coordinatorTick(ticker, { id: 'scheduled-coordinator' })
        await new Promise((r) => setTimeout(r, 10_000))
      }
    })()
    try {
      const seconds = await report('coordinator ticks every 10 s', prefix, log, killedAt, held, victimPid)
      expect(seconds).toBeLessThanOrEqual(30)
    } finally {
      ticking = false
      await ticks
    }
  }, 150_000)

  test('recovered by a live Drain worker', async () => {
    const prefix = testPrefix()
    const log = `${prefix}exec_log`
    await createExecutionLog(PG_MASTER_URL, log)
    cluster = await startTestCluster({ prefix, handlers: recordingHandlers(PG_MASTER_URL, log), config: { heartbeatInterval: '5s', workerDeadAfter: '15s' } })
    const { killedAt, held, victimPid } = await killVictimMidRun(prefix, log)
    await cluster.startWorker({ mode: 'Execution', name: 'runner' }, DEFAULT_TIMINGS)
    await cluster.startWorker({ mode: 'Drain', name: 'drainer' }, DEFAULT_TIMINGS)
    const seconds = await report('Drain worker (default timings)', prefix, log, killedAt, held, victimPid)
    expect(seconds).toBeLessThanOrEqual(30)
  }, 150_000)
})

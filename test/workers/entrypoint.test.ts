import { afterEach, expect, test } from 'vitest'
import { startWorkerProcess, type WorkerProcess } from '../support/child.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { PG_MASTER_URL } from '../support/env.js'
import { createExecutionLog, recordingHandlers } from '../support/jobs.js'
import { rawQuery, testPrefix } from '../support/pg.js'
import { waitFor } from '../support/wait.js'
import { freePort, get } from './http.js'

/**
 * workers/main.ts — the container's entrypoint — started as a child process configured only by
 * environment variables, exactly as ECS starts it (`node --import tsx workers/main.ts`).
 */

let cluster: TestCluster | undefined
let container: WorkerProcess | undefined
afterEach(async () => {
  container?.child.kill('SIGKILL')
  container = undefined
  await cluster?.close()
  cluster = undefined
})

interface Setup {
  cluster: TestCluster
  prefix: string
  log: string
}

async function setUp(): Promise<Setup> {
  const prefix = testPrefix('w')
  const log = `${prefix}exec_log`
  await createExecutionLog(PG_MASTER_URL, log)
  cluster = await startTestCluster({ prefix, handlers: recordingHandlers(PG_MASTER_URL, log) })
  return { cluster, prefix, log }
}

/** The container's environment: the cluster, the worker's settings, the handler modules. */
function containerEnv({ prefix, log }: Setup, settings: Record<string, string>): Record<string, string> {
  return {
    JM_MASTER_URL: PG_MASTER_URL,
    JM_TABLE_PREFIX: prefix,
    JM_CLUSTER_ID: 'test',
    JM_WORKER_NAME: 'container',
    JM_HEARTBEAT_INTERVAL: '300',
    JM_HANDLERS: 'test/support/jobs.ts,test/workers/metrics-fixture.ts',
    JM_TEST_EXEC_URL: PG_MASTER_URL,
    JM_TEST_EXEC_TABLE: log,
    ...settings,
  }
}

async function attemptsByJob(prefix: string): Promise<Map<string, Array<{ outcome: string; worker: string }>>> {
  const rows = await rawQuery<{ job_id: string; outcome: string; worker_id: string }>(PG_MASTER_URL, `SELECT job_id, outcome, worker_id FROM ${prefix}job_attempts ORDER BY job_id, attempt`)
  const byJob = new Map<string, Array<{ outcome: string; worker: string }>>()
  for (const r of rows) byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), { outcome: r.outcome, worker: r.worker_id.split('.')[0]! }])
  return byJob
}

async function runsByJob(log: string): Promise<Map<string, number>> {
  const rows = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id, count(*)::int AS n FROM ${log} GROUP BY job_id`)
  return new Map(rows.map((r) => [r.job_id, r.n]))
}

/** Jobs the container has started (execution log) whose result the master does not have yet. */
async function inFlight(setup: Setup, pid: number): Promise<number> {
  const [row] = await rawQuery<{ n: number }>(
    PG_MASTER_URL,
    `SELECT count(*)::int AS n FROM ${setup.log} l WHERE l.pid = $1 AND NOT EXISTS (SELECT 1 FROM ${setup.prefix}job_attempts a WHERE a.job_id = l.job_id)`,
    [pid],
  )
  return row!.n
}

test('configured only by JM_ variables it runs jobs and serves /health and /metrics; SIGTERM mid-batch exits 0 within the grace period, nothing lost or run twice', async () => {
  const JOBS = 120
  const GRACE_MS = 10_000
  const setup = await setUp()
  const port = await freePort()
  container = startWorkerProcess(
    containerEnv(setup, { JM_BATCH_SIZE: '25', JM_PARALLELISM_FACTOR: '2', JM_BUCKETS: '1', JM_GRACE_PERIOD: `${GRACE_MS}`, JM_HEALTH_PORT: String(port) }),
  )
  const pid = container.child.pid!

  await waitFor('/health to answer 200', async () => (await get(port, '/health'))?.status === 200, 30_000, 100)
  expect(await get(port, '/health')).toMatchObject({ status: 200, body: '{"status":"running"}' })
  const metrics = await get(port, '/metrics')
  expect(metrics).toMatchObject({ status: 200, type: expect.stringContaining('text/plain') })
  expect(metrics!.body).toContain('jm_test_fixture_loaded 1')
  expect((await setup.cluster.ctx.master.listBuckets('test', { statuses: ['Active'] })).length).toBe(5)

  await setup.cluster.producer.enqueueBatch(Array.from({ length: JOBS }, () => ({ definition: 'record', payload: { ms: 300 } })))
  await waitFor('the container to be mid-run', async () => (await runsByJob(setup.log)).size >= 30, 30_000, 20)
  const runningAtSigterm = await inFlight(setup, pid)
  const sigtermAt = Date.now()
  container.child.kill('SIGTERM')
  const { code, signal } = await container.exited
  const stopSeconds = (Date.now() - sigtermAt) / 1000
  expect({ code, signal }, container.output()).toEqual({ code: 0, signal: null })
  expect(stopSeconds).toBeLessThan(GRACE_MS / 1000)
  expect(runningAtSigterm).toBeGreaterThan(0)

  // Everything it started is recorded; everything else was handed back; it left nothing behind.
  expect(await inFlight(setup, pid)).toBe(0)
  const doneByContainer = await setup.cluster.ctx.master.countJobs('test', { status: 'Succeeded' })
  expect(await setup.cluster.ctx.master.listBuckets('test')).toEqual([])
  expect(await setup.cluster.ctx.master.listWorkers('test')).toEqual([])

  await setup.cluster.startWorker({ name: 'rescuer' })
  await waitFor(`all ${JOBS} Succeeded`, async () => (await setup.cluster.ctx.master.countJobs('test', { status: 'Succeeded' })) === JOBS, 60_000, 100)

  const attempts = await attemptsByJob(setup.prefix)
  const runs = await runsByJob(setup.log)
  expect(attempts.size).toBe(JOBS)
  for (const [job, list] of attempts) {
    expect(list, job).toHaveLength(1)
    expect(list[0]!.outcome, job).toBe('Succeeded')
  }
  expect(runs.size).toBe(JOBS)
  expect([...runs.values()].every((n) => n === 1)).toBe(true)
  const byWorker = [...attempts.values()].reduce((counts, [a]) => counts.set(a!.worker, (counts.get(a!.worker) ?? 0) + 1), new Map<string, number>())
  expect(byWorker.get('container')).toBe(doneByContainer)
  expect(byWorker.get('rescuer')).toBe(JOBS - doneByContainer)
  console.log(
    `container worker: SIGTERM with ${runningAtSigterm} handlers running → exit 0 after ${stopSeconds.toFixed(2)} s (grace ${GRACE_MS / 1000} s); ` +
      `${doneByContainer} jobs run by it, ${JOBS - doneByContainer} handed back and run by another worker; ` +
      `${JOBS}/${JOBS} Succeeded, one attempt row and one execution each`,
  )
})

test('handlers outlasting a short grace period are recorded Interrupted and run again elsewhere: nothing lost', async () => {
  const JOBS = 8
  const GRACE_MS = 1000
  const setup = await setUp()
  const port = await freePort()
  // One medium bucket of 4 run slots: 4 jobs running when SIGTERM lands, 4 waiting in memory.
  container = startWorkerProcess(containerEnv(setup, { JM_PARALLELISM_FACTOR: '1', JM_GRACE_PERIOD: `${GRACE_MS}ms`, JM_HEALTH_PORT: String(port) }))
  const pid = container.child.pid!
  await waitFor('/health to answer 200', async () => (await get(port, '/health'))?.status === 200, 30_000, 100)

  await setup.cluster.producer.enqueueBatch(Array.from({ length: JOBS }, () => ({ definition: 'record', payload: { ms: 3000 } })))
  await waitFor('4 handlers running', async () => (await inFlight(setup, pid)) === 4, 30_000, 20)
  const sigtermAt = Date.now()
  container.child.kill('SIGTERM')
  // While it stops, health checks see it going away.
  const duringStop = await waitFor('/health to answer 503', async () => {
    const answer = await get(port, '/health')
    return answer?.status === 503 ? answer : null
  }, 5000, 20)
  expect(duringStop.body).toBe('{"status":"stopping"}')
  const { code } = await container.exited
  const stopSeconds = (Date.now() - sigtermAt) / 1000
  expect(code, container.output()).toBe(0)
  expect(stopSeconds).toBeGreaterThanOrEqual(GRACE_MS / 1000)
  expect(stopSeconds).toBeLessThan(3) // the handlers would have needed 3 s: they were cut off at the grace period

  const interrupted = [...(await attemptsByJob(setup.prefix))].filter(([, list]) => list.some((a) => a.outcome === 'Interrupted'))
  expect(interrupted).toHaveLength(4)
  for (const [, list] of interrupted) expect(list).toEqual([{ outcome: 'Interrupted', worker: 'container' }])
  expect(await setup.cluster.ctx.master.countJobs('test', { status: 'Succeeded' })).toBe(0)

  await setup.cluster.startWorker({ name: 'rescuer', parallelismFactor: 2 })
  await waitFor(`all ${JOBS} Succeeded`, async () => (await setup.cluster.ctx.master.countJobs('test', { status: 'Succeeded' })) === JOBS, 30_000, 100)

  const attempts = await attemptsByJob(setup.prefix)
  const runs = await runsByJob(setup.log)
  const interruptedIds = new Set(interrupted.map(([id]) => id))
  expect(attempts.size).toBe(JOBS)
  for (const [job, list] of attempts) {
    if (interruptedIds.has(job)) {
      expect(list).toEqual([{ outcome: 'Interrupted', worker: 'container' }, { outcome: 'Succeeded', worker: 'rescuer' }])
      expect(runs.get(job)).toBe(2) // the cut-off run and the one that finished
    } else {
      expect(list).toEqual([{ outcome: 'Succeeded', worker: 'rescuer' }])
      expect(runs.get(job)).toBe(1)
    }
  }
  console.log(
    `short grace: SIGTERM with 4 handlers of 3 s running, grace ${GRACE_MS} ms → exit 0 after ${stopSeconds.toFixed(2)} s; ` +
      `4 attempts recorded Interrupted, 4 unstarted jobs handed back; ${JOBS}/${JOBS} Succeeded on another worker`,
  )
})

test('a bad variable exits non-zero with a message naming it, and never prints a secret', async () => {
  const secretUrl = 'postgres://jm:s3cret-pw@127.0.0.1:5432/jm_test'
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ JM_MASTER_URL: secretUrl, JM_BATCH_SIZE: 'lots' }, /JM_BATCH_SIZE: batchSize must be an integer/],
    [{ JM_MASTER_URL: secretUrl, JM_WORKER_MODE: 'Turbo' }, /JM_WORKER_MODE: must be one of Full, Coordinator, Execution, Drain/],
    [{ JM_MASTER_URL: secretUrl, JM_BUCKETS: 'urgent=2' }, /JM_BUCKETS: unknown priority "urgent"/],
    [{ JM_MASTER_URL: secretUrl, JM_GRACE_PERIOD: 'soon' }, /JM_GRACE_PERIOD: /],
    [{ JM_MASTER_URL: secretUrl, JM_HEALTH_PORT: 'http' }, /JM_HEALTH_PORT: must be a port number/],
    [{ JM_MASTER_URL: secretUrl, JM_AGENTS: 'pg-1=postgres://a:s3cret-pw@127.0.0.1/x', JM_WORKER_AGENT: 'pg-2' }, /JM_WORKER_AGENT: "pg-2" is not a configured agent connection/],
    [{ JM_MASTER_URL: 'mongodb://jm:s3cret-pw@127.0.0.1/jm' }, /JM_MASTER_URL: must be a URL starting with postgres:\/\//],
    [{}, /JM_MASTER_URL: is required/],
  ]
  const results = await Promise.all(
    cases.map(async ([env]) => {
      const child = startWorkerProcess({ JM_HEALTH_PORT: '0', ...env })
      return { ...(await child.exited), output: child.output() }
    }),
  )
  results.forEach(({ code, output }, i) => {
    expect(code, output).toBe(1)
    expect(output).toMatch(cases[i]![1])
    expect(output).not.toContain('s3cret-pw')
  })
})

import { afterAll, beforeAll, expect, test } from 'vitest'
import { PG_AGENT_URL, PG_MASTER_URL } from './support/env.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { createExecutionLog, recordingHandlers } from './support/jobs.js'
import { dropMySqlPrefix, ensureMySqlDatabases, MYSQL_AGENT_URL } from './support/mysql.js'
import { deleteNatsPrefix, NATS_URL } from './support/nats.js'
import { dropPrefix, rawQuery, testPrefix } from './support/pg.js'
import { waitFor } from './support/wait.js'

/**
 * The seed's signature: one cluster, a PostgreSQL master, three agent connections of three kinds,
 * a worker bound to each, one of them on lane LongRun (seeds/000: "AddWorker().AgentConnName(...).WorkerLane("LongRun")").
 */
const JOBS = 10_000
const WORKERS = [
  { name: 'pg-worker', agent: 'pg-1', lane: null },
  { name: 'maria-longrun', agent: 'mysql-1', lane: 'LongRun' },
  { name: 'nats-worker', agent: 'nats-1', lane: null },
] as const

let cluster: TestCluster
let prefix: string
let log: string
beforeAll(async () => {
  await ensureMySqlDatabases()
  prefix = testPrefix('mx')
  log = `${prefix}exec_log`
  await createExecutionLog(PG_MASTER_URL, log)
  cluster = await startTestCluster({
    prefix,
    keepTables: true,
    handlers: recordingHandlers(PG_MASTER_URL, log),
    config: {
      agents: [
        { name: 'pg-1', url: PG_AGENT_URL },
        // LongRun jobs are produced to the connection whose workers serve that lane.
        { name: 'mysql-1', url: MYSQL_AGENT_URL, lanes: ['LongRun'] },
        { name: 'nats-1', url: NATS_URL },
      ],
    },
  })
  for (const w of WORKERS) await cluster.startWorker({ name: w.name, agent: w.agent, lane: w.lane, parallelismFactor: 4 })
}, 60_000)
afterAll(async () => {
  await cluster?.close()
  await dropPrefix(PG_MASTER_URL, prefix)
  await dropPrefix(PG_AGENT_URL, prefix)
  await dropMySqlPrefix(MYSQL_AGENT_URL, prefix)
  await deleteNatsPrefix(NATS_URL, prefix)
})

test(`${JOBS} jobs over PostgreSQL, MariaDB and NATS agents and two lanes: each succeeds exactly once, on a worker of its connection and lane`, async () => {
  const started = Date.now()
  const accepted: Array<{ id: string; lane: string | null }> = []
  for (let i = 0; i < JOBS; i += 500) {
    // Default-lane jobs spread round-robin over the three connections; every fourth job is LongRun.
    const batch = Array.from({ length: 500 }, (_, n) => ((i + n) % 4 === 0 ? { definition: 'record', payload: {}, lane: 'LongRun' } : { definition: 'record', payload: {} }))
    for (const [n, job] of (await cluster.producer.enqueueBatch(batch)).entries()) accepted.push({ id: job.id, lane: batch[n]!.lane ?? null })
  }
  await waitFor(`${JOBS} Succeeded`, async () => (await cluster.ctx.master.countJobs('test', { status: 'Succeeded' })) === JOBS, 120_000, 250)
  const seconds = (Date.now() - started) / 1000

  const runs = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id, count(*)::int AS n FROM ${log} GROUP BY job_id`)
  const attempts = await rawQuery<{ job_id: string; worker_id: string; bucket_id: string; lane: string | null; outcome: string }>(
    PG_MASTER_URL,
    `SELECT a.job_id, a.worker_id, a.bucket_id, j.lane, a.outcome FROM ${prefix}job_attempts a JOIN ${prefix}jobs j ON j.id = a.job_id`,
  )
  expect(runs).toHaveLength(JOBS)
  expect(runs.filter((r) => r.n !== 1)).toEqual([])
  expect(attempts).toHaveLength(JOBS)
  expect(new Set(attempts.map((a) => a.job_id))).toEqual(new Set(accepted.map((a) => a.id)))

  const perWorker = new Map<string, number>()
  for (const a of attempts) {
    const worker = WORKERS.find((w) => a.worker_id.startsWith(`${w.name}.`))!
    // Bucket ids start with their connection's name; a worker only ever runs its own buckets.
    expect(a.bucket_id.startsWith(`${worker.agent}:`)).toBe(true)
    expect(a.lane).toBe(worker.lane)
    expect(a.outcome).toBe('Succeeded')
    perWorker.set(worker.name, (perWorker.get(worker.name) ?? 0) + 1)
  }
  console.log(
    `mixed cluster: ${JOBS} jobs in ${seconds.toFixed(1)} s — ${WORKERS.map((w) => `${w.name} (${w.agent}, lane ${w.lane ?? 'default'}) ran ${perWorker.get(w.name) ?? 0}`).join('; ')}; every job ran exactly once`,
  )
  for (const w of WORKERS) expect(perWorker.get(w.name)).toBeGreaterThan(0)
  expect(perWorker.get('maria-longrun')).toBe(JOBS / 4)
}, 180_000)

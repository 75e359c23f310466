import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PG_AGENT_URL, PG_MASTER_URL } from './support/env.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { createExecutionLog, recordingHandlers } from './support/jobs.js'
import { rawQuery, testPrefix } from './support/pg.js'
import { waitFor } from './support/wait.js'

const JOBS = 2000

describe.each([
  { mode: 'standalone (the master doubles as the agent)', agents: [] },
  { mode: 'distributed (a separate PostgreSQL database as the agent)', agents: [{ name: 'pg-1', url: PG_AGENT_URL }] },
])('$mode', ({ agents }) => {
  let cluster: TestCluster
  let log: string
  beforeAll(async () => {
    const prefix = testPrefix()
    log = `${prefix}exec_log`
    await createExecutionLog(PG_MASTER_URL, log)
    cluster = await startTestCluster({ prefix, handlers: recordingHandlers(PG_MASTER_URL, log), config: { agents } })
  })
  afterAll(() => cluster?.close())

  test(`${JOBS} jobs through a local cluster each succeed exactly once`, async () => {
    await cluster.startWorker()
    const started = Date.now()
    const ids: string[] = []
    for (let i = 0; i < JOBS; i += 500) {
      const batch = Array.from({ length: Math.min(500, JOBS - i) }, () => ({ definition: 'record', payload: {} }))
      ids.push(...(await cluster.producer.enqueueBatch(batch)).map((j) => j.id))
    }
    await waitFor(`${JOBS} Succeeded`, async () => (await cluster.ctx.master.countJobs('test', { status: 'Succeeded' })) === JOBS, 60_000, 100)
    const elapsed = Date.now() - started
    const attempts = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id, count(*)::int AS n FROM ${cluster.prefix}job_attempts GROUP BY job_id`)
    const runs = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id, count(*)::int AS n FROM ${log} GROUP BY job_id`)
    expect(new Set(ids).size).toBe(JOBS)
    expect(attempts).toHaveLength(JOBS)
    expect(attempts.every((a) => a.n === 1)).toBe(true)
    expect(runs).toHaveLength(JOBS)
    expect(runs.every((r) => r.n === 1)).toBe(true)
    expect(await cluster.ctx.master.countJobs('test', {})).toBe(JOBS)
    console.log(`${JOBS} jobs enqueued and succeeded in ${elapsed} ms (${Math.round((JOBS * 1000) / elapsed)} jobs/s, one worker, test timings)`)
  })
})

import { afterEach, describe, expect, test } from 'vitest'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { ensureMySqlDatabases, MYSQL_AGENT_URL } from '../support/mysql.js'
import { NATS_URL } from '../support/nats.js'
import { rawQuery } from '../support/pg.js'
import { waitFor } from '../support/wait.js'
import { startChaosCluster, type ChaosCluster } from './support/cluster.js'
import { produce } from './support/load.js'
import { duplicatesOutsideBound, settle, tally } from './support/tally.js'

/**
 * SIGKILL one of two worker processes in the middle of 10,000 jobs, while the producer keeps
 * enqueueing, on each kind of agent transport. Every accepted job must end terminal in the
 * master (lost = 0), and every job that ran twice must have run on the killed process without
 * its success being recorded (the documented bound).
 */
const JOBS = 10_000
const HEARTBEAT_MS = 500
const DEAD_AFTER_MS = 3000

let cluster: ChaosCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

async function killMidRun(label: string, agent: { name: string; url: string }) {
  cluster = await startChaosCluster({ masterUrl: PG_MASTER_URL, agents: [agent], heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS })
  const c = cluster
  const workerEnv = { JM_WORKER_AGENT: agent.name, JM_PARALLELISM_FACTOR: '4' }
  const victim = c.workerProcess('victim', workerEnv)
  c.workerProcess('survivor', workerEnv)
  await waitFor('both workers to own their buckets', async () => (await c.ctx.master.listBuckets('test', { statuses: ['Active'] })).length === 10, 30_000, 100)
  const victimPid = victim.child.pid!
  const started = Date.now()

  let killedAt = 0
  let acceptedAtKill = 0
  let heldAtKill = 0
  let acceptedSoFar = 0
  const load = produce(c.producer, {
    total: JOBS,
    batch: 250,
    // Paced to last about 10 s, so the kill lands while the producer is still enqueueing
    // whichever transport is faster to accept; 40 ms jobs keep the two workers (16 slots each)
    // behind that pace, so they always hold work. (With 20 ms jobs they kept up and were idle
    // between batches: one clean-clone run killed the victim holding nothing.)
    everyMs: 250,
    job: (i) => ({ definition: 'record', payload: { ms: 40 }, metadata: { n: String(i) } }),
    onAccepted: (n) => void (acceptedSoFar = n),
  })
  /** Jobs the master records in the victim's buckets and not finished. */
  const heldByVictim = async () => {
    const [held] = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${c.prefix}jobs j JOIN ${c.prefix}buckets b ON b.id = j.bucket_id WHERE b.owner_id LIKE 'victim.%'`)
    return held!.n
  }
  const kill = (async () => {
    await waitFor('the victim to be mid-run', async () => {
      const [r] = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${c.log} WHERE pid = $1`, [victimPid])
      // Mid-run: it has run some of its share (how the ingest splits the jobs between the two
      // workers varies by transport and machine load) and holds more. That the producer was not
      // done yet is asserted after the run (acceptedAtKill).
      return r!.n >= 300 && (await heldByVictim()) > 0
    }, 60_000, 20)
    victim.child.kill('SIGKILL')
    killedAt = Date.now()
    acceptedAtKill = acceptedSoFar
    await victim.exited
    heldAtKill = await heldByVictim()
  })()
  const [{ accepted }] = await Promise.all([load, kill])
  const settledMs = await settle(c.ctx, accepted, 150_000)
  const [rerun] = await rawQuery<{ at: Date | null }>(PG_MASTER_URL, `SELECT min(at) AS at FROM ${c.log} l WHERE pid <> $1 AND EXISTS (SELECT 1 FROM ${c.log} v WHERE v.job_id = l.job_id AND v.pid = $1)`, [victimPid])
  const result = await tally(label, c.ctx, accepted, c.log, (Date.now() - started) / 1000, {
    acceptedBeforeKill: acceptedAtKill,
    heldByVictimAtKill: heldAtKill,
    killToFirstRerunSeconds: rerun?.at ? Number(((rerun.at.getTime() - killedAt) / 1000).toFixed(1)) : null,
    settleAfterLoadSeconds: Number((settledMs / 1000).toFixed(1)),
  })
  expect(acceptedAtKill).toBeLessThan(JOBS) // the kill landed while the producer was still enqueueing
  expect(heldAtKill).toBeGreaterThan(0) // and while the victim held jobs
  expect(result.accepted).toBe(JOBS)
  expect(result.lost).toBe(0)
  expect(result.succeeded).toBe(JOBS)
  expect(await duplicatesOutsideBound(c.ctx, c.log, result.duplicatedIds, { pids: [victimPid], workerNames: ['victim'] })).toEqual([])
  expect(await c.ctx.master.listBuckets('test', { statuses: ['Lost', 'Draining', 'ReadyToDelete'] })).toEqual([])
}

describe('SIGKILL a worker process in the middle of 10,000 jobs', () => {
  test('PostgreSQL agent', () => killMidRun('SIGKILL worker, PostgreSQL agent', { name: 'pg', url: PG_AGENT_URL }), 240_000)

  test('MariaDB agent', async () => {
    await ensureMySqlDatabases()
    await killMidRun('SIGKILL worker, MariaDB agent', { name: 'maria', url: MYSQL_AGENT_URL })
  }, 240_000)

  test('NATS JetStream agent', () => killMidRun('SIGKILL worker, NATS agent', { name: 'nats', url: NATS_URL }), 240_000)
})

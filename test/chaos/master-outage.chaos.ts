import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, expect, test } from 'vitest'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { rawQuery } from '../support/pg.js'
import { waitFor } from '../support/wait.js'
import { startChaosCluster, type ChaosCluster } from './support/cluster.js'
import { produce } from './support/load.js'
import { TcpProxy } from '../support/proxy.js'
import { settle, tally } from './support/tally.js'

/**
 * The master becomes unreachable for 30 s (a partition: a proxy between the workers and the
 * master holds every byte; agents stay reachable), with production liveness timings (heartbeat
 * 5 s, dead after 15 s). Producers keep answering 202 (they only write agents); workers keep
 * running the jobs already in their buckets and keep the results in memory; after the partition
 * heals everything reconciles: nothing lost, nothing run twice, no live worker declared dead,
 * no process gone.
 */
const HEARTBEAT_MS = 5000
const DEAD_AFTER_MS = 15_000
const OUTAGE_MS = 30_000
const DUE_DURING_OUTAGE = 2000

let cluster: ChaosCluster | undefined
let proxy: TcpProxy | undefined
afterEach(async () => {
  await cluster?.close()
  await proxy?.close()
  cluster = proxy = undefined
})

test('the master unreachable for 30 s: producers accept, workers run due work, everything reconciles after', async () => {
  const master = new URL(PG_MASTER_URL)
  proxy = await TcpProxy.start({ host: master.hostname, port: Number(master.port || 5432) })
  const partition = proxy
  cluster = await startChaosCluster({
    masterUrl: PG_MASTER_URL,
    workerMasterUrl: partition.route(PG_MASTER_URL),
    agents: [{ name: 'pg', url: PG_AGENT_URL }],
    heartbeatMs: HEARTBEAT_MS,
    deadAfterMs: DEAD_AFTER_MS,
  })
  const c = cluster
  const workers = [c.workerProcess('w1', { JM_PARALLELISM_FACTOR: '2' }), c.workerProcess('w2', { JM_PARALLELISM_FACTOR: '2' })]
  await waitFor('both workers to own their buckets', async () => (await c.ctx.master.listBuckets('test', { statuses: ['Active'] })).length === 10, 30_000, 100)
  const workerIds = (await c.ctx.master.listWorkers('test')).map((w) => w.id).sort()
  const started = Date.now()

  // Jobs already in the workers' buckets, falling due one after another through the outage.
  const dueFrom = Date.now() + 3000
  const { accepted: inBuckets } = await produce(c.producer, {
    total: DUE_DURING_OUTAGE,
    batch: 500,
    everyMs: 0,
    job: (i) => ({ definition: 'record', payload: { ms: 5 }, runAt: new Date(dueFrom + Math.floor((i * OUTAGE_MS) / DUE_DURING_OUTAGE)).toISOString() }),
  })
  await waitFor('the delayed jobs to be in buckets', async () => (await c.ctx.master.countJobs('test', { status: 'AssignedToBucket' })) === DUE_DURING_OUTAGE, 30_000, 100)

  // Fresh jobs all along: before, during and for 5 s after the outage.
  let phase: 'before' | 'during' | 'after' = 'before'
  let healedAt = Number.POSITIVE_INFINITY
  let acceptedBefore = 0
  let acceptedDuring = 0
  const fresh = produce(c.producer, {
    total: 1_000_000,
    batch: 50,
    everyMs: 500,
    job: () => ({ definition: 'record', payload: { ms: 5 } }),
    onAccepted: (n) => {
      if (phase === 'before') acceptedBefore = n
      else if (phase === 'during') acceptedDuring = n - acceptedBefore
    },
    stop: () => Date.now() > healedAt + 5000,
  })
  await delay(Math.max(0, dueFrom - Date.now()))
  partition.partition()
  phase = 'during'
  const partitionedAt = new Date()
  await delay(OUTAGE_MS)
  await partition.heal()
  phase = 'after'
  healedAt = Date.now()
  const { accepted: freshIds, refusals } = await fresh

  const [during] = await rawQuery<{ n: number }>(PG_MASTER_URL, `SELECT count(*)::int AS n FROM ${c.log} WHERE at > $1 AND at < $2`, [partitionedAt, new Date(healedAt)])
  const accepted = [...inBuckets, ...freshIds]
  const settledMs = await settle(c.ctx, accepted, 120_000)
  const declaredDead = workers.filter((w) => w.output().includes('declared dead')).length
  const result = await tally('master unreachable for 30 s', c.ctx, accepted, c.log, (Date.now() - started) / 1000, {
    outageSeconds: OUTAGE_MS / 1000,
    acceptedDuringOutage: acceptedDuring,
    refusedBatches: refusals,
    ranDuringOutage: during!.n,
    workersDeclaredDead: declaredDead,
    healToSettledSeconds: Number(((Date.now() - healedAt) / 1000).toFixed(1)),
    settleAfterLoadSeconds: Number((settledMs / 1000).toFixed(1)),
  })
  expect(refusals).toBe(0)
  expect(acceptedDuring).toBeGreaterThan(0)
  expect(during!.n).toBeGreaterThan(DUE_DURING_OUTAGE / 2)
  expect(result.lost).toBe(0)
  expect(result.duplicated).toBe(0)
  expect(declaredDead).toBe(0)
  for (const w of workers) expect(w.child.exitCode).toBeNull()
  expect((await c.ctx.master.listWorkers('test')).map((w) => w.id).sort()).toEqual(workerIds)
  expect(await c.ctx.master.listBuckets('test', { statuses: ['Lost', 'Draining', 'ReadyToDelete'] })).toEqual([])
}, 300_000)

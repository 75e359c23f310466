import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, expect, test } from 'vitest'
import { coordinatorTick } from '../../core/coordinator/tick.js'
import { PG_MASTER_URL } from '../support/env.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { rawQuery } from '../support/pg.js'
import { TcpProxy } from '../support/proxy.js'

/**
 * The master out of reach for longer than workerDeadAfter (a partition through a proxy): every
 * heartbeat stops at once. Right after, heartbeats are all overdue, yet no live worker may be
 * declared dead — neither by a worker's reaper nor by a stateless coordinator tick — while a
 * worker that really is gone still is.
 */
const HEARTBEAT_MS = 400
const DEAD_AFTER_MS = 1500
const OUTAGE_MS = 3000

let cluster: TestCluster | undefined
let proxy: TcpProxy | undefined
afterEach(async () => {
  await cluster?.close()
  await proxy?.close()
  cluster = proxy = undefined
})

async function partitionedCluster() {
  const master = new URL(PG_MASTER_URL)
  proxy = await TcpProxy.start({ host: master.hostname, port: Number(master.port || 5432) })
  cluster = await startTestCluster({ config: { masterUrl: proxy.route(PG_MASTER_URL), heartbeatInterval: HEARTBEAT_MS, workerDeadAfter: DEAD_AFTER_MS } })
  return { cluster, proxy }
}

const registered = async (prefix: string) => (await rawQuery<{ id: string }>(PG_MASTER_URL, `SELECT id FROM ${prefix}workers ORDER BY id`)).map((r) => r.id)

test('workers reaping each other do not declare live workers dead after the master comes back', async () => {
  const { cluster, proxy } = await partitionedCluster()
  const workers = [await cluster.startWorker({ name: 'a' }), await cluster.startWorker({ name: 'b' })]
  const ids = workers.map((w) => w.id).sort()
  proxy.partition()
  await delay(OUTAGE_MS)
  await proxy.heal()
  // Many reap passes (every 300 ms) and a full workerDeadAfter of heartbeats after the heal.
  await delay(DEAD_AFTER_MS + 1500)
  expect(workers.map((w) => w.id).sort()).toEqual(ids) // a worker declared dead rejoins under a new id
  expect(await registered(cluster.prefix)).toEqual(ids)
})

test('a coordinator tick right after the outage spares the live workers and still reaps a dead one', async () => {
  const { cluster, proxy } = await partitionedCluster()
  const live = await cluster.startWorker({ name: 'live' }, { reapMs: 3_600_000, drainMs: 3_600_000 })
  const longAgo = new Date(Date.now() - 60_000)
  await cluster.ctx.master.registerWorker({ id: 'gone.00000000', clusterId: 'test', name: 'gone', agentConnection: 'standalone', lane: null, mode: 'Execution', heartbeatAt: longAgo, startedAt: longAgo, stopRequestedAt: null, host: 'h', pid: 1 })
  const ticker = await cluster.openPeer()
  proxy.partition()
  await delay(OUTAGE_MS)
  await proxy.heal()
  const tick = await coordinatorTick(ticker, { id: 'scheduled-coordinator' })
  expect(tick.errors).toEqual([])
  expect(tick.deadWorkers).toEqual(['gone.00000000'])
  expect(await registered(cluster.prefix)).toEqual([live.id])
})

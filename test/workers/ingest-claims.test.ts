import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, expect, test } from 'vitest'
import { resolveConfig } from '../../core/config.js'
import { Worker } from '../../core/worker/worker.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { FAST, startTestCluster, type TestCluster } from '../support/cluster.js'
import { rawQuery } from '../support/pg.js'
import { TcpProxy } from '../support/proxy.js'
import { waitFor } from '../support/wait.js'

/**
 * Inbox messages a worker has claimed but not yet written to the master must not wait out a long
 * lease: when the master write fails, the worker retries the same claim as soon as the master is
 * back; when the worker dies holding a claim, the messages come back when it would be declared dead.
 */
let cluster: TestCluster | undefined
let proxy: TcpProxy | undefined
afterEach(async () => {
  await cluster?.close()
  await proxy?.close()
  cluster = proxy = undefined
})

const succeeded = (c: TestCluster) => c.ctx.master.countJobs('test', { status: 'Succeeded' })

test('jobs claimed while the master refuses connections are ingested as soon as it is back, not after their lease', async () => {
  const master = new URL(PG_MASTER_URL)
  proxy = await TcpProxy.start({ host: master.hostname, port: Number(master.port || 5432) })
  // A long lease (workerDeadAfter 20 s): only a retry of the held claim can be quick.
  cluster = await startTestCluster({ config: { masterUrl: proxy.route(PG_MASTER_URL), agents: [{ name: 'pg', url: PG_AGENT_URL }], workerDeadAfter: 20_000 } })
  const c = cluster
  await c.startWorker({ name: 'ingester' })
  await proxy.cut()
  await c.producer.enqueueBatch(Array.from({ length: 100 }, () => ({ definition: 'noop' })))
  await waitFor('the ingester to claim the batch', async () => (await rawQuery<{ n: number }>(PG_AGENT_URL, `SELECT count(*)::int AS n FROM ${c.prefix}inbox WHERE claimed_by LIKE 'ingester.%'`))[0]!.n === 100, 10_000)
  await delay(2000) // several failed attempts, the back-off growing
  await proxy.heal()
  const healedAt = Date.now()
  await waitFor('all 100 Succeeded', async () => (await succeeded(c)) === 100, 15_000, 50)
  const seconds = (Date.now() - healedAt) / 1000
  console.log(`claimed during a master outage: all ingested and run ${seconds.toFixed(1)} s after it ended (lease 20 s)`)
  expect(seconds).toBeLessThan(8) // the back-off is at most 5 s
})

test('messages claimed by a worker that died before acknowledging them come back after workerDeadAfter', async () => {
  const config = { masterUrl: PG_MASTER_URL, agents: [{ name: 'pg', url: PG_AGENT_URL }], workerDeadAfter: 1500 }
  cluster = await startTestCluster({ config })
  const c = cluster
  // This worker's master writes never return: it dies with the claim in hand.
  const peer = await c.openPeer()
  peer.master.insertJobs = () => new Promise(() => {})
  const doomed = new Worker(peer, resolveConfig({ ...config, worker: { name: 'doomed' } }).worker!, FAST)
  await doomed.start()
  await c.producer.enqueueBatch(Array.from({ length: 50 }, () => ({ definition: 'noop' })))
  await waitFor('the doomed worker to claim the batch', async () => (await rawQuery<{ n: number }>(PG_AGENT_URL, `SELECT count(*)::int AS n FROM ${c.prefix}inbox WHERE claimed_by LIKE 'doomed.%'`))[0]!.n === 50, 10_000)
  await doomed.halt()
  const diedAt = Date.now()
  await c.startWorker({ name: 'heir' })
  await waitFor('all 50 Succeeded', async () => (await succeeded(c)) === 50, 20_000, 50)
  const seconds = (Date.now() - diedAt) / 1000
  console.log(`claimed by a worker that died mid-ingest: all run ${seconds.toFixed(1)} s after (workerDeadAfter 1.5 s)`)
  expect(seconds).toBeLessThan(5)
})

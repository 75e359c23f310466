import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, test } from 'vitest'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { waitFor } from '../support/wait.js'
import { startChaosCluster, type ChaosCluster } from './support/cluster.js'
import { produce } from './support/load.js'
import { PrivateNatsServer } from '../support/nats.js'
import { PrivatePostgres } from './support/servers.js'
import { settle, tally } from './support/tally.js'

/**
 * A private server holding the master or the agent (PostgreSQL master, PostgreSQL agent, NATS
 * agent) is stopped in the middle of a run, kept down longer than workerDeadAfter, and started
 * again. Worker processes reconnect by themselves; every accepted job ends terminal, none runs
 * twice (no worker died), no worker process exits, and none is declared dead.
 */
const JOBS = 5000
const HEARTBEAT_MS = 500
const DEAD_AFTER_MS = 3000
const DOWN_MS = 5000

/** A server the scenario owns: stopped and started again on the same port and data. */
interface Restartable {
  url: string
  stop(): Promise<void>
  resume(): Promise<void>
  dispose(): Promise<void>
}

async function privateNats(): Promise<Restartable> {
  const nats = await PrivateNatsServer.start()
  return { url: nats.url, stop: () => nats.kill(), resume: () => nats.restart(), dispose: () => nats.stop() }
}

let cluster: ChaosCluster | undefined
let server: Restartable | undefined
afterEach(async () => {
  await cluster?.close()
  await server?.dispose()
  cluster = server = undefined
})

async function restartMidRun(label: string, place: 'master' | 'agent', start: () => Promise<Restartable>) {
  server = await start()
  const restarted = server
  const masterUrl = place === 'master' ? restarted.url : PG_MASTER_URL
  const agentUrl = place === 'agent' ? restarted.url : PG_AGENT_URL
  const agentName = agentUrl.startsWith('nats:') ? 'nats' : 'pg'
  cluster = await startChaosCluster({ masterUrl, agents: [{ name: agentName, url: agentUrl }], heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS, disposable: [restarted.url] })
  const c = cluster
  const workers = [c.workerProcess('w1', { JM_PARALLELISM_FACTOR: '4' }), c.workerProcess('w2', { JM_PARALLELISM_FACTOR: '4' })]
  await waitFor('both workers to own their buckets', async () => (await c.ctx.master.listBuckets('test', { statuses: ['Active'] })).length === 10, 30_000, 100)
  const started = Date.now()

  let acceptedSoFar = 0
  const load = produce(c.producer, {
    total: JOBS,
    batch: 100,
    everyMs: 100,
    job: () => ({ definition: 'record', payload: { ms: 10 } }),
    onAccepted: (n) => void (acceptedSoFar = n),
  })
  const fault = (async () => {
    await waitFor('a third of the run', () => acceptedSoFar >= JOBS / 3, 60_000, 20)
    const at = acceptedSoFar
    await restarted.stop()
    await delay(DOWN_MS)
    await restarted.resume()
    return at
  })()
  const [loadResult, acceptedAtStop] = await Promise.all([load, fault])
  const settledMs = await settle(c.ctx, loadResult.accepted, 120_000)
  const declaredDead = workers.filter((w) => w.output().includes('declared dead')).length
  const result = await tally(label, c.ctx, loadResult.accepted, c.log, (Date.now() - started) / 1000, {
    downSeconds: DOWN_MS / 1000,
    acceptedBeforeStop: acceptedAtStop,
    refusedBatches: loadResult.refusals,
    longestRefusalSeconds: Number((loadResult.longestRefusalMs / 1000).toFixed(1)),
    workersDeclaredDead: declaredDead,
    settleAfterLoadSeconds: Number((settledMs / 1000).toFixed(1)),
  })
  expect(result.accepted).toBe(JOBS)
  expect(result.lost).toBe(0)
  expect(result.succeeded).toBe(JOBS)
  expect(result.duplicated).toBe(0)
  expect(declaredDead).toBe(0)
  for (const w of workers) expect(w.child.exitCode).toBeNull()
  expect((await c.ctx.master.listWorkers('test')).map((w) => w.name).sort()).toEqual(['w1', 'w2'])
  return result
}

describe('restart a private server in the middle of a run', () => {
  test('PostgreSQL master: workers keep running what they hold, results wait in memory, nothing lost', () => restartMidRun('PostgreSQL master restarted', 'master', PrivatePostgres.start), 240_000)

  test('PostgreSQL agent: producers get 503 while it is down, workers reconnect, nothing lost', async () => {
    const result = await restartMidRun('PostgreSQL agent restarted', 'agent', PrivatePostgres.start)
    // Only one agent: while it is down the producer must refuse (and the client retries).
    expect(result.notes.refusedBatches).toBeGreaterThan(0)
  }, 240_000)

  test('NATS agent (SIGKILLed server): producers get 503 while it is down, workers reconnect, nothing lost', async () => {
    const result = await restartMidRun('NATS agent server killed and restarted', 'agent', privateNats)
    expect(result.notes.refusedBatches).toBeGreaterThan(0)
  }, 240_000)
})

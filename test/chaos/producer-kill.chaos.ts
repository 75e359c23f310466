import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, test } from 'vitest'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { ensureMySqlDatabases, MYSQL_AGENT_URL } from '../support/mysql.js'
import { NATS_URL } from '../support/nats.js'
import { waitFor } from '../support/wait.js'
import { startChaosCluster, type ChaosCluster } from './support/cluster.js'
import { settle, tally } from './support/tally.js'

/**
 * A producer HTTP server (its own process) is SIGKILLed while clients are posting batches of
 * 1,000 jobs to it, several times over. A batch is all-or-nothing: once everything has reached
 * the master, every batch ever sent is there whole (all 1,000 jobs) or not at all; every batch
 * that was answered 202 is there whole and runs. A batch the producer wrote but could not answer
 * is there whole too (the client would retry it: at-least-once).
 */
const BATCH = 1000
const KILLS = 4
const IN_FLIGHT = 2
const ROOT = resolve(import.meta.dirname, '../..')

let cluster: ChaosCluster | undefined
const producers: ChildProcess[] = []
afterEach(async () => {
  for (const p of producers.splice(0)) p.kill('SIGKILL')
  await cluster?.close()
  cluster = undefined
})

async function startProducer(c: ChaosCluster, agent: { name: string; url: string }): Promise<{ child: ChildProcess; port: number; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/support/producer-process.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', JM_AGENTS: `${agent.name}=${agent.url}`, JM_TABLE_PREFIX: c.prefix, JM_CLUSTER_ID: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  producers.push(child)
  const exited = new Promise((done) => child.once('exit', done))
  let output = ''
  const port = await new Promise<number>((ready, failed) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk
      const listening = /listening (\d+)/.exec(output)
      if (listening) ready(Number(listening[1]))
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
    child.once('exit', (code) => failed(new Error(`producer exited (${code}) before listening: ${output}`)))
  })
  return { child, port, exited }
}

async function killProducerMidBatch(label: string, agent: { name: string; url: string }) {
  cluster = await startChaosCluster({ masterUrl: PG_MASTER_URL, agents: [agent], heartbeatMs: 500, deadAfterMs: 3000 })
  const c = cluster
  c.workerProcess('runner', { JM_WORKER_AGENT: agent.name, JM_PARALLELISM_FACTOR: '8' })
  const started = Date.now()
  /** Every batch sent, by its tag: the ids if it was answered 202, else null. */
  const sent = new Map<string, string[] | null>()
  let inFlightAtKills = 0
  for (let round = 0; round < KILLS; round++) {
    const producer = await startProducer(c, agent)
    let sending = true
    const inFlight = new Set<string>()
    const clients = Array.from({ length: IN_FLIGHT }, async () => {
      while (sending) {
        const tag = randomUUID()
        sent.set(tag, null)
        inFlight.add(tag)
        // Padded metadata makes each batch ~700 KB, so the write takes long enough to be cut.
        const jobs = Array.from({ length: BATCH }, (_, i) => ({ definition: 'record', payload: { ms: 1 }, metadata: { batch: tag, i: String(i), pad: 'x'.repeat(600) } }))
        try {
          const res = await fetch(`http://127.0.0.1:${producer.port}/v1/jobs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs }) })
          if (res.status === 202) sent.set(tag, ((await res.json()) as { ids: string[] }).ids)
          else throw new Error(`producer answered ${res.status}: ${await res.text()}`)
        } catch (error) {
          if (sending) throw error // only the kill may cut a request
        } finally {
          inFlight.delete(tag)
        }
      }
    })
    await delay(400 + Math.random() * 1200)
    sending = false
    inFlightAtKills += inFlight.size
    producer.child.kill('SIGKILL')
    await Promise.all(clients)
    await producer.exited
  }

  const accepted = [...sent.values()].flatMap((ids) => ids ?? [])
  const settledMs = await settle(c.ctx, accepted, 180_000)
  // Unanswered batches that were written whole are ingested too: wait until the master stops growing.
  let total = -1
  await waitFor('the master to stop receiving jobs', async () => {
    const now = await c.ctx.master.countJobs('test', {})
    const stable = now === total
    total = now
    return stable
  }, 60_000, 3000)
  // NATS keeps the members of a batch whose commit marker never came for a minute (never ingested), then drops them.
  const leftInInbox = await c.ctx.agent(agent.name).inboxDepth()
  const sizes = new Map<string, number>()
  for (const tag of sent.keys()) sizes.set(tag, await c.ctx.master.countJobs('test', { metadata: { batch: tag } }))
  const answered = [...sent.entries()].filter(([, ids]) => ids !== null)
  const unanswered = [...sent.entries()].filter(([, ids]) => ids === null)
  const partial = [...sizes.entries()].filter(([, n]) => n !== 0 && n !== BATCH)
  const result = await tally(label, c.ctx, accepted, c.log, (Date.now() - started) / 1000, {
    kills: KILLS,
    batchesSent: sent.size,
    batchesAnswered: answered.length,
    requestsCutByKills: inFlightAtKills,
    unansweredButWrittenWhole: unanswered.filter(([tag]) => sizes.get(tag) === BATCH).length,
    unansweredAndAbsent: unanswered.filter(([tag]) => sizes.get(tag) === 0).length,
    partialBatches: partial.length,
    leftInInbox,
    settleSeconds: Number((settledMs / 1000).toFixed(1)),
  })
  expect(inFlightAtKills).toBeGreaterThan(0)
  expect(partial).toEqual([])
  for (const [tag] of answered) expect(sizes.get(tag)).toBe(BATCH)
  expect(result.lost).toBe(0)
  expect(result.succeeded).toBe(accepted.length)
  expect(result.duplicated).toBe(0)
}

describe('SIGKILL a producer in the middle of a batch: the batch is entirely there or entirely absent', () => {
  test('PostgreSQL agent', () => killProducerMidBatch('producer killed mid-batch, PostgreSQL agent', { name: 'pg', url: PG_AGENT_URL }), 300_000)

  test('MariaDB agent', async () => {
    await ensureMySqlDatabases()
    await killProducerMidBatch('producer killed mid-batch, MariaDB agent', { name: 'maria', url: MYSQL_AGENT_URL })
  }, 300_000)

  test('NATS agent', () => killProducerMidBatch('producer killed mid-batch, NATS agent', { name: 'nats', url: NATS_URL }), 300_000)
})

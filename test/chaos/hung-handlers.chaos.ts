import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import * as v from 'valibot'
import { afterEach, expect, test } from 'vitest'
import { defineJob, handle, type JobContext } from '../../core/definitions.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { waitFor } from '../support/wait.js'
import { startChaosCluster, type ChaosCluster } from './support/cluster.js'
import { produce } from './support/load.js'
import { settle, tally } from './support/tally.js'

/**
 * Handlers that misbehave against their timeout, mixed with healthy work in one bucket of four
 * slots: one that ignores its AbortSignal and finishes long after the timeout, one that never
 * settles at all. Each attempt must end TimedOut at the timeout, free its slot at once and be
 * retried (then Failed); a late finish must change nothing; the healthy jobs must run at full
 * capacity meanwhile; and the worker must still stop gracefully.
 */
const TIMEOUT_MS = 500
const OVERRUN_MS = 2500
const MISBEHAVING = 8 // of each kind: twice the bucket's four slots
const HEALTHY = 2000

/** Ignores its signal and resolves long after its timeout. */
const overrun = defineJob({ id: 'overrun', schema: v.null() })
/** Never resolves nor rejects. */
const hang = defineJob({ id: 'hang', schema: v.null() })

function misbehaving(log: string) {
  const sql = postgres(PG_MASTER_URL, { max: 2, idle_timeout: 2, onnotice: () => {} })
  const started = (ctx: JobContext) => sql.unsafe(`INSERT INTO ${log} (job_id, pid, attempt, at) VALUES ($1, $2, $3, clock_timestamp())`, [ctx.jobId, process.pid, ctx.attempt])
  return [
    handle(overrun, async (_payload, ctx) => {
      await started(ctx)
      await delay(OVERRUN_MS)
      return 'finished late'
    }),
    handle(hang, async (_payload, ctx) => {
      await started(ctx)
      await new Promise(() => {})
    }),
  ]
}

let cluster: ChaosCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

test('a slow handler past its timeout and a handler that never settles: the slot and the bucket recover', async () => {
  cluster = await startChaosCluster({ masterUrl: PG_MASTER_URL, agents: [{ name: 'pg', url: PG_AGENT_URL }], heartbeatMs: 500, deadAfterMs: 3000, handlers: misbehaving })
  const c = cluster
  const worker = await c.startWorker({ name: 'runner', parallelismFactor: 1 })
  const started = Date.now()
  const bad = Array.from({ length: MISBEHAVING }, (_, i) => [
    { definition: 'overrun', payload: null, timeout: TIMEOUT_MS, maxRetries: 1, metadata: { n: String(i) } },
    { definition: 'hang', payload: null, timeout: TIMEOUT_MS, maxRetries: 1, metadata: { n: String(i) } },
  ]).flat()
  const badIds = (await c.producer.enqueueBatch(bad)).map((j) => j.id)
  const { accepted: healthyIds } = await produce(c.producer, { total: HEALTHY, batch: 250, everyMs: 0, job: () => ({ definition: 'record', payload: { ms: 5 } }) })
  const accepted = [...badIds, ...healthyIds]
  const settledMs = await settle(c.ctx, accepted, 120_000)

  // Every attempt of a misbehaving job ended at its timeout, TimedOut, and nothing else was recorded.
  const attempts = await Promise.all(badIds.map((id) => c.ctx.master.listAttempts('test', id)))
  const durations = attempts.flat().map((a) => a.endedAt.getTime() - a.startedAt.getTime())
  await delay(OVERRUN_MS) // let every overrun handler finish late: that must change nothing
  const afterLateFinish = await Promise.all(badIds.map((id) => c.ctx.master.listAttempts('test', id)))
  await waitFor('the bucket to be idle', () => worker.stats().running === 0 && worker.stats().waiting === 0, 5000)
  const stopStarted = Date.now()
  await worker.stop()
  const stopMs = Date.now() - stopStarted

  const result = await tally('slow and never-settling handlers', c.ctx, accepted, c.log, (Date.now() - started) / 1000, {
    misbehavingJobs: badIds.length,
    timedOutAttempts: attempts.flat().filter((a) => a.outcome === 'TimedOut').length,
    longestAttemptMs: Math.max(...durations),
    healthyJobs: HEALTHY,
    settleSeconds: Number((settledMs / 1000).toFixed(1)),
    gracefulStopMs: stopMs,
  })
  expect(result.lost).toBe(0)
  expect(result.duplicated).toBe(0)
  expect(result.succeeded).toBe(HEALTHY)
  expect(result.failed).toBe(badIds.length)
  for (const list of attempts) expect(list.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'TimedOut'], [2, 'TimedOut']])
  expect(afterLateFinish).toEqual(attempts)
  expect(Math.max(...durations)).toBeLessThan(TIMEOUT_MS + 500)
  expect(stopMs).toBeLessThan(2000)
}, 180_000)

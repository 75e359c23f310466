import * as v from 'valibot'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { defineJob, handle } from '../core/definitions.js'
import { echo, fail } from '../jobs/definitions.js'
import { handlers as samples } from '../jobs/handlers.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { waitFor } from './support/wait.js'

/** Waits for its abort signal and notes that it saw it (it ignores the timeout otherwise). */
const stubborn = defineJob({ id: 'stubborn', schema: v.object({}), timeout: 300 })
const sawAbort = new Map<string, { at: number; reason: string }>()
/** Never settles and ignores its signal: only the engine's timeout can free its slot. */
const hang = defineJob({ id: 'hang', schema: v.object({}), timeout: 200, maxRetries: 0 })

let cluster: TestCluster
beforeAll(async () => {
  cluster = await startTestCluster({
    config: { retryBaseDelay: 400, retryMaxDelay: 10_000 },
    handlers: [
      ...samples,
      handle(stubborn, (_payload, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort.set(ctx.jobId, { at: Date.now(), reason: String((ctx.signal.reason as Error)?.message) })
            reject(ctx.signal.reason)
          })
        }),
      ),
      handle(hang, () => new Promise(() => {})),
    ],
  })
  await cluster.startWorker()
})
afterAll(() => cluster?.close())

async function finished(id: string) {
  return waitFor(`job ${id} to finish`, async () => {
    const j = await cluster.ctx.master.getJob('test', id)
    return j && ['Succeeded', 'Failed', 'Cancelled'].includes(j.status) ? j : null
  }, 20_000)
}

test('retries follow exponential back-off with jitter and end Failed after maxRetries', async () => {
  const { id } = await cluster.producer.enqueue(fail, { message: 'nope' }, { maxRetries: 3 })
  const job = await finished(id)
  expect(job.status).toBe('Failed')
  expect(job.attempts).toBe(4)
  expect(job.lastError).toBe('Error: nope')
  const attempts = await cluster.ctx.master.listAttempts('test', id)
  expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'Failed'], [2, 'Failed'], [3, 'Failed'], [4, 'Failed']])
  // Gap before attempt n+1 is drawn from [cap/2, cap], cap = 400 ms · 2^(n-1); allow pickup latency on top.
  const gaps = attempts.slice(1).map((a, i) => a.startedAt.getTime() - attempts[i]!.endedAt.getTime())
  console.log(`retry gaps (ms): ${gaps.join(', ')} — caps 400, 800, 1600`)
  gaps.forEach((gap, i) => {
    const cap = 400 * 2 ** i
    expect(gap).toBeGreaterThanOrEqual(cap / 2 - 5)
    expect(gap).toBeLessThanOrEqual(cap + 300)
  })
})

test('maxRetries 0 fails on the first error', async () => {
  const { id } = await cluster.producer.enqueue(fail, {}, { maxRetries: 0 })
  const job = await finished(id)
  expect(job).toMatchObject({ status: 'Failed', attempts: 1 })
})

test('a handler that overruns its timeout sees its signal aborted and the attempt is recorded as timed out', async () => {
  const { id } = await cluster.producer.enqueue(stubborn, {}, { maxRetries: 1 })
  const job = await finished(id)
  expect(job.status).toBe('Failed')
  const attempts = await cluster.ctx.master.listAttempts('test', id)
  expect(attempts.map((a) => a.outcome)).toEqual(['TimedOut', 'TimedOut'])
  for (const a of attempts) {
    expect(a.error).toBe('timed out after 300 ms')
    const ran = a.endedAt.getTime() - a.startedAt.getTime()
    expect(ran).toBeGreaterThanOrEqual(295)
    expect(ran).toBeLessThan(1000)
  }
  expect(sawAbort.get(id)?.reason).toBe('timed out after 300 ms')
})

test('handlers that never settle lose their slots at the timeout, so the bucket keeps running', async () => {
  // A medium bucket runs 4 at once: fill every slot with handlers that never return, then one more job.
  const hung = await Promise.all(Array.from({ length: 4 }, () => cluster.producer.enqueue(hang, {})))
  const next = await cluster.producer.enqueue(echo, { after: 'hung' })
  for (const h of hung) expect(await finished(h.id)).toMatchObject({ status: 'Failed', attempts: 1 })
  expect((await finished(next.id)).status).toBe('Succeeded')
})

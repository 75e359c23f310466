import { afterAll, beforeAll, expect, test } from 'vitest'
import { OVERLAP_SKIPPED_ERROR } from '../../core/coordinator/skip-overlapping-runs.js'
import { SECOND } from '../../core/durations.js'
import { sleep } from '../../jobs/definitions.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

/**
 * Overlap policy: an every-second schedule whose job takes 2.5 s. With `skip`, no run starts
 * while the previous one is unfinished (the occurrences due meanwhile are Cancelled as skipped);
 * with `allow`, runs overlap.
 */
let cluster: TestCluster
beforeAll(async () => {
  cluster = await startTestCluster()
  await cluster.startWorker({ name: 'overlap', parallelismFactor: 2 })
})
afterAll(() => cluster?.close())

async function runs(scheduleId: string) {
  const jobs = await cluster.ctx.master.listJobs('test', { scheduleId, status: 'Succeeded' }, 500)
  const spans = await Promise.all(jobs.map(async (j) => (await cluster.ctx.master.listAttempts('test', j.id)).map((a) => ({ start: a.startedAt.getTime(), end: a.endedAt.getTime(), due: j.scheduledAt.getTime() }))[0]!))
  return spans.sort((a, b) => a.start - b.start)
}

test('skip: runs never overlap, occurrences due during a run are skipped, and a run starts within a hand-over interval of its occurrence', async () => {
  const { id } = await cluster.producer.schedule(sleep, '1s', { payload: { ms: 2500 }, overlap: 'skip' })
  await waitFor('four finished runs', async () => (await runs(id)).length >= 4, 30_000)
  const spans = await runs(id)
  for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end)
  const skipped = await cluster.ctx.master.listJobs('test', { scheduleId: id, status: 'Cancelled' }, 500)
  expect(skipped.length).toBeGreaterThanOrEqual(4)
  expect(skipped.every((j) => j.lastError === OVERLAP_SKIPPED_ERROR)).toBe(true)
  const lateness = spans.map((s) => s.start - s.due)
  // Handed over once due (the test workers' hand-over runs every 200 ms).
  for (const late of lateness) expect(late).toBeLessThan(1000)
  console.log(`overlap skip: ${spans.length} runs of 2.5 s, none overlapping; ${skipped.length} occurrences skipped; start after occurrence ${Math.min(...lateness)}–${Math.max(...lateness)} ms`)
})

test('allow (the default): the same schedule runs overlap', async () => {
  const { id } = await cluster.producer.schedule(sleep, '1s', { payload: { ms: 2500 } })
  await waitFor('four finished runs', async () => (await runs(id)).length >= 4, 30_000)
  const spans = await runs(id)
  expect(spans.some((s, i) => i > 0 && s.start < spans[i - 1]!.end)).toBe(true)
  expect(spans[1]!.start - spans[0]!.start).toBeLessThan(1.5 * SECOND)
})

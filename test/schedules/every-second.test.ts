import { afterAll, beforeAll, expect, test } from 'vitest'
import { SECOND } from '../../core/durations.js'
import type { JobRecord } from '../../core/model.js'
import { noop } from '../../jobs/definitions.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

/**
 * An every-second schedule created through the producer (inbox → ingest → master), planned by a
 * Full worker's coordinator timer, handed to a bucket and run at each occurrence: observed for
 * 10 s, it must produce 10 ± 1 runs, evenly spaced.
 */
let cluster: TestCluster
beforeAll(async () => {
  cluster = await startTestCluster()
  await cluster.startWorker({ name: 'every-second' })
})
afterAll(() => cluster?.close())

interface Run {
  job: JobRecord
  startedAt: number
}

/** The schedule's finished runs in start order, from their attempt records (the next ten minutes of occurrences wait in buckets). */
async function runsOf(scheduleId: string): Promise<Run[]> {
  const jobs = await cluster.ctx.master.listJobs('test', { scheduleId, status: 'Succeeded' }, 500)
  const runs = await Promise.all(jobs.map(async (job) => ({ job, startedAt: (await cluster.ctx.master.listAttempts('test', job.id))[0]!.startedAt.getTime() })))
  return runs.sort((a, b) => a.startedAt - b.startedAt)
}

test('an every-second schedule observed for 10 s runs 10 ± 1 times, about 1 s apart', async () => {
  const { id } = await cluster.producer.schedule(noop, '1s')
  // Warm up: the schedule is ingested, planned and running.
  await waitFor('the first run', async () => (await runsOf(id)).length > 0, 20_000)
  const from = Date.now()
  await new Promise((resolve) => setTimeout(resolve, 10 * SECOND + 1500))
  const window = (await runsOf(id)).filter((r) => r.startedAt >= from && r.startedAt < from + 10 * SECOND)
  const starts = window.map((r) => r.startedAt)
  const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
  const lateness = window.map((r) => r.startedAt - r.job.scheduledAt.getTime())
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
  console.log(
    `every-second schedule, 10 s window: ${window.length} runs; gaps between starts ${Math.min(...gaps)}–${Math.max(...gaps)} ms (mean ${mean.toFixed(1)} ms); ` +
      `start after occurrence ${Math.min(...lateness)}–${Math.max(...lateness)} ms`,
  )
  expect(window.length).toBeGreaterThanOrEqual(9)
  expect(window.length).toBeLessThanOrEqual(11)
  // Occurrences are exactly a second apart; starts follow them within a few milliseconds.
  for (const gap of gaps) expect(Math.abs(gap - 1000)).toBeLessThan(100)
  const occurrences = window.map((r) => r.job.occurrenceAt!.getTime())
  for (let i = 1; i < occurrences.length; i++) expect(occurrences[i]! - occurrences[i - 1]!).toBe(1000)
  expect(window.every(({ job }) => job.scheduleId === id && job.definition === 'noop' && job.scheduledAt.getTime() === job.occurrenceAt!.getTime())).toBe(true)
})

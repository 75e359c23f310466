import { expect, test } from 'vitest'
import { benchHttpEnqueue } from '../../bench/http-enqueue.js'

// Keeps the benchmark runnable (npm run bench uses it); the figures themselves come from full runs.
test('the HTTP enqueue benchmark runs against a real server and agent and reports both figures', async () => {
  const figures = await benchHttpEnqueue({ durationMs: 300, concurrency: 4, batchSize: 20 })
  expect(figures.map((f) => [f.name, f.unit])).toEqual([
    ['http_enqueue_per_s', 'jobs/s'],
    ['http_enqueue_batch_per_s', 'jobs/s'],
  ])
  for (const f of figures) {
    expect(f.value).toBeGreaterThan(0)
    expect(f.notes).toMatch(/4 keep-alive clients/)
    expect(f.notes).not.toMatch(/not answered 202/)
  }
})

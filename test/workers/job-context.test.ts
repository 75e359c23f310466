import { expect, test } from 'vitest'
import { silentLogger } from '../../core/logger.js'
import type { BucketJob } from '../../core/model.js'
import { createRunContext } from '../../core/worker/job-context.js'

const job: BucketJob = {
  id: '01900000-0000-7000-8000-000000000001',
  bucketId: 'b',
  definition: 'noop',
  payload: null,
  metadata: { tenant: 'acme' },
  priority: 'medium',
  lane: null,
  scheduledAt: new Date(0),
  timeoutMs: 1000,
  maxRetries: 0,
  attempts: 0,
}

test('an abort before the handler first reads its signal is seen when it does', () => {
  const run = createRunContext(job, 1, silentLogger)
  const reason = new Error('timed out after 1000 ms')
  run.abort(reason)
  run.abort(new Error('cancelled')) // the first reason stays
  expect(run.ctx.signal.aborted).toBe(true)
  expect(run.ctx.signal.reason).toBe(reason)
})

test('a signal read before the abort fires its listeners once', () => {
  const run = createRunContext(job, 1, silentLogger)
  const { signal } = run.ctx
  let fired = 0
  signal.addEventListener('abort', () => fired++)
  expect(signal.aborted).toBe(false)
  run.abort(new Error('cancelled'))
  run.abort(new Error('again'))
  expect(fired).toBe(1)
  expect(run.ctx.signal).toBe(signal)
})

test('a spread copy of the context still carries its signal and logger', () => {
  const run = createRunContext(job, 2, silentLogger)
  const copy = { ...run.ctx, extra: true }
  run.abort(new Error('cancelled'))
  expect(copy.signal).toBeInstanceOf(AbortSignal)
  expect(copy.signal.aborted).toBe(true) // the copy holds the same signal
  expect(copy.logger).toBeDefined()
  expect(copy).toMatchObject({ jobId: job.id, attempt: 2, metadata: { tenant: 'acme' } })
})

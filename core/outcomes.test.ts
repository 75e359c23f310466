import { expect, test } from 'vitest'
import type { BucketJob, BucketRecord, JobRecord } from './model.js'
import { planAfterAttempt, planRelocation, type AttemptReport } from './outcomes.js'

const now = new Date('2026-01-01T00:00:00Z')
const job: BucketJob = { id: 'j', bucketId: 'b', definition: 'd', payload: 1, metadata: {}, priority: 'medium', lane: null, scheduledAt: now, timeoutMs: 1000, maxRetries: 2, attempts: 0 }
const policy = { agentConnection: 'a', baseDelayMs: 1000, maxDelayMs: 60_000, lookAheadMs: 600_000, random: () => 1 }
const report = (over: Partial<AttemptReport>): AttemptReport => ({ job, attempt: 1, workerId: 'w', startedAt: now, endedAt: now, outcome: 'Succeeded', error: null, result: null, ...over })

test('success ends the job and removes the agent copy', () => {
  const plan = planAfterAttempt(report({}), now, policy)
  expect(plan.transition).toMatchObject({ status: 'Succeeded', bucketId: null, fromBucketId: 'b', attempts: 1, finishedAt: now })
  expect(plan.agent).toEqual({ kind: 'remove' })
  expect(plan.history).toMatchObject({ jobId: 'j', attempt: 1, outcome: 'Succeeded' })
})

test('a failure with retries left goes back to its bucket after back-off when due within the look-ahead', () => {
  const plan = planAfterAttempt(report({ outcome: 'Failed', error: 'x' }), now, policy)
  expect(plan.transition).toMatchObject({ status: 'AssignedToBucket', bucketId: 'b', agentConnection: 'a', attempts: 1, lastError: 'x' })
  expect(plan.transition.scheduledAt.getTime()).toBe(now.getTime() + 1000)
  expect(plan.agent).toEqual({ kind: 'retry', job: { ...job, attempts: 1, scheduledAt: new Date(now.getTime() + 1000) } })
})

test('a retry due beyond the look-ahead goes to the master', () => {
  const plan = planAfterAttempt(report({ outcome: 'TimedOut' }), now, { ...policy, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 })
  expect(plan.transition).toMatchObject({ status: 'HeldOnMaster', bucketId: null })
  expect(plan.agent).toEqual({ kind: 'remove' })
})

test('the last allowed attempt failing, or a permanent failure, ends Failed', () => {
  expect(planAfterAttempt(report({ outcome: 'Failed', attempt: 3 }), now, policy).transition.status).toBe('Failed')
  expect(planAfterAttempt(report({ outcome: 'Failed', attempt: 1, permanent: true }), now, policy).transition.status).toBe('Failed')
})

test('an interrupted attempt is handed to the master due now', () => {
  const plan = planAfterAttempt(report({ outcome: 'Interrupted' }), now, policy)
  expect(plan.transition).toMatchObject({ status: 'HeldOnMaster', scheduledAt: now })
})

const record: JobRecord = {
  ...job,
  clusterId: 'c',
  status: 'Processing',
  originalScheduledAt: now,
  createdAt: now,
  updatedAt: now,
  attempts: 1,
  agentConnection: 'a',
  bucketId: 'lost',
  workerId: 'dead',
  startedAt: now,
  finishedAt: null,
  idempotencyKey: null,
  lastError: null,
  scheduleId: null,
  occurrenceAt: null,
  skipIfOverlapping: false,
}
const target: BucketRecord = { id: 'live', clusterId: 'c', agentConnection: 'a', priority: 'medium', lane: null, status: 'Active', ownerId: 'w2', createdAt: now, statusChangedAt: now }

test('relocating from a lost bucket records the cut-off attempt and moves the job to a live bucket', () => {
  const plan = planRelocation(record, target, now, 600_000, true)
  expect(plan.history).toMatchObject({ attempt: 1, outcome: 'WorkerLost', workerId: 'dead' })
  expect(plan.transition).toMatchObject({ status: 'AssignedToBucket', bucketId: 'live', fromBucketId: 'lost', attempts: 1 })
  expect(plan.push).toMatchObject({ id: 'j', bucketId: 'live', attempts: 1 })
})

test('a job that keeps killing its worker ends Failed; jobs due later or without a target go to the master', () => {
  expect(planRelocation({ ...record, attempts: 3 }, target, now, 600_000, true).transition.status).toBe('Failed')
  expect(planRelocation(record, null, now, 600_000, true).transition.status).toBe('HeldOnMaster')
  const later = { ...record, status: 'AssignedToBucket' as const, scheduledAt: new Date(now.getTime() + 3_600_000) }
  expect(planRelocation(later, target, now, 600_000, true)).toMatchObject({ history: null, push: null, transition: { status: 'HeldOnMaster' } })
})

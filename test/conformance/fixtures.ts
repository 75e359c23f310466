import { randomUUID } from 'node:crypto'
import type { BucketRecord, ClusterSettings, JobEnvelope, WorkerRecord, BucketJob, Priority, ScheduleRecord } from '../../core/model.js'
import type { NewMasterJob, NewScheduledJob } from '../../core/stores/master.js'

export const CLUSTER = 'conf'

/** Millisecond-exact dates (every store must round-trip milliseconds). */
export function at(offsetMs = 0, base = Date.now()): Date {
  return new Date(Math.floor(base / 1000) * 1000 + offsetMs)
}

export function envelope(overrides: Partial<JobEnvelope> = {}): JobEnvelope {
  return {
    id: randomUUID(),
    definition: 'echo',
    payload: { n: 1, text: 'héllo', nested: { list: [1, 2, 3] } },
    metadata: { tenant: 'acme' },
    priority: 'medium',
    lane: null,
    scheduledAt: at(),
    createdAt: at(),
    timeoutMs: 1000,
    maxRetries: 2,
    idempotencyKey: null,
    ...overrides,
  }
}

export function masterJob(overrides: Partial<JobEnvelope> = {}, placement: Partial<Omit<NewMasterJob, 'envelope'>> = {}): NewMasterJob {
  const e = envelope(overrides)
  return {
    envelope: { ...e, timeoutMs: e.timeoutMs ?? 1000, maxRetries: e.maxRetries ?? 2 },
    status: 'HeldOnMaster',
    bucketId: null,
    agentConnection: null,
    ...placement,
  }
}

export function bucketJob(bucketId: string, overrides: Partial<BucketJob> = {}): BucketJob {
  return {
    id: randomUUID(),
    bucketId,
    definition: 'echo',
    payload: { x: 1 },
    metadata: {},
    priority: 'medium',
    lane: null,
    scheduledAt: at(),
    timeoutMs: 1000,
    maxRetries: 1,
    attempts: 0,
    ...overrides,
  }
}

export function settings(overrides: Partial<ClusterSettings> = {}): ClusterSettings {
  return {
    clusterId: CLUSTER,
    mode: 'Active',
    transientThresholdMs: 600_000,
    defaultJobTimeoutMs: 300_000,
    defaultMaxRetries: 3,
    maxMessageBytes: 131072,
    timeZone: 'UTC',
    dataRetentionMs: 30 * 86_400_000,
    ...overrides,
  }
}

export function worker(overrides: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id: `w-${randomUUID().slice(0, 8)}`,
    clusterId: CLUSTER,
    name: 'conf-worker',
    agentConnection: 'a1',
    lane: null,
    mode: 'Full',
    heartbeatAt: at(),
    startedAt: at(),
    stopRequestedAt: null,
    host: 'test',
    pid: 1,
    ...overrides,
  }
}

export function bucket(ownerId: string | null, overrides: Partial<BucketRecord> = {}): BucketRecord {
  return {
    id: `a1:-:medium:${randomUUID().slice(0, 8)}`,
    clusterId: CLUSTER,
    agentConnection: 'a1',
    priority: 'medium' as Priority,
    lane: null,
    status: 'Active',
    ownerId,
    createdAt: at(),
    statusChangedAt: at(),
    ...overrides,
  }
}

/** A dynamic interval schedule with every field set to something a store must round-trip. */
export function scheduleRecord(overrides: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: randomUUID(),
    clusterId: CLUSTER,
    kind: 'dynamic',
    name: null,
    definition: 'echo',
    everyMs: 60_000,
    cron: null,
    timeZone: null,
    payload: { n: 1, text: 'héllo', nested: { list: [1, 2, 3] } },
    metadata: { tenant: 'acme' },
    priority: 'medium',
    lane: null,
    timeoutMs: null,
    maxRetries: null,
    startAfter: null,
    endBefore: null,
    misfirePolicy: 'run-once',
    overlapPolicy: 'allow',
    status: 'Active',
    coveredUntil: at(),
    createdAt: at(),
    updatedAt: at(),
    statusChangedAt: at(),
    version: 1,
    specHash: null,
    syncedAt: null,
    ...overrides,
  }
}

/** A planned occurrence of `schedule` (or a "run now" when `occurrenceAt` is null). */
export function occurrenceJob(schedule: ScheduleRecord, occurrenceAt: Date | null, overrides: Partial<NewScheduledJob> = {}): NewScheduledJob {
  const runAt = occurrenceAt ?? at()
  return {
    envelope: { ...envelope({ definition: schedule.definition, payload: schedule.payload, metadata: schedule.metadata, scheduledAt: runAt }), timeoutMs: 1000, maxRetries: 2 },
    status: 'HeldOnMaster',
    bucketId: null,
    agentConnection: null,
    scheduleId: schedule.id,
    occurrenceAt,
    skipIfOverlapping: schedule.overlapPolicy === 'skip' && occurrenceAt !== null,
    ...overrides,
  }
}

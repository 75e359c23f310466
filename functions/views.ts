import type { AgentConnectionRecord, AttemptRecord, BucketRecord, ClusterSettings, JobRecord, ScheduleRecord, WorkerRecord } from '../core/model.js'
import { recurrenceOf } from '../core/schedules/recurrence.js'

/** The public shape of a job: stable names, the attempt history beside the attempt count. */
export function jobView(job: JobRecord, attempts?: AttemptRecord[]) {
  return {
    id: job.id,
    definition: job.definition,
    status: job.status,
    priority: job.priority,
    lane: job.lane,
    payload: job.payload,
    metadata: job.metadata,
    scheduledAt: job.scheduledAt,
    originalScheduledAt: job.originalScheduledAt,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    finishedAt: job.finishedAt,
    attemptCount: job.attempts,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    agentConnection: job.agentConnection,
    bucketId: job.bucketId,
    workerId: job.workerId,
    idempotencyKey: job.idempotencyKey,
    lastError: job.lastError,
    scheduleId: job.scheduleId,
    occurrenceAt: job.occurrenceAt,
    ...(attempts ? { attempts: attempts.map(attemptView) } : {}),
  }
}

export function attemptView(a: AttemptRecord) {
  return {
    attempt: a.attempt,
    outcome: a.outcome,
    startedAt: a.startedAt,
    endedAt: a.endedAt,
    durationMs: a.endedAt.getTime() - a.startedAt.getTime(),
    workerId: a.workerId,
    bucketId: a.bucketId,
    error: a.error,
    result: a.result,
  }
}

/** A job in a list: everything but the payload (which may be up to maxMessageBytes). */
export function jobSummaryView(job: JobRecord) {
  const { payload: _payload, ...rest } = jobView(job)
  return rest
}

export function workerView(w: WorkerRecord, now: Date, deadAfterMs: number) {
  const heartbeatAgeMs = Math.max(0, now.getTime() - w.heartbeatAt.getTime())
  return {
    id: w.id,
    name: w.name,
    mode: w.mode,
    agentConnection: w.agentConnection,
    lane: w.lane,
    host: w.host,
    pid: w.pid,
    startedAt: w.startedAt,
    heartbeatAt: w.heartbeatAt,
    heartbeatAgeMs,
    alive: heartbeatAgeMs <= deadAfterMs,
    stopRequestedAt: w.stopRequestedAt,
  }
}

/** `depth`: jobs the agent holds for the bucket; null when this process cannot reach its connection. */
export function bucketView(b: BucketRecord, depth: number | null) {
  return {
    id: b.id,
    agentConnection: b.agentConnection,
    priority: b.priority,
    lane: b.lane,
    status: b.status,
    ownerId: b.ownerId,
    createdAt: b.createdAt,
    statusChangedAt: b.statusChangedAt,
    depth,
  }
}

export function connectionView(c: AgentConnectionRecord, live: { open: boolean; inboxDepth: number | null; buckets: number; queueDepth: number | null }) {
  return {
    name: c.name,
    provider: c.provider,
    fingerprint: c.fingerprint,
    protect: c.protect,
    firstSeenAt: c.firstSeenAt,
    lastSeenAt: c.lastSeenAt,
    deletionDeferredAt: c.deletionDeferredAt,
    ...live,
  }
}

/**
 * The public shape of a schedule. `nextRunAt`: its next occurrence from now (null unless Active,
 * or when none remains); `timeZone` is its own, `effectiveTimeZone` what its cron expression uses.
 */
export function scheduleView(s: ScheduleRecord, clusterTimeZone: string, now: Date) {
  const effectiveTimeZone = s.cron === null ? null : (s.timeZone ?? clusterTimeZone)
  let nextRunAt: Date | null = null
  if (s.status === 'Active') {
    const from = s.startAfter && s.startAfter.getTime() > now.getTime() ? s.startAfter : now
    const next = recurrenceOf(s, clusterTimeZone).next(from)
    nextRunAt = next && (!s.endBefore || next.getTime() < s.endBefore.getTime()) ? next : null
  }
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    status: s.status,
    definition: s.definition,
    every: s.everyMs,
    cron: s.cron,
    timeZone: s.timeZone,
    effectiveTimeZone,
    payload: s.payload,
    metadata: s.metadata,
    priority: s.priority,
    lane: s.lane,
    timeoutMs: s.timeoutMs,
    maxRetries: s.maxRetries,
    startAfter: s.startAfter,
    endBefore: s.endBefore,
    misfire: s.misfirePolicy,
    overlap: s.overlapPolicy,
    nextRunAt,
    plannedUntil: s.coveredUntil,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    statusChangedAt: s.statusChangedAt,
    syncedAt: s.syncedAt,
  }
}

export function clusterView(s: ClusterSettings) {
  return {
    clusterId: s.clusterId,
    mode: s.mode,
    transientThresholdMs: s.transientThresholdMs,
    defaultJobTimeoutMs: s.defaultJobTimeoutMs,
    defaultMaxRetries: s.defaultMaxRetries,
    maxMessageBytes: s.maxMessageBytes,
    timeZone: s.timeZone,
    dataRetentionMs: s.dataRetentionMs,
  }
}

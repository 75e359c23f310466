import type { AttemptRecord, JobRecord } from '../core/model.js'

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

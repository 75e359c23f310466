import { IN_BUCKET_STATUSES, type AttemptOutcome, type AttemptRecord, type BucketJob, type BucketRecord, type JobRecord } from './model.js'
import { hasRetriesLeft, retryDelay } from './retry.js'
import type { JobTransition } from './stores/master.js'

export interface AttemptReport {
  job: BucketJob
  attempt: number
  workerId: string
  startedAt: Date
  endedAt: Date
  outcome: AttemptOutcome
  error: string | null
  result: unknown
  /** The failure cannot succeed on retry (payload no longer matches its schema). */
  permanent?: boolean
  /** Whether the agent holds a copy to settle (false for jobs handed over in memory by ingest). */
  inAgent?: boolean
}

export interface RetryPolicy {
  /** The connection the bucket lives on (a retry stays on it). */
  agentConnection: string
  baseDelayMs: number
  maxDelayMs: number
  /** A retry due within this window goes straight back to the same bucket. */
  lookAheadMs: number
  random?: () => number
}

export interface AttemptPlan {
  transition: JobTransition
  history: AttemptRecord
  /** What the agent must do with the bucket's copy. */
  agent: { kind: 'remove' } | { kind: 'retry'; job: BucketJob }
}

/**
 * After an attempt: Succeeded ends the job; a failure with retries left goes back to its bucket
 * (due soon) or to the master (due later) after back-off; Interrupted and WorkerLost retry at
 * once (not the handler's fault, but they count, so a job that kills its worker ends Failed);
 * Cancelled only records history (the job is already Cancelled in the master).
 */
export function planAfterAttempt(r: AttemptReport, now: Date, policy: RetryPolicy): AttemptPlan {
  const { job } = r
  const history: AttemptRecord = {
    jobId: job.id,
    attempt: r.attempt,
    workerId: r.workerId,
    bucketId: job.bucketId,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    outcome: r.outcome,
    error: r.error,
    result: r.result,
  }
  const base = {
    id: job.id,
    fromBucketId: job.bucketId,
    fromStatuses: IN_BUCKET_STATUSES,
    attempts: r.attempt,
    lastError: r.error,
  }
  const end = (status: 'Succeeded' | 'Failed' | 'Cancelled'): AttemptPlan => ({
    transition: { ...base, status, bucketId: null, agentConnection: null, scheduledAt: job.scheduledAt, finishedAt: r.endedAt },
    history,
    agent: { kind: 'remove' },
  })
  if (r.outcome === 'Succeeded') return end('Succeeded')
  if (r.outcome === 'Cancelled') return end('Cancelled')
  if (r.permanent || !hasRetriesLeft(r.attempt, job.maxRetries)) return end('Failed')

  const immediate = r.outcome === 'Interrupted' || r.outcome === 'WorkerLost'
  const at = new Date(now.getTime() + (immediate ? 0 : retryDelay(r.attempt, policy.baseDelayMs, policy.maxDelayMs, policy.random)))
  if (!immediate && at.getTime() <= now.getTime() + policy.lookAheadMs) {
    const again: BucketJob = { ...job, scheduledAt: at, attempts: r.attempt }
    return {
      transition: { ...base, status: 'AssignedToBucket', bucketId: job.bucketId, agentConnection: policy.agentConnection, scheduledAt: at, finishedAt: null },
      history,
      agent: { kind: 'retry', job: again },
    }
  }
  // Interrupted work is handed to the master, due now: the coordinator routes it to a live bucket.
  return {
    transition: { ...base, status: 'HeldOnMaster', bucketId: null, agentConnection: null, scheduledAt: at, finishedAt: null },
    history,
    agent: { kind: 'remove' },
  }
}

type BucketSource = Pick<JobRecord, 'id' | 'definition' | 'payload' | 'metadata' | 'priority' | 'lane' | 'scheduledAt' | 'timeoutMs' | 'maxRetries'> & {
  attempts?: number
}

/** The bucket copy of a job (what an owner needs to run it without asking the master). */
export function toBucketJob(job: BucketSource, bucketId: string, scheduledAt = job.scheduledAt): BucketJob {
  return {
    id: job.id,
    bucketId,
    definition: job.definition,
    payload: job.payload,
    metadata: job.metadata,
    priority: job.priority,
    lane: job.lane,
    scheduledAt,
    timeoutMs: job.timeoutMs,
    maxRetries: job.maxRetries,
    attempts: job.attempts ?? 0,
  }
}

export interface RelocationPlan {
  transition: JobTransition
  history: AttemptRecord | null
  push: BucketJob | null
}

/**
 * Move a job out of a bucket that is being drained or handed back. A job recorded as Processing
 * in a lost bucket was running when its worker died: that attempt is recorded as WorkerLost and
 * counts. Due-soon jobs go to `target` (another active bucket of the same connection, lane and
 * priority); the rest, or all when there is no target, go back to HeldOnMaster.
 */
export function planRelocation(job: JobRecord, target: BucketRecord | null, now: Date, lookAheadMs: number, lost: boolean): RelocationPlan {
  const attempts = job.attempts
  let history: AttemptRecord | null = null
  let failed = false
  if (lost && job.status === 'Processing') {
    history = {
      jobId: job.id,
      attempt: job.attempts,
      workerId: job.workerId,
      bucketId: job.bucketId,
      startedAt: job.startedAt ?? job.updatedAt,
      endedAt: now,
      outcome: 'WorkerLost',
      error: 'the worker running this attempt stopped heartbeating',
      result: null,
    }
    failed = !hasRetriesLeft(job.attempts, job.maxRetries)
  }
  const base = { id: job.id, fromBucketId: job.bucketId, fromStatuses: IN_BUCKET_STATUSES, attempts, lastError: history?.error ?? null }
  if (failed) {
    return {
      transition: { ...base, status: 'Failed', bucketId: null, agentConnection: null, scheduledAt: job.scheduledAt, finishedAt: now },
      history,
      push: null,
    }
  }
  const dueSoon = job.scheduledAt.getTime() <= now.getTime() + lookAheadMs
  if (target && dueSoon) {
    return {
      transition: { ...base, status: 'AssignedToBucket', bucketId: target.id, agentConnection: target.agentConnection, scheduledAt: job.scheduledAt, finishedAt: null },
      history,
      push: { ...toBucketJob(job, target.id), attempts },
    }
  }
  return {
    transition: { ...base, status: 'HeldOnMaster', bucketId: null, agentConnection: null, scheduledAt: job.scheduledAt, finishedAt: null },
    history,
    push: null,
  }
}

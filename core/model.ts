/**
 * The domain model: priorities, statuses, and the records the stores exchange.
 * Times are JavaScript Dates (UTC instants); durations are milliseconds.
 */

export const PRIORITIES = ['very-low', 'low', 'medium', 'high', 'critical'] as const
export type Priority = (typeof PRIORITIES)[number]

/** Base run capacity per bucket; multiplied by the worker's parallelism factor. */
export const BASE_RUN_CAPACITY: Record<Priority, number> = {
  'very-low': 2,
  low: 3,
  medium: 4,
  high: 5,
  critical: 6,
}

/** Stored as small integers so an index orders by priority. */
export const PRIORITY_RANK: Record<Priority, number> = { 'very-low': 1, low: 2, medium: 3, high: 4, critical: 5 }
export function priorityFromRank(rank: number): Priority {
  const found = PRIORITIES[rank - 1]
  if (!found) throw new Error(`invalid priority rank ${rank}`)
  return found
}

export const JOB_STATUSES = [
  'SavePending',
  'HeldOnMaster',
  'AssignedToBucket',
  'Queued',
  'Processing',
  'Succeeded',
  'Failed',
  'Cancelled',
] as const
export type JobStatus = (typeof JOB_STATUSES)[number]
export const TERMINAL_STATUSES: readonly JobStatus[] = ['Succeeded', 'Failed', 'Cancelled']
/** Statuses in which a job belongs to a bucket (its owner may be holding it). */
export const IN_BUCKET_STATUSES: readonly JobStatus[] = ['AssignedToBucket', 'Queued', 'Processing']

export const BUCKET_STATUSES = ['Active', 'Completing', 'Lost', 'Draining', 'ReadyToDelete'] as const
export type BucketStatus = (typeof BUCKET_STATUSES)[number]

export const WORKER_MODES = ['Full', 'Coordinator', 'Execution', 'Drain'] as const
export type WorkerMode = (typeof WORKER_MODES)[number]

export const CLUSTER_MODES = ['Active', 'Passive', 'Archive'] as const
export type ClusterMode = (typeof CLUSTER_MODES)[number]

/** What a worker mode does (SPEC §3, worker table). */
export const MODE_DUTIES: Record<WorkerMode, { coordinate: boolean; execute: boolean; report: boolean; drain: boolean }> = {
  Full: { coordinate: true, execute: true, report: true, drain: true },
  Coordinator: { coordinate: true, execute: false, report: false, drain: true },
  Execution: { coordinate: false, execute: true, report: true, drain: false },
  Drain: { coordinate: false, execute: false, report: true, drain: true },
}

export const ATTEMPT_OUTCOMES = ['Succeeded', 'Failed', 'TimedOut', 'Cancelled', 'Interrupted', 'WorkerLost'] as const
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number]

/**
 * A job as producers write it and agents carry it to the master. `timeoutMs` / `maxRetries`
 * may be null: the cluster default applies when the job reaches the master.
 */
export interface JobEnvelope {
  id: string
  definition: string
  payload: unknown
  metadata: Record<string, string>
  priority: Priority
  lane: string | null
  scheduledAt: Date
  createdAt: Date
  timeoutMs: number | null
  maxRetries: number | null
  idempotencyKey: string | null
}

/** A job in a bucket: everything its owner needs to run it, without asking the master. */
export interface BucketJob {
  id: string
  bucketId: string
  definition: string
  payload: unknown
  metadata: Record<string, string>
  priority: Priority
  lane: string | null
  scheduledAt: Date
  timeoutMs: number
  maxRetries: number
  /** Attempts already started before this delivery (0 on the first run). */
  attempts: number
}

/** The master's record of a job. */
export interface JobRecord {
  id: string
  clusterId: string
  definition: string
  status: JobStatus
  priority: Priority
  lane: string | null
  payload: unknown
  metadata: Record<string, string>
  scheduledAt: Date
  originalScheduledAt: Date
  createdAt: Date
  updatedAt: Date
  attempts: number
  maxRetries: number
  timeoutMs: number
  agentConnection: string | null
  bucketId: string | null
  workerId: string | null
  startedAt: Date | null
  finishedAt: Date | null
  idempotencyKey: string | null
  lastError: string | null
}

export interface AttemptRecord {
  jobId: string
  attempt: number
  workerId: string | null
  bucketId: string | null
  startedAt: Date
  endedAt: Date
  outcome: AttemptOutcome
  error: string | null
  result: unknown
}

export interface BucketRecord {
  id: string
  clusterId: string
  agentConnection: string
  priority: Priority
  lane: string | null
  status: BucketStatus
  ownerId: string | null
  createdAt: Date
  statusChangedAt: Date
}

export interface WorkerRecord {
  id: string
  clusterId: string
  name: string
  agentConnection: string | null
  lane: string | null
  mode: WorkerMode
  heartbeatAt: Date
  startedAt: Date
  stopRequestedAt: Date | null
  host: string
  pid: number
}

export interface AgentConnectionRecord {
  clusterId: string
  name: string
  provider: string
  fingerprint: string
  protect: boolean
  firstSeenAt: Date
  lastSeenAt: Date
  /** Set when a run-time protection rule first postponed deleting the record. */
  deletionDeferredAt: Date | null
}

/** Settings shared by the whole cluster, stored in the master (SPEC §6). */
export interface ClusterSettings {
  clusterId: string
  mode: ClusterMode
  transientThresholdMs: number
  defaultJobTimeoutMs: number
  defaultMaxRetries: number
  maxMessageBytes: number
  timeZone: string
  /** null keeps finished jobs forever. */
  dataRetentionMs: number | null
}

export function laneKey(lane: string | null): string {
  return lane ?? ''
}

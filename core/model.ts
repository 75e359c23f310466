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
  /** The recurring schedule that created this job (null for jobs enqueued directly). */
  scheduleId: string | null
  /** The planned occurrence it runs; unique per schedule. Null for a "run now" of a schedule. */
  occurrenceAt: Date | null
  /** Handed to a bucket only once due, and skipped if its schedule's previous run is not finished (overlap policy `skip`). */
  skipIfOverlapping: boolean
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

export const SCHEDULE_STATUSES = ['Active', 'Paused', 'Cancelled', 'Completed', 'Inactive'] as const
export type ScheduleStatus = (typeof SCHEDULE_STATUSES)[number]

/** Static schedules are declared in code and synced at start-up; dynamic ones are created through the API. */
export const SCHEDULE_KINDS = ['static', 'dynamic'] as const
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number]

/**
 * What happens to occurrences that were due while no coordinator planned them (downtime, a
 * Passive cluster): `run-once` runs one catch-up for all of them, `skip` runs none (unless the
 * latest is only a few seconds late), `run-all` runs each of them (at most the latest 100).
 */
export const MISFIRE_POLICIES = ['run-once', 'skip', 'run-all'] as const
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number]

/** `skip`: an occurrence does not start while the schedule's previous run is not finished. */
export const OVERLAP_POLICIES = ['allow', 'skip'] as const
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number]

/**
 * What a schedule runs and when, as stored. Defaults of the job definition are resolved when the
 * schedule is created (so the coordinator needs no definitions); a null timeout or retry count
 * takes the cluster's default when an occurrence is planned.
 */
export interface ScheduleSpec {
  /** Static schedules: the name they are declared under (their identity). Dynamic: an optional label. */
  name: string | null
  definition: string
  /** Exactly one of everyMs and cron is set. */
  everyMs: number | null
  /** 5 fields, or 6 with seconds first. */
  cron: string | null
  /** IANA zone of the cron expression; null: the cluster's. */
  timeZone: string | null
  payload: unknown
  metadata: Record<string, string>
  priority: Priority
  lane: string | null
  timeoutMs: number | null
  maxRetries: number | null
  /** Occurrences are strictly after startAfter and strictly before endBefore. */
  startAfter: Date | null
  endBefore: Date | null
  misfirePolicy: MisfirePolicy
  overlapPolicy: OverlapPolicy
}

export interface ScheduleRecord extends ScheduleSpec {
  id: string
  clusterId: string
  kind: ScheduleKind
  status: ScheduleStatus
  /** Every occurrence up to this instant has been planned (created as a job, or skipped by the misfire policy). */
  coveredUntil: Date
  createdAt: Date
  updatedAt: Date
  statusChangedAt: Date
  /** Raised by every change; changes are compare-and-set on it. */
  version: number
  /** Static schedules: hash of the declared spec, to notice when the code changed it. */
  specHash: string | null
  /** Static schedules: start time of the newest process that synced it (older code is ignored). */
  syncedAt: Date | null
}

export function laneKey(lane: string | null): string {
  return lane ?? ''
}

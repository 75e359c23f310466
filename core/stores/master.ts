import type {
  AgentConnectionRecord,
  AttemptRecord,
  BucketRecord,
  BucketStatus,
  ClusterSettings,
  JobEnvelope,
  JobRecord,
  JobStatus,
  ScheduleKind,
  ScheduleRecord,
  ScheduleStatus,
  WorkerRecord,
} from '../model.js'

/** A job written to the master by ingest: the envelope with defaults resolved, and where it goes. */
export interface NewMasterJob {
  envelope: JobEnvelope & { timeoutMs: number; maxRetries: number }
  status: 'HeldOnMaster' | 'AssignedToBucket'
  bucketId: string | null
  agentConnection: string | null
}

/** An occurrence of a schedule (or a "run now" of it) planned into the master. */
export interface NewScheduledJob extends NewMasterJob {
  status: 'HeldOnMaster'
  scheduleId: string
  /** Unique per schedule: a second plan of the same occurrence inserts nothing. Null for a "run now". */
  occurrenceAt: Date | null
  skipIfOverlapping: boolean
}

export interface ScheduleListFilter {
  status?: ScheduleStatus
  kind?: ScheduleKind
}

/** Why a withdrawn occurrence (see updateSchedule) ended Cancelled. */
export const WITHDRAWN_OCCURRENCE_ERROR = 'withdrawn before it started: its schedule was paused, cancelled, retired or changed'

/** What a guarded schedule update did. */
export interface ScheduleUpdate {
  applied: boolean
  /**
   * With `withdrawOccurrences`: planned occurrences that were already in a bucket and had not
   * started, now Cancelled (as they were before), so their bucket owners can be told to drop them.
   */
  cancelled: JobRecord[]
}

/** The bucket owner took a job into memory (Queued) or started it (Processing). */
export interface JobMark {
  id: string
  bucketId: string
  status: 'Queued' | 'Processing'
  /** The attempt being run (1-based); only raises the stored count. */
  attempt: number
  workerId: string
  at: Date
}

/**
 * A guarded change of a job's state. It applies only if the job is still in `fromBucketId`
 * (null: in no bucket) and in one of `fromStatuses`: this compare-and-set is what keeps two
 * reapers, a stale owner and a coordinator from acting on the same job twice.
 */
export interface JobTransition {
  id: string
  fromBucketId: string | null
  fromStatuses: readonly JobStatus[]
  status: JobStatus
  bucketId: string | null
  agentConnection: string | null
  scheduledAt: Date
  attempts: number
  finishedAt: Date | null
  /** null keeps the stored value. */
  lastError: string | null
}

export interface JobListFilter {
  status?: JobStatus
  definition?: string
  /** null: the default lane only. */
  lane?: string | null
  bucketId?: string
  scheduleId?: string
  /** Every pair must match. */
  metadata?: Record<string, string>
  createdFrom?: Date
  createdTo?: Date
}

/** Keyset position: newest first, ties broken by id. */
export interface JobCursor {
  createdAt: Date
  id: string
}

/**
 * The master store: source of truth and audit trail. Every method is one batched statement
 * (or one short transaction); nothing on it is per job on the hot path.
 */
export interface MasterStore {
  readonly provider: string
  /** SQL statements sent so far (the master-load benchmark divides this by jobs). */
  readonly statementCount: number

  provision(): Promise<void>
  /** The DDL `provision` runs, for operators who disable auto-provisioning. */
  schemaSql(): string
  close(): Promise<void>

  // ---- cluster settings
  /** Create the record if absent (or overwrite when asked); return what is stored. */
  initCluster(settings: ClusterSettings, overwrite: boolean, now: Date): Promise<ClusterSettings>
  getCluster(clusterId: string): Promise<ClusterSettings | null>
  updateCluster(settings: ClusterSettings, now: Date): Promise<void>

  // ---- jobs
  /** Multi-row insert; returns the ids that were new (a re-delivered inbox message inserts nothing). */
  insertJobs(clusterId: string, jobs: NewMasterJob[], now: Date): Promise<string[]>
  markJobs(marks: JobMark[], now: Date): Promise<void>
  /** Apply guarded transitions and record attempts; returns the ids whose transition applied. */
  transitionJobs(transitions: JobTransition[], attempts: AttemptRecord[], now: Date): Promise<string[]>
  /**
   * Claim up to `limit` HeldOnMaster jobs due before `dueBefore` for `claimMs` (skip-locked, so
   * concurrent coordinators get disjoint sets); the caller then transitions them.
   */
  claimDueHeldJobs(clusterId: string, dueBefore: Date, limit: number, claimMs: number, now: Date): Promise<JobRecord[]>
  /** Non-terminal jobs recorded in a bucket (the drain and hand-back source of truth). */
  jobsInBucket(bucketId: string, limit: number): Promise<JobRecord[]>
  /** Jobs in a bucket status whose bucket is gone or retired, or AssignedToBucket and overdue by `overdueMs`. */
  findStrandedJobs(clusterId: string, now: Date, overdueMs: number, limit: number): Promise<{ orphaned: JobRecord[]; overdue: JobRecord[] }>
  /** Cancel a non-terminal job; returns its record as it was before, or null if none could be cancelled. */
  cancelJob(clusterId: string, id: string, now: Date): Promise<JobRecord | null>
  getJob(clusterId: string, id: string): Promise<JobRecord | null>
  getJobs(clusterId: string, ids: string[]): Promise<JobRecord[]>
  listAttempts(clusterId: string, jobId: string): Promise<AttemptRecord[]>
  countJobs(clusterId: string, filter: JobListFilter): Promise<number>
  /** Newest first; pass the last row's (createdAt, id) as `after` for the next page. */
  listJobs(clusterId: string, filter: JobListFilter, limit: number, after?: JobCursor): Promise<JobRecord[]>
  countJobsByStatus(clusterId: string): Promise<Partial<Record<JobStatus, number>>>
  /** Delete finished jobs (and their attempts) that ended before `before`. */
  purgeFinishedJobs(clusterId: string, before: Date, limit: number): Promise<number>

  // ---- recurring schedules
  /** Insert schedules that do not exist yet (by id); returns the ids that were new. */
  insertSchedules(schedules: ScheduleRecord[]): Promise<string[]>
  getSchedule(clusterId: string, id: string): Promise<ScheduleRecord | null>
  /** Ordered by name, then creation. */
  listSchedules(clusterId: string, filter: ScheduleListFilter, limit: number): Promise<ScheduleRecord[]>
  /**
   * Claim up to `limit` Active schedules covered only up to before `coverBefore`, for `claimMs`
   * (skip-locked, so concurrent planners get disjoint sets), those covered least far first.
   */
  claimDueSchedules(clusterId: string, coverBefore: Date, limit: number, claimMs: number, now: Date): Promise<ScheduleRecord[]>
  /**
   * Write `next` (every field but id, cluster, kind, creation) if the stored version is still
   * `expectVersion`; the version goes up by one and any claim ends. With `withdrawOccurrences`,
   * in the same transaction: planned occurrences still HeldOnMaster are deleted, and those in a
   * bucket that have not started (AssignedToBucket, Queued) are Cancelled; both release their
   * occurrence time so it can be planned again.
   */
  updateSchedule(next: ScheduleRecord, expectVersion: number, options: { withdrawOccurrences: boolean }, now: Date): Promise<ScheduleUpdate>
  /**
   * Atomically: write `next` if the stored version is still `expectVersion` (as updateSchedule),
   * and insert `jobs`, skipping an occurrence the schedule already has (unique on schedule and
   * occurrence time). Returns the ids inserted, or null when the version no longer matched
   * (nothing is written then).
   */
  commitSchedulePlan(next: ScheduleRecord, expectVersion: number, jobs: NewScheduledJob[], now: Date): Promise<string[] | null>
  /**
   * Overlap policy `skip`: for each entry, make `jobId` its schedule's live run, unless another
   * run of that schedule is live (not yet Succeeded, Failed or Cancelled). One entry per schedule.
   * Returns the job ids that are now live.
   */
  claimOverlapSlots(clusterId: string, entries: Array<{ scheduleId: string; jobId: string }>): Promise<string[]>

  // ---- workers
  registerWorker(worker: WorkerRecord): Promise<void>
  /** Returns null when the worker record is gone (it was declared dead). */
  heartbeat(workerId: string, now: Date): Promise<{ stopRequested: boolean } | null>
  listWorkers(clusterId: string): Promise<WorkerRecord[]>
  /** Delete workers silent since `heartbeatBefore`; returns their ids. */
  reapDeadWorkers(clusterId: string, heartbeatBefore: Date): Promise<string[]>
  deleteWorker(workerId: string): Promise<void>
  requestWorkerStop(workerId: string, now: Date): Promise<boolean>

  // ---- buckets
  createBuckets(buckets: BucketRecord[]): Promise<void>
  listBuckets(clusterId: string, filter?: { statuses?: readonly BucketStatus[]; agentConnection?: string }): Promise<BucketRecord[]>
  getBucket(bucketId: string): Promise<BucketRecord | null>
  /**
   * Compare-and-set a bucket's status: applies only if it is in one of `from` and (when given)
   * owned by `expectOwner`. `owner` sets the new owner (undefined keeps it).
   */
  transitionBucket(bucketId: string, change: { from: readonly BucketStatus[]; expectOwner?: string | null; to: BucketStatus; owner?: string | null }, now: Date): Promise<boolean>
  /**
   * Mark Lost every Active/Completing bucket whose owner no longer exists, and every Draining one
   * whose drain started before `drainStaleBefore` (its drainer died mid-way).
   */
  markOrphanedBucketsLost(clusterId: string, drainStaleBefore: Date, now: Date): Promise<string[]>
  deleteBucket(bucketId: string, expectStatus: BucketStatus): Promise<boolean>

  // ---- agent connections
  getAgentConnection(clusterId: string, name: string): Promise<AgentConnectionRecord | null>
  listAgentConnections(clusterId: string): Promise<AgentConnectionRecord[]>
  upsertAgentConnection(record: AgentConnectionRecord): Promise<void>
  deleteAgentConnection(clusterId: string, name: string): Promise<void>
}

import type { ClusterContext } from './cluster.js'
import { ClusterModeError, JobMasterError, NotFoundError } from './errors.js'
import type { ClusterMode, ClusterSettings, JobRecord, JobStatus, ScheduleRecord, ScheduleStatus, WorkerRecord } from './model.js'
import { scheduledJob } from './schedules/plan.js'
import type { JobTransition } from './stores/master.js'

/**
 * Management operations: what an operator may do to a running cluster (cancel, retry,
 * reschedule, stop a worker, change the cluster mode; pause, resume, cancel and run a schedule). Each is a guarded change in the master,
 * plus a signal to the bucket owner where the agent holds a copy. No HTTP here: the management
 * API calls these, and so can code.
 */

/** The operation does not apply to the target's current state (HTTP 409). */
export class OperationConflictError extends JobMasterError {
  override name = 'OperationConflictError'
  constructor(
    readonly target: string,
    readonly currentStatus: string | null,
    message: string,
  ) {
    super(message)
  }
}

/** Statuses in which a job has not started yet, so it can still be moved in time. */
export const RESCHEDULABLE_STATUSES: readonly JobStatus[] = ['HeldOnMaster', 'AssignedToBucket', 'Queued']

export interface JobOperationResult {
  job: JobRecord
  previousStatus: JobStatus
  /**
   * Whether the bucket owner was told to drop its copy (null: the job was in no bucket). False
   * means the agent could not be reached: the owner may still run that copy once, and its result
   * is then discarded because the master no longer places the job in that bucket.
   */
  ownerNotified: boolean | null
}

/** Archive mode is read-only: refuse job changes (mode and worker operations stay allowed). */
async function refuseInArchive(ctx: ClusterContext, operation: string): Promise<void> {
  const settings = await ctx.refreshSettings()
  if (settings.mode === 'Archive') throw new ClusterModeError('Archive', operation)
}

async function requireJob(ctx: ClusterContext, jobId: string): Promise<JobRecord> {
  const job = await ctx.master.getJob(ctx.clusterId, jobId)
  if (!job) throw new NotFoundError('job', jobId)
  return job
}

/** Drop the agent copy of a job and stop its owner from running it (or abort it if running). */
export async function signalBucketOwner(ctx: ClusterContext, job: JobRecord): Promise<boolean | null> {
  if (!job.bucketId || !job.agentConnection) return null
  const agent = ctx.agents.get(job.agentConnection)
  if (!agent) {
    ctx.logger.warn({ jobId: job.id, connection: job.agentConnection }, 'agent connection not open in this process; its bucket owner was not signalled')
    return false
  }
  try {
    await agent.signalCancel(job.bucketId, job.id)
    return true
  } catch (error) {
    ctx.logger.warn({ err: error, jobId: job.id, connection: job.agentConnection }, 'could not signal the bucket owner')
    return false
  }
}

/** Cancel a job that has not finished: the master first, then its bucket owner (which aborts a running handler). */
export async function cancelJob(ctx: ClusterContext, jobId: string): Promise<JobOperationResult> {
  await refuseInArchive(ctx, 'cancel')
  const before = await ctx.master.cancelJob(ctx.clusterId, jobId, ctx.clock.now())
  if (!before) {
    const job = await requireJob(ctx, jobId)
    throw new OperationConflictError(`job/${jobId}`, job.status, `job ${jobId} is already ${job.status}`)
  }
  const ownerNotified = await signalBucketOwner(ctx, before)
  return { job: await requireJob(ctx, jobId), previousStatus: before.status, ownerNotified }
}

/**
 * Run a Failed job once more: back to HeldOnMaster, due now; the coordinator routes it. The
 * attempt count is kept, so the new attempt is its last unless it succeeds.
 */
export async function retryFailedJob(ctx: ClusterContext, jobId: string): Promise<JobOperationResult> {
  await refuseInArchive(ctx, 'retry')
  const job = await requireJob(ctx, jobId)
  if (job.status !== 'Failed') {
    throw new OperationConflictError(`job/${jobId}`, job.status, `only a Failed job can be retried; job ${jobId} is ${job.status}`)
  }
  const now = ctx.clock.now()
  const transition: JobTransition = {
    id: job.id,
    fromBucketId: null,
    fromStatuses: ['Failed'],
    status: 'HeldOnMaster',
    bucketId: null,
    agentConnection: null,
    scheduledAt: now,
    attempts: job.attempts,
    finishedAt: null,
    lastError: null,
  }
  const applied = await ctx.master.transitionJobs([transition], [], now)
  if (applied.length === 0) throw changedMeanwhile(jobId)
  return { job: await requireJob(ctx, jobId), previousStatus: job.status, ownerNotified: null }
}

/**
 * Move a job that has not started to a new time: back to HeldOnMaster at `runAt` (the
 * coordinator routes it when it comes within the look-ahead). The change is guarded on the job
 * being where we read it, so a job that started meanwhile is not moved (conflict). A job taken
 * from a bucket has its agent copy dropped; should its owner have started it in the instant
 * between, that run is aborted and recorded Cancelled, and the job still runs at `runAt`.
 */
export async function rescheduleJob(ctx: ClusterContext, jobId: string, runAt: Date): Promise<JobOperationResult> {
  await refuseInArchive(ctx, 'reschedule')
  const job = await requireJob(ctx, jobId)
  if (!RESCHEDULABLE_STATUSES.includes(job.status)) {
    throw new OperationConflictError(
      `job/${jobId}`,
      job.status,
      `only a job that has not started can be rescheduled (${RESCHEDULABLE_STATUSES.join(', ')}); job ${jobId} is ${job.status}`,
    )
  }
  const now = ctx.clock.now()
  const transition: JobTransition = {
    id: job.id,
    fromBucketId: job.bucketId,
    fromStatuses: [job.status],
    status: 'HeldOnMaster',
    bucketId: null,
    agentConnection: null,
    scheduledAt: runAt,
    attempts: job.attempts,
    finishedAt: null,
    lastError: null,
  }
  const applied = await ctx.master.transitionJobs([transition], [], now)
  if (applied.length === 0) throw changedMeanwhile(jobId)
  const ownerNotified = await signalBucketOwner(ctx, job)
  return { job: await requireJob(ctx, jobId), previousStatus: job.status, ownerNotified }
}

function changedMeanwhile(jobId: string): OperationConflictError {
  return new OperationConflictError(`job/${jobId}`, null, `job ${jobId} changed while the operation ran (it may have started); reload it and try again`)
}

/** Ask a worker to stop gracefully; it sees the request on its next heartbeat. */
export async function requestWorkerStop(ctx: ClusterContext, workerId: string): Promise<WorkerRecord> {
  const find = async () => (await ctx.master.listWorkers(ctx.clusterId)).find((w) => w.id === workerId)
  // requestWorkerStop is keyed by worker id alone: check the worker belongs to this cluster first.
  if (!(await find()) || !(await ctx.master.requestWorkerStop(workerId, ctx.clock.now()))) throw new NotFoundError('worker', workerId)
  const worker = await find()
  if (!worker) throw new NotFoundError('worker', workerId)
  return worker
}

/** Change the cluster mode stored in the master; workers pick it up on their next settings refresh. */
export async function changeClusterMode(ctx: ClusterContext, mode: ClusterMode): Promise<{ previousMode: ClusterMode; settings: ClusterSettings }> {
  const current = await ctx.master.getCluster(ctx.clusterId)
  if (!current) throw new NotFoundError('cluster', ctx.clusterId)
  const settings = { ...current, mode }
  await ctx.master.updateCluster(settings, ctx.clock.now())
  await ctx.refreshSettings()
  return { previousMode: current.mode, settings }
}

// ---- recurring schedules

export interface ScheduleOperationResult {
  schedule: ScheduleRecord
  previousStatus: ScheduleStatus
  /** Planned occurrences already in a bucket, not started, now Cancelled (those still in the master are deleted). */
  withdrawnFromBuckets: number
  /** Of those, how many bucket owners could not be told: each may still run its copy once. */
  ownersNotNotified: number
}

/** A concurrent change (the planner committing, another operator) is retried this many times. */
const SCHEDULE_ATTEMPTS = 3

async function requireSchedule(ctx: ClusterContext, scheduleId: string): Promise<ScheduleRecord> {
  const schedule = await ctx.master.getSchedule(ctx.clusterId, scheduleId)
  if (!schedule) throw new NotFoundError('schedule', scheduleId)
  return schedule
}

/**
 * A guarded change of a schedule: allowed only from `from` (a conflict otherwise), written
 * compare-and-set on its version, with its planned occurrences withdrawn in the same transaction
 * when asked; the owners of withdrawn ones already in a bucket are told to drop them.
 */
async function changeSchedule(
  ctx: ClusterContext,
  scheduleId: string,
  operation: string,
  from: readonly ScheduleStatus[],
  change: (current: ScheduleRecord, now: Date) => ScheduleRecord,
  withdrawOccurrences: boolean,
): Promise<ScheduleOperationResult> {
  await refuseInArchive(ctx, operation)
  for (let attempt = 1; attempt <= SCHEDULE_ATTEMPTS; attempt++) {
    const current = await requireSchedule(ctx, scheduleId)
    if (!from.includes(current.status)) {
      throw new OperationConflictError(`schedule/${scheduleId}`, current.status, `${operation} applies to a schedule that is ${from.join(' or ')}; schedule ${scheduleId} is ${current.status}`)
    }
    const now = ctx.clock.now()
    const update = await ctx.master.updateSchedule(change(current, now), current.version, { withdrawOccurrences }, now)
    if (!update.applied) continue
    const notified = await Promise.all(update.cancelled.map((job) => signalBucketOwner(ctx, job)))
    return {
      schedule: await requireSchedule(ctx, scheduleId),
      previousStatus: current.status,
      withdrawnFromBuckets: update.cancelled.length,
      ownersNotNotified: notified.filter((n) => n === false).length,
    }
  }
  throw scheduleChangedMeanwhile(scheduleId)
}

function scheduleChangedMeanwhile(scheduleId: string): OperationConflictError {
  return new OperationConflictError(`schedule/${scheduleId}`, null, `schedule ${scheduleId} kept changing while the operation ran; reload it and try again`)
}

/** Stop planning a schedule; occurrences planned and not started are withdrawn (a running one finishes). */
export function pauseSchedule(ctx: ClusterContext, scheduleId: string): Promise<ScheduleOperationResult> {
  return changeSchedule(ctx, scheduleId, 'pause', ['Active'], (s, now) => ({ ...s, status: 'Paused', statusChangedAt: now }), true)
}

/** Plan a paused schedule again, from now: occurrences that fell in the pause are not caught up. */
export function resumeSchedule(ctx: ClusterContext, scheduleId: string): Promise<ScheduleOperationResult> {
  return changeSchedule(
    ctx,
    scheduleId,
    'resume',
    ['Paused'],
    (s, now) => ({ ...s, status: 'Active', statusChangedAt: now, coveredUntil: s.startAfter && s.startAfter.getTime() > now.getTime() ? s.startAfter : now }),
    false,
  )
}

/**
 * End a schedule for good (a static one stays Cancelled when its code is deployed again);
 * occurrences planned and not started are withdrawn, a running one finishes.
 */
export function cancelSchedule(ctx: ClusterContext, scheduleId: string): Promise<ScheduleOperationResult> {
  return changeSchedule(ctx, scheduleId, 'cancel', ['Active', 'Paused', 'Inactive'], (s, now) => ({ ...s, status: 'Cancelled', statusChangedAt: now }), true)
}

/**
 * Run a schedule's job once, now, outside its recurrence (also while Paused). It is not an
 * occurrence, so the overlap policy does not hold it back; the coordinator routes it within a
 * hand-over interval. The schedule's version is bumped like any change, so a plan in flight
 * re-reads it.
 */
export async function runScheduleNow(ctx: ClusterContext, scheduleId: string): Promise<{ schedule: ScheduleRecord; job: JobRecord }> {
  await refuseInArchive(ctx, 'run now')
  for (let attempt = 1; attempt <= SCHEDULE_ATTEMPTS; attempt++) {
    const current = await requireSchedule(ctx, scheduleId)
    if (current.status !== 'Active' && current.status !== 'Paused') {
      throw new OperationConflictError(`schedule/${scheduleId}`, current.status, `only an Active or Paused schedule can be run now; schedule ${scheduleId} is ${current.status}`)
    }
    const now = ctx.clock.now()
    const job = scheduledJob(current, null, now, ctx.settings, now)
    const inserted = await ctx.master.commitSchedulePlan(current, current.version, [job], now)
    if (inserted === null) continue
    return { schedule: await requireSchedule(ctx, scheduleId), job: await requireJob(ctx, job.envelope.id) }
  }
  throw scheduleChangedMeanwhile(scheduleId)
}

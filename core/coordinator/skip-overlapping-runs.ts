import type { ClusterContext } from '../cluster.js'
import type { JobRecord } from '../model.js'
import type { JobTransition } from '../stores/master.js'

export const OVERLAP_SKIPPED_ERROR = 'skipped: the previous run of its schedule had not finished (overlap policy skip)'

/**
 * Overlap policy `skip`, decided when an occurrence is handed to a bucket: occurrences are
 * planned minutes ahead, so only then is it known whether the previous run has finished. Such
 * occurrences are claimed only once due (so they start up to one hand-over interval late: about
 * 1 s with a coordinating worker, up to the scheduled coordinator's tick without one). Each
 * becomes its schedule's live run through a compare-and-set in the master, or is Cancelled as
 * skipped while the live run is unfinished. Of several claimed together for one schedule, only
 * the earliest may start: the others would overlap it. Returns the jobs to hand over.
 */
export async function skipOverlappingRuns(ctx: ClusterContext, jobs: JobRecord[], now: Date): Promise<JobRecord[]> {
  const exclusive = jobs.filter((j) => j.skipIfOverlapping && j.scheduleId !== null)
  if (exclusive.length === 0) return jobs
  const earliest = new Map<string, JobRecord>()
  for (const job of [...exclusive].sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())) {
    if (!earliest.has(job.scheduleId!)) earliest.set(job.scheduleId!, job)
  }
  const live = new Set(await ctx.master.claimOverlapSlots(ctx.clusterId, [...earliest.values()].map((j) => ({ scheduleId: j.scheduleId!, jobId: j.id }))))
  const skipped = exclusive.filter((j) => !live.has(j.id))
  if (skipped.length > 0) {
    const transitions: JobTransition[] = skipped.map((j) => ({
      id: j.id,
      fromBucketId: null,
      fromStatuses: ['HeldOnMaster'],
      status: 'Cancelled',
      bucketId: null,
      agentConnection: null,
      scheduledAt: j.scheduledAt,
      attempts: j.attempts,
      finishedAt: now,
      lastError: OVERLAP_SKIPPED_ERROR,
    }))
    await ctx.master.transitionJobs(transitions, [], now)
    ctx.logger.info({ skipped: skipped.map((j) => ({ job: j.id, schedule: j.scheduleId })) }, 'occurrences skipped: the previous run of their schedule has not finished')
  }
  return jobs.filter((j) => !j.skipIfOverlapping || live.has(j.id))
}

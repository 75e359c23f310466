import type { ClusterContext } from '../cluster.js'
import type { BucketJob, BucketRecord } from '../model.js'
import { planRelocation } from '../outcomes.js'
import { pickBucket } from '../routing.js'

const PAGE = 500

/**
 * Move every non-terminal job out of a bucket, reading the master (the source of truth, which
 * also knows jobs whose agent copy was never written): due-soon jobs to another active bucket of
 * the same connection, lane and priority; the rest to HeldOnMaster. Then clear the agent copy.
 * Used by the drain of a lost bucket (`lost`: running attempts are recorded as WorkerLost) and by
 * a graceful stop's hand-back. Each move is guarded, so a concurrent reaper cannot move a job twice.
 */
export async function relocateBucketJobs(ctx: ClusterContext, bucket: BucketRecord, lost: boolean): Promise<{ moved: number; held: number }> {
  const agent = ctx.agent(bucket.agentConnection)
  let moved = 0
  let held = 0
  for (;;) {
    const jobs = await ctx.master.jobsInBucket(bucket.id, PAGE)
    if (jobs.length === 0) break
    const now = ctx.clock.now()
    const targets = (await ctx.directory.active()).filter((b) => b.agentConnection === bucket.agentConnection && b.id !== bucket.id)
    const plans = jobs.map((job) => planRelocation(job, pickBucket(targets, job), now, ctx.lookAheadMs(agent), lost))
    const applied = new Set(
      await ctx.master.transitionJobs(
        plans.map((p) => p.transition),
        plans.flatMap((p) => (p.history ? [p.history] : [])),
        now,
      ),
    )
    const pushes = plans.filter((p) => p.push && applied.has(p.transition.id)).map((p) => p.push!)
    await pushOrHold(ctx, bucket.agentConnection, pushes)
    moved += pushes.length
    held += applied.size - pushes.length
    if (applied.size === 0) break // everything left is being moved by someone else
  }
  await agent.clearBucket(bucket.id)
  return { moved, held }
}

/**
 * Push jobs already recorded as AssignedToBucket; if the agent refuses, put them back to
 * HeldOnMaster (guarded on the bucket we tried) so the coordinator routes them again.
 */
export async function pushOrHold(ctx: ClusterContext, connection: string, jobs: BucketJob[]): Promise<boolean> {
  if (jobs.length === 0) return true
  try {
    await ctx.agent(connection).pushToBuckets(jobs)
    return true
  } catch (error) {
    ctx.logger.warn({ err: error, connection, jobs: jobs.length }, 'agent push failed; jobs returned to HeldOnMaster')
    await ctx.master.transitionJobs(
      jobs.map((j) => ({
        id: j.id,
        fromBucketId: j.bucketId,
        fromStatuses: ['AssignedToBucket'],
        status: 'HeldOnMaster',
        bucketId: null,
        agentConnection: null,
        scheduledAt: j.scheduledAt,
        attempts: j.attempts,
        finishedAt: null,
        lastError: null,
      })),
      [],
      ctx.clock.now(),
    )
    return false
  }
}

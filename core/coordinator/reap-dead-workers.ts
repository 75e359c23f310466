import type { ClusterContext } from '../cluster.js'

/** A drain that has not finished in this long is presumed dead (a drain takes seconds). */
export const DRAIN_STALE_MS = 60_000

/**
 * Heartbeat reaper: delete workers silent for `workerDeadAfter`, then mark Lost every bucket
 * whose owner is gone (and every drain that stalled). Both are single guarded statements, so
 * concurrent reapers agree.
 */
export async function reapDeadWorkers(ctx: ClusterContext): Promise<{ deadWorkers: string[]; lostBuckets: string[] }> {
  const now = ctx.clock.now()
  const deadWorkers = await ctx.master.reapDeadWorkers(ctx.clusterId, new Date(now.getTime() - ctx.config.workerDeadAfterMs))
  const lostBuckets = await ctx.master.markOrphanedBucketsLost(ctx.clusterId, new Date(now.getTime() - DRAIN_STALE_MS), now)
  if (deadWorkers.length > 0 || lostBuckets.length > 0) {
    ctx.directory.invalidate()
    ctx.logger.warn({ deadWorkers, lostBuckets }, 'reaped dead workers; their buckets are Lost and will be drained')
  }
  return { deadWorkers, lostBuckets }
}

import { setTimeout as delay } from 'node:timers/promises'
import type { ClusterContext } from '../cluster.js'

/** A drain that has not finished in this long is presumed dead (a drain takes seconds). */
export const DRAIN_STALE_MS = 60_000

export interface ReapOptions {
  /**
   * Since when the reaper has reached the master without a gap (a worker knows this from its own
   * heartbeats; null: it does not reach it now). Omitted by a stateless caller (a coordinator tick).
   */
  watchingSince?: Date | null
}

/**
 * Heartbeat reaper: delete workers silent for `workerDeadAfter`, then mark Lost every bucket
 * whose owner is gone (and every drain that stalled). Both are single guarded statements, so
 * concurrent reapers agree.
 *
 * Silence only means death if the master was reachable meanwhile: when it was not (an outage, a
 * partition), every worker falls silent at once and, right after, the reaper would find them all
 * overdue, declare live workers dead and have their jobs run twice. So a worker counts silence
 * only once it has itself reached the master without a gap for a whole `workerDeadAfter`; a
 * stateless tick, which cannot know, declares a worker dead only if it is still overdue after the
 * tick waited one and a half heartbeat periods with the master reachable (it already looks at
 * workers that are that close to being due, so the wait mostly overlaps their last seconds).
 */
export async function reapDeadWorkers(ctx: ClusterContext, options: ReapOptions = {}): Promise<{ deadWorkers: string[]; lostBuckets: string[] }> {
  const now = ctx.clock.now()
  const silentSince = new Date(now.getTime() - ctx.config.workerDeadAfterMs)
  let deadWorkers: string[] = []
  if (options.watchingSince !== undefined) {
    if (options.watchingSince !== null && options.watchingSince <= silentSince) deadWorkers = await ctx.master.reapDeadWorkers(ctx.clusterId, silentSince)
  } else {
    // Workers overdue, or about to be, are looked at again after the wait: only those still overdue die.
    const confirmMs = 1.5 * ctx.config.heartbeatIntervalMs
    const suspectSince = new Date(silentSince.getTime() + confirmMs)
    if ((await ctx.master.listWorkers(ctx.clusterId)).some((w) => w.heartbeatAt < suspectSince)) {
      await delay(confirmMs)
      deadWorkers = await ctx.master.reapDeadWorkers(ctx.clusterId, new Date(ctx.clock.now().getTime() - ctx.config.workerDeadAfterMs))
    }
  }
  const lostBuckets = await ctx.master.markOrphanedBucketsLost(ctx.clusterId, new Date(now.getTime() - DRAIN_STALE_MS), now)
  if (deadWorkers.length > 0 || lostBuckets.length > 0) {
    ctx.directory.invalidate()
    ctx.logger.warn({ deadWorkers, lostBuckets }, 'reaped dead workers; their buckets are Lost and will be drained')
  }
  return { deadWorkers, lostBuckets }
}

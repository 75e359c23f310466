import type { ClusterContext } from '../cluster.js'
import { relocateBucketJobs } from './relocate-bucket-jobs.js'
import { retireBucket } from './retire-bucket.js'

/**
 * Claim each Lost bucket on a reachable connection (Lost → Draining, compare-and-set, so only one
 * drainer wins), move its jobs out through the master, and retire it.
 */
export async function drainLostBuckets(ctx: ClusterContext, drainerId: string, connections?: readonly string[]): Promise<{ drained: string[]; moved: number; held: number }> {
  const reachable = connections ?? [...ctx.agents.keys()]
  const lost = (await ctx.master.listBuckets(ctx.clusterId, { statuses: ['Lost'] })).filter((b) => reachable.includes(b.agentConnection))
  const drained: string[] = []
  let moved = 0
  let held = 0
  for (const bucket of lost) {
    const claimed = await ctx.master.transitionBucket(bucket.id, { from: ['Lost'], to: 'Draining', owner: drainerId }, ctx.clock.now())
    if (!claimed) continue
    const result = await relocateBucketJobs(ctx, bucket, true)
    moved += result.moved
    held += result.held
    if (await retireBucket(ctx, bucket, 'Draining', drainerId)) drained.push(bucket.id)
    ctx.logger.info({ bucket: bucket.id, ...result }, 'drained lost bucket')
  }
  return { drained, moved, held }
}

import type { ClusterContext } from '../cluster.js'
import type { BucketRecord, BucketStatus } from '../model.js'

/** `from` (Draining or Completing, held by `holder`) → ReadyToDelete → deleted, agent side included. */
export async function retireBucket(ctx: ClusterContext, bucket: BucketRecord, from: BucketStatus, holder: string): Promise<boolean> {
  const now = ctx.clock.now()
  const retired = await ctx.master.transitionBucket(bucket.id, { from: [from], expectOwner: holder, to: 'ReadyToDelete', owner: null }, now)
  if (!retired) return false
  await ctx.agent(bucket.agentConnection).deleteBucket(bucket.id)
  await ctx.master.deleteBucket(bucket.id, 'ReadyToDelete')
  ctx.directory.invalidate()
  return true
}

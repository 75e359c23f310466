import type { ClusterContext } from '../cluster.js'

/** Delete finished jobs older than `dataRetentionTtl` (in bounded batches) and expired idempotency keys. */
export async function enforceRetention(ctx: ClusterContext, options: { batch?: number; maxBatches?: number } = {}): Promise<{ purgedJobs: number; purgedKeys: number }> {
  const now = ctx.clock.now()
  let purgedJobs = 0
  const retention = ctx.settings.dataRetentionMs
  if (retention !== null) {
    const before = new Date(now.getTime() - retention)
    for (let round = 0; round < (options.maxBatches ?? 10); round++) {
      const n = await ctx.master.purgeFinishedJobs(ctx.clusterId, before, options.batch ?? 1000)
      purgedJobs += n
      if (n < (options.batch ?? 1000)) break
    }
  }
  let purgedKeys = 0
  for (const agent of ctx.agents.values()) purgedKeys += await agent.purgeExpired(now)
  return { purgedJobs, purgedKeys }
}

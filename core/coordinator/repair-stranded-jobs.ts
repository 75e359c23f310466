import type { ClusterContext } from '../cluster.js'
import { planRelocation, toBucketJob } from '../outcomes.js'

const OVERDUE_MS = 60_000

/**
 * Two rare gaps closed here. A job recorded in a bucket that was retired meanwhile (a push that
 * raced a drain) goes back to HeldOnMaster. A job AssignedToBucket long past due whose agent
 * copy is missing (a crash between the master write and the agent write) is pushed again.
 */
export async function repairStrandedJobs(ctx: ClusterContext): Promise<{ released: number; repushed: number }> {
  const now = ctx.clock.now()
  const { orphaned, overdue } = await ctx.master.findStrandedJobs(ctx.clusterId, now, OVERDUE_MS, 500)
  let released = 0
  if (orphaned.length > 0) {
    const plans = orphaned.map((job) => planRelocation(job, null, now, 0, true))
    released = (
      await ctx.master.transitionJobs(
        plans.map((p) => p.transition),
        plans.flatMap((p) => (p.history ? [p.history] : [])),
        now,
      )
    ).length
  }
  let repushed = 0
  const byConnection = new Map<string, typeof overdue>()
  for (const job of overdue) {
    if (!job.agentConnection || !ctx.agents.has(job.agentConnection)) continue
    byConnection.set(job.agentConnection, [...(byConnection.get(job.agentConnection) ?? []), job])
  }
  for (const [connection, jobs] of byConnection) {
    const agent = ctx.agent(connection)
    const missing = new Set(await agent.missingFromBuckets(jobs.map((j) => ({ bucketId: j.bucketId!, jobId: j.id }))))
    const again = jobs.filter((j) => missing.has(j.id)).map((j) => toBucketJob(j, j.bucketId!))
    await agent.pushToBuckets(again)
    repushed += again.length
  }
  if (released + repushed > 0) ctx.logger.warn({ released, repushed }, 'repaired stranded jobs')
  return { released, repushed }
}

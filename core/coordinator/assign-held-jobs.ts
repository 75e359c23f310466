import type { ClusterContext } from '../cluster.js'
import type { BucketJob } from '../model.js'
import { toBucketJob } from '../outcomes.js'
import { pickBucket } from '../routing.js'
import type { JobTransition } from '../stores/master.js'
import { pushOrHold } from './relocate-bucket-jobs.js'
import { skipOverlappingRuns } from './skip-overlapping-runs.js'

/** Jobs that found no bucket stay claimed this long, so the next scan reaches the jobs behind them. */
const UNROUTABLE_BACKOFF_MS = 30_000

/**
 * Hand HeldOnMaster jobs due within the look-ahead to active buckets of their lane and priority,
 * on the connections this process can reach. Concurrent coordinators claim disjoint sets
 * (skip-locked) and every assignment is guarded on the job still being HeldOnMaster.
 */
export async function assignHeldJobs(ctx: ClusterContext, options: { batch?: number; maxBatches?: number } = {}): Promise<{ assigned: number; unroutable: number }> {
  if (ctx.settings.mode !== 'Active') return { assigned: 0, unroutable: 0 }
  const batch = options.batch ?? 500
  let assigned = 0
  let unroutable = 0
  for (let round = 0; round < (options.maxBatches ?? 20); round++) {
    const now = ctx.clock.now()
    const agents = [...ctx.agents.values()]
    const widest = Math.max(...agents.map((a) => ctx.lookAheadMs(a)))
    const claimed = await ctx.master.claimDueHeldJobs(ctx.clusterId, new Date(now.getTime() + widest), batch, UNROUTABLE_BACKOFF_MS, now)
    if (claimed.length === 0) break
    const jobs = await skipOverlappingRuns(ctx, claimed, now)
    const buckets = (await ctx.directory.active()).filter((b) => ctx.agents.has(b.agentConnection))
    const transitions: JobTransition[] = []
    const pushes = new Map<string, BucketJob[]>()
    for (const job of jobs) {
      const reachable = buckets.filter((b) => job.scheduledAt.getTime() <= now.getTime() + ctx.lookAheadMs(ctx.agent(b.agentConnection)))
      const bucket = pickBucket(reachable, job)
      if (!bucket) {
        unroutable++
        continue
      }
      transitions.push({
        id: job.id,
        fromBucketId: null,
        fromStatuses: ['HeldOnMaster'],
        status: 'AssignedToBucket',
        bucketId: bucket.id,
        agentConnection: bucket.agentConnection,
        scheduledAt: job.scheduledAt,
        attempts: job.attempts,
        finishedAt: null,
        lastError: null,
      })
      const list = pushes.get(bucket.agentConnection) ?? []
      list.push(toBucketJob(job, bucket.id))
      pushes.set(bucket.agentConnection, list)
    }
    const applied = new Set(await ctx.master.transitionJobs(transitions, [], now))
    for (const [connection, list] of pushes) {
      const mine = list.filter((j) => applied.has(j.id))
      if (await pushOrHold(ctx, connection, mine)) assigned += mine.length
    }
    if (claimed.length < batch) break
  }
  return { assigned, unroutable }
}

import type { ClusterContext } from '../cluster.js'
import { assignHeldJobs } from './assign-held-jobs.js'
import { drainLostBuckets } from './drain-lost-buckets.js'
import { enforceRetention } from './enforce-retention.js'
import { ingestOrphanedInboxes } from './ingest-orphaned-inboxes.js'
import { reapDeadWorkers } from './reap-dead-workers.js'
import { repairStrandedJobs } from './repair-stranded-jobs.js'

export interface TickSummary {
  deadWorkers: string[]
  lostBuckets: string[]
  drained: string[]
  relocated: number
  released: number
  repushed: number
  orphanedIngested: number
  assigned: number
  unroutable: number
  purgedJobs: number
  errors: Array<{ duty: string; message: string }>
}

/**
 * One idempotent coordinator pass: reap dead workers, drain their buckets, repair stranded jobs,
 * ingest orphaned inboxes, hand due held jobs to buckets, enforce retention. Safe to run from
 * several places at once (every step is skip-locked or compare-and-set). A failing duty is logged
 * and reported in the summary; the others still run.
 */
export async function coordinatorTick(ctx: ClusterContext, options: { id: string; retention?: boolean }): Promise<TickSummary> {
  const summary: TickSummary = {
    deadWorkers: [],
    lostBuckets: [],
    drained: [],
    relocated: 0,
    released: 0,
    repushed: 0,
    orphanedIngested: 0,
    assigned: 0,
    unroutable: 0,
    purgedJobs: 0,
    errors: [],
  }
  const duty = async (name: string, work: () => Promise<void>) => {
    try {
      await work()
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      summary.errors.push({ duty: name, message })
      ctx.logger.error({ err: error, duty: name }, 'coordinator duty failed')
    }
  }
  await duty('settings', async () => void (await ctx.refreshSettings()))
  if (ctx.settings.mode === 'Archive') return summary
  await duty('reap', async () => void Object.assign(summary, await reapDeadWorkers(ctx)))
  await duty('drain', async () => {
    const r = await drainLostBuckets(ctx, options.id)
    summary.drained = r.drained
    summary.relocated = r.moved + r.held
  })
  await duty('repair', async () => void Object.assign(summary, await repairStrandedJobs(ctx)))
  await duty('orphaned-inbox', async () => void (summary.orphanedIngested = (await ingestOrphanedInboxes(ctx, options.id)).ingested))
  await duty('assign', async () => void Object.assign(summary, await assignHeldJobs(ctx)))
  if (options.retention !== false) await duty('retention', async () => void (summary.purgedJobs = (await enforceRetention(ctx)).purgedJobs))
  return summary
}

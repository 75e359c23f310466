import type { ClusterContext } from '../cluster.js'
import { assignHeldJobs } from './assign-held-jobs.js'
import { drainLostBuckets } from './drain-lost-buckets.js'
import { enforceRetention } from './enforce-retention.js'
import { ingestOrphanedInboxes } from './ingest-orphaned-inboxes.js'
import { planSchedules } from './plan-schedules.js'
import { protectConnections, recordConnectionsSeen, type ProtectionAction } from './protect-connections.js'
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
  /** Occurrences of recurring schedules planned into the master. */
  plannedOccurrences: number
  assigned: number
  unroutable: number
  purgedJobs: number
  protection: Array<{ connection: string; action: ProtectionAction; buckets: number }>
  errors: Array<{ duty: string; message: string }>
}

export interface TickOptions {
  /** Who is ticking: recorded as the drainer of the buckets this tick claims. */
  id: string
  /** Connections whose drain and orphan-inbox duties this tick performs (default: every reachable one). */
  connections?: readonly string[]
  /** Cluster-wide duties (reap, repair, hand-over, retention, protection); a fanned-out per-connection tick skips them. */
  clusterDuties?: boolean
}

/**
 * One idempotent coordinator pass. Cluster-wide: reap dead workers, repair stranded jobs, plan
 * recurring schedules, hand due held jobs to buckets, enforce retention, apply connection
 * protection. Per connection: drain lost buckets, ingest orphaned inbox messages, record the
 * connection as seen. Safe to run from several places at once: every step is skip-locked or
 * compare-and-set. A failing duty is logged and reported in the summary; the others still run.
 */
export async function coordinatorTick(ctx: ClusterContext, options: TickOptions): Promise<TickSummary> {
  const summary: TickSummary = {
    deadWorkers: [],
    lostBuckets: [],
    drained: [],
    relocated: 0,
    released: 0,
    repushed: 0,
    orphanedIngested: 0,
    plannedOccurrences: 0,
    assigned: 0,
    unroutable: 0,
    purgedJobs: 0,
    protection: [],
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
  const connections = options.connections ?? [...ctx.agents.keys()]
  const clusterDuties = options.clusterDuties ?? true

  await duty('settings', async () => void (await ctx.refreshSettings()))
  if (ctx.settings.mode === 'Archive') return summary
  await duty('seen', () => recordConnectionsSeen(ctx, connections))
  if (clusterDuties) await duty('reap', async () => void Object.assign(summary, await reapDeadWorkers(ctx)))
  await duty('drain', async () => {
    const r = await drainLostBuckets(ctx, options.id, connections)
    summary.drained = r.drained
    summary.relocated = r.moved + r.held
  })
  await duty('orphaned-inbox', async () => void (summary.orphanedIngested = (await ingestOrphanedInboxes(ctx, options.id, { connections })).ingested))
  if (!clusterDuties) return summary
  await duty('repair', async () => void Object.assign(summary, await repairStrandedJobs(ctx)))
  // Before the hand-over, so occurrences due soon reach their buckets in the same tick.
  await duty('plan-schedules', async () => void (summary.plannedOccurrences = (await planSchedules(ctx)).occurrences))
  await duty('assign', async () => void Object.assign(summary, await assignHeldJobs(ctx)))
  await duty('retention', async () => void (summary.purgedJobs = (await enforceRetention(ctx)).purgedJobs))
  await duty('protection', async () => void (summary.protection = await protectConnections(ctx)))
  return summary
}

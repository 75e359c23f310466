import type { ClusterContext } from '../cluster.js'
import { recordConnectionSeen } from '../connections.js'
import { MINUTE, HOUR } from '../durations.js'

export const SILENT_AFTER_MS = 10 * MINUTE
export const PROTECTED_DELETE_AFTER_MS = HOUR
export const UNPROTECTED_RETRY_EVERY_MS = 5 * MINUTE

export type ProtectionAction = 'kept-critical' | 'deleted' | 'deletion-deferred' | 'waiting'

/**
 * Run-time connection protection (SPEC §3). A connection no process has seen for 10 minutes:
 * - protected, with buckets: critical log, never deleted;
 * - protected, without buckets: its record is deleted once silent for 1 hour;
 * - unprotected, with buckets: deletion is skipped and retried every 5 minutes until they are gone;
 * - unprotected, without buckets: its record is deleted.
 * "Buckets" means any not yet retired (Active, Completing, Lost, Draining): they may still hold jobs.
 */
export async function protectConnections(ctx: ClusterContext): Promise<Array<{ connection: string; action: ProtectionAction; buckets: number }>> {
  const now = ctx.clock.now()
  const records = await ctx.master.listAgentConnections(ctx.clusterId)
  const silent = records.filter((r) => now.getTime() - r.lastSeenAt.getTime() > SILENT_AFTER_MS)
  if (silent.length === 0) return []
  const buckets = await ctx.master.listBuckets(ctx.clusterId, { statuses: ['Active', 'Completing', 'Lost', 'Draining'] })
  const results: Array<{ connection: string; action: ProtectionAction; buckets: number }> = []
  for (const record of silent) {
    const count = buckets.filter((b) => b.agentConnection === record.name).length
    const silentFor = now.getTime() - record.lastSeenAt.getTime()
    const log = { connection: record.name, buckets: count, silentMinutes: Math.floor(silentFor / MINUTE), protected: record.protect }
    let action: ProtectionAction
    if (record.protect && count > 0) {
      ctx.logger.fatal(log, 'CRITICAL: protected agent connection is silent while it still has buckets; it is never deleted automatically — restore it or decommission it (README)')
      action = 'kept-critical'
    } else if (record.protect) {
      if (silentFor > PROTECTED_DELETE_AFTER_MS) {
        await ctx.master.deleteAgentConnection(ctx.clusterId, record.name)
        ctx.logger.warn(log, 'deleted the record of a protected agent connection silent for over an hour with no buckets')
        action = 'deleted'
      } else {
        action = 'waiting'
      }
    } else if (count > 0) {
      const due = !record.deletionDeferredAt || now.getTime() - record.deletionDeferredAt.getTime() >= UNPROTECTED_RETRY_EVERY_MS
      if (due) {
        await ctx.master.upsertAgentConnection({ ...record, deletionDeferredAt: now })
        ctx.logger.warn(log, 'silent unprotected agent connection still has buckets: deletion skipped, retried in 5 minutes')
        action = 'deletion-deferred'
      } else {
        action = 'waiting'
      }
    } else {
      await ctx.master.deleteAgentConnection(ctx.clusterId, record.name)
      ctx.logger.warn(log, 'deleted the record of a silent unprotected agent connection with no buckets')
      action = 'deleted'
    }
    results.push({ connection: record.name, action, buckets: count })
  }
  return results
}

/** Record that this process reached these connections (silence is measured from the last such record). */
export async function recordConnectionsSeen(ctx: ClusterContext, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const config = ctx.config.agents.find((a) => a.name === name)!
    await recordConnectionSeen(ctx.master, ctx.agent(name), config, ctx.clusterId, ctx.clock.now(), ctx.logger, 'running')
  }
}

import type { ClusterContext } from './cluster.js'
import type { JobEnvelope } from './model.js'

/**
 * Keep inbox messages that cannot become what they ask for as Failed jobs in the master, each with
 * its reason, so nothing accepted disappears without a record. Inserted HeldOnMaster, then moved
 * to Failed by a guarded transition (one that a coordinator took first runs and fails instead).
 * Idempotent: a re-delivered message inserts nothing.
 */
export async function keepAsFailed(ctx: ClusterContext, entries: Array<{ envelope: JobEnvelope; reason: string }>, now: Date): Promise<void> {
  if (entries.length === 0) return
  const rows = entries.map(({ envelope }) => ({
    envelope: { ...envelope, timeoutMs: ctx.settings.defaultJobTimeoutMs, maxRetries: 0 },
    status: 'HeldOnMaster' as const,
    bucketId: null,
    agentConnection: null,
  }))
  const inserted = new Set(await ctx.master.insertJobs(ctx.clusterId, rows, now))
  const transitions = entries
    .filter(({ envelope }) => inserted.has(envelope.id))
    .map(({ envelope, reason }) => ({
      id: envelope.id,
      fromBucketId: null,
      fromStatuses: ['HeldOnMaster' as const],
      status: 'Failed' as const,
      bucketId: null,
      agentConnection: null,
      scheduledAt: envelope.scheduledAt,
      attempts: 0,
      finishedAt: now,
      lastError: reason,
    }))
  await ctx.master.transitionJobs(transitions, [], now)
}

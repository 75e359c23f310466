import type { ClusterContext } from './cluster.js'
import { IN_BUCKET_STATUSES, type BucketJob, type JobEnvelope } from './model.js'
import { toBucketJob } from './outcomes.js'
import { pickBucket } from './routing.js'
import type { AgentStore, InboxMessage } from './stores/agent.js'
import type { NewMasterJob } from './stores/master.js'

export interface IngestResult {
  /** Jobs put into buckets (grouped by the caller to wake local runners). */
  assigned: BucketJob[]
  held: number
}

/**
 * Move claimed inbox messages into the master: one multi-row insert with the transient-threshold
 * decision (due within the connection's look-ahead and a bucket exists → AssignedToBucket, else
 * HeldOnMaster), then the due-soon jobs into buckets of the same connection (the ingester's own
 * first), then acknowledge the inbox. A crash at any point leaves the message claimed, and its
 * lease expiry re-delivers it; the insert is idempotent on the job id.
 */
export async function ingestMessages(ctx: ClusterContext, agent: AgentStore, messages: InboxMessage[], preferOwner?: string): Promise<IngestResult> {
  if (messages.length === 0) return { assigned: [], held: 0 }
  const now = ctx.clock.now()
  const settings = ctx.settings
  const horizon = now.getTime() + ctx.lookAheadMs(agent)
  const buckets = settings.mode === 'Active' ? (await ctx.directory.active()).filter((b) => b.agentConnection === agent.name) : []

  const rows: NewMasterJob[] = messages.map(({ envelope }) => {
    const resolved = withDefaults(envelope, settings.defaultJobTimeoutMs, settings.defaultMaxRetries)
    const bucket = resolved.scheduledAt.getTime() <= horizon ? pickBucket(buckets, resolved, { preferOwner }) : null
    return bucket
      ? { envelope: resolved, status: 'AssignedToBucket', bucketId: bucket.id, agentConnection: agent.name }
      : { envelope: resolved, status: 'HeldOnMaster', bucketId: null, agentConnection: null }
  })
  const inserted = new Set(await ctx.master.insertJobs(ctx.clusterId, rows, now))

  const assigned: BucketJob[] = []
  for (const row of rows) {
    if (inserted.has(row.envelope.id) && row.bucketId) {
      assigned.push(toBucketJob(row.envelope, row.bucketId))
    }
  }
  // Re-delivered messages (the first ingest died after its master insert): re-push whatever the
  // master says is in a bucket of this connection; the push is idempotent.
  const repeated = rows.filter((r) => !inserted.has(r.envelope.id)).map((r) => r.envelope.id)
  if (repeated.length > 0) {
    for (const job of await ctx.master.getJobs(ctx.clusterId, repeated)) {
      if (job.bucketId && job.agentConnection === agent.name && IN_BUCKET_STATUSES.includes(job.status)) {
        assigned.push(toBucketJob(job, job.bucketId))
      }
    }
  }
  await agent.pushToBuckets(assigned)
  await agent.ackInbox(messages.map((m) => m.receipt))
  return { assigned, held: rows.length - assigned.length }
}

function withDefaults(e: JobEnvelope, timeoutMs: number, maxRetries: number): NewMasterJob['envelope'] {
  return { ...e, timeoutMs: e.timeoutMs ?? timeoutMs, maxRetries: e.maxRetries ?? maxRetries }
}

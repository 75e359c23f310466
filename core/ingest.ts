import type { ClusterContext } from './cluster.js'
import { keepAsFailed } from './failed-on-arrival.js'
import { storableErrorText } from './json-storable.js'
import type { BucketJob, JobEnvelope } from './model.js'
import { toBucketJob } from './outcomes.js'
import { pickBucket } from './routing.js'
import { ingestScheduleRequests } from './schedules/inbox.js'
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
export interface IngestOptions {
  /** Route due-soon jobs to this worker's buckets first. */
  preferOwner?: string
  /**
   * Offer the jobs routed to a bucket of the ingesting worker straight to it (in memory); it
   * returns those it has no room for, which go to the agent like any other.
   */
  handOver?: (bucketId: string, jobs: BucketJob[]) => BucketJob[]
}

export async function ingestMessages(ctx: ClusterContext, agent: AgentStore, messages: InboxMessage[], options: IngestOptions = {}): Promise<IngestResult> {
  const { preferOwner, handOver } = options
  if (messages.length === 0) return { assigned: [], held: 0 }
  // Dynamic schedules travel through the inbox too (the producer never touches the master); the rest are jobs.
  const jobMessages = await ingestScheduleRequests(ctx, messages)
  const now = ctx.clock.now()
  const settings = ctx.settings
  const horizon = now.getTime() + ctx.lookAheadMs(agent)
  const buckets = settings.mode === 'Active' ? (await ctx.directory.active()).filter((b) => b.agentConnection === agent.name) : []

  const rows: NewMasterJob[] = jobMessages.map(({ envelope }) => {
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
  // Re-delivered messages (the first ingest died after its master insert): re-push what the master
  // says is assigned to a bucket of this connection and not yet taken by its owner (Queued and
  // Processing jobs are in the owner's hands); the push is idempotent.
  const repeated = rows.filter((r) => !inserted.has(r.envelope.id)).map((r) => r.envelope.id)
  if (repeated.length > 0) {
    for (const job of await ctx.master.getJobs(ctx.clusterId, repeated)) {
      if (job.bucketId && job.agentConnection === agent.name && job.status === 'AssignedToBucket') {
        assigned.push(toBucketJob(job, job.bucketId))
      }
    }
  }
  // Re-delivered jobs always go through the agent: the in-memory hand-over is for fresh ones only.
  const toAgent: BucketJob[] = []
  const byBucket = new Map<string, BucketJob[]>()
  for (const job of assigned) {
    if (!inserted.has(job.id)) {
      toAgent.push(job)
      continue
    }
    const jobs = byBucket.get(job.bucketId)
    if (jobs) jobs.push(job)
    else byBucket.set(job.bucketId, [job])
  }
  for (const [bucketId, jobs] of byBucket) toAgent.push(...(handOver ? handOver(bucketId, jobs) : jobs))
  await agent.pushToBuckets(toAgent)
  await agent.ackInbox(messages.map((m) => m.receipt))
  return { assigned, held: rows.length - assigned.length }
}

/**
 * `ingestMessages`, robust to a message the master refuses: when a batch fails while master and
 * agent both answer, it is not an outage but data, so each message is ingested on its own, and one
 * the master still refuses is kept as a Failed job without its payload, metadata and idempotency
 * key (which is what the master may not store), with the refusal as its error, and acknowledged.
 * Without this, one such message would come back with every claim and stop the connection's inbox.
 * While either store does not answer, the error propagates and the batch is retried as before.
 */
export async function ingestIsolatingRefusals(ctx: ClusterContext, agent: AgentStore, messages: InboxMessage[], options: IngestOptions = {}): Promise<IngestResult> {
  try {
    return await ingestMessages(ctx, agent, messages, options)
  } catch (error) {
    if (!(await bothAnswer(ctx, agent))) throw error
  }
  const result: IngestResult = { assigned: [], held: 0 }
  for (const message of messages) {
    try {
      const one = await ingestMessages(ctx, agent, [message], options)
      result.assigned.push(...one.assigned)
      result.held += one.held
    } catch (error) {
      if (!(await bothAnswer(ctx, agent))) throw error
      await keepRefused(ctx, agent, message, error)
    }
  }
  return result
}

/** Whether the master and the agent both answer now (a cheap read on each). */
async function bothAnswer(ctx: ClusterContext, agent: AgentStore): Promise<boolean> {
  try {
    await Promise.all([ctx.master.getCluster(ctx.clusterId), agent.ping()])
    return true
  } catch {
    return false // an outage: the caller rethrows the ingest's own error
  }
}

async function keepRefused(ctx: ClusterContext, agent: AgentStore, message: InboxMessage, error: unknown): Promise<void> {
  const now = ctx.clock.now()
  ctx.logger.error({ err: error, jobId: message.envelope.id, connection: agent.name }, 'the master refused an inbox message; kept as a Failed job without its payload')
  const { envelope } = message
  await keepAsFailed(ctx, [{ envelope: { ...envelope, payload: null, metadata: {}, idempotencyKey: null, scheduledAt: now, createdAt: now }, reason: `the master refused this message: ${storableErrorText(error)}` }], now)
  await agent.ackInbox([message.receipt])
}

function withDefaults(e: JobEnvelope, timeoutMs: number, maxRetries: number): NewMasterJob['envelope'] {
  return { ...e, timeoutMs: e.timeoutMs ?? timeoutMs, maxRetries: e.maxRetries ?? maxRetries }
}

import type { ClusterContext } from '../cluster.js'
import { RESERVED_DEFINITION_PREFIX } from '../definitions.js'
import { ValidationError } from '../errors.js'
import { keepAsFailed } from '../failed-on-arrival.js'
import type { JobEnvelope, ScheduleRecord, ScheduleSpec } from '../model.js'
import type { InboxMessage } from '../stores/agent.js'
import { newScheduleRecord, specFromWire, specToWire } from './spec.js'

/**
 * Dynamic schedules reach the master the way jobs do: the producer writes the validated request
 * into an agent inbox (it never touches the master) and ingest turns it into the schedule's
 * record. In the inbox a request is an envelope of this reserved definition (definition ids in
 * the `jobmaster:` namespace are refused to users), its id the schedule's.
 */
export const SCHEDULE_REQUEST_DEFINITION = `${RESERVED_DEFINITION_PREFIX}create-schedule`

export function scheduleRequestEnvelope(spec: ScheduleSpec, id: string, now: Date, idempotencyKey: string | null): JobEnvelope {
  return {
    id,
    definition: SCHEDULE_REQUEST_DEFINITION,
    payload: specToWire(spec),
    metadata: {},
    priority: spec.priority,
    lane: spec.lane,
    scheduledAt: now,
    createdAt: now,
    timeoutMs: null,
    maxRetries: null,
    idempotencyKey,
  }
}

/**
 * Ingest side: create the records of the schedule requests among claimed inbox messages
 * (idempotent: the schedule id is the message's, so a re-delivery inserts nothing) and return the
 * other messages, the jobs. A request this version cannot read (written by an incompatible one)
 * is not dropped: it is kept in the master as a Failed job of the request definition, with the reason.
 */
export async function ingestScheduleRequests(ctx: ClusterContext, messages: InboxMessage[]): Promise<InboxMessage[]> {
  const requests = messages.filter((m) => m.envelope.definition === SCHEDULE_REQUEST_DEFINITION)
  if (requests.length === 0) return messages
  const now = ctx.clock.now()
  const records: ScheduleRecord[] = []
  const unreadable: Array<{ envelope: JobEnvelope; reason: string }> = []
  for (const { envelope } of requests) {
    try {
      records.push(newScheduleRecord(specFromWire(envelope.payload), { id: envelope.id, clusterId: ctx.clusterId, kind: 'dynamic', createdAt: envelope.createdAt, now }))
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      unreadable.push({ envelope, reason: `unreadable schedule request: ${error.message}` })
    }
  }
  const created = await ctx.master.insertSchedules(records)
  if (created.length > 0) ctx.logger.info({ schedules: created }, 'dynamic schedules created')
  if (unreadable.length > 0) await keepUnreadable(ctx, unreadable, now)
  return messages.filter((m) => m.envelope.definition !== SCHEDULE_REQUEST_DEFINITION)
}

async function keepUnreadable(ctx: ClusterContext, requests: Array<{ envelope: JobEnvelope; reason: string }>, now: Date): Promise<void> {
  ctx.logger.error({ requests: requests.map((r) => ({ id: r.envelope.id, reason: r.reason })) }, 'schedule requests could not be read; kept as Failed jobs')
  await keepAsFailed(ctx, requests, now)
}

import * as v from 'valibot'
import { newId } from './ids.js'
import { addMs, type Clock } from './clock.js'
import type { JobDefinition, JobRegistry } from './definitions.js'
import { DAY } from './durations.js'
import { durationSchema, issuesFrom } from './schemas.js'
import { PayloadTooLargeError, ValidationError, type Issue } from './errors.js'
import { unstorableJson } from './json-storable.js'

export { issuesFrom }
import { PRIORITIES, type BucketJob, type JobEnvelope, type Priority } from './model.js'
import { DEFINITION_PATTERN, DEFINITION_RULE, NAME_PATTERN, NAME_RULE, nameSchema } from './names.js'

const MAX_FUTURE_MS = 3650 * DAY
const MAX_PAST_MS = 7 * DAY

/** Options of one job, shared by the library (`enqueue`) and the HTTP body. */
export const enqueueOptionsSchema = v.strictObject({
  runAt: v.optional(
    v.pipe(
      v.union([v.date(), v.string()], 'runAt must be an ISO-8601 time'),
      v.transform((x) => (x instanceof Date ? x : new Date(x))),
      v.check((d) => !Number.isNaN(d.getTime()), 'runAt must be an ISO-8601 time'),
    ),
  ),
  delay: v.optional(durationSchema('delay', 0, MAX_FUTURE_MS)),
  priority: v.optional(v.picklist(PRIORITIES, `priority must be one of ${PRIORITIES.join(', ')}`)),
  lane: v.optional(v.nullable(v.pipe(v.string(), v.regex(NAME_PATTERN, `lane must be ${NAME_RULE}`)))),
  timeout: v.optional(durationSchema('timeout', 1, 7 * DAY)),
  maxRetries: v.optional(v.pipe(v.number(), v.integer('maxRetries must be an integer'), v.minValue(0, 'maxRetries must be 0–25'), v.maxValue(25, 'maxRetries must be 0–25'))),
  metadata: v.optional(
    v.pipe(
      v.record(
        v.pipe(v.string(), v.regex(NAME_PATTERN, `metadata keys must be ${NAME_RULE}`)),
        v.pipe(v.string('metadata values must be strings'), v.maxLength(1000, 'metadata values are limited to 1000 characters')),
      ),
      v.check((m) => Object.keys(m).length <= 50, 'metadata is limited to 50 keys'),
    ),
  ),
  idempotencyKey: v.optional(
    v.pipe(v.string(), v.minLength(1, 'idempotencyKey must not be empty'), v.maxLength(200, 'idempotencyKey is limited to 200 characters'), v.regex(/^[\x21-\x7e]+$/, 'idempotencyKey must be printable ASCII without spaces')),
  ),
})
export type EnqueueOptions = v.InferInput<typeof enqueueOptionsSchema>

/** A job as the HTTP API receives it: the options plus definition and payload. */
export const enqueueRequestSchema = v.strictObject({
  definition: v.pipe(v.string('definition is required'), v.regex(DEFINITION_PATTERN, `definition must be ${DEFINITION_RULE}`)),
  payload: v.optional(v.unknown()),
  ...enqueueOptionsSchema.entries,
})
export type EnqueueRequest = v.InferInput<typeof enqueueRequestSchema>

export interface BuildContext {
  clock: Clock
  maxMessageBytes: number
  /** Path prefix for error messages, e.g. `jobs.3` inside a batch. */
  path?: string
}

/**
 * Validate one job and turn it into an envelope: definition known, payload matches its schema,
 * payload and metadata storable by every master, names valid, time sane, serialized size within
 * maxMessageBytes. Throws ValidationError or
 * PayloadTooLargeError; never returns a partial result.
 */
export function buildEnvelope(definition: JobDefinition, payload: unknown, options: EnqueueOptions, ctx: BuildContext): { envelope: JobEnvelope; bytes: number } {
  const prefix = ctx.path ? `${ctx.path}.` : ''
  const parsedOptions = v.safeParse(enqueueOptionsSchema, options ?? {})
  const issues: Issue[] = parsedOptions.success ? [] : issuesFrom(parsedOptions.issues, ctx.path ?? '')
  const checkedPayload = v.safeParse(definition.schema, payload)
  if (!checkedPayload.success) issues.push(...issuesFrom(checkedPayload.issues, `${prefix}payload`))
  // Before anything serializes the payload (JSON.stringify overflows the stack a few thousand levels down).
  for (const issue of [unstorableJson(payload, `${prefix}payload`), parsedOptions.success ? unstorableJson(parsedOptions.output.metadata ?? {}, `${prefix}metadata`) : null]) {
    if (issue) issues.push(issue)
  }
  if (!parsedOptions.success || issues.length > 0) throw new ValidationError(issues)
  const o = parsedOptions.output

  const now = ctx.clock.now()
  if (o.runAt && o.delay !== undefined) throw ValidationError.single(`${prefix}runAt`, 'give either runAt or delay, not both')
  const scheduledAt = o.runAt ?? addMs(now, o.delay ?? 0)
  if (scheduledAt.getTime() > now.getTime() + MAX_FUTURE_MS) throw ValidationError.single(`${prefix}runAt`, 'is more than 10 years ahead')
  if (scheduledAt.getTime() < now.getTime() - MAX_PAST_MS) throw ValidationError.single(`${prefix}runAt`, 'is more than 7 days in the past')

  const envelope: JobEnvelope = {
    id: newId(),
    definition: definition.id,
    payload: payload === undefined ? null : payload,
    metadata: { ...definition.metadata, ...(o.metadata ?? {}) },
    priority: o.priority ?? definition.priority,
    lane: o.lane === undefined ? definition.lane : o.lane,
    scheduledAt,
    createdAt: now,
    timeoutMs: o.timeout ?? definition.timeoutMs,
    maxRetries: o.maxRetries ?? definition.maxRetries,
    idempotencyKey: o.idempotencyKey ?? null,
  }
  const bytes = Buffer.byteLength(serializeEnvelope(envelope))
  if (bytes > ctx.maxMessageBytes) throw new PayloadTooLargeError(`${prefix}payload`, bytes, ctx.maxMessageBytes)
  return { envelope, bytes }
}

/** Validate an HTTP-shaped request (definition by id, payload, options) against the registry. */
export function buildEnvelopeFromRequest(registry: JobRegistry, request: unknown, ctx: BuildContext): { envelope: JobEnvelope; bytes: number } {
  const prefix = ctx.path ? `${ctx.path}.` : ''
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw ValidationError.single(ctx.path || '(body)', 'must be a JSON object')
  }
  const { definition: definitionId, payload, ...options } = request as Record<string, unknown>
  const checkedId = v.safeParse(enqueueRequestSchema.entries.definition, definitionId)
  if (!checkedId.success) throw new ValidationError(issuesFrom(checkedId.issues, `${prefix}definition`))
  const definition = registry.definition(checkedId.output, `${prefix}definition`)
  return buildEnvelope(definition, payload, options as EnqueueOptions, ctx)
}

// ---- wire format (agents carry JSON text; dates serialise as ISO strings through Date#toJSON) ----

export function serializeEnvelope(e: JobEnvelope): string {
  return JSON.stringify(e)
}

export function parseEnvelope(text: string): JobEnvelope {
  const raw = JSON.parse(text) as Omit<JobEnvelope, 'scheduledAt' | 'createdAt'> & { scheduledAt: string; createdAt: string }
  return { ...raw, scheduledAt: new Date(raw.scheduledAt), createdAt: new Date(raw.createdAt) }
}

export function serializeBucketJob(j: BucketJob): string {
  return JSON.stringify(j)
}

export function parseBucketJob(text: string): BucketJob {
  const raw = JSON.parse(text) as Omit<BucketJob, 'scheduledAt'> & { scheduledAt: string }
  return { ...raw, scheduledAt: new Date(raw.scheduledAt) }
}

export type { Priority }

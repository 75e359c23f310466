import { createHash } from 'node:crypto'
import * as v from 'valibot'
import { v5 as uuidv5 } from 'uuid'
import type { JobDefinition } from '../definitions.js'
import { ConfigError, PayloadTooLargeError, ValidationError, type Issue } from '../errors.js'
import { MISFIRE_POLICIES, OVERLAP_POLICIES, type ScheduleKind, type ScheduleRecord, type ScheduleSpec } from '../model.js'
import { DEFINITION_PATTERN, DEFINITION_RULE } from '../names.js'
import { unstorableJson } from '../json-storable.js'
import { issuesFrom } from '../schemas.js'
import { cronProblem } from './recurrence.js'
import { isTimeZone, jobOptions, MAX_CRON_LENGTH, MIN_INTERVAL_MS, scheduleOptionsSchema, timeField, type ScheduleOptions } from './schema.js'

export interface SpecContext {
  now: Date
  /** Largest serialized schedule (its payload travels in every occurrence). */
  maxMessageBytes: number
  /** Path prefix of error messages. */
  path?: string
}

/**
 * Validate a schedule and resolve it against its job definition: exactly one of every / cron,
 * a cron expression croner accepts, a time zone only with cron, a payload that matches the
 * definition's schema, a sane time window, a size within maxMessageBytes. Throws
 * ValidationError (or PayloadTooLargeError) naming the field; never returns a partial result.
 */
export function buildScheduleSpec(definition: JobDefinition, payload: unknown, input: ScheduleOptions, ctx: SpecContext): ScheduleSpec {
  const at = (field: string) => (ctx.path ? `${ctx.path}.${field}` : field)
  const parsed = v.safeParse(scheduleOptionsSchema, input ?? {})
  const issues: Issue[] = parsed.success ? [] : issuesFrom(parsed.issues, ctx.path ?? '')
  const checkedPayload = v.safeParse(definition.schema, payload)
  if (!checkedPayload.success) issues.push(...issuesFrom(checkedPayload.issues, at('payload')))
  // As for a job: before anything serializes the payload, and only what every master can store.
  for (const issue of [unstorableJson(payload, at('payload')), parsed.success ? unstorableJson(parsed.output.metadata ?? {}, at('metadata')) : null]) {
    if (issue) issues.push(issue)
  }
  if (!parsed.success || issues.length > 0) throw new ValidationError(issues)
  const o = parsed.output

  if ((o.every === undefined) === (o.cron === undefined)) issues.push({ path: at('every'), message: 'give either every (an interval) or cron (an expression), exactly one' })
  if (o.every !== undefined && o.timeZone !== undefined) issues.push({ path: at('timeZone'), message: 'applies to cron expressions only (intervals are absolute durations)' })
  if (o.cron !== undefined) {
    const problem = cronProblem(o.cron, o.timeZone ?? 'UTC')
    if (problem) issues.push({ path: at('cron'), message: `is not a valid cron expression (5 fields, or 6 with seconds first): ${problem}` })
  }
  if (o.startAfter && o.endBefore && o.endBefore.getTime() <= o.startAfter.getTime()) issues.push({ path: at('endBefore'), message: 'must be later than startAfter' })
  if (o.endBefore && o.endBefore.getTime() <= ctx.now.getTime()) issues.push({ path: at('endBefore'), message: 'is in the past' })
  if (issues.length > 0) throw new ValidationError(issues)

  const spec: ScheduleSpec = {
    name: o.name ?? null,
    definition: definition.id,
    everyMs: o.every ?? null,
    cron: o.cron ?? null,
    timeZone: o.timeZone ?? null,
    payload: payload === undefined ? null : payload,
    metadata: { ...definition.metadata, ...(o.metadata ?? {}) },
    priority: o.priority ?? definition.priority,
    lane: o.lane === undefined ? definition.lane : o.lane,
    timeoutMs: o.timeout ?? definition.timeoutMs,
    maxRetries: o.maxRetries ?? definition.maxRetries,
    startAfter: o.startAfter ?? null,
    endBefore: o.endBefore ?? null,
    misfirePolicy: o.misfire ?? 'run-once',
    overlapPolicy: o.overlap ?? 'allow',
  }
  const bytes = Buffer.byteLength(specToJson(spec))
  if (bytes > ctx.maxMessageBytes) throw new PayloadTooLargeError(at('payload'), bytes, ctx.maxMessageBytes)
  return spec
}

/** A schedule declared in code, synced into the master by coordinating processes at start-up. */
export interface StaticSchedule {
  readonly name: string
  readonly spec: ScheduleSpec
  /** Changes when the declaration changes, so a sync knows to re-plan. */
  readonly specHash: string
}

export interface DefineScheduleOptions<D extends JobDefinition> extends Omit<ScheduleOptions, 'name'> {
  /** Identity of the schedule in the cluster: renaming it retires the old one and starts a new one. */
  name: string
  job: D
  payload?: unknown
}

/** Sizes are checked against the cluster's limit when the schedule is synced; this bounds declarations. */
const STATIC_MAX_BYTES = 16 * 1024 * 1024

/**
 * Declare a static schedule (export the list as `schedules` from a module such as jobs/schedules.ts).
 * Throws ConfigError naming the schedule and the field.
 */
export function defineSchedule<D extends JobDefinition>(options: DefineScheduleOptions<D>): StaticSchedule {
  const { name, job, payload, ...rest } = options
  const where = `schedule "${name}"`
  if (typeof name !== 'string' || !DEFINITION_PATTERN.test(name)) throw new ConfigError([{ path: `${where}.name`, message: `must be ${DEFINITION_RULE}` }])
  let spec: ScheduleSpec
  try {
    // Static schedules are re-declared at every start: a bound that passed long ago is a
    // retired schedule, not an error, so endBefore is checked against the epoch here.
    spec = buildScheduleSpec(job, payload, { ...rest, name }, { now: new Date(0), maxMessageBytes: STATIC_MAX_BYTES })
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(error.issues.map((i) => ({ path: `${where}.${i.path}`, message: i.message })))
    throw error
  }
  return Object.freeze({ name, spec, specHash: specHash(spec) })
}

/** Fixed namespace of static schedule ids: the id is a UUIDv5 of cluster and name, so every process derives the same. */
const STATIC_NAMESPACE = '0b7f3d8e-5c1a-4e57-9a0e-7d3c2f1b6a49'

export function staticScheduleId(clusterId: string, name: string): string {
  return uuidv5(`${clusterId}:${name}`, STATIC_NAMESPACE)
}

export function specHash(spec: ScheduleSpec): string {
  return createHash('sha256').update(specToJson(spec)).digest('hex')
}

/** A new schedule record: Active, covered up to its creation (or its start-after, if later). */
export function newScheduleRecord(spec: ScheduleSpec, at: { id: string; clusterId: string; kind: ScheduleKind; createdAt: Date; now: Date; syncedAt?: Date }): ScheduleRecord {
  const start = spec.startAfter && spec.startAfter.getTime() > at.createdAt.getTime() ? spec.startAfter : at.createdAt
  return {
    ...spec,
    id: at.id,
    clusterId: at.clusterId,
    kind: at.kind,
    status: 'Active',
    coveredUntil: start,
    createdAt: at.createdAt,
    updatedAt: at.now,
    statusChangedAt: at.now,
    version: 1,
    specHash: at.kind === 'static' ? specHash(spec) : null,
    syncedAt: at.syncedAt ?? null,
  }
}

// ---- wire form (the inbox carries dynamic schedules as JSON)

/** A spec as plain JSON values (times as ISO text). */
export function specToWire(spec: ScheduleSpec): Record<string, unknown> {
  return { ...spec, startAfter: spec.startAfter?.toISOString() ?? null, endBefore: spec.endBefore?.toISOString() ?? null }
}

/** Canonical JSON of a spec, keys in a fixed order: what specHash digests and maxMessageBytes bounds. */
export function specToJson(spec: ScheduleSpec): string {
  return stableStringify(specToWire(spec))
}

const wireSpecSchema = v.strictObject({
  name: v.nullable(v.pipe(v.string(), v.regex(DEFINITION_PATTERN))),
  definition: v.pipe(v.string(), v.regex(DEFINITION_PATTERN)),
  everyMs: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(MIN_INTERVAL_MS))),
  cron: v.nullable(v.pipe(v.string(), v.maxLength(MAX_CRON_LENGTH))),
  timeZone: v.nullable(v.pipe(v.string(), v.check(isTimeZone))),
  payload: v.unknown(),
  metadata: v.record(v.string(), v.string()),
  priority: jobOptions.priority.wrapped,
  lane: v.nullable(v.string()),
  timeoutMs: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1))),
  maxRetries: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(25))),
  startAfter: v.nullable(timeField('startAfter')),
  endBefore: v.nullable(timeField('endBefore')),
  misfirePolicy: v.picklist(MISFIRE_POLICIES),
  overlapPolicy: v.picklist(OVERLAP_POLICIES),
})

/** Read a spec written by specToWire; throws ValidationError naming what does not fit (a message from another version). */
export function specFromWire(value: unknown): ScheduleSpec {
  const parsed = v.safeParse(wireSpecSchema, value)
  if (!parsed.success) throw new ValidationError(issuesFrom(parsed.issues, ''))
  const spec = parsed.output
  if ((spec.everyMs === null) === (spec.cron === null)) throw ValidationError.single('everyMs', 'exactly one of everyMs and cron must be set')
  return spec
}

function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}

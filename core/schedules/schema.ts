import * as v from 'valibot'
import { DAY } from '../durations.js'
import { enqueueOptionsSchema } from '../envelope.js'
import { MISFIRE_POLICIES, OVERLAP_POLICIES } from '../model.js'
import { DEFINITION_PATTERN, DEFINITION_RULE } from '../names.js'
import { durationSchema } from '../schemas.js'

/**
 * The shape of a schedule request as valibot schemas. No cron library here: the producer checks
 * shapes with these on its hot path and loads the expression check (spec.ts, croner) only when a
 * schedule arrives, so job requests do not pay for it at cold start.
 */

/** Intervals are whole seconds or more: finer ones would flood the master with occurrences. */
export const MIN_INTERVAL_MS = 1000
export const MAX_CRON_LENGTH = 200

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

const MAX_INTERVAL_MS = 366 * DAY

/** The times every master can store (MySQL DATETIME and SQL Server datetimeoffset end with year 9999). */
const EARLIEST_TIME = Date.UTC(1970, 0, 1)
const LATEST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

export const timeField = (field: string) =>
  v.pipe(
    v.union([v.date(), v.string()], `${field} must be an ISO-8601 time`),
    v.transform((x) => (x instanceof Date ? x : new Date(x))),
    v.check((d) => !Number.isNaN(d.getTime()), `${field} must be an ISO-8601 time`),
    v.check((d) => d.getTime() >= EARLIEST_TIME && d.getTime() <= LATEST_TIME, `${field} must be between 1970-01-01 and 9999-12-31 (what every master database stores)`),
  )

/** The job options a schedule shares with an enqueued job (same fields, same messages). */
export const jobOptions = enqueueOptionsSchema.entries

/** What a schedule may say besides its job and payload; shared by code (`defineSchedule`), the client and HTTP. */
export const scheduleOptionsSchema = v.strictObject({
  name: v.optional(v.pipe(v.string('name must be a string'), v.regex(DEFINITION_PATTERN, `name must be ${DEFINITION_RULE}`))),
  every: v.optional(durationSchema('every', MIN_INTERVAL_MS, MAX_INTERVAL_MS)),
  cron: v.optional(
    v.pipe(
      v.string('cron must be a cron expression'),
      v.trim(),
      v.minLength(1, 'cron must be a cron expression'),
      v.maxLength(MAX_CRON_LENGTH, `cron is limited to ${MAX_CRON_LENGTH} characters`),
    ),
  ),
  timeZone: v.optional(v.pipe(v.string('timeZone must be a string'), v.check(isTimeZone, 'timeZone must be an IANA time zone such as "UTC" or "America/Sao_Paulo"'))),
  priority: jobOptions.priority,
  lane: jobOptions.lane,
  timeout: jobOptions.timeout,
  maxRetries: jobOptions.maxRetries,
  metadata: jobOptions.metadata,
  startAfter: v.optional(timeField('startAfter')),
  endBefore: v.optional(timeField('endBefore')),
  misfire: v.optional(v.picklist(MISFIRE_POLICIES, `misfire must be one of ${MISFIRE_POLICIES.join(', ')}`)),
  overlap: v.optional(v.picklist(OVERLAP_POLICIES, `overlap must be one of ${OVERLAP_POLICIES.join(', ')}`)),
})
export type ScheduleOptions = v.InferInput<typeof scheduleOptionsSchema>

/** `POST /v1/schedules`: the job (definition, payload), the recurrence and options, and an idempotency key. */
export const scheduleRequestSchema = v.strictObject({
  definition: v.pipe(v.string('definition is required'), v.regex(DEFINITION_PATTERN, `definition must be ${DEFINITION_RULE}`)),
  payload: v.optional(v.unknown()),
  ...scheduleOptionsSchema.entries,
  idempotencyKey: jobOptions.idempotencyKey,
})
export type ScheduleRequest = v.InferInput<typeof scheduleRequestSchema>


import * as v from 'valibot'
import { enqueueRequestSchema } from '../core/envelope.js'
import { MAX_BATCH } from '../core/producer.js'
import { scheduleRequestSchema } from '../core/schedules/schema.js'

/**
 * The producer's HTTP bodies as valibot schemas: the request shapes are validated with them and
 * the OpenAPI document is generated from them, so the two cannot drift apart.
 */

/** `POST /v1/jobs`: definition, payload and the job's options (the payload is checked against its definition later). */
export const jobRequestSchema = enqueueRequestSchema

/** `POST /v1/jobs/batch`: up to MAX_BATCH jobs, all or nothing. */
export const batchRequestSchema = v.strictObject({
  jobs: v.pipe(
    v.array(jobRequestSchema, 'jobs must be an array'),
    v.minLength(1, 'jobs must contain at least one job'),
    v.maxLength(MAX_BATCH, `jobs is limited to ${MAX_BATCH} per batch`),
  ),
})

const jobId = v.pipe(v.string(), v.uuid())

export const acceptedJobSchema = v.object({
  id: jobId,
  status: v.literal('SavePending'),
  duplicate: v.pipe(v.boolean(), v.description('true when an earlier request with the same idempotencyKey created this job (its id is returned)')),
})
export type AcceptedJob = v.InferOutput<typeof acceptedJobSchema>

export const acceptedBatchSchema = v.object({
  ids: v.array(jobId),
  status: v.literal('SavePending'),
  duplicates: v.pipe(v.number(), v.integer(), v.minValue(0), v.description('how many of the ids are earlier jobs returned for a repeated idempotencyKey')),
})
export type AcceptedBatch = v.InferOutput<typeof acceptedBatchSchema>

/** `POST /v1/schedules`: definition, payload, `every` or `cron` (with `timeZone`), the jobs' options, window and policies. */
export { scheduleRequestSchema }

export const acceptedScheduleSchema = v.object({
  id: jobId,
  status: v.pipe(v.literal('SavePending'), v.description('in an agent inbox; Active once ingested into the master (seconds)')),
  duplicate: v.pipe(v.boolean(), v.description('true when an earlier request with the same idempotencyKey created this schedule (its id is returned)')),
})
export type AcceptedSchedule = v.InferOutput<typeof acceptedScheduleSchema>

export const errorBodySchema = v.object({
  error: v.string(),
  issues: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
})

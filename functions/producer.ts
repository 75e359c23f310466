import { Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Logger } from '../core/logger.js'
import type { Producer } from '../core/producer.js'
import { apiKeyAuth } from './auth-api-key.js'
import { errorResponse, RequestBodyTooLargeError, jsonObjectBody } from './http-errors.js'
import { producerOpenApi } from './openapi.js'
import { batchRequestSchema, jobRequestSchema, scheduleRequestSchema, type AcceptedBatch, type AcceptedJob, type AcceptedSchedule } from './producer-schemas.js'

/** A whole batch body; each of its jobs is still held to maxMessageBytes. */
export const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024

export interface ProducerAppOptions {
  producer: Producer
  maxMessageBytes: number
  logger?: Logger
  /**
   * When given, every request needs one of these keys in `x-api-key` (401 otherwise). Without it
   * the app is open: the local cluster listens on 127.0.0.1, and the Lambda handler refuses to
   * start without keys unless JM_AUTH says otherwise.
   */
  apiKeys?: readonly string[]
}

/**
 * The producer HTTP app: validates jobs (and dynamic schedules) and writes them straight to an
 * agent inbox (never the master). Mounted by the local cluster, served by `@hono/node-server`, and on Lambda by
 * functions/producer-handler.ts.
 */
export function createProducerApp({ producer, maxMessageBytes, logger, apiKeys }: ProducerAppOptions): Hono {
  if (apiKeys !== undefined && apiKeys.length === 0) throw new Error('createProducerApp: apiKeys is empty; omit it to run without API keys')
  const app = new Hono()
  const limit = (maxSize: number): MiddlewareHandler => bodyLimit({ maxSize, onError: (c) => errorResponse(new RequestBodyTooLargeError(maxSize), c, logger) })
  // Per route rather than `app.use('*')`: a parent app that mounts this one next to the management
  // API (the local cluster) must not apply the producer's keys to the API's routes.
  const authenticate: MiddlewareHandler = apiKeys ? apiKeyAuth(apiKeys, logger) : (_c, next) => next()

  // JSON text of a payload can be larger than its serialized form (whitespace, escapes): the exact
  // maxMessageBytes check happens on the serialized job; this limit only stops absurd bodies early.
  app.post('/v1/jobs', authenticate, limit(2 * maxMessageBytes + 16 * 1024), jsonObjectBody(jobRequestSchema), async (c) => {
    const job = await producer.enqueueRequest(c.req.valid('json'))
    return c.json<AcceptedJob>({ id: job.id, status: job.status, duplicate: job.duplicate }, 202)
  })

  app.post('/v1/jobs/batch', authenticate, limit(MAX_BATCH_BODY_BYTES), jsonObjectBody(batchRequestSchema), async (c) => {
    const jobs = await producer.enqueueBatch(c.req.valid('json').jobs)
    return c.json<AcceptedBatch>({ ids: jobs.map((j) => j.id), status: 'SavePending', duplicates: jobs.filter((j) => j.duplicate).length }, 202)
  })

  // A dynamic schedule is validated in full here and written to an agent inbox like a job; ingest
  // creates it in the master. So this route, too, works while the master is down.
  app.post('/v1/schedules', authenticate, limit(2 * maxMessageBytes + 16 * 1024), jsonObjectBody(scheduleRequestSchema), async (c) => {
    const schedule = await producer.scheduleRequest(c.req.valid('json'))
    return c.json<AcceptedSchedule>({ id: schedule.id, status: schedule.status, duplicate: schedule.duplicate }, 202)
  })

  let openApi: Record<string, unknown> | undefined
  app.get('/v1/openapi.json', authenticate, (c) => {
    openApi ??= producerOpenApi({
      definitions: producer.registry.definitionIds.map((id) => producer.registry.definition(id)),
      apiKeyRequired: apiKeys !== undefined,
      maxMessageBytes,
    })
    return c.json(openApi)
  })

  app.onError((error, c) => errorResponse(error, c, logger))
  return app
}

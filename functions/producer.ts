import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import * as v from 'valibot'
import { ValidationError } from '../core/errors.js'
import { issuesFrom } from '../core/envelope.js'
import type { Logger } from '../core/logger.js'
import { MAX_BATCH, type Producer } from '../core/producer.js'
import { errorResponse, readJson } from './http-errors.js'

const batchBodySchema = v.strictObject({
  jobs: v.pipe(
    v.array(v.unknown(), 'jobs must be an array'),
    v.minLength(1, 'jobs must contain at least one job'),
    v.maxLength(MAX_BATCH, `jobs is limited to ${MAX_BATCH} per batch`),
  ),
})

export interface ProducerAppOptions {
  producer: Producer
  maxMessageBytes: number
  logger?: Logger
}

/**
 * The producer HTTP app: accepts jobs and writes them straight to an agent inbox (never the
 * master). Mounted by the local cluster and served on Lambda by the producer handler.
 */
export function createProducerApp({ producer, maxMessageBytes, logger }: ProducerAppOptions): Hono {
  const app = new Hono()
  const tooLarge = (c: import('hono').Context) => c.json({ error: 'payload too large', issues: [{ path: '(body)', message: 'request body is too large' }] }, 413)

  app.post('/v1/jobs', bodyLimit({ maxSize: 2 * maxMessageBytes + 16 * 1024, onError: tooLarge }), async (c) => {
    const job = await producer.enqueueRequest(await readJson(c))
    return c.json({ id: job.id, status: job.status, duplicate: job.duplicate }, 202)
  })

  app.post('/v1/jobs/batch', bodyLimit({ maxSize: 16 * 1024 * 1024, onError: tooLarge }), async (c) => {
    const body = v.safeParse(batchBodySchema, await readJson(c))
    if (!body.success) throw new ValidationError(issuesFrom(body.issues, ''))
    const jobs = await producer.enqueueBatch(body.output.jobs)
    return c.json({ ids: jobs.map((j) => j.id), status: 'SavePending', duplicates: jobs.filter((j) => j.duplicate).length }, 202)
  })

  app.onError((error, c) => errorResponse(error, c, logger))
  return app
}

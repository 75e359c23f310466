import { Hono, type Context } from 'hono'
import { Registry, register } from 'prom-client'
import * as v from 'valibot'
import type { ClusterContext } from '../core/cluster.js'
import { DAY } from '../core/durations.js'
import { ClusterModeError, ConfigError, NotFoundError, ValidationError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { QUEUED_BUCKET_STATUSES, registerClusterMetrics } from '../core/metrics.js'
import { CLUSTER_MODES, JOB_STATUSES, BUCKET_STATUSES, SCHEDULE_KINDS, SCHEDULE_STATUSES, type BucketRecord, type JobStatus } from '../core/model.js'
import { definitionIdSchema, nameSchema } from '../core/names.js'
import {
  cancelJob,
  cancelSchedule,
  changeClusterMode,
  OperationConflictError,
  pauseSchedule,
  requestWorkerStop,
  rescheduleJob,
  resumeSchedule,
  retryFailedJob,
  runScheduleNow,
  type JobOperationResult,
  type ScheduleOperationResult,
} from '../core/operations.js'
import { unstorableJson } from '../core/json-storable.js'
import { durationSchema, issuesFrom } from '../core/schemas.js'
import type { JobCursor, JobListFilter } from '../core/stores/master.js'
import { authConfigured, authenticate, describePrincipal, roleAllows, type AuthEnv, type AuthSettings } from './auth.js'
import { mountDashboard } from './dashboard/routes.js'
import { errorResponse, readJson } from './http-errors.js'
import { bucketView, clusterView, connectionView, jobSummaryView, jobView, scheduleView, workerView } from './views.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const WORKER_ID = /^[A-Za-z0-9_.:-]{1,120}$/
const DEFAULT_PAGE = 50
const MAX_PAGE = 500
const MAX_FUTURE_MS = 3650 * DAY
const DEFAULT_SCHEDULES = 500
const MAX_SCHEDULES = 5000

export interface ApiAppOptions {
  auth: AuthSettings
  /** Where operations and authentication failures are logged (default: the cluster's logger). */
  logger?: Logger
}

const isoTime = (field: string) =>
  v.pipe(
    v.string(),
    v.transform((x) => new Date(x)),
    v.check((d) => !Number.isNaN(d.getTime()), `${field} must be an ISO-8601 time`),
  )

const listQuerySchema = v.strictObject({
  status: v.optional(v.picklist(JOB_STATUSES, `status must be one of ${JOB_STATUSES.join(', ')}`)),
  definition: v.optional(definitionIdSchema),
  // An empty lane selects the default lane.
  lane: v.optional(v.union([v.literal(''), nameSchema], 'lane must be a lane name, or empty for the default lane')),
  schedule: v.optional(v.pipe(v.string(), v.regex(UUID, 'schedule must be a schedule id (UUID)'))),
  createdFrom: v.optional(isoTime('createdFrom')),
  createdTo: v.optional(isoTime('createdTo')),
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'limit must be a whole number'), v.transform(Number), v.minValue(1, 'limit must be at least 1'), v.maxValue(MAX_PAGE, `limit must be at most ${MAX_PAGE}`)),
  ),
  cursor: v.optional(v.string()),
})

const metadataValueSchema = v.pipe(
  v.string(),
  v.maxLength(1000, 'metadata values are limited to 1000 characters'),
  // A value no job can have (the producer refuses it): a master could not even compare it.
  v.check((value) => unstorableJson(value, '') === null, 'metadata values cannot contain a NUL character (U+0000) or an unpaired UTF-16 surrogate'),
)

const bucketQuerySchema = v.strictObject({
  status: v.optional(v.picklist(BUCKET_STATUSES, `status must be one of ${BUCKET_STATUSES.join(', ')}`)),
  connection: v.optional(nameSchema),
})

const scheduleQuerySchema = v.strictObject({
  status: v.optional(v.picklist(SCHEDULE_STATUSES, `status must be one of ${SCHEDULE_STATUSES.join(', ')}`)),
  kind: v.optional(v.picklist(SCHEDULE_KINDS, `kind must be one of ${SCHEDULE_KINDS.join(', ')}`)),
  limit: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'limit must be a whole number'), v.transform(Number), v.minValue(1, 'limit must be at least 1'), v.maxValue(MAX_SCHEDULES, `limit must be at most ${MAX_SCHEDULES}`)),
  ),
})

const rescheduleSchema = v.strictObject({
  runAt: v.optional(isoTime('runAt')),
  delay: v.optional(durationSchema('delay', 0, MAX_FUTURE_MS)),
})

const modeSchema = v.strictObject({
  mode: v.picklist(CLUSTER_MODES, `mode must be one of ${CLUSTER_MODES.join(', ')}`),
})

function parse<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input)
  if (!result.success) throw new ValidationError(issuesFrom(result.issues, ''))
  return result.output
}

/** Opaque cursor: the keyset position of the last row of a page. */
function encodeCursor(cursor: JobCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url')
}

function decodeCursor(text: string): JobCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[]
    const at = new Date(String(createdAt))
    if (typeof createdAt === 'string' && typeof id === 'string' && UUID.test(id) && !Number.isNaN(at.getTime())) return { createdAt: at, id }
  } catch {
    // fall through: not a cursor of ours
  }
  throw ValidationError.single('cursor', 'is not a cursor returned by this API')
}

/** `?status=&definition=&lane=&metadata.<key>=<value>&createdFrom=&createdTo=` → a store filter. */
function jobFilterFrom(c: Context): { filter: JobListFilter; limit: number; after: JobCursor | undefined } {
  const all = c.req.queries()
  const plain: Record<string, string> = {}
  const metadata: Record<string, string> = {}
  const issues: Array<{ path: string; message: string }> = []
  for (const [name, values] of Object.entries(all)) {
    if (values.length > 1) issues.push({ path: name, message: 'may be given only once' })
    const value = values[0] ?? ''
    if (name.startsWith('metadata.')) {
      const key = name.slice('metadata.'.length)
      const checked = v.safeParse(v.tuple([nameSchema, metadataValueSchema]), [key, value])
      if (checked.success) metadata[key] = value
      else issues.push({ path: name, message: `metadata filters are metadata.<key>=<value>; ${checked.issues[0].message}` })
    } else {
      plain[name] = value
    }
  }
  if (issues.length > 0) throw new ValidationError(issues)
  const q = parse(listQuerySchema, plain)
  const filter: JobListFilter = {
    ...(q.status ? { status: q.status } : {}),
    ...(q.definition ? { definition: q.definition } : {}),
    ...(q.lane !== undefined ? { lane: q.lane === '' ? null : q.lane } : {}),
    ...(q.schedule ? { scheduleId: q.schedule } : {}),
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(q.createdFrom ? { createdFrom: q.createdFrom } : {}),
    ...(q.createdTo ? { createdTo: q.createdTo } : {}),
  }
  return { filter, limit: q.limit ?? DEFAULT_PAGE, after: q.cursor === undefined ? undefined : decodeCursor(q.cursor) }
}

function jobIdParam(c: Context): string {
  const id = c.req.param('id') ?? ''
  if (!UUID.test(id)) throw ValidationError.single('id', 'must be a job id (UUID)')
  return id
}

function scheduleIdParam(c: Context): string {
  const id = c.req.param('id') ?? ''
  if (!UUID.test(id)) throw ValidationError.single('id', 'must be a schedule id (UUID)')
  return id
}

function workerIdParam(c: Context): string {
  const id = c.req.param('id') ?? ''
  if (!WORKER_ID.test(id)) throw ValidationError.single('id', 'must be a worker id')
  return id
}

/** How an operation ended, for the log: the typed error says which. */
function outcomeOf(error: unknown): string {
  if (error instanceof ValidationError) return 'invalid'
  if (error instanceof NotFoundError) return 'not-found'
  if (error instanceof OperationConflictError || error instanceof ClusterModeError) return 'conflict'
  return 'failed'
}

function operationResultView(result: JobOperationResult) {
  return { job: jobView(result.job), previousStatus: result.previousStatus, ownerNotified: result.ownerNotified }
}

/**
 * The management API: read the cluster (jobs, attempts, buckets, workers, connections, settings,
 * metrics) and operate on it. Every `/v1` route and `/metrics` requires authentication; operations
 * also need the `operate` role and are logged (actor, operation, target, outcome). The dashboard
 * page and its assets are public: every call it makes carries the credential the user gives it.
 * Schedules are created through the producer (`POST /v1/schedules`), which never touches the
 * master; here they are listed and operated on.
 */
export function createApiApp(ctx: ClusterContext, options: ApiAppOptions): Hono<AuthEnv> {
  if (!authConfigured(options.auth)) {
    throw new ConfigError([{ path: 'JM_MANAGEMENT_API_KEYS', message: 'the management API needs authentication: set JM_MANAGEMENT_API_KEYS, JM_MANAGEMENT_API_USERS, JM_JWT_SECRET or JM_JWT_PUBLIC_KEY' }])
  }
  const logger = options.logger ?? ctx.logger
  const app = new Hono<AuthEnv>()
  // Per route rather than app.use('/v1/*'): this app is mounted beside the producer app.
  const authn = authenticate(options.auth, logger)
  const clusterMetrics = new Registry()
  registerClusterMetrics(ctx, clusterMetrics)

  /** Depth of a bucket or inbox; null when the connection is not open here or does not answer. */
  const depthOr = async (connection: string, read: () => Promise<number>): Promise<number | null> => {
    if (!ctx.agents.has(connection)) return null
    try {
      return await read()
    } catch (error) {
      logger.warn({ err: error, connection }, 'agent connection did not answer a depth query')
      return null
    }
  }
  const bucketDepths = (buckets: BucketRecord[]) =>
    Promise.all(buckets.map((b) => depthOr(b.agentConnection, () => ctx.agent(b.agentConnection).bucketDepth(b.id))))

  /**
   * An operation: needs the operate role, answers the handler's body, and logs one line with the
   * actor, operation, target and outcome (never a credential, never the job's payload).
   */
  const operation =
    (name: string, targetOf: (c: Context<AuthEnv>) => string, run: (c: Context<AuthEnv>) => Promise<{ body: object; detail?: Record<string, unknown> }>) =>
    async (c: Context<AuthEnv>) => {
      const principal = c.get('principal')
      const entry = { event: 'management-operation', actor: describePrincipal(principal), operation: name, target: targetOf(c).slice(0, 200) }
      if (!roleAllows(principal.role, 'operate')) {
        logger.warn({ ...entry, outcome: 'forbidden' }, `${name} refused: the operate role is required`)
        return c.json({ error: 'forbidden', reason: `${name} needs the operate role; ${entry.actor} has ${principal.role}` }, 403)
      }
      try {
        const { body, detail } = await run(c)
        logger.info({ ...entry, outcome: 'applied', ...detail }, `${name} applied`)
        return c.json(body)
      } catch (error) {
        const outcome = outcomeOf(error)
        const reason = outcome === 'failed' ? undefined : (error as Error).message
        logger[outcome === 'failed' ? 'error' : 'info']({ ...entry, outcome, reason }, `${name} ${outcome}`)
        throw error
      }
    }

  mountDashboard(app)

  app.get('/v1/cluster', authn, async (c) => c.json(clusterView(await ctx.refreshSettings())))

  app.get('/v1/jobs', authn, async (c) => {
    const { filter, limit, after } = jobFilterFrom(c)
    const rows = await ctx.master.listJobs(ctx.clusterId, filter, limit + 1, after)
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return c.json({ jobs: page.map(jobSummaryView), nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null })
  })

  app.get('/v1/jobs/count', authn, async (c) => {
    const { filter } = jobFilterFrom(c)
    return c.json({ count: await ctx.master.countJobs(ctx.clusterId, filter) })
  })

  app.get('/v1/jobs/by-status', authn, async (c) => {
    const stored = await ctx.master.countJobsByStatus(ctx.clusterId)
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, stored[s] ?? 0])) as Record<JobStatus, number>
    return c.json({ counts, total: Object.values(counts).reduce((a, b) => a + b, 0) })
  })

  app.get('/v1/jobs/:id', authn, async (c) => {
    const id = jobIdParam(c)
    const job = await ctx.master.getJob(ctx.clusterId, id)
    if (!job) throw new NotFoundError('job', id)
    return c.json(jobView(job, await ctx.master.listAttempts(ctx.clusterId, id)))
  })

  app.get('/v1/buckets', authn, async (c) => {
    const q = parse(bucketQuerySchema, c.req.query())
    const buckets = await ctx.master.listBuckets(ctx.clusterId, {
      ...(q.status ? { statuses: [q.status] } : {}),
      ...(q.connection ? { agentConnection: q.connection } : {}),
    })
    const depths = await bucketDepths(buckets)
    return c.json({ buckets: buckets.map((b, i) => bucketView(b, depths[i] ?? null)) })
  })

  app.get('/v1/workers', authn, async (c) => {
    const workers = await ctx.master.listWorkers(ctx.clusterId)
    const now = ctx.clock.now()
    return c.json({ workers: workers.sort((a, b) => a.name.localeCompare(b.name)).map((w) => workerView(w, now, ctx.config.workerDeadAfterMs)) })
  })

  app.get('/v1/connections', authn, async (c) => {
    const [records, buckets] = await Promise.all([ctx.master.listAgentConnections(ctx.clusterId), ctx.master.listBuckets(ctx.clusterId, { statuses: QUEUED_BUCKET_STATUSES })])
    const depths = await bucketDepths(buckets)
    const connections = await Promise.all(
      records.map(async (record) => {
        const mine = buckets.map((b, i) => ({ b, depth: depths[i] ?? null })).filter(({ b }) => b.agentConnection === record.name)
        const open = ctx.agents.has(record.name)
        return connectionView(record, {
          open,
          inboxDepth: await depthOr(record.name, () => ctx.agent(record.name).inboxDepth()),
          buckets: mine.length,
          queueDepth: open && mine.every((m) => m.depth !== null) ? mine.reduce((sum, m) => sum + m.depth!, 0) : null,
        })
      }),
    )
    return c.json({ connections })
  })

  app.get('/metrics', authn, async (c) => {
    // Merged per scrape: the default registry holds this process's runtime metrics (a worker's,
    // in the local cluster), whenever they were registered.
    const merged = Registry.merge([register, clusterMetrics])
    return c.body(await merged.metrics(), 200, { 'content-type': merged.contentType })
  })

  app.post(
    '/v1/jobs/:id/cancel',
    authn,
    operation('job.cancel', (c) => `job/${c.req.param('id')}`, async (c) => {
      const result = await cancelJob(ctx, jobIdParam(c))
      return { body: operationResultView(result), detail: { previousStatus: result.previousStatus, ownerNotified: result.ownerNotified } }
    }),
  )

  app.post(
    '/v1/jobs/:id/retry',
    authn,
    operation('job.retry', (c) => `job/${c.req.param('id')}`, async (c) => {
      const result = await retryFailedJob(ctx, jobIdParam(c))
      return { body: operationResultView(result), detail: { previousStatus: result.previousStatus } }
    }),
  )

  app.post(
    '/v1/jobs/:id/reschedule',
    authn,
    operation('job.reschedule', (c) => `job/${c.req.param('id')}`, async (c) => {
      const id = jobIdParam(c)
      const body = parse(rescheduleSchema, await readJson(c))
      if ((body.runAt === undefined) === (body.delay === undefined)) throw ValidationError.single('runAt', 'give either runAt or delay (exactly one)')
      const runAt = body.runAt ?? new Date(ctx.clock.now().getTime() + body.delay!)
      if (runAt.getTime() > ctx.clock.now().getTime() + MAX_FUTURE_MS) throw ValidationError.single('runAt', 'is more than 10 years ahead')
      const result = await rescheduleJob(ctx, id, runAt)
      return { body: operationResultView(result), detail: { previousStatus: result.previousStatus, runAt: runAt.toISOString(), ownerNotified: result.ownerNotified } }
    }),
  )

  app.get('/v1/schedules', authn, async (c) => {
    const q = parse(scheduleQuerySchema, c.req.query())
    const schedules = await ctx.master.listSchedules(ctx.clusterId, { ...(q.status ? { status: q.status } : {}), ...(q.kind ? { kind: q.kind } : {}) }, q.limit ?? DEFAULT_SCHEDULES)
    const now = ctx.clock.now()
    return c.json({ schedules: schedules.map((s) => scheduleView(s, ctx.settings.timeZone, now)) })
  })

  app.get('/v1/schedules/:id', authn, async (c) => {
    const id = scheduleIdParam(c)
    const schedule = await ctx.master.getSchedule(ctx.clusterId, id)
    if (!schedule) throw new NotFoundError('schedule', id)
    return c.json(scheduleView(schedule, ctx.settings.timeZone, ctx.clock.now()))
  })

  const scheduleOperation = (name: string, path: string, run: (id: string) => Promise<ScheduleOperationResult>) =>
    app.post(
      `/v1/schedules/:id/${path}`,
      authn,
      operation(name, (c) => `schedule/${c.req.param('id')}`, async (c) => {
        const result = await run(scheduleIdParam(c))
        const detail = { previousStatus: result.previousStatus, withdrawnFromBuckets: result.withdrawnFromBuckets, ownersNotNotified: result.ownersNotNotified }
        return { body: { schedule: scheduleView(result.schedule, ctx.settings.timeZone, ctx.clock.now()), ...detail }, detail }
      }),
    )
  scheduleOperation('schedule.pause', 'pause', (id) => pauseSchedule(ctx, id))
  scheduleOperation('schedule.resume', 'resume', (id) => resumeSchedule(ctx, id))
  scheduleOperation('schedule.cancel', 'cancel', (id) => cancelSchedule(ctx, id))

  app.post(
    '/v1/schedules/:id/run',
    authn,
    operation('schedule.run-now', (c) => `schedule/${c.req.param('id')}`, async (c) => {
      const { schedule, job } = await runScheduleNow(ctx, scheduleIdParam(c))
      return { body: { schedule: scheduleView(schedule, ctx.settings.timeZone, ctx.clock.now()), job: jobView(job) }, detail: { jobId: job.id } }
    }),
  )

  app.post(
    '/v1/workers/:id/stop',
    authn,
    operation('worker.stop', (c) => `worker/${c.req.param('id')}`, async (c) => {
      const worker = await requestWorkerStop(ctx, workerIdParam(c))
      return { body: { worker: workerView(worker, ctx.clock.now(), ctx.config.workerDeadAfterMs) } }
    }),
  )

  app.post(
    '/v1/cluster/mode',
    authn,
    operation('cluster.mode', () => `cluster/${ctx.clusterId}`, async (c) => {
      const { mode } = parse(modeSchema, await readJson(c))
      const { previousMode, settings } = await changeClusterMode(ctx, mode)
      return { body: { previousMode, cluster: clusterView(settings) }, detail: { previousMode, mode } }
    }),
  )

  app.notFound((c) => c.json({ error: 'not found' }, 404))
  app.onError((error, c) => {
    if (error instanceof OperationConflictError) return c.json({ error: error.message, currentStatus: error.currentStatus }, 409)
    return errorResponse(error, c, logger)
  })
  return app
}

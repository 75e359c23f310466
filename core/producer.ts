import { createHash } from 'node:crypto'
import * as v from 'valibot'
import { newId } from './ids.js'
import { systemClock, type Clock } from './clock.js'
import type { AgentConfig } from './config.js'
import type { JobDefinition, JobRegistry } from './definitions.js'
import { parseDuration } from './durations.js'
import { buildEnvelope, buildEnvelopeFromRequest, issuesFrom, type EnqueueOptions } from './envelope.js'
import { ClusterModeError, TransportUnavailableError, ValidationError } from './errors.js'
import type { ClusterMode, JobEnvelope } from './model.js'
import { scheduleRequestSchema, type ScheduleOptions } from './schedules/schema.js'
import type { AgentStore } from './stores/agent.js'

export interface EnqueuedJob {
  id: string
  status: 'SavePending'
  /** True when an earlier request with the same idempotency key already created this job. */
  duplicate: boolean
}

/** A dynamic schedule accepted into an agent inbox; ingest creates it in the master (Active). */
export interface AcceptedSchedule {
  id: string
  status: 'SavePending'
  /** True when an earlier request with the same idempotency key already created this schedule. */
  duplicate: boolean
}

export type ClientScheduleOptions = Omit<ScheduleOptions, 'every' | 'cron'> & { payload?: unknown; idempotencyKey?: string }

export interface ProducerOptions {
  registry: JobRegistry
  agents: ReadonlyArray<{ store: AgentStore; config: Pick<AgentConfig, 'name' | 'lanes'> }>
  maxMessageBytes: number
  idempotencyWindowMs: number
  clusterMode?: ClusterMode
  clock?: Clock
  /** How long a connection that failed a write is skipped. */
  unhealthyForMs?: number
}

export const MAX_BATCH = 1000

/**
 * The producer hot path: validate, pick an agent connection, write the job (or the whole batch)
 * to its inbox in one atomic statement. It never touches the master.
 */
export class Producer {
  private readonly clock: Clock
  private readonly unhealthyUntil = new Map<string, number>()
  private next = 0

  constructor(private readonly options: ProducerOptions) {
    this.clock = options.clock ?? systemClock
    if (options.agents.length === 0) throw new Error('a producer needs at least one agent connection')
  }

  get registry(): JobRegistry {
    return this.options.registry
  }

  async enqueue<D extends JobDefinition>(definition: D, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    this.options.registry.definition(definition.id)
    const { envelope } = buildEnvelope(definition, payload, options, this.buildContext())
    return (await this.write([envelope]))[0]!
  }

  /** Enqueue from a request shaped like the HTTP body (`definition` by id). */
  async enqueueRequest(request: unknown): Promise<EnqueuedJob> {
    const { envelope } = buildEnvelopeFromRequest(this.options.registry, request, this.buildContext())
    return (await this.write([envelope]))[0]!
  }

  /** All-or-nothing: every job is validated first; then one atomic write to one connection. */
  async enqueueBatch(requests: readonly unknown[], path = 'jobs'): Promise<EnqueuedJob[]> {
    if (requests.length === 0) throw ValidationError.single(path, 'must contain at least one job')
    if (requests.length > MAX_BATCH) throw ValidationError.single(path, `is limited to ${MAX_BATCH} jobs per batch (got ${requests.length})`)
    const envelopes: JobEnvelope[] = []
    const issues: ValidationError['issues'] = []
    requests.forEach((request, i) => {
      try {
        envelopes.push(buildEnvelopeFromRequest(this.options.registry, request, { ...this.buildContext(), path: `${path}.${i}` }).envelope)
      } catch (error) {
        if (error instanceof ValidationError) issues.push(...error.issues)
        else throw error
      }
    })
    if (issues.length > 0) throw new ValidationError(issues)
    const seen = new Map<string, number>()
    envelopes.forEach((e, i) => {
      if (e.idempotencyKey === null) return
      const first = seen.get(e.idempotencyKey)
      if (first !== undefined) issues.push({ path: `${path}.${i}.idempotencyKey`, message: `repeats the key of ${path}.${first}` })
      seen.set(e.idempotencyKey, i)
    })
    if (issues.length > 0) throw new ValidationError(issues)
    return this.write(envelopes)
  }

  /**
   * Create a dynamic schedule of `definition`. `expression` is an interval (milliseconds, or text
   * such as "30s", "5m") or a cron expression (5 fields, or 6 with seconds first). Validated here
   * in full, then written to an agent inbox like a job: the master is never touched.
   */
  async schedule<D extends JobDefinition>(definition: D, expression: string | number, options: ClientScheduleOptions = {}): Promise<AcceptedSchedule> {
    this.options.registry.definition(definition.id)
    const { payload, idempotencyKey, ...rest } = options
    const recurrence = typeof expression === 'number' || parseDuration(expression) !== undefined ? { every: expression } : { cron: expression }
    return this.writeSchedule(definition, payload, { ...rest, ...recurrence }, idempotencyKey)
  }

  /** Create a schedule from a request shaped like the `POST /v1/schedules` body (`definition` by id). */
  async scheduleRequest(request: unknown): Promise<AcceptedSchedule> {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) throw ValidationError.single('(body)', 'must be a JSON object')
    const { definition: definitionId, payload, idempotencyKey, ...rest } = request as Record<string, unknown>
    const checkedId = v.safeParse(scheduleRequestSchema.entries.definition, definitionId)
    if (!checkedId.success) throw new ValidationError(issuesFrom(checkedId.issues, 'definition'))
    const definition = this.options.registry.definition(checkedId.output)
    return this.writeSchedule(definition, payload, rest as ScheduleOptions, idempotencyKey)
  }

  private async writeSchedule(definition: JobDefinition, payload: unknown, options: ScheduleOptions, idempotencyKey: unknown): Promise<AcceptedSchedule> {
    const key = v.safeParse(scheduleRequestSchema.entries.idempotencyKey, idempotencyKey)
    if (!key.success) throw new ValidationError(issuesFrom(key.issues, 'idempotencyKey'))
    // Loaded on the first schedule: the cron library stays out of the job path's cold start.
    const [{ buildScheduleSpec }, { scheduleRequestEnvelope }] = await Promise.all([import('./schedules/spec.js'), import('./schedules/inbox.js')])
    const now = this.clock.now()
    const spec = buildScheduleSpec(definition, payload, options, { now, maxMessageBytes: this.options.maxMessageBytes })
    const [accepted] = await this.write([scheduleRequestEnvelope(spec, newId(), now, key.output ?? null)])
    return { id: accepted!.id, status: 'SavePending', duplicate: accepted!.duplicate }
  }

  private buildContext() {
    return { clock: this.clock, maxMessageBytes: this.options.maxMessageBytes }
  }

  private async write(envelopes: JobEnvelope[]): Promise<EnqueuedJob[]> {
    if (this.options.clusterMode === 'Archive') throw new ClusterModeError('Archive', 'enqueue')
    const candidates = this.candidates(envelopes)
    const causes: unknown[] = []
    for (const agent of candidates) {
      try {
        const result = await agent.enqueue(envelopes, this.options.idempotencyWindowMs, this.clock.now())
        this.unhealthyUntil.delete(agent.name)
        return result.ids.map((id, i) => ({ id, status: 'SavePending', duplicate: id !== envelopes[i]!.id }))
      } catch (error) {
        // The write is one atomic statement: a failed one left nothing behind (unless it committed
        // and only the answer was lost, which at-least-once tolerates), so the next connection may
        // take the whole request.
        causes.push(error)
        this.unhealthyUntil.set(agent.name, Date.now() + (this.options.unhealthyForMs ?? 10_000))
      }
    }
    throw new TransportUnavailableError(
      candidates.map((a) => a.name),
      causes,
    )
  }

  /**
   * Connections to try, in order. Lane affinity first: the connections whose configured lanes
   * include the job's lane, then (only if none of those can take it) the others.
   *
   * With an idempotency key (the first keyed job of a batch) the order is a hash of the key and
   * ignores this instance's health view, so every producer instance tries the same connections in
   * the same order and meets the key's record where the first request left it, even while one
   * connection is down. Without a key, round-robin spreads the load and connections that failed
   * recently are tried last.
   */
  private candidates(envelopes: readonly JobEnvelope[]): AgentStore[] {
    const lane = envelopes[0]!.lane
    const key = envelopes.find((e) => e.idempotencyKey !== null)?.idempotencyKey
    const all = this.options.agents
    const affine = lane === null ? [] : all.filter((a) => a.config.lanes.includes(lane))
    const preferred = (affine.length > 0 ? affine : all).map((a) => a.store)
    const fallback = affine.length > 0 ? all.filter((a) => !affine.includes(a)).map((a) => a.store) : []
    const start = key ? createHash('sha1').update(key).digest().readUInt32BE(0) % preferred.length : this.next++ % preferred.length
    const rotated = [...preferred.slice(start), ...preferred.slice(0, start)]
    if (key) return [...rotated, ...fallback]
    const now = Date.now()
    const healthyFirst = (stores: AgentStore[]) => {
      const sick = (store: AgentStore) => (this.unhealthyUntil.get(store.name) ?? 0) > now
      return [...stores.filter((s) => !sick(s)), ...stores.filter(sick)]
    }
    return [...healthyFirst(rotated), ...healthyFirst(fallback)]
  }
}

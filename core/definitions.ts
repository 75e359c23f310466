import * as v from 'valibot'
import { parseDuration } from './durations.js'
import { ConfigError, UnknownDefinitionError } from './errors.js'
import type { Logger } from './logger.js'
import { PRIORITIES, type Priority } from './model.js'
import { DEFINITION_RULE, DEFINITION_PATTERN, NAME_PATTERN, NAME_RULE } from './names.js'

export const RESERVED_DEFINITION_PREFIX = 'jobmaster:'

export type PayloadSchema = v.GenericSchema<unknown, unknown>

/** A job definition: what producers need to accept a job (no handler code). */
export interface JobDefinition<S extends PayloadSchema = PayloadSchema> {
  readonly id: string
  readonly schema: S
  readonly priority: Priority
  readonly lane: string | null
  /** null → the cluster's default timeout. */
  readonly timeoutMs: number | null
  /** null → the cluster's default retry count. */
  readonly maxRetries: number | null
  readonly metadata: Readonly<Record<string, string>>
}

export interface DefineJobOptions<S extends PayloadSchema> {
  id: string
  schema: S
  priority?: Priority
  lane?: string | null
  timeout?: number | string
  maxRetries?: number
  metadata?: Record<string, string>
}

/** Declare a job definition. Throws ConfigError naming the bad option. */
export function defineJob<S extends PayloadSchema>(options: DefineJobOptions<S>): JobDefinition<S> {
  const where = `job definition "${options.id}"`
  const issues: Array<{ path: string; message: string }> = []
  if (!DEFINITION_PATTERN.test(options.id)) issues.push({ path: `${where}.id`, message: `must be ${DEFINITION_RULE}` })
  // The engine's own messages use this namespace (a schedule request travels as one in the inbox).
  if (options.id.startsWith(RESERVED_DEFINITION_PREFIX)) issues.push({ path: `${where}.id`, message: `the "${RESERVED_DEFINITION_PREFIX}" namespace is reserved` })
  if (options.priority !== undefined && !PRIORITIES.includes(options.priority)) {
    issues.push({ path: `${where}.priority`, message: `must be one of ${PRIORITIES.join(', ')}` })
  }
  if (options.lane != null && !NAME_PATTERN.test(options.lane)) issues.push({ path: `${where}.lane`, message: `must be ${NAME_RULE}` })
  const timeoutMs = options.timeout === undefined ? null : parseDuration(options.timeout)
  if (timeoutMs === undefined || timeoutMs === 0) issues.push({ path: `${where}.timeout`, message: 'must be a positive duration' })
  const maxRetries = options.maxRetries ?? null
  if (maxRetries !== null && (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 25)) {
    issues.push({ path: `${where}.maxRetries`, message: 'must be an integer from 0 to 25' })
  }
  for (const key of Object.keys(options.metadata ?? {})) {
    if (!NAME_PATTERN.test(key)) issues.push({ path: `${where}.metadata.${key}`, message: `metadata keys must be ${NAME_RULE}` })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return Object.freeze({
    id: options.id,
    schema: options.schema,
    priority: options.priority ?? 'medium',
    lane: options.lane ?? null,
    timeoutMs: timeoutMs ?? null,
    maxRetries,
    metadata: Object.freeze({ ...(options.metadata ?? {}) }),
  })
}

export interface JobContext {
  jobId: string
  definition: string
  /** 1 on the first run. */
  attempt: number
  maxRetries: number
  scheduledAt: Date
  priority: Priority
  lane: string | null
  metadata: Readonly<Record<string, string>>
  /** Fired on timeout, on cancellation and when a worker stops past its grace period. */
  signal: AbortSignal
  logger: Logger
}

export type JobHandler<S extends PayloadSchema = PayloadSchema> = (
  payload: v.InferOutput<S>,
  ctx: JobContext,
) => unknown | Promise<unknown>

export interface HandlerEntry<S extends PayloadSchema = PayloadSchema> {
  definition: JobDefinition<S>
  handler: JobHandler<S>
}

/** Pair a definition with the code that runs it (workers need both; producers only the definition). */
export function handle<S extends PayloadSchema>(definition: JobDefinition<S>, handler: JobHandler<S>): HandlerEntry<S> {
  return { definition, handler }
}

/** The definitions a process knows, and the handlers if it runs jobs. */
export class JobRegistry {
  private readonly definitions = new Map<string, JobDefinition>()
  private readonly handlers = new Map<string, JobHandler>()

  constructor(definitions: Iterable<JobDefinition> = [], handlers: Iterable<HandlerEntry<any>> = []) {
    for (const d of definitions) this.addDefinition(d)
    for (const h of handlers) {
      this.addDefinition(h.definition)
      this.handlers.set(h.definition.id, h.handler as JobHandler)
    }
  }

  private addDefinition(definition: JobDefinition): void {
    const existing = this.definitions.get(definition.id)
    if (existing && existing !== definition) {
      throw new ConfigError([{ path: `job definition "${definition.id}"`, message: 'is defined twice' }])
    }
    this.definitions.set(definition.id, definition)
  }

  definition(id: string, path = 'definition'): JobDefinition {
    const found = this.definitions.get(id)
    if (!found) throw new UnknownDefinitionError(id, path)
    return found
  }

  findDefinition(id: string): JobDefinition | undefined {
    return this.definitions.get(id)
  }

  handler(id: string): JobHandler | undefined {
    return this.handlers.get(id)
  }

  get definitionIds(): string[] {
    return [...this.definitions.keys()]
  }
}

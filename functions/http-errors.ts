import { sValidator } from '@hono/standard-validator'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type * as v from 'valibot'
import {
  ClusterModeError,
  ConfigError,
  JobMasterError,
  NotFoundError,
  PayloadTooLargeError,
  TransportUnavailableError,
  ValidationError,
  type Issue,
} from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { AuthenticationError } from './auth-api-key.js'

/** A request body over the route's byte limit (checked before it is parsed). */
export class RequestBodyTooLargeError extends JobMasterError {
  override name = 'RequestBodyTooLargeError'
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`)
  }
}

/** A body that is not declared as JSON (the JSON validator would otherwise see `{}`). */
export class UnsupportedMediaTypeError extends JobMasterError {
  override name = 'UnsupportedMediaTypeError'
  constructor() {
    super('Content-Type must be application/json')
  }
}

/** The one error body every function answers with: what went wrong and, for bad input, each field. */
export interface ErrorBody {
  error: string
  issues?: Issue[]
}

/**
 * One mapping from engine errors to HTTP answers, shared by every function. Bodies name the
 * offending field and never echo the request payload (nor credentials) back.
 */
export function errorResponse(error: unknown, c: Context, logger?: Logger): Response {
  if (error instanceof ValidationError) {
    return c.json<ErrorBody>({ error: 'invalid request', issues: error.issues }, 400)
  }
  if (error instanceof PayloadTooLargeError) {
    return c.json<ErrorBody>({ error: 'payload too large', issues: [{ path: error.path, message: error.message }] }, 413)
  }
  if (error instanceof RequestBodyTooLargeError) {
    return c.json<ErrorBody>({ error: 'payload too large', issues: [{ path: '(body)', message: error.message }] }, 413)
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return c.json<ErrorBody>({ error: 'unsupported media type', issues: [{ path: '(body)', message: error.message }] }, 415)
  }
  if (error instanceof AuthenticationError) return c.json<ErrorBody>({ error: error.message }, 401)
  if (error instanceof NotFoundError) return c.json<ErrorBody>({ error: error.message }, 404)
  if (error instanceof ClusterModeError) return c.json<ErrorBody>({ error: error.message }, 409)
  if (error instanceof TransportUnavailableError) {
    logger?.error({ connections: error.connections, causes: error.causes.map(describe) }, 'no agent connection accepted the write')
    return c.json<ErrorBody>({ error: 'job transport unavailable; nothing was written, retry later' }, 503)
  }
  if (error instanceof HTTPException) {
    // Hono's own refusals (malformed JSON in the validator, …): same body shape, its status.
    const body: ErrorBody = error.status === 400 ? { error: 'invalid request', issues: [{ path: '(body)', message: error.message }] } : { error: error.message }
    return c.json(body, error.status)
  }
  logger?.error({ err: error }, 'request failed')
  if (error instanceof ConfigError) return c.json<ErrorBody>({ error: 'server misconfigured' }, 500)
  return c.json<ErrorBody>({ error: 'internal error' }, 500)
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Read a JSON body; a body that is not JSON is a 400 naming the body. */
export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    throw ValidationError.single('(body)', 'must be valid JSON')
  }
}

/** The parts of a Standard Schema issue we report. */
interface StandardIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

/**
 * Issues in our shape (`payload.ms`, `jobs.3.lane`). Default validator messages end with
 * "but received <value>"; that part is cut so an answer never echoes the input.
 */
export function issuesFromStandard(issues: readonly StandardIssue[], prefix = ''): Issue[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment))
    return { path: [prefix, ...path].filter(Boolean).join('.') || '(body)', message: issue.message.replace(/ but received [\s\S]*$/, '') }
  })
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

/**
 * Validate a JSON object body with a valibot schema through `@hono/standard-validator`. The custom
 * hook turns failures into a ValidationError for `errorResponse`, instead of the validator's
 * default 400 that echoes the whole input back. A body not declared as JSON (which the validator
 * would see as `{}`) is refused with 415; JSON that is not an object (valibot's object schemas
 * accept arrays) is a 400 naming the body.
 */
export function jsonObjectBody<S extends v.GenericSchema>(schema: S) {
  return sValidator('json', schema, (result, c) => {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim()
    if (!JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaTypeError()
    const body: unknown = result.data
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ValidationError.single('(body)', 'must be a JSON object')
    if (!result.success) throw new ValidationError(issuesFromStandard(result.error))
  })
}

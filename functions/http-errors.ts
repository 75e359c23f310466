import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import {
  ClusterModeError,
  ConfigError,
  NotFoundError,
  PayloadTooLargeError,
  TransportUnavailableError,
  ValidationError,
} from '../core/errors.js'
import type { Logger } from '../core/logger.js'

/**
 * One mapping from engine errors to HTTP answers, shared by every function. Bodies name the
 * offending field and never echo the request payload back.
 */
export function errorResponse(error: unknown, c: Context, logger?: Logger): Response {
  if (error instanceof ValidationError) {
    return c.json({ error: 'invalid request', issues: error.issues }, 400)
  }
  if (error instanceof PayloadTooLargeError) {
    return c.json({ error: 'payload too large', issues: [{ path: error.path, message: error.message }] }, 413)
  }
  if (error instanceof NotFoundError) return c.json({ error: error.message }, 404)
  if (error instanceof ClusterModeError) return c.json({ error: error.message }, 409)
  if (error instanceof TransportUnavailableError) {
    logger?.error({ connections: error.connections, causes: error.causes.map(describe) }, 'no agent connection accepted the write')
    return c.json({ error: 'job transport unavailable; nothing was written, retry later' }, 503)
  }
  if (error instanceof HTTPException) return error.getResponse()
  logger?.error({ err: error }, 'request failed')
  if (error instanceof ConfigError) return c.json({ error: 'server misconfigured' }, 500)
  return c.json({ error: 'internal error' }, 500)
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

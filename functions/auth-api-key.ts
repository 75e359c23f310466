import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { JobMasterError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'

export const API_KEY_HEADER = 'x-api-key'

/** A request without valid credentials (answered 401). The message never contains what was sent. */
export class AuthenticationError extends JobMasterError {
  override name = 'AuthenticationError'
  constructor(readonly reason: 'missing' | 'invalid', message: string) {
    super(message)
  }
}

/**
 * Checks the presented key against every configured key in constant time. Both sides are hashed
 * first, so the comparison neither stops at the first differing byte nor reveals a key's length,
 * and every configured key is compared (no early exit revealing which one matched).
 */
export class ApiKeyVerifier {
  private readonly digests: Buffer[]

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new Error('ApiKeyVerifier needs at least one key')
    this.digests = keys.map(digest)
  }

  matches(presented: string): boolean {
    const candidate = digest(presented)
    let matched = false
    for (const known of this.digests) matched = timingSafeEqual(candidate, known) || matched
    return matched
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

/**
 * Hono middleware: the request must carry one of `keys` in `x-api-key`, else an AuthenticationError
 * (mapped to 401 by http-errors). Failures are logged with the reason only, never the key.
 */
export function apiKeyAuth(keys: readonly string[], logger?: Logger): MiddlewareHandler {
  const verifier = new ApiKeyVerifier(keys)
  return async (c, next) => {
    const presented = c.req.header(API_KEY_HEADER)
    if (!presented || !verifier.matches(presented)) {
      const reason = presented ? 'invalid' : 'missing'
      logger?.warn({ reason, method: c.req.method, path: c.req.path }, 'request refused: no valid API key')
      throw new AuthenticationError(reason, presented ? `invalid ${API_KEY_HEADER}` : `${API_KEY_HEADER} header required`)
    }
    await next()
  }
}

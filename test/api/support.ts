import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Hono } from 'hono'
import type { ClusterContext } from '../../core/cluster.js'
import type { Logger } from '../../core/logger.js'
import { createApiApp } from '../../functions/api.js'
import type { AuthSettings } from '../../functions/auth.js'

/** A JSON logger whose lines the test can read (audit entries, and proof that no secret is logged). */
export function captureLogger(): { logger: Logger; lines: string[]; entries(): Array<Record<string, unknown>> } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const logger = pino({ level: 'debug' }, stream)
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}

export interface ApiCaller {
  app: Hono<any>
  /** Every raw response body, so tests can check that no secret is ever echoed. */
  bodies: string[]
  call(method: string, path: string, options?: { headers?: Record<string, string>; body?: unknown }): Promise<{ status: number; body: any; headers: Headers }>
}

export function apiCaller(ctx: ClusterContext, auth: AuthSettings, logger: Logger, defaultHeaders: Record<string, string> = {}): ApiCaller {
  const app = createApiApp(ctx, { auth, logger })
  const bodies: string[] = []
  return {
    app,
    bodies,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...defaultHeaders, ...options.headers }
      let body: string | undefined
      if (options.body !== undefined) {
        headers['content-type'] = 'application/json'
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
      }
      const res = await app.request(path, { method, headers, body })
      const text = await res.text()
      bodies.push(text)
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {
        // not JSON (metrics, HTML)
      }
      return { status: res.status, body: parsed, headers: res.headers }
    },
  }
}

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { register } from 'prom-client'
import { ConfigError } from '../core/errors.js'

export const DEFAULT_HEALTH_PORT = 8080

/** `JM_HEALTH_PORT`: the port of the health and metrics endpoint (default 8080; 0 disables it). */
export function healthPortFromEnv(env: Record<string, string | undefined> = process.env): number {
  const text = env.JM_HEALTH_PORT?.trim()
  if (text === undefined || text === '') return DEFAULT_HEALTH_PORT
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!(port >= 0 && port <= 65_535)) throw new ConfigError([{ path: 'JM_HEALTH_PORT', message: 'must be a port number from 0 to 65535 (0 disables the endpoint)' }])
  return port
}

export type HealthState = 'starting' | 'running' | 'stopping'

export interface HealthServer {
  readonly port: number
  close(): Promise<void>
}

/**
 * A tiny HTTP endpoint for container health checks and Prometheus scraping:
 * `GET /health` answers 200 while the worker runs and 503 while it starts or stops (so a load
 * balancer or orchestrator stops counting on it), `GET /metrics` serves prom-client's default
 * registry, where the engine's metrics are registered.
 */
export async function startHealthServer(port: number, state: () => HealthState): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
    } else if (path === '/health') {
      const current = state()
      response.writeHead(current === 'running' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: current }))
    } else if (path === '/metrics') {
      register.metrics().then(
        (text) => response.writeHead(200, { 'content-type': register.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${error.message}\n`),
      )
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Health checkers keep connections alive; do not let them hold the exit back.
        server.closeAllConnections()
      }),
  }
}

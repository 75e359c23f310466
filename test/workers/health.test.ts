import { Counter, register } from 'prom-client'
import { afterAll, expect, test } from 'vitest'
import { ConfigError } from '../../core/errors.js'
import { DEFAULT_HEALTH_PORT, healthPortFromEnv, startHealthServer, type HealthState } from '../../workers/health.js'
import { get } from './http.js'

const probe = new Counter({ name: 'jm_test_health_probe_total', help: 'A metric registered by this test', registers: [register] })
afterAll(() => register.removeSingleMetric('jm_test_health_probe_total'))

test('/health follows the worker: 503 starting, 200 running, 503 stopping; /metrics serves the default registry', async () => {
  let state: HealthState = 'starting'
  const server = await startHealthServer(0, () => state)
  try {
    expect(await get(server.port, '/health')).toEqual({ status: 503, type: 'application/json', body: '{"status":"starting"}' })
    state = 'running'
    expect(await get(server.port, '/health')).toEqual({ status: 200, type: 'application/json', body: '{"status":"running"}' })
    state = 'stopping'
    expect(await get(server.port, '/health')).toEqual({ status: 503, type: 'application/json', body: '{"status":"stopping"}' })

    probe.inc(3)
    const metrics = await get(server.port, '/metrics')
    expect(metrics?.status).toBe(200)
    expect(metrics?.type).toBe(register.contentType)
    expect(metrics?.body).toContain('jm_test_health_probe_total 3')
    expect((await get(server.port, '/nothing'))?.status).toBe(404)
  } finally {
    await server.close()
  }
  expect(await get(server.port, '/health')).toBeNull()
})

test('JM_HEALTH_PORT: default 8080, 0 disables, anything else but a port is refused by name', () => {
  expect(healthPortFromEnv({})).toBe(DEFAULT_HEALTH_PORT)
  expect(DEFAULT_HEALTH_PORT).toBe(8080)
  expect(healthPortFromEnv({ JM_HEALTH_PORT: ' 9100 ' })).toBe(9100)
  expect(healthPortFromEnv({ JM_HEALTH_PORT: '0' })).toBe(0)
  for (const bad of ['http', '-1', '65536', '80.5']) {
    expect(() => healthPortFromEnv({ JM_HEALTH_PORT: bad })).toThrow(ConfigError)
    expect(() => healthPortFromEnv({ JM_HEALTH_PORT: bad })).toThrow(/JM_HEALTH_PORT: must be a port number/)
  }
})

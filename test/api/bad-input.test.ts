import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { apiKeyEntry } from '../../functions/auth.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { apiCaller, captureLogger, type ApiCaller } from './support.js'

/** Management API answers to input found by the property-based tests (test/properties/management-api.test.ts). */
const KEY = randomBytes(24).toString('base64url')
let cluster: TestCluster
let api: ApiCaller

beforeAll(async () => {
  cluster = await startTestCluster()
  api = apiCaller(cluster.ctx, { apiKeys: [apiKeyEntry('ops', KEY)], users: [], jwt: null }, captureLogger().logger, { 'x-api-key': KEY })
})
afterAll(() => cluster?.close())

test('a metadata filter no job can match (a NUL) is a 400 naming it, not a database error', async () => {
  for (const path of ['/v1/jobs', '/v1/jobs/count']) {
    const res = await api.call('GET', `${path}?metadata.note=a%00b`)
    expect(res.status).toBe(400)
    expect(res.body).toEqual({ error: 'invalid request', issues: [{ path: 'metadata.note', message: expect.stringContaining('NUL character') }] })
  }
})

test('an unknown path is a JSON 404 like every other error', async () => {
  const res = await api.call('POST', '/v1/jobs/%2e%2e/cancel')
  expect(res.status).toBe(404)
  expect(res.body).toEqual({ error: 'not found' })
})

import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PG_MASTER_URL } from '../support/env.js'
import { dropPrefix, testPrefix } from '../support/pg.js'

/**
 * functions/api-handler.ts as a deploy ships it (one esbuild ESM bundle, as SST builds it),
 * configured from the environment only and invoked with Function URL events.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const KEY = randomBytes(24).toString('base64url')
const prefix = testPrefix('api')
// CommonJS dependencies (pino) call require(); an ESM bundle needs one (SST adds the same banner).
const REQUIRE_BANNER = "import { createRequire as __jmCreateRequire } from 'node:module'; const require = __jmCreateRequire(import.meta.url);"

type Handler = (event: unknown, context?: unknown) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>
let outdir: string
let handler: Handler
const saved = { ...process.env }

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'jm-api-bundle-'))
  await build({
    absWorkingDir: ROOT,
    entryPoints: { 'api-handler': 'functions/api-handler.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    banner: { js: REQUIRE_BANNER },
    logLevel: 'silent',
  })
  Object.assign(process.env, {
    JM_MASTER_URL: PG_MASTER_URL,
    JM_TABLE_PREFIX: prefix,
    JM_CLUSTER_ID: 'lambda',
    JM_MANAGEMENT_API_KEYS: `ops:${KEY}`,
    JM_LOG_LEVEL: 'silent',
  })
  handler = ((await import(pathToFileURL(join(outdir, 'api-handler.mjs')).href)) as { handler: Handler }).handler
})

afterAll(async () => {
  process.env = saved
  await rm(outdir, { recursive: true, force: true })
  await dropPrefix(PG_MASTER_URL, prefix)
})

function functionUrlEvent(method: string, path: string, headers: Record<string, string> = {}) {
  const domainName = 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws'
  const [rawPath, rawQueryString = ''] = path.split('?') as [string, string?]
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { host: domainName, 'x-forwarded-proto': 'https', ...headers },
    requestContext: {
      domainName,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      timeEpoch: Date.now(),
    },
    body: null,
    isBase64Encoded: false,
  }
}

test('the bundled handler opens the cluster from the environment and answers with authentication', async () => {
  const cluster = await handler(functionUrlEvent('GET', '/v1/cluster', { 'x-api-key': KEY }))
  expect(cluster.statusCode).toBe(200)
  expect(JSON.parse(cluster.body)).toMatchObject({ clusterId: 'lambda', mode: 'Active' })

  const jobs = await handler(functionUrlEvent('GET', '/v1/jobs?status=Failed&limit=5', { 'x-api-key': KEY }))
  expect(JSON.parse(jobs.body)).toEqual({ jobs: [], nextCursor: null })

  const anonymous = await handler(functionUrlEvent('GET', '/v1/workers'))
  expect(anonymous.statusCode).toBe(401)
  expect(JSON.parse(anonymous.body).error).toBe('unauthenticated')

  const page = await handler(functionUrlEvent('GET', '/dashboard'))
  expect(page.statusCode).toBe(200)
  expect(page.body).toContain('<title>JobMaster dashboard</title>')

  const metrics = await handler(functionUrlEvent('GET', '/metrics', { 'x-api-key': KEY }))
  expect(metrics.body).toContain('jobmaster_jobs{status="Succeeded"} 0')
})

test('without any credentials configured the handler fails closed (503), and retries the start-up on the next request', async () => {
  delete process.env.JM_MANAGEMENT_API_KEYS
  // A second instance of the bundle: module-level singletons start empty.
  const fresh = ((await import(`${pathToFileURL(join(outdir, 'api-handler.mjs')).href}?unconfigured`)) as { handler: Handler }).handler
  const refused = await fresh(functionUrlEvent('GET', '/v1/cluster'))
  expect(refused.statusCode).toBe(503)
  expect(JSON.parse(refused.body)).toEqual({ error: 'management API unavailable' })
  process.env.JM_MANAGEMENT_API_KEYS = `ops:${KEY}`
  expect((await fresh(functionUrlEvent('GET', '/v1/cluster', { 'x-api-key': KEY }))).statusCode).toBe(200)
})

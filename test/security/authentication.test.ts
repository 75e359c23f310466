import { randomBytes } from 'node:crypto'
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DAY } from '../../core/durations.js'
import { ingestMessages } from '../../core/ingest.js'
import { silentLogger } from '../../core/logger.js'
import { Producer } from '../../core/producer.js'
import { createApiApp } from '../../functions/api.js'
import { authSettingsFromEnv, userEntryLine, type AuthSettings } from '../../functions/auth.js'
import { createProducerApp } from '../../functions/producer.js'
import { PG_MASTER_URL } from '../support/env.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { rawQuery } from '../support/pg.js'

/**
 * Every management route — taken from the app's own route table, so a route added later is
 * covered without touching this file — refuses requests without credentials and with wrong ones
 * of every kind (API key, user and password, JWT), with 401 and nothing changed; read-only
 * credentials may not operate (403, nothing changed). Every producer route refuses a missing or
 * wrong API key.
 */
const OPS_KEY = `ops-${randomBytes(16).toString('hex')}`
const VIEWER_KEY = `viewer-${randomBytes(16).toString('hex')}`
const ALICE_PASSWORD = `alice-${randomBytes(8).toString('hex')}`
const HS_SECRET = randomBytes(32).toString('hex')
const ISSUER = 'https://id.example.test'
const AUDIENCE = 'jobmaster-management'
const PRODUCER_KEY = `producer-${randomBytes(16).toString('hex')}`

let cluster: TestCluster
let auth: AuthSettings
let app: ReturnType<typeof createApiApp>
let rsa: Awaited<ReturnType<typeof generateKeyPair>>
let stranger: Awaited<ReturnType<typeof generateKeyPair>>
let publicPem: string
let jobId: string

beforeAll(async () => {
  cluster = await startTestCluster()
  rsa = await generateKeyPair('RS256', { extractable: true })
  stranger = await generateKeyPair('RS256')
  publicPem = await exportSPKI(rsa.publicKey)
  auth = await authSettingsFromEnv({
    JM_MANAGEMENT_API_KEYS: `ops:${OPS_KEY},viewer:${VIEWER_KEY}:read`,
    JM_MANAGEMENT_API_USERS: [await userEntryLine('alice', ALICE_PASSWORD), await userEntryLine('bob', ALICE_PASSWORD, 'read')].join(','),
    JM_JWT_SECRET: HS_SECRET,
    JM_JWT_PUBLIC_KEY: publicPem,
    JM_JWT_ISSUER: ISSUER,
    JM_JWT_AUDIENCE: AUDIENCE,
  })
  app = createApiApp(cluster.ctx, { auth, logger: silentLogger })
  // Something to operate on: a job waiting in the master.
  const [job] = await cluster.producer.enqueueBatch([{ definition: 'noop', delay: '1d' }])
  jobId = job!.id
  const agent = cluster.ctx.agent('standalone')
  await ingestMessages(cluster.ctx, agent, await agent.claimInbox(10, 60_000, 'test', new Date()))
})
afterAll(() => cluster?.close())

interface TokenOptions {
  alg?: 'HS256' | 'RS256'
  key?: Parameters<SignJWT['sign']>[0]
  expiresIn?: string | number
  issuer?: string
  audience?: string
  scope?: string
  sub?: string | null
}

async function token(o: TokenOptions = {}): Promise<string> {
  const alg = o.alg ?? 'HS256'
  const jwt = new SignJWT(o.scope ? { scope: o.scope } : {}).setProtectedHeader({ alg }).setIssuedAt().setIssuer(o.issuer ?? ISSUER).setAudience(o.audience ?? AUDIENCE).setExpirationTime(o.expiresIn ?? '5m')
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'carol')
  return jwt.sign(o.key ?? (alg === 'HS256' ? new TextEncoder().encode(HS_SECRET) : rsa.privateKey))
}

/** Every way of not being authenticated, each with the reason it must fail. */
async function wrongCredentials(): Promise<Array<[string, Record<string, string>]>> {
  const near = (secret: string) => `${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`
  const rsaPublicAsHmac = new TextEncoder().encode(publicPem)
  return [
    ['no credentials', {}],
    ['an unknown API key', { 'x-api-key': randomBytes(24).toString('base64url') }],
    ['the operate key with its last character changed', { 'x-api-key': near(OPS_KEY) }],
    ['the operate key with a character more', { 'x-api-key': `${OPS_KEY}x` }],
    ['the operate key with a space inside', { 'x-api-key': `${OPS_KEY.slice(0, 8)} ${OPS_KEY.slice(8)}` }],
    ['a prefix of the operate key', { 'x-api-key': OPS_KEY.slice(0, 16) }],
    ['an empty API key', { 'x-api-key': '' }],
    ['the producer key (another function)', { 'x-api-key': PRODUCER_KEY }],
    ['a user with a wrong password', { 'x-user-name': 'alice', 'x-password': near(ALICE_PASSWORD) }],
    ['an unknown user with a real password', { 'x-user-name': 'mallory', 'x-password': ALICE_PASSWORD }],
    ['a user name without password', { 'x-user-name': 'alice' }],
    ['a password without user name', { 'x-password': ALICE_PASSWORD }],
    ['a JWT signed with another secret', { authorization: `Bearer ${await token({ key: randomBytes(32) })}` }],
    ['an expired JWT', { authorization: `Bearer ${await token({ expiresIn: Math.floor(Date.now() / 1000) - 60 })}` }],
    ['a JWT from another issuer', { authorization: `Bearer ${await token({ issuer: 'https://evil.example' })}` }],
    ['a JWT for another audience', { authorization: `Bearer ${await token({ audience: 'someone-else' })}` }],
    ['a JWT without subject', { authorization: `Bearer ${await token({ sub: null })}` }],
    ['an unsigned JWT (alg none)', { authorization: `Bearer ${new UnsecuredJWT({ scope: 'jobmaster:operate' }).setSubject('carol').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').encode()}` }],
    ['an RS256 JWT signed by a stranger', { authorization: `Bearer ${await token({ alg: 'RS256', key: stranger.privateKey })}` }],
    ['an HS256 JWT keyed with the RS256 public key (algorithm confusion)', { authorization: `Bearer ${await token({ alg: 'HS256', key: rsaPublicAsHmac, scope: 'jobmaster:operate' })}` }],
    ['a malformed bearer token', { authorization: 'Bearer not.a.jwt' }],
    ['Basic authentication', { authorization: `Basic ${Buffer.from(`alice:${ALICE_PASSWORD}`).toString('base64')}` }],
    ['an operate key in the wrong header', { authorization: `Bearer ${OPS_KEY}` }],
  ]
}

function managementRoutes(): Array<{ method: string; path: string }> {
  const seen = new Map<string, { method: string; path: string }>()
  for (const r of app.routes) if (r.method !== 'ALL' && !r.path.startsWith('/dashboard')) seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path })
  return [...seen.values()]
}

/** A concrete request for a route: path parameters filled in, a plausible body for operations. */
function request(route: { method: string; path: string }): { path: string; body?: string } {
  const path = route.path.replace(':id', route.path.startsWith('/v1/workers') ? 'w.1234abcd' : jobId)
  if (route.method === 'GET') return { path }
  const body = route.path.endsWith('/mode') ? { mode: 'Archive' } : route.path.endsWith('/reschedule') ? { delay: '1m' } : {}
  return { path, body: JSON.stringify(body) }
}

async function masterState(): Promise<string> {
  const p = cluster.prefix
  return JSON.stringify(
    await Promise.all([
      rawQuery(PG_MASTER_URL, `SELECT id, status, scheduled_at, attempts FROM ${p}jobs ORDER BY id`),
      rawQuery(PG_MASTER_URL, `SELECT * FROM ${p}clusters`),
      rawQuery(PG_MASTER_URL, `SELECT id, status FROM ${p}schedules ORDER BY id`),
    ]),
  )
}

describe('the management API', () => {
  test('covers every route: reads and operations, none public but the dashboard page and its assets', () => {
    const routes = managementRoutes()
    expect(routes.filter((r) => r.method === 'POST').length).toBeGreaterThanOrEqual(5)
    expect(routes.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(9)
    expect(routes.map((r) => r.path)).toContain('/metrics')
  })

  test('every route answers 401 to every wrong or missing credential, and nothing changes', async () => {
    const before = await masterState()
    const attempts = await wrongCredentials()
    for (const route of managementRoutes()) {
      const { path, body } = request(route)
      for (const [why, headers] of attempts) {
        const res = await app.request(path, { method: route.method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body })
        const text = await res.text()
        expect(res.status, `${route.method} ${route.path} with ${why}: ${text}`).toBe(401)
        expect(Object.keys(JSON.parse(text)).sort()).toEqual(['error', 'reason'])
      }
    }
    expect(await masterState()).toBe(before)
  })

  test('read-only credentials of every kind may read but not operate (403), and nothing changes', async () => {
    const readOnly: Array<[string, Record<string, string>]> = [
      ['a read-only key', { 'x-api-key': VIEWER_KEY }],
      ['a read-only user', { 'x-user-name': 'bob', 'x-password': ALICE_PASSWORD }],
      ['a token without the operate scope', { authorization: `Bearer ${await token({ scope: 'jobmaster:read' })}` }],
    ]
    const before = await masterState()
    for (const route of managementRoutes()) {
      const { path, body } = request(route)
      for (const [who, headers] of readOnly) {
        const res = await app.request(path, { method: route.method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body })
        if (route.method === 'GET') expect([401, 403], `${route.method} ${route.path} as ${who}`).not.toContain(res.status)
        else expect(res.status, `${route.method} ${route.path} as ${who}`).toBe(403)
      }
    }
    expect(await masterState()).toBe(before)
  })
})

describe('the producer', () => {
  test('every route refuses a missing or wrong API key with 401, and writes nothing', async () => {
    const producer = new Producer({ registry: cluster.producer.registry, agents: [{ store: cluster.ctx.agent('standalone'), config: { name: 'standalone', lanes: [] } }], maxMessageBytes: 4096, idempotencyWindowMs: DAY })
    const producerApp = createProducerApp({ producer, maxMessageBytes: 4096, apiKeys: [PRODUCER_KEY], logger: silentLogger })
    const routes = new Map<string, { method: string; path: string }>()
    for (const r of producerApp.routes) if (r.method !== 'ALL') routes.set(`${r.method} ${r.path}`, r)
    expect(routes.size).toBeGreaterThanOrEqual(4)
    const inbox = await cluster.ctx.agent('standalone').inboxDepth()
    const wrong: Array<Record<string, string>> = [{}, { 'x-api-key': '' }, { 'x-api-key': `${PRODUCER_KEY.slice(0, -1)}x` }, { 'x-api-key': OPS_KEY }, { authorization: `Bearer ${PRODUCER_KEY}` }]
    for (const { method, path } of routes.values()) {
      for (const headers of wrong) {
        const body = method === 'POST' ? JSON.stringify(path === '/v1/jobs/batch' ? { jobs: [{ definition: 'noop' }] } : path === '/v1/schedules' ? { definition: 'noop', every: '1h' } : { definition: 'noop' }) : undefined
        const res = await producerApp.request(path, { method, headers: { ...headers, 'content-type': 'application/json' }, body })
        expect(res.status, `${method} ${path}`).toBe(401)
      }
    }
    expect(await cluster.ctx.agent('standalone').inboxDepth()).toBe(inbox)
  })
})

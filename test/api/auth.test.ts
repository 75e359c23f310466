import { execFile } from 'node:child_process'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ConfigError } from '../../core/errors.js'
import { createApiApp } from '../../functions/api.js'
import { authSettingsFromEnv, parseUsers, PBKDF2_ITERATIONS, userEntryLine, type AuthSettings } from '../../functions/auth.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { apiCaller, captureLogger, type ApiCaller } from './support.js'

const OPS_KEY = `ops-${randomBytes(16).toString('hex')}`
const VIEWER_KEY = `viewer-${randomBytes(16).toString('hex')}`
const ALICE_PASSWORD = `alice-${randomBytes(8).toString('hex')}`
const BOB_PASSWORD = `bob-${randomBytes(8).toString('hex')}`
const HS_SECRET = randomBytes(32).toString('hex')
const ISSUER = 'https://id.example.test'
const AUDIENCE = 'jobmaster-management'

let cluster: TestCluster
let api: ApiCaller
let auth: AuthSettings
const log = captureLogger()
let rsa: Awaited<ReturnType<typeof generateKeyPair>>
let otherRsa: Awaited<ReturnType<typeof generateKeyPair>>
let publicPem: string
/** Every token minted here, so the final check can prove none was logged or echoed. */
const tokens: string[] = []

beforeAll(async () => {
  cluster = await startTestCluster()
  rsa = await generateKeyPair('RS256')
  otherRsa = await generateKeyPair('RS256')
  publicPem = await exportSPKI(rsa.publicKey)
  auth = await authSettingsFromEnv({
    JM_MANAGEMENT_API_KEYS: `ops:${OPS_KEY},viewer:${VIEWER_KEY}:read`,
    JM_MANAGEMENT_API_USERS: [await userEntryLine('alice', ALICE_PASSWORD), await userEntryLine('bob', BOB_PASSWORD, 'read')].join(','),
    JM_JWT_SECRET: HS_SECRET,
    // As an environment variable usually carries it: one line, newlines escaped.
    JM_JWT_PUBLIC_KEY: publicPem.replace(/\n/g, '\\n'),
    JM_JWT_ISSUER: ISSUER,
    JM_JWT_AUDIENCE: AUDIENCE,
  })
  api = apiCaller(cluster.ctx, auth, log.logger)
})
afterAll(() => cluster.close())

interface TokenOptions {
  alg?: 'HS256' | 'RS256'
  key?: Parameters<SignJWT['sign']>[0]
  sub?: string | null
  expiresIn?: string | number | null
  issuer?: string
  audience?: string
  scope?: string
}

async function token(o: TokenOptions = {}): Promise<string> {
  const alg = o.alg ?? 'HS256'
  const jwt = new SignJWT(o.scope ? { scope: o.scope } : {}).setProtectedHeader({ alg }).setIssuedAt().setIssuer(o.issuer ?? ISSUER).setAudience(o.audience ?? AUDIENCE)
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'carol')
  if (o.expiresIn !== null) jwt.setExpirationTime(o.expiresIn ?? '5m')
  const signed = await jwt.sign(o.key ?? (alg === 'HS256' ? new TextEncoder().encode(HS_SECRET) : rsa.privateKey))
  tokens.push(signed)
  return signed
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` })
const JOB = '0190b6a2-0000-7000-8000-000000000000'

describe('without valid credentials nothing is answered but 401', () => {
  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/v1/cluster'],
    ['GET', '/v1/jobs'],
    ['GET', '/v1/jobs/count'],
    ['GET', '/v1/jobs/by-status'],
    ['GET', `/v1/jobs/${JOB}`],
    ['GET', '/v1/buckets'],
    ['GET', '/v1/workers'],
    ['GET', '/v1/connections'],
    ['GET', '/metrics'],
    ['POST', `/v1/jobs/${JOB}/cancel`],
    ['POST', `/v1/jobs/${JOB}/retry`],
    ['POST', `/v1/jobs/${JOB}/reschedule`, { delay: '1m' }],
    ['POST', '/v1/workers/w.1234abcd/stop'],
    ['POST', '/v1/cluster/mode', { mode: 'Archive' }],
  ]

  test.each(endpoints)('%s %s', async (method, path, body) => {
    const attempts: Array<Record<string, string>> = [{}, { 'x-api-key': 'not-a-key-but-long-enough' }, { authorization: 'Basic b3BzOnNlY3JldA==' }]
    for (const headers of attempts) {
      const res = await api.call(method, path, { headers, body })
      expect(res.status).toBe(401)
      expect(Object.keys(res.body).sort()).toEqual(['error', 'reason'])
      expect(res.headers.get('www-authenticate')).toContain('Bearer')
    }
    expect((await cluster.ctx.master.getCluster('test'))!.mode).toBe('Active')
  })

  test('the dashboard page and its assets are public: they hold no data', async () => {
    const page = await api.call('GET', '/dashboard')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect((await api.call('GET', '/dashboard/app.js')).headers.get('content-type')).toContain('javascript')
    expect((await api.call('GET', '/dashboard/style.css')).headers.get('content-type')).toContain('text/css')
  })
})

describe('API keys (x-api-key)', () => {
  test('a configured key reads; a wrong, empty or unconfigured key is refused', async () => {
    const ok = await api.call('GET', '/v1/cluster', { headers: { 'x-api-key': OPS_KEY } })
    expect(ok.status).toBe(200)
    expect(ok.body.clusterId).toBe('test')
    const wrong = await api.call('GET', '/v1/cluster', { headers: { 'x-api-key': `${OPS_KEY}x` } })
    expect(wrong.status).toBe(401)
    expect(wrong.body.reason).toBe('invalid API key')
    expect((await api.call('GET', '/v1/cluster', { headers: { 'x-api-key': '' } })).status).toBe(401)
  })

  test('a read-only key reads but may not operate (403, logged as forbidden)', async () => {
    expect((await api.call('GET', '/v1/workers', { headers: { 'x-api-key': VIEWER_KEY } })).status).toBe(200)
    const refused = await api.call('POST', '/v1/cluster/mode', { headers: { 'x-api-key': VIEWER_KEY }, body: { mode: 'Archive' } })
    expect(refused.status).toBe(403)
    expect(refused.body.reason).toContain('operate role')
    expect((await cluster.ctx.master.getCluster('test'))!.mode).toBe('Active')
    expect(log.entries()).toContainEqual(expect.objectContaining({ event: 'management-operation', actor: 'api-key:viewer', operation: 'cluster.mode', target: 'cluster/test', outcome: 'forbidden' }))
  })

  test('an operate key may operate, and the operation is logged with its actor', async () => {
    const res = await api.call('POST', '/v1/cluster/mode', { headers: { 'x-api-key': OPS_KEY }, body: { mode: 'Active' } })
    expect(res.status).toBe(200)
    expect(log.entries()).toContainEqual(expect.objectContaining({ actor: 'api-key:ops', operation: 'cluster.mode', outcome: 'applied', previousMode: 'Active', mode: 'Active' }))
  })
})

describe('user and password (x-user-name + x-password, PBKDF2-SHA256)', () => {
  test('the right password is accepted; a wrong one, an unknown user and a missing header are not', async () => {
    const ok = await api.call('GET', '/v1/jobs/by-status', { headers: { 'x-user-name': 'alice', 'x-password': ALICE_PASSWORD } })
    expect(ok.status).toBe(200)
    const wrong = await api.call('GET', '/v1/jobs/by-status', { headers: { 'x-user-name': 'alice', 'x-password': BOB_PASSWORD } })
    expect(wrong.status).toBe(401)
    expect(wrong.body.reason).toBe('invalid user name or password')
    const unknown = await api.call('GET', '/v1/jobs/by-status', { headers: { 'x-user-name': 'mallory', 'x-password': ALICE_PASSWORD } })
    expect(unknown.status).toBe(401)
    expect(unknown.body.reason).toBe('invalid user name or password') // the same answer: user names are not revealed
    const half = await api.call('GET', '/v1/jobs/by-status', { headers: { 'x-user-name': 'alice' } })
    expect(half.status).toBe(401)
    expect(half.body.reason).toContain('x-password')
  })

  test('a read-only user may not operate; an operate user may', async () => {
    expect((await api.call('POST', '/v1/cluster/mode', { headers: { 'x-user-name': 'bob', 'x-password': BOB_PASSWORD }, body: { mode: 'Passive' } })).status).toBe(403)
    const ok = await api.call('POST', '/v1/cluster/mode', { headers: { 'x-user-name': 'alice', 'x-password': ALICE_PASSWORD }, body: { mode: 'Active' } })
    expect(ok.status).toBe(200)
    expect(log.entries()).toContainEqual(expect.objectContaining({ actor: 'user:alice', operation: 'cluster.mode', outcome: 'applied' }))
  })

  test('stored entries are PBKDF2-SHA256 with 100,000 iterations and a 16-byte salt', async () => {
    const [entry] = parseUsers(await userEntryLine('dave', 'pass phrase'))
    expect(PBKDF2_ITERATIONS).toBe(100_000)
    expect(entry!.salt).toHaveLength(16)
    expect(entry!.hash.equals(pbkdf2Sync('pass phrase', entry!.salt, 100_000, 32, 'sha256'))).toBe(true)
  })

  test('functions/hash-password.ts prints an entry that then authenticates', async () => {
    const root = resolve(import.meta.dirname, '../..')
    const line = await new Promise<string>((done, fail) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'functions/hash-password.ts', 'erin', '--read-only'], { cwd: root }, (error, stdout) =>
        error ? fail(error) : done(stdout.trim()),
      )
      child.stdin!.end('s3cret erin password\n')
    })
    expect(line).toMatch(/^erin:[0-9a-f]{32}:[0-9a-f]{64}:read$/)
    const erinApi = apiCaller(cluster.ctx, { ...auth, users: parseUsers(line) }, log.logger)
    const headers = { 'x-user-name': 'erin', 'x-password': 's3cret erin password' }
    expect((await erinApi.call('GET', '/v1/cluster', { headers })).status).toBe(200)
    expect((await erinApi.call('POST', '/v1/cluster/mode', { headers, body: { mode: 'Active' } })).status).toBe(403)
  })
})

describe('JWT bearer tokens (HS256 and RS256)', () => {
  test('HS256 and RS256 tokens from the configured keys are accepted', async () => {
    const hs = await api.call('GET', '/v1/cluster', { headers: bearer(await token({ alg: 'HS256' })) })
    expect(hs.status).toBe(200)
    const rs = await api.call('GET', '/v1/cluster', { headers: bearer(await token({ alg: 'RS256' })) })
    expect(rs.status).toBe(200)
  })

  test('the jobmaster:operate scope grants operations; without it a token only reads', async () => {
    const readOnly = await api.call('POST', '/v1/cluster/mode', { headers: bearer(await token()), body: { mode: 'Active' } })
    expect(readOnly.status).toBe(403)
    const operate = await api.call('POST', '/v1/cluster/mode', { headers: bearer(await token({ alg: 'RS256', scope: 'openid jobmaster:operate' })), body: { mode: 'Active' } })
    expect(operate.status).toBe(200)
    expect(log.entries()).toContainEqual(expect.objectContaining({ actor: 'jwt:carol', operation: 'cluster.mode', outcome: 'applied' }))
  })

  test.each<[string, () => Promise<string>, string]>([
    ['expired', () => token({ expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'token expired'],
    ['without exp', () => token({ expiresIn: null }), 'token claim "exp" is missing or not accepted'],
    ['without sub', () => token({ sub: null }), 'token claim "sub" is missing or not accepted'],
    ['from another issuer', () => token({ issuer: 'https://evil.example' }), 'token claim "iss" is missing or not accepted'],
    ['for another audience', () => token({ audience: 'someone-else' }), 'token claim "aud" is missing or not accepted'],
    ['signed with a wrong secret', () => token({ key: new TextEncoder().encode('x'.repeat(40)) }), 'invalid token'],
    ['signed by another RSA key', async () => token({ alg: 'RS256', key: otherRsa.privateKey }), 'invalid token'],
    // Algorithm confusion: HMAC keyed with the (public) RSA key must not pass as HS256.
    ['HS256 keyed with the RSA public key', () => token({ alg: 'HS256', key: new TextEncoder().encode(publicPem) }), 'invalid token'],
    ['unsigned (alg none)', async () => new UnsecuredJWT({ sub: 'carol' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').encode(), 'token algorithm not accepted (accepted: HS256, RS256)'],
    ['not a JWT', async () => 'not.a.token', 'invalid token'],
  ])('a token %s is refused', async (_what, make, reason) => {
    const res = await api.call('GET', '/v1/cluster', { headers: bearer(await make()) })
    expect(res.status).toBe(401)
    expect(res.body).toEqual({ error: 'unauthenticated', reason })
  })

  test('an Authorization header that is not a bearer token is refused', async () => {
    const res = await api.call('GET', '/v1/cluster', { headers: { authorization: `Token ${OPS_KEY}` } })
    expect(res.status).toBe(401)
    expect(res.body.reason).toContain('Bearer')
  })

  test('with only an RS256 key configured, HS256 tokens are refused', async () => {
    const rsOnly = await authSettingsFromEnv({ JM_JWT_PUBLIC_KEY: publicPem })
    const rsApi = apiCaller(cluster.ctx, rsOnly, log.logger)
    expect((await rsApi.call('GET', '/v1/cluster', { headers: bearer(await token({ alg: 'RS256' })) })).status).toBe(200)
    const hs = await rsApi.call('GET', '/v1/cluster', { headers: bearer(await token({ alg: 'HS256' })) })
    expect(hs.body.reason).toBe('token algorithm not accepted (accepted: RS256)')
    const keyed = await rsApi.call('GET', '/v1/cluster', { headers: { 'x-api-key': OPS_KEY } })
    expect(keyed.body.reason).toBe('API keys are not enabled')
  })
})

describe('configuration', () => {
  test('bad entries are refused naming the variable, never quoting the secret', async () => {
    const shortKey = 'tooshort'
    const attempt = authSettingsFromEnv({
      JM_MANAGEMENT_API_KEYS: `ok:${OPS_KEY},weak:${shortKey},odd:${OPS_KEY}:admin`,
      JM_MANAGEMENT_API_USERS: 'alice:nothex:beef',
      JM_JWT_SECRET: 'short-secret',
      JM_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----',
    })
    await expect(attempt).rejects.toBeInstanceOf(ConfigError)
    const error = (await attempt.catch((e: unknown) => e)) as ConfigError
    expect(error.issues.map((i) => i.path)).toEqual(['JM_MANAGEMENT_API_KEYS[1]', 'JM_MANAGEMENT_API_KEYS[2]', 'JM_MANAGEMENT_API_USERS[0]', 'JM_JWT_SECRET', 'JM_JWT_PUBLIC_KEY'])
    for (const secret of [shortKey, OPS_KEY, 'short-secret']) expect(error.message).not.toContain(secret)
  })

  test('JWT issuer or audience without a key is a configuration error', async () => {
    await expect(authSettingsFromEnv({ JM_JWT_AUDIENCE: 'x' })).rejects.toThrow(/JM_JWT_ISSUER/)
  })

  test('the management API refuses to start without any authentication configured', async () => {
    expect(() => createApiApp(cluster.ctx, { auth: { apiKeys: [], users: [], jwt: null } })).toThrow(ConfigError)
  })
})

// Last: everything above has been logged and answered by now.
test('no credential is ever logged or echoed in a response', () => {
  const secrets = [OPS_KEY, VIEWER_KEY, ALICE_PASSWORD, BOB_PASSWORD, HS_SECRET, ...tokens]
  expect(tokens.length).toBeGreaterThan(10)
  expect(log.lines.length).toBeGreaterThan(20)
  const everything = [...log.lines, ...api.bodies].join('\n')
  for (const secret of secrets) expect(everything.includes(secret)).toBe(false)
  const failures = log.entries().filter((e) => e.event === 'auth-failed')
  expect(failures.length).toBeGreaterThan(10)
  for (const f of failures) expect(Object.keys(f)).not.toContain('user')
})

import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { errors as joseErrors, importSPKI, jwtVerify, type JWTPayload } from 'jose'
import { ConfigError, type Issue } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { NAME_PATTERN, NAME_RULE } from '../core/names.js'
import { API_KEY_HEADER, ApiKeyVerifier } from './auth-api-key.js'

/**
 * Authentication of the management API, as one Hono middleware over three kinds of credential:
 * a named API key (`x-api-key`, checked with the producer's constant-time ApiKeyVerifier), a user
 * name and password (`x-user-name` + `x-password`, PBKDF2-SHA256), or a JWT bearer token (HS256 /
 * RS256 through jose). Only the first kind present is checked (no fallback to another). Every
 * identity has a role: `read`, or `operate` (read and change). Secrets are compared in constant
 * time and never logged or echoed.
 */

export const ROLES = ['read', 'operate'] as const
export type Role = (typeof ROLES)[number]
export type AuthMode = 'api-key' | 'user' | 'jwt'

export interface Principal {
  mode: AuthMode
  name: string
  role: Role
}

export interface ApiKeyEntry {
  name: string
  verifier: ApiKeyVerifier
  role: Role
}

export interface UserEntry {
  name: string
  salt: Buffer
  hash: Buffer
  role: Role
}

/** What jose's importSPKI gives (a WebCrypto key). */
type PublicKey = Awaited<ReturnType<typeof importSPKI>>

export interface JwtSettings {
  /** HS256 shared secret. */
  secret: Uint8Array | null
  /** RS256 public key. */
  publicKey: PublicKey | null
  issuer: string | null
  audience: string | null
}

export interface AuthSettings {
  apiKeys: ApiKeyEntry[]
  users: UserEntry[]
  jwt: JwtSettings | null
}

export type AuthEnv = { Variables: { principal: Principal } }

export { API_KEY_HEADER }
export const USER_HEADER = 'x-user-name'
export const PASSWORD_HEADER = 'x-password'
/** JWT scope that grants the operate role; tokens without it may only read. */
export const OPERATE_SCOPE = 'jobmaster:operate'

export const PBKDF2_ITERATIONS = 100_000
const PBKDF2_KEY_BYTES = 32
const SALT_BYTES = 16
const MIN_API_KEY_CHARS = 16
const MIN_JWT_SECRET_BYTES = 32

const pbkdf2Async = promisify(pbkdf2)

export function derivePassword(password: string, salt: Buffer): Promise<Buffer> {
  return pbkdf2Async(password, salt, PBKDF2_ITERATIONS, PBKDF2_KEY_BYTES, 'sha256')
}

/** A `JM_MANAGEMENT_API_USERS` entry: `name:<salt-hex>:<hash-hex>`, plus `:read` for a read-only user. */
export async function userEntryLine(name: string, password: string, role: Role = 'operate'): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derivePassword(password, salt)
  return [name, salt.toString('hex'), hash.toString('hex'), ...(role === 'read' ? ['read'] : [])].join(':')
}

/** A fresh random API key (URL-safe, no `:` or `,`, so it fits in an entry). */
export function newApiKey(): string {
  return randomBytes(24).toString('base64url')
}

export function apiKeyEntry(name: string, key: string, role: Role = 'operate'): ApiKeyEntry {
  return { name, verifier: new ApiKeyVerifier([key]), role }
}

function parseRole(text: string | undefined, where: string, issues: Issue[]): Role {
  if (text === undefined) return 'operate'
  if ((ROLES as readonly string[]).includes(text)) return text as Role
  issues.push({ path: where, message: `role must be one of ${ROLES.join(', ')}` })
  return 'read'
}

function entries(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)
}

/** `JM_MANAGEMENT_API_KEYS`: `name:key[:role]`, comma-separated. Messages name the entry, never the key. */
export function parseApiKeys(text: string | undefined, variable = 'JM_MANAGEMENT_API_KEYS'): ApiKeyEntry[] {
  const issues: Issue[] = []
  const parsed: ApiKeyEntry[] = []
  entries(text).forEach((entry, index) => {
    const [name = '', key = '', role, ...extra] = entry.split(':')
    const where = `${variable}[${index}]`
    if (!NAME_PATTERN.test(name)) issues.push({ path: where, message: `key name must be ${NAME_RULE}` })
    if (key.length < MIN_API_KEY_CHARS || extra.length > 0) {
      issues.push({ path: where, message: `must be name:key[:role] with a key of at least ${MIN_API_KEY_CHARS} characters (no ":" or ",")` })
      return
    }
    parsed.push(apiKeyEntry(name, key, parseRole(role, where, issues)))
  })
  if (issues.length > 0) throw new ConfigError(issues)
  return parsed
}

/** `JM_MANAGEMENT_API_USERS`: `name:<salt-hex>:<hash-hex>[:role]`, comma-separated (functions/hash-password.ts prints one). */
export function parseUsers(text: string | undefined, variable = 'JM_MANAGEMENT_API_USERS'): UserEntry[] {
  const issues: Issue[] = []
  const parsed: UserEntry[] = []
  entries(text).forEach((entry, index) => {
    const [name = '', saltHex = '', hashHex = '', role, ...extra] = entry.split(':')
    const where = `${variable}[${index}]`
    if (!NAME_PATTERN.test(name)) issues.push({ path: where, message: `user name must be ${NAME_RULE}` })
    if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(saltHex) || !/^[0-9a-fA-F]{64}$/.test(hashHex) || extra.length > 0) {
      issues.push({ path: where, message: `must be name:<salt-hex>:<hash-hex>[:role] (salt of ${SALT_BYTES}+ bytes, PBKDF2-SHA256 hash of 32 bytes); functions/hash-password.ts prints one` })
      return
    }
    parsed.push({ name, salt: Buffer.from(saltHex, 'hex'), hash: Buffer.from(hashHex, 'hex'), role: parseRole(role, where, issues) })
  })
  if (issues.length > 0) throw new ConfigError(issues)
  return parsed
}

/**
 * Authentication settings from the environment: `JM_MANAGEMENT_API_KEYS`, `JM_MANAGEMENT_API_USERS`,
 * `JM_JWT_SECRET` (HS256), `JM_JWT_PUBLIC_KEY` (RS256, PEM; `\n` escapes allowed), `JM_JWT_ISSUER`,
 * `JM_JWT_AUDIENCE`. Errors name the variable and never quote a secret.
 */
export async function authSettingsFromEnv(env: Record<string, string | undefined> = process.env): Promise<AuthSettings> {
  const get = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined)
  const issues: Issue[] = []
  const collect = <T>(read: () => T, fallback: T): T => {
    try {
      return read()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      issues.push(...error.issues)
      return fallback
    }
  }
  const apiKeys = collect(() => parseApiKeys(get('JM_MANAGEMENT_API_KEYS')), [])
  const users = collect(() => parseUsers(get('JM_MANAGEMENT_API_USERS')), [])

  let jwt: JwtSettings | null = null
  const secretText = get('JM_JWT_SECRET')
  const pem = get('JM_JWT_PUBLIC_KEY')
  if (secretText !== undefined || pem !== undefined) {
    const secret = secretText === undefined ? null : new TextEncoder().encode(secretText)
    if (secret && secret.length < MIN_JWT_SECRET_BYTES) issues.push({ path: 'JM_JWT_SECRET', message: `must be at least ${MIN_JWT_SECRET_BYTES} bytes (HS256 needs a 256-bit key)` })
    let publicKey: PublicKey | null = null
    if (pem !== undefined) {
      try {
        publicKey = await importSPKI(pem.replace(/\\n/g, '\n'), 'RS256')
      } catch {
        issues.push({ path: 'JM_JWT_PUBLIC_KEY', message: 'must be an RSA public key in PEM form ("-----BEGIN PUBLIC KEY-----…")' })
      }
    }
    jwt = { secret, publicKey, issuer: get('JM_JWT_ISSUER') ?? null, audience: get('JM_JWT_AUDIENCE') ?? null }
  } else if (get('JM_JWT_ISSUER') !== undefined || get('JM_JWT_AUDIENCE') !== undefined) {
    issues.push({ path: 'JM_JWT_ISSUER', message: 'JWT issuer/audience are set but neither JM_JWT_SECRET nor JM_JWT_PUBLIC_KEY is' })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return { apiKeys, users, jwt }
}

export function authConfigured(settings: AuthSettings): boolean {
  return settings.apiKeys.length > 0 || settings.users.length > 0 || settings.jwt !== null
}

/** Why a credential was refused; safe to show (it never contains the credential). */
class Unauthenticated extends Error {
  constructor(
    readonly mode: AuthMode | null,
    readonly reason: string,
  ) {
    super(reason)
  }
}

// Unknown user names still cost one derivation, so timing does not reveal which names exist.
const DECOY_SALT = randomBytes(SALT_BYTES)

function checkApiKey(settings: AuthSettings, key: string): Principal {
  if (settings.apiKeys.length === 0) throw new Unauthenticated('api-key', 'API keys are not enabled')
  // Every entry is checked (no early exit), so the time taken does not tell which one matched.
  const matches = settings.apiKeys.filter((entry) => entry.verifier.matches(key))
  const found = matches[0]
  if (!found) throw new Unauthenticated('api-key', 'invalid API key')
  return { mode: 'api-key', name: found.name, role: found.role }
}

async function checkPassword(settings: AuthSettings, name: string | undefined, password: string | undefined): Promise<Principal> {
  if (settings.users.length === 0) throw new Unauthenticated('user', 'user and password authentication is not enabled')
  if (!name || !password) throw new Unauthenticated('user', `give both ${USER_HEADER} and ${PASSWORD_HEADER}`)
  const user = settings.users.find((u) => u.name === name)
  const derived = await derivePassword(password, user?.salt ?? DECOY_SALT)
  if (!user || derived.length !== user.hash.length || !timingSafeEqual(derived, user.hash)) {
    throw new Unauthenticated('user', 'invalid user name or password')
  }
  return { mode: 'user', name: user.name, role: user.role }
}

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload.scope ?? payload.scp
  if (typeof scope === 'string') return scope.split(' ')
  return Array.isArray(scope) ? scope.filter((s): s is string => typeof s === 'string') : []
}

async function checkJwt(settings: AuthSettings, token: string): Promise<Principal> {
  const jwt = settings.jwt
  if (!jwt) throw new Unauthenticated('jwt', 'bearer tokens are not enabled')
  // Only the configured algorithms are accepted, each with its own key (no HS/RS confusion).
  const algorithms = [...(jwt.secret ? ['HS256'] : []), ...(jwt.publicKey ? ['RS256'] : [])]
  try {
    const { payload } = await jwtVerify(token, (header) => (header.alg === 'HS256' ? jwt.secret! : jwt.publicKey!), {
      algorithms,
      requiredClaims: ['exp', 'sub'],
      ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
      ...(jwt.audience ? { audience: jwt.audience } : {}),
    })
    return { mode: 'jwt', name: payload.sub!, role: scopesOf(payload).includes(OPERATE_SCOPE) ? 'operate' : 'read' }
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new Unauthenticated('jwt', 'token expired')
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw new Unauthenticated('jwt', `token claim "${error.claim}" is missing or not accepted`)
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw new Unauthenticated('jwt', `token algorithm not accepted (accepted: ${algorithms.join(', ')})`)
    throw new Unauthenticated('jwt', 'invalid token')
  }
}

async function identify(c: Context, settings: AuthSettings): Promise<Principal> {
  const key = c.req.header(API_KEY_HEADER)
  if (key !== undefined) return checkApiKey(settings, key)
  const name = c.req.header(USER_HEADER)
  const password = c.req.header(PASSWORD_HEADER)
  if (name !== undefined || password !== undefined) return checkPassword(settings, name, password)
  const authorization = c.req.header('authorization')
  if (authorization !== undefined) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (!bearer) throw new Unauthenticated('jwt', 'the Authorization header must be "Bearer <token>"')
    return checkJwt(settings, bearer[1]!)
  }
  throw new Unauthenticated(null, `missing credentials: send ${API_KEY_HEADER}, ${USER_HEADER} + ${PASSWORD_HEADER}, or Authorization: Bearer <token>`)
}

/**
 * The middleware: sets `principal` on success and answers 401 (never data) otherwise. Failures
 * are logged with the mode and the reason, never the credential or the attempted user name.
 */
export function authenticate(settings: AuthSettings, logger?: Logger) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    let principal: Principal
    try {
      principal = await identify(c, settings)
    } catch (error) {
      if (!(error instanceof Unauthenticated)) throw error
      logger?.warn({ event: 'auth-failed', mode: error.mode, reason: error.reason, method: c.req.method, path: c.req.path }, 'authentication failed')
      return c.json({ error: 'unauthenticated', reason: error.reason }, 401, { 'WWW-Authenticate': 'Bearer realm="jobmaster"' })
    }
    c.set('principal', principal)
    await next()
  })
}

export function roleAllows(role: Role, needed: Role): boolean {
  return needed === 'read' || role === 'operate'
}

/** How a principal appears in logs: `api-key:ops`, `user:alice`, `jwt:<sub>`. */
export function describePrincipal(p: Principal): string {
  return `${p.mode}:${p.name}`
}

import sql from 'mssql'
import { StoreError } from '../../errors.js'
import { PREFIX_PATTERN, PREFIX_RULE } from '../../names.js'

export type Row = Record<string, any>

/**
 * The SQL Server type of a parameter, written as in T-SQL. Parameters are always typed exactly
 * like the column they meet: an nvarchar parameter against a varchar column, say, makes SQL
 * Server convert the column and scan instead of seek.
 */
export type ParamType =
  | `nvarchar(${number})`
  | 'nvarchar(max)'
  | 'char(36)'
  | 'int'
  | 'smallint'
  | 'bigint'
  | 'bit'
  | 'datetimeoffset(3)'

/**
 * Column types shared by DDL, OPENJSON shredding and parameters, so the three always agree.
 * Job ids are UUID text: char(36) keeps the engine's time-ordered (v7) ids append-only in the
 * clustered index, which uniqueidentifier's byte order would scatter.
 */
export const SQL_TYPES = {
  jobId: 'char(36)',
  clusterId: 'nvarchar(50)',
  /** Agent connection, lane, worker and metadata names (NAME_PATTERN: at most 50 characters). */
  name: 'nvarchar(50)',
  definition: 'nvarchar(100)',
  status: 'nvarchar(20)',
  bucketId: 'nvarchar(200)',
  workerId: 'nvarchar(200)',
  idempotencyKey: 'nvarchar(200)',
  text: 'nvarchar(max)',
  time: 'datetimeoffset(3)',
  cron: 'nvarchar(200)',
  timeZone: 'nvarchar(64)',
  specHash: 'nvarchar(64)',
} as const satisfies Record<string, ParamType>

export interface Param {
  /** Without the leading `@`. */
  name: string
  type: ParamType
  value: unknown
}

/** One request to the server: a single statement, or a batch that runs atomically. */
export interface Statement {
  text: string
  params: Param[]
  /** How many SQL statements `text` executes; this is what `statementCount` adds. */
  statements: number
}

export interface Result<R extends Row = Row> {
  /** One array per result set (SELECT or OUTPUT), in order. */
  recordsets: R[][]
  /** Rows affected, one entry per statement that reported a count. */
  rowsAffected: number[]
}

/** What the SQL modules need: run a built statement. Tests pass a recording fake. */
export interface Runner {
  run<R extends Row = Row>(statement: Statement): Promise<Result<R>>
}

/** SQL Server refuses a request with more than 2,100 parameters. */
export const MAX_PARAMETERS = 2100

/** Table names are built from the prefix, so it must be a plain identifier fragment. */
export function checkedPrefix(prefix: string, resource: string): string {
  if (!PREFIX_PATTERN.test(prefix)) throw new StoreError(resource, `table prefix "${prefix}" is invalid: must be ${PREFIX_RULE}`)
  return prefix
}

export function param(name: string, type: ParamType, value: unknown): Param {
  return { name, type, value }
}

/**
 * Wrap several statements into one atomic batch: XACT_ABORT makes any error roll the whole
 * transaction back (without it, SQL Server continues after many statement-level errors).
 */
export function atomic(statements: string[]): string {
  if (statements.length === 1) return statements[0]!
  return ['SET XACT_ABORT ON;', 'BEGIN TRANSACTION;', ...statements.map((s) => `${s};`), 'COMMIT TRANSACTION;'].join('\n')
}

/** The driver type object for a ParamType. */
export function driverType(type: ParamType): sql.ISqlType | (() => sql.ISqlType) {
  const nvarchar = /^nvarchar\((\d+|max)\)$/.exec(type)
  if (nvarchar) return sql.NVarChar(nvarchar[1] === 'max' ? sql.MAX : Number(nvarchar[1]))
  switch (type) {
    case 'char(36)':
      return sql.Char(36)
    case 'int':
      return sql.Int
    case 'smallint':
      return sql.SmallInt
    case 'bigint':
      return sql.BigInt
    case 'bit':
      return sql.Bit
    case 'datetimeoffset(3)':
      return sql.DateTimeOffset(3)
  }
  throw new Error(`unsupported parameter type ${type}`)
}

const DUPLICATE_KEY = new Set([2627, 2601]) // unique constraint (incl. primary key), unique index
const DEADLOCK_VICTIM = 1205

/** SQL error numbers carried by an error (the driver reports the last one, with the ones before it). */
export function sqlErrorNumbers(error: unknown): number[] {
  const numbers: number[] = []
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 4) return
    const x = e as { number?: unknown; precedingErrors?: unknown[]; cause?: unknown; originalError?: unknown }
    if (typeof x.number === 'number') numbers.push(x.number)
    for (const p of x.precedingErrors ?? []) visit(p, depth + 1)
    visit(x.cause, depth + 1)
    visit(x.originalError, depth + 1)
  }
  visit(error, 0)
  return numbers
}

export function isDuplicateKey(error: unknown): boolean {
  return sqlErrorNumbers(error).some((n) => DUPLICATE_KEY.has(n))
}

export function isDeadlockVictim(error: unknown): boolean {
  return sqlErrorNumbers(error).includes(DEADLOCK_VICTIM)
}

/**
 * Run an insert-if-absent or upsert once more if it lost a race: a concurrent request inserted
 * the same key between our check and our insert (2627/2601). The statement or batch was rolled
 * back whole, and the second run sees the winner's row.
 */
export async function retryOnDuplicateKey<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (!isDuplicateKey(error)) throw error
    return run()
  }
}

/**
 * Run once more if SQL Server chose this request as a deadlock victim (1205). Every request this
 * provider sends is one statement or one XACT_ABORT batch, so the victim was rolled back whole
 * and running it again is safe.
 */
export async function retryDeadlockVictim<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (!isDeadlockVictim(error)) throw error
    return run()
  }
}

// ---- connection URLs ----

const BOOLEAN_PARAMS = ['encrypt', 'trustServerCertificate'] as const
const INTEGER_PARAMS = ['connectTimeout', 'requestTimeout'] as const
const STRING_PARAMS = ['instanceName', 'applicationName'] as const
const KNOWN_PARAMS: readonly string[] = [...BOOLEAN_PARAMS, ...INTEGER_PARAMS, ...STRING_PARAMS]

export interface MssqlConnection {
  config: sql.config
  /** Strings that must never appear in an error message (the password, raw and URL-encoded). */
  secrets: string[]
}

/**
 * Parse `mssql://user:password@host:port/database?encrypt=true&trustServerCertificate=true`
 * (or `sqlserver://…`) into a driver config. Errors name `resource`, never the URL.
 * Query parameters: encrypt, trustServerCertificate (true/false), connectTimeout and
 * requestTimeout (ms), instanceName, applicationName. Encryption is on by default (the driver's
 * default); a local server with a self-signed certificate needs trustServerCertificate=true.
 */
export function parseMssqlUrl(url: string, resource: string, options: { poolSize?: number } = {}): MssqlConnection {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new StoreError(resource, 'invalid SQL Server URL (expected mssql://user:password@host:port/database)')
  }
  if (u.protocol !== 'mssql:' && u.protocol !== 'sqlserver:') {
    throw new StoreError(resource, `invalid SQL Server URL: scheme must be mssql:// or sqlserver://, not ${u.protocol}//`)
  }
  if (!u.hostname) throw new StoreError(resource, 'invalid SQL Server URL: no host')
  const problems: string[] = []
  const unknown = [...u.searchParams.keys()].filter((k) => !KNOWN_PARAMS.includes(k))
  if (unknown.length > 0) problems.push(`unknown query parameter(s) ${unknown.map((k) => `"${k}"`).join(', ')} (supported: ${KNOWN_PARAMS.join(', ')})`)

  const flag = (name: (typeof BOOLEAN_PARAMS)[number]): boolean | undefined => {
    const raw = u.searchParams.get(name)
    if (raw === null) return undefined
    if (/^(true|1|yes)$/i.test(raw)) return true
    if (/^(false|0|no)$/i.test(raw)) return false
    problems.push(`${name} must be true or false`)
    return undefined
  }
  const integer = (name: (typeof INTEGER_PARAMS)[number]): number | undefined => {
    const raw = u.searchParams.get(name)
    if (raw === null) return undefined
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name} must be a whole number of milliseconds`)
      return undefined
    }
    return Number(raw)
  }
  const port = u.port ? Number(u.port) : 1433
  const encrypt = flag('encrypt')
  const trustServerCertificate = flag('trustServerCertificate')
  const connectTimeout = integer('connectTimeout')
  const requestTimeout = integer('requestTimeout')
  if (problems.length > 0) throw new StoreError(resource, `invalid SQL Server URL: ${problems.join('; ')}`)

  const database = decodeURIComponent(u.pathname.replace(/^\//, ''))
  const instanceName = u.searchParams.get('instanceName')
  const password = decodeURIComponent(u.password)
  const config: sql.config = {
    server: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? password : undefined,
    database: database || undefined,
    connectionTimeout: connectTimeout ?? 10_000,
    requestTimeout: requestTimeout ?? 60_000,
    pool: { max: options.poolSize ?? 10, min: 0, idleTimeoutMillis: 60_000 },
    options: {
      encrypt: encrypt ?? true,
      trustServerCertificate: trustServerCertificate ?? false,
      appName: u.searchParams.get('applicationName') ?? 'jobmaster',
      // datetimeoffset values carry their offset; this keeps any datetime2 the driver meets in UTC too.
      useUTC: true,
      ...(instanceName ? { instanceName } : {}),
    },
  }
  return { config, secrets: [password, u.password].filter((s) => s.length > 0) }
}

// ---- the pool ----

/**
 * An mssql (tedious) pool plus a statement counter. Connects on first use; a failed connect is
 * reported as a StoreError naming the resource (`master`, `agent connection "x"`) and retried on
 * the next call. Every statement is sent through sp_executesql with typed parameters, so SQL
 * Server caches one plan per statement text.
 */
export class MssqlDb implements Runner {
  private statements = 0
  private pool: Promise<sql.ConnectionPool> | null = null
  private readonly connection: MssqlConnection

  constructor(
    url: string,
    /** What errors name: the connection or "master", never the URL. */
    readonly resource: string,
    options: { poolSize?: number } = {},
  ) {
    this.connection = parseMssqlUrl(url, resource, options)
  }

  get statementCount(): number {
    return this.statements
  }

  async run<R extends Row = Row>(statement: Statement): Promise<Result<R>> {
    return retryDeadlockVictim(async () => {
      this.count(statement)
      const pool = await this.connect()
      return this.send<R>(pool.request(), statement)
    })
  }

  /** Run `work` in one transaction (used by migrations, which need several round trips under one lock). */
  async transaction<T>(work: (tx: Runner) => Promise<T>): Promise<T> {
    const pool = await this.connect()
    const transaction = new sql.Transaction(pool)
    this.statements += 2 // BEGIN and COMMIT are round trips of their own
    try {
      await transaction.begin()
    } catch (error) {
      throw this.wrap(error)
    }
    try {
      const result = await work({
        run: async <R extends Row = Row>(statement: Statement) => {
          this.count(statement)
          return this.send<R>(new sql.Request(transaction), statement)
        },
      })
      await transaction.commit()
      return result
    } catch (error) {
      // XACT_ABORT may already have rolled back; the original error is what matters.
      await transaction.rollback().catch(() => {})
      throw this.wrap(error)
    }
  }

  async close(): Promise<void> {
    const pending = this.pool
    this.pool = null
    const pool = await pending?.catch(() => null)
    await pool?.close()
  }

  /** Count what is about to be sent; refuse (before any I/O) what SQL Server would refuse. */
  private count(statement: Statement): void {
    if (statement.params.length > MAX_PARAMETERS) {
      throw new StoreError(this.resource, `statement has ${statement.params.length} parameters; SQL Server accepts at most ${MAX_PARAMETERS}`)
    }
    this.statements += statement.statements
  }

  private async send<R extends Row>(request: sql.Request, statement: Statement): Promise<Result<R>> {
    for (const p of statement.params) request.input(p.name, driverType(p.type), p.value)
    try {
      const result = await request.query(statement.text)
      return { recordsets: (result.recordsets ?? []) as unknown as R[][], rowsAffected: result.rowsAffected ?? [] }
    } catch (error) {
      throw this.wrap(error)
    }
  }

  private connect(): Promise<sql.ConnectionPool> {
    if (!this.pool) {
      const pool = new sql.ConnectionPool(this.connection.config)
      // Connection-level errors also fail the request that hit them, and the pool replaces the
      // connection; without a listener they would crash the process as unhandled 'error' events.
      pool.on('error', () => {})
      const attempt: Promise<sql.ConnectionPool> = pool.connect().catch(async (error: unknown) => {
        if (this.pool === attempt) this.pool = null
        await pool.close().catch(() => {})
        throw new StoreError(this.resource, `cannot connect to SQL Server: ${this.redact(messageOf(error))}`, { cause: error })
      })
      this.pool = attempt
    }
    return this.pool
  }

  private wrap(error: unknown): unknown {
    if (error instanceof StoreError) return error
    return new StoreError(this.resource, this.redact(messageOf(error)), { cause: error })
  }

  private redact(message: string): string {
    return this.connection.secrets.reduce((text, secret) => text.split(secret).join('***'), message)
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Keep one entry per key, the last one: a later mark or push for the same job supersedes an
 * earlier one (UPDATE … FROM and MERGE must not meet one target row twice).
 */
export function lastPerKey<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()]
}

/** Keep the first entry per key. */
export function firstPerKey<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>()
  return items.filter((item) => !seen.has(key(item)) && seen.add(key(item)))
}

/** The first result set, or none. */
export function rowsOf<R extends Row>(result: Result<R>, index = 0): R[] {
  return result.recordsets[index] ?? []
}

/** Dates travel inside JSON parameters as ISO-8601 UTC text, which datetimeoffset(3) parses exactly. */
export function isoOrNull(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null
}


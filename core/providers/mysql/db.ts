import type { PoolConnection as CorePoolConnection } from 'mysql2'
import mysql, { type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader } from 'mysql2/promise'
import { setTimeout as sleep } from 'node:timers/promises'
import { StoreError } from '../../errors.js'

export type Row = Record<string, any>

/** What a statement that returns no rows reports. */
export interface Written {
  /**
   * Rows the WHERE clause matched: mysql2 connects with CLIENT_FOUND_ROWS, so a compare-and-set
   * that rewrites equal values still counts as applied.
   */
  affectedRows: number
}

/** Where statements go: the pool (autocommit), one transaction, or one session holding a named lock. */
export interface Session {
  query<R extends Row = Row>(text: string, params?: unknown[]): Promise<R[]>
  exec(text: string, params?: unknown[]): Promise<Written>
}

export const ER_DUP_ENTRY = 1062
const ER_LOCK_DEADLOCK = 1213
const DEADLOCK_ATTEMPTS = 4

/**
 * Every connection gets the same session, whatever the server's defaults: UTC (DATETIME(3)
 * columns hold UTC instants and the driver reads and writes them with timezone 'Z'), strict
 * mode (an over-long value is an error, never a silent truncation), and READ COMMITTED (no gap
 * locks: a claim scanning the inbox does not block producers inserting into it).
 */
const SESSION_SETUP = [
  `SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'`,
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
]

/**
 * A mysql2 pool plus a statement counter (BEGIN, COMMIT and session set-up included). Values
 * always travel as `?` placeholders, escaped by the driver; SQL text is built only from a
 * validated table prefix and code constants.
 */
export class MySqlDb implements Session {
  private readonly pool: Pool
  private statements = 0

  constructor(
    url: string,
    /** What errors name: the connection or "master", never the URL. */
    readonly resource: string,
    options: { max?: number } = {},
  ) {
    this.pool = mysql.createPool({ ...optionsFromUrl(url), connectionLimit: options.max ?? 10 })
    this.pool.pool.on('connection', (connection: CorePoolConnection) => {
      // Queued ahead of the query that asked for this connection, so nothing runs before it.
      for (const text of SESSION_SETUP) {
        this.statements++
        connection.query(text, (error) => {
          if (error) connection.destroy()
        })
      }
    })
  }

  get statementCount(): number {
    return this.statements
  }

  query<R extends Row = Row>(text: string, params: unknown[] = []): Promise<R[]> {
    return this.guard(() => rowsOf<R>(this.send(this.pool, text, params)))
  }

  exec(text: string, params: unknown[] = []): Promise<Written> {
    return this.guard(() => writtenOf(this.send(this.pool, text, params)))
  }

  /** Run `work` in one transaction; a deadlock victim is rolled back whole and run again. */
  transaction<T>(work: (tx: Session) => Promise<T>): Promise<T> {
    return this.guard(() =>
      this.withConnection(async (connection, discard) => {
        await this.send(connection, 'START TRANSACTION')
        try {
          const result = await work(this.sessionOn(connection))
          await this.send(connection, 'COMMIT')
          return result
        } catch (error) {
          // The original error is the one worth reporting; a session that cannot roll back is dropped.
          await this.send(connection, 'ROLLBACK').catch(discard)
          throw error
        }
      }),
    )
  }

  /** Run `work` on one dedicated connection without a transaction (session-scoped named locks). */
  session<T>(work: (session: Session) => Promise<T>): Promise<T> {
    return this.guard(() => this.withConnection((connection) => work(this.sessionOn(connection))))
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  private sessionOn(connection: PoolConnection): Session {
    return {
      query: <R extends Row = Row>(text: string, params: unknown[] = []) => rowsOf<R>(this.send(connection, text, params)),
      exec: (text: string, params: unknown[] = []) => writtenOf(this.send(connection, text, params)),
    }
  }

  private async withConnection<T>(work: (connection: PoolConnection, discard: () => void) => Promise<T>): Promise<T> {
    const connection = await this.pool.getConnection()
    let reusable = true
    const discard = () => void (reusable = false)
    try {
      return await work(connection, discard)
    } catch (error) {
      if (isConnectionFailure(error)) discard()
      throw error
    } finally {
      if (reusable) connection.release()
      else connection.destroy()
    }
  }

  private async send(target: Pool | PoolConnection, text: string, params: unknown[] = []): Promise<unknown> {
    this.statements++
    const [result] = await target.query(text, params)
    return result
  }

  /** Wrap errors as StoreError; retry deadlock victims (InnoDB rolled their whole transaction back). */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation()
      } catch (error) {
        if (errnoOf(error) === ER_LOCK_DEADLOCK && attempt < DEADLOCK_ATTEMPTS) {
          await sleep(5 + Math.random() * 20 * attempt)
          continue
        }
        throw wrap(this.resource, error)
      }
    }
  }
}

/**
 * Pool options from a `mysql://user:password@host:port/database?option=value` URL. Query
 * options pass through to mysql2 (e.g. `ssl`), except the ones this provider relies on.
 */
function optionsFromUrl(url: string): PoolOptions {
  const parsed = new URL(url)
  const passed: Record<string, unknown> = {}
  for (const [key, value] of parsed.searchParams) {
    try {
      passed[key] = JSON.parse(value)
    } catch {
      passed[key] = value
    }
  }
  return {
    ...passed,
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')),
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    charset: 'utf8mb4',
    // Dates are written and read as UTC; the session time zone is set to match.
    timezone: 'Z',
    dateStrings: false,
    // MariaDB returns JSON columns as text and MySQL 8 as parsed values: take text from both.
    jsonStrings: true,
    namedPlaceholders: false,
    // A reset would drop the session settings applied when the connection was made.
    resetOnRelease: false,
    waitForConnections: true,
    connectTimeout: 10_000,
    enableKeepAlive: true,
  }
}

async function rowsOf<R>(result: Promise<unknown>): Promise<R[]> {
  return (await result) as R[]
}

async function writtenOf(result: Promise<unknown>): Promise<Written> {
  return { affectedRows: ((await result) as ResultSetHeader).affectedRows }
}

/** The server's error number, looking through a StoreError to its cause. */
export function errnoOf(error: unknown): number | undefined {
  const raw = error instanceof StoreError ? error.cause : error
  return typeof raw === 'object' && raw !== null && typeof (raw as { errno?: unknown }).errno === 'number' ? (raw as { errno: number }).errno : undefined
}

function isConnectionFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true
}

function wrap(resource: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StoreError(resource, message, { cause: error })
}

// ---- batch parameters ----
//
// A batch travels as one JSON array parameter read through JSON_TABLE (MySQL 8 and MariaDB 10.6+
// have no arrays or unnest). Its column types must match the table's exactly: a charset or
// collation mismatch makes the server convert the table side and stop using the index.

export const UUID = 'CHAR(36) CHARACTER SET ascii COLLATE ascii_bin'
export const LONG_TEXT = 'LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'
export const TIME = 'DATETIME(3)'
export function varchar(length: number): string {
  return `VARCHAR(${length}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`
}

/** Table options of every table: InnoDB, and case- and accent-sensitive text comparisons, as in PostgreSQL. */
export const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'

/** `JSON_TABLE(?, …)` with one column per key; pass `JSON.stringify(rows)` whose objects use the same keys. */
export function jsonRows(columns: Record<string, string>): string {
  const list = Object.entries(columns).map(([name, type]) => `${name} ${type} PATH '$.${name}'`)
  return `JSON_TABLE(?, '$[*]' COLUMNS (${list.join(', ')}))`
}

/** Rows in id order, so concurrent batches lock shared rows in the same order instead of deadlocking. */
export function byId<T>(items: readonly T[], id: (item: T) => string): T[] {
  return [...items].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0))
}

/** DATETIME(3) text for times inside JSON batch parameters (plain Date parameters the driver formats itself). */
export function sqlTime(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ')
}

export function sqlTimeOrNull(date: Date | null): string | null {
  return date ? sqlTime(date) : null
}

/**
 * Most bytes one batched statement should carry. MariaDB's max_allowed_packet defaults to
 * 16 MiB (MySQL 8: 64 MiB) and escaping can double a payload, so a batch of large jobs is split
 * rather than refused as a whole (a refused ingest batch would come back forever).
 */
const STATEMENT_BYTES = 4 * 1024 * 1024

/** Split `items` into runs of at most STATEMENT_BYTES approximate bytes (at least one item each). */
export function chunkByBytes<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const chunks: T[][] = []
  let current: T[] = []
  let size = 0
  for (const item of items) {
    const bytes = bytesOf(item)
    if (current.length > 0 && size + bytes > STATEMENT_BYTES) {
      chunks.push(current)
      current = []
      size = 0
    }
    current.push(item)
    size += bytes
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

import postgres from 'postgres'
import { StoreError } from '../../errors.js'

export type Sql = postgres.Sql<{ bigint: number }>
export type Row = Record<string, any>
export interface Tx {
  query<R extends Row = Row>(text: string, params?: unknown[]): Promise<R[]>
  script(text: string): Promise<void>
}

export interface PgDbOptions {
  max?: number
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit = off` for the pool's sessions).
   * Only for writes whose loss in a server crash is harmless; any later durable commit flushes them too.
   */
  asynchronousCommit?: boolean
}

/**
 * A postgres.js pool plus a statement counter. SQL text is built from a validated table prefix
 * and sent with `prepare: true`, so each named statement is parsed once per connection.
 */
export class PgDb {
  readonly sql: Sql
  private statements = 0

  constructor(
    url: string,
    /** What errors name: the connection or "master", never the URL. */
    readonly resource: string,
    options: PgDbOptions = {},
  ) {
    this.sql = postgres(url, {
      max: options.max ?? 10,
      onnotice: () => {},
      idle_timeout: 60,
      connect_timeout: 10,
      // Reconnect attempts back off to 1–2 s at most. The driver's default grows to 10–20 s after a
      // few failures, which kept workers idle that long after their database had come back.
      backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2),
      // int8 columns (bigserial ids, long durations) come back as numbers; they stay far below 2^53.
      types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
      connection: { application_name: 'jobmaster', ...(options.asynchronousCommit ? { synchronous_commit: 'off' } : {}) },
    }) as unknown as Sql
  }

  get statementCount(): number {
    return this.statements
  }

  async query<T extends Row = Row>(text: string, params: unknown[] = []): Promise<T[]> {
    this.statements++
    try {
      return (await this.sql.unsafe(text, params as any[], { prepare: true })) as unknown as T[]
    } catch (error) {
      throw wrap(this.resource, error)
    }
  }

  /** Run `work` in one transaction; `tx.query` counts like `query`, `tx.script` runs multi-statement DDL. */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    this.statements += 2 // BEGIN and COMMIT
    try {
      return (await this.sql.begin(async (tx) => {
        const query = async <R extends Row = Row>(text: string, params: unknown[] = []) => {
          this.statements++
          return (await tx.unsafe(text, params as any[], { prepare: true })) as unknown as R[]
        }
        const script = async (text: string) => {
          this.statements++
          await tx.unsafe(text).simple()
        }
        return work({ query, script })
      })) as T
    } catch (error) {
      throw wrap(this.resource, error)
    }
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 })
  }
}

function wrap(resource: string, error: unknown): unknown {
  if (error instanceof StoreError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StoreError(resource, message, { cause: error })
}

/**
 * Timestamps travel in arrays as ISO text (postgres.js infers no element type for `unnest`). Hot
 * statements declare those parameters text[] and cast in SQL: declared timestamptz[], the driver
 * parses every element back into a Date and formats it again before sending.
 */
export function isoOrNull(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null
}

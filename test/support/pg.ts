import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

/** A table prefix of its own for each test, so files run in parallel on one database. */
export function testPrefix(tag = 't'): string {
  return `jm${tag}${randomBytes(4).toString('hex')}_`
}

/** Drop every table a test created under its prefix. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const tables = await sql<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE ${`${prefix.replace(/_/g, '\\_')}%`}`
    if (tables.length > 0) await sql.unsafe(`DROP TABLE IF EXISTS ${tables.map((t) => `"${t.tablename}"`).join(', ')} CASCADE`)
  } finally {
    await sql.end()
  }
}

export async function rawQuery<T extends Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return (await sql.unsafe(text, params as never[])) as unknown as T[]
  } finally {
    await sql.end()
  }
}

import postgres from 'postgres'
import { closedLoop } from './lib.js'

/** The transport's own limit on this machine: single-row INSERT commits from 16 connections. */
export async function postgresCommitFloor(url: string, durationMs: number): Promise<number> {
  const sql = postgres(url, { max: 16, onnotice: () => {} })
  try {
    await sql`CREATE TABLE IF NOT EXISTS jm_bench_floor (id bigserial PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL DEFAULT now())`
    const body = JSON.stringify({ definition: 'noop', payload: null, padding: 'x'.repeat(200) })
    const n = await closedLoop(16, durationMs, () => sql`INSERT INTO jm_bench_floor (body) VALUES (${body})`)
    await sql`DROP TABLE jm_bench_floor`
    return (n * 1000) / durationMs
  } finally {
    await sql.end()
  }
}

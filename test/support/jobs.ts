import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import * as v from 'valibot'
import { defineJob, handle, type HandlerEntry } from '../../core/definitions.js'
import { handlers as samples } from '../../jobs/handlers.js'

/**
 * A job that records each execution start in a table before working, so tests count real runs
 * (the master only knows what was reported: a run cut short by SIGKILL never is).
 */
export const record = defineJob({
  id: 'record',
  schema: v.object({ ms: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0) }),
})

export function recordingHandlers(url: string, table: string): HandlerEntry<any>[] {
  const sql = postgres(url, { max: 4, idle_timeout: 2, onnotice: () => {} })
  return [
    ...samples,
    handle(record, async ({ ms }, ctx) => {
      await sql.unsafe(`INSERT INTO ${table} (job_id, pid, attempt, at) VALUES ($1, $2, $3, clock_timestamp())`, [ctx.jobId, process.pid, ctx.attempt])
      if (ms > 0) await delay(ms, undefined, { signal: ctx.signal })
    }),
  ]
}

export async function createExecutionLog(url: string, table: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql.unsafe(`CREATE TABLE IF NOT EXISTS ${table} (job_id uuid NOT NULL, pid int NOT NULL, attempt int NOT NULL, at timestamptz NOT NULL)`)
  await sql.end()
}

/** For worker child processes: JM_HANDLERS=test/support/jobs.ts with the log's location in the environment. */
export const handlers: HandlerEntry<any>[] =
  process.env.JM_TEST_EXEC_URL && process.env.JM_TEST_EXEC_TABLE ? recordingHandlers(process.env.JM_TEST_EXEC_URL, process.env.JM_TEST_EXEC_TABLE) : samples

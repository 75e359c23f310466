import { appendFile, mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { ClusterContext } from '../../../core/cluster.js'
import { TERMINAL_STATUSES, type JobStatus } from '../../../core/model.js'
import { PG_MASTER_URL } from '../../support/env.js'
import { rawQuery } from '../../support/pg.js'

/**
 * Counting for the chaos scenarios, from three independent sources:
 * - accepted: job ids a producer answered (kept by the test, never read back from a store);
 * - the master's rows: succeeded, terminal, and whatever is still not terminal;
 * - the execution log (test/support/jobs.ts `record`): one row per handler start, written by
 *   the handler itself, so a run cut short by SIGKILL is counted although the master never hears of it.
 *
 * lost = accepted jobs the master does not show in a terminal state once the run has settled.
 * duplicated = jobs whose handler started more often than once plus once per recorded retryable
 * failure (Failed, TimedOut, Interrupted): a retry after a failure is by design, a re-run after a
 * crash (or after a result that never reached the master) is a duplicate. The master's history
 * alone cannot tell: a late result of a run the cluster had given up on is recorded too.
 */
export interface Tally {
  scenario: string
  accepted: number
  succeeded: number
  failed: number
  lost: number
  duplicated: number
  /** Status → count of the lost jobs (still not terminal, or missing from the master). */
  lostStatuses: Record<string, number>
  duplicatedIds: string[]
  executions: number
  seconds: number
  notes: Record<string, unknown>
}

/** Attempt outcomes after which the engine runs the job again by design. */
const RETRIED_OUTCOMES = new Set(['Failed', 'TimedOut', 'Interrupted'])
const CHUNK = 1000

async function statusesOf(ctx: ClusterContext, ids: readonly string[]): Promise<Map<string, JobStatus>> {
  const statuses = new Map<string, JobStatus>()
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const job of await ctx.master.getJobs(ctx.clusterId, ids.slice(i, i + CHUNK))) statuses.set(job.id, job.status)
  }
  return statuses
}

/** Wait until every accepted job is terminal in the master, or the deadline passes (then the tally shows what is lost). */
export async function settle(ctx: ClusterContext, ids: readonly string[], timeoutMs: number): Promise<number> {
  const started = Date.now()
  let pending = [...ids]
  while (pending.length > 0 && Date.now() - started < timeoutMs) {
    const statuses = await statusesOf(ctx, pending).catch(() => null)
    if (statuses) pending = pending.filter((id) => !TERMINAL_STATUSES.includes(statuses.get(id) ?? 'SavePending'))
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 250))
  }
  return Date.now() - started
}

async function executionCounts(log: string): Promise<Map<string, number>> {
  const rows = await rawQuery<{ job_id: string; n: number }>(PG_MASTER_URL, `SELECT job_id::text, count(*)::int AS n FROM ${log} GROUP BY job_id`)
  return new Map(rows.map((r) => [r.job_id, r.n]))
}

export async function tally(scenario: string, ctx: ClusterContext, accepted: readonly string[], log: string, seconds: number, notes: Record<string, unknown> = {}): Promise<Tally> {
  const statuses = await statusesOf(ctx, accepted)
  const lostStatuses: Record<string, number> = {}
  let succeeded = 0
  let failed = 0
  for (const id of accepted) {
    const status = statuses.get(id)
    if (status === 'Succeeded') succeeded++
    if (status === 'Failed') failed++
    if (!status || !TERMINAL_STATUSES.includes(status)) {
      const key = status ?? 'missing from the master'
      lostStatuses[key] = (lostStatuses[key] ?? 0) + 1
    }
  }
  const runs = await executionCounts(log)
  const acceptedSet = new Set(accepted)
  const duplicatedIds: string[] = []
  for (const [id, n] of runs) {
    if (n < 2 || !acceptedSet.has(id)) continue
    const retries = (await ctx.master.listAttempts(ctx.clusterId, id)).filter((a) => RETRIED_OUTCOMES.has(a.outcome)).length
    if (n > 1 + retries) duplicatedIds.push(id)
  }
  const lost = Object.values(lostStatuses).reduce((a, b) => a + b, 0)
  const result: Tally = {
    scenario,
    accepted: accepted.length,
    succeeded,
    failed,
    lost,
    duplicated: duplicatedIds.length,
    lostStatuses,
    duplicatedIds,
    executions: [...runs.values()].reduce((a, b) => a + b, 0),
    seconds,
    notes,
  }
  await publish(result)
  return result
}

/**
 * The documented bound: a job runs twice only if the worker running it died (or was declared
 * dead) after starting it and before its result was recorded. For each duplicated job: one of its
 * runs happened in a process on `dyingPids`, and no worker of that process recorded its success.
 * Returns the jobs that break the bound (empty when the guarantee holds).
 */
export async function duplicatesOutsideBound(ctx: ClusterContext, log: string, duplicatedIds: readonly string[], dying: { pids: number[]; workerNames: string[] }): Promise<string[]> {
  const outside: string[] = []
  for (const id of duplicatedIds) {
    const pids = (await rawQuery<{ pid: number }>(PG_MASTER_URL, `SELECT pid FROM ${log} WHERE job_id = $1`, [id])).map((r) => r.pid)
    const ranOnDying = pids.some((pid) => dying.pids.includes(pid))
    const attempts = await ctx.master.listAttempts(ctx.clusterId, id)
    const successRecordedByDying = attempts.some((a) => a.outcome === 'Succeeded' && dying.workerNames.some((name) => a.workerId?.startsWith(`${name}.`)))
    if (!ranOnDying || successRecordedByDying) outside.push(id)
  }
  return outside
}

/** One line on the console and one JSON line in test-output/chaos/results.jsonl per scenario. */
async function publish(t: Tally): Promise<void> {
  const { duplicatedIds: _ids, ...summary } = t
  console.log(
    `[chaos] ${t.scenario}: accepted ${t.accepted}, succeeded ${t.succeeded}, failed ${t.failed}, lost ${t.lost}, duplicated ${t.duplicated}, ` +
      `executions ${t.executions}, settled in ${t.seconds.toFixed(1)} s${Object.keys(t.notes).length > 0 ? ` ${JSON.stringify(t.notes)}` : ''}` +
      (t.lost > 0 ? ` lost by status ${JSON.stringify(t.lostStatuses)}` : ''),
  )
  const dir = resolve(import.meta.dirname, '../../../test-output/chaos')
  await mkdir(dir, { recursive: true })
  await appendFile(resolve(dir, 'results.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), ...summary })}\n`)
}

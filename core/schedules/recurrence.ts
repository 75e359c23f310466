import { Cron } from 'croner'
import { MIN_INTERVAL_MS } from './schema.js'

/**
 * When a schedule recurs. Intervals are absolute durations counted from an anchor (start-after,
 * else creation), so they are even and unaffected by daylight-saving changes. Cron expressions
 * are evaluated by croner in an IANA time zone, with croner's rules for daylight-saving
 * transitions (see test/schedules/dst.test.ts): a fixed-time expression (`30 2 * * *`) falling in
 * the skipped hour runs at the first valid time after it and runs once in a repeated hour; other
 * expressions (`*\/30 * * * *`) skip the times that do not exist and run on both occurrences of
 * a repeated time.
 */
export interface Recurrence {
  /** The first occurrence strictly after `after`, or null if there is none. */
  next(after: Date): Date | null
  /** Occurrences in (after, through], ascending, at most `limit`. */
  between(after: Date, through: Date, limit: number): Date[]
  /** The `limit` latest occurrences in (after, before), ascending. */
  latestBefore(before: Date, after: Date, limit: number): Date[]
}

/** croner mode: 5 fields, or 6 with a leading seconds field (no year field). */
const CRON_MODE = '5-or-6-parts'

/** Why `expression` is not a usable cron expression in `zone`, or null if it is. */
export function cronProblem(expression: string, zone: string): string | null {
  try {
    const cron = new Cron(expression, { timezone: zone, mode: CRON_MODE })
    // Evaluating once catches what parsing alone does not (an expression that never matches is fine: it completes).
    cron.nextRun(new Date(0))
    return null
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, '')
  }
}

export function intervalRecurrence(anchor: Date, everyMs: number): Recurrence {
  if (!Number.isInteger(everyMs) || everyMs < MIN_INTERVAL_MS) throw new Error(`interval must be a whole number of milliseconds ≥ ${MIN_INTERVAL_MS}`)
  const a = anchor.getTime()
  const at = (k: number) => new Date(a + k * everyMs)
  /** Smallest k ≥ 1 whose occurrence is strictly after t. */
  const firstAfter = (t: number) => Math.max(1, Math.floor((t - a) / everyMs) + 1)
  return {
    next: (after) => at(firstAfter(after.getTime())),
    between(after, through, limit) {
      const out: Date[] = []
      for (let k = firstAfter(after.getTime()); out.length < limit && a + k * everyMs <= through.getTime(); k++) out.push(at(k))
      return out
    },
    latestBefore(before, after, limit) {
      const last = Math.ceil((before.getTime() - a) / everyMs) - 1
      const first = Math.max(firstAfter(after.getTime()), last - limit + 1)
      const out: Date[] = []
      for (let k = first; k <= last; k++) out.push(at(k))
      return out
    },
  }
}

export function cronRecurrence(expression: string, zone: string): Recurrence {
  const cron = new Cron(expression, { timezone: zone, mode: CRON_MODE })
  const next = (after: Date) => cron.nextRun(after)
  return {
    next,
    between(after, through, limit) {
      const out: Date[] = []
      for (let t = next(after); t && out.length < limit && t.getTime() <= through.getTime(); t = next(t)) out.push(t)
      return out
    },
    latestBefore(before, after, limit) {
      // previousRuns may include a run in the same second as `before`: keep only those strictly before.
      return cron
        .previousRuns(limit + 1, before)
        .filter((t) => t.getTime() < before.getTime() && t.getTime() > after.getTime())
        .slice(0, limit)
        .reverse()
    },
  }
}

/** The recurrence of a stored schedule; a cron schedule without a zone of its own uses the cluster's. */
export function recurrenceOf(schedule: { everyMs: number | null; cron: string | null; timeZone: string | null; startAfter: Date | null; createdAt: Date }, clusterTimeZone: string): Recurrence {
  if (schedule.everyMs !== null) return intervalRecurrence(schedule.startAfter ?? schedule.createdAt, schedule.everyMs)
  if (schedule.cron !== null) return cronRecurrence(schedule.cron, schedule.timeZone ?? clusterTimeZone)
  throw new Error('a schedule needs an interval or a cron expression')
}

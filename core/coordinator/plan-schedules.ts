import type { ClusterContext } from '../cluster.js'
import { occurrenceJobs, planHorizonMs, planOccurrences } from '../schedules/plan.js'

/** A claimed schedule stays hidden from other planners this long; a crashed planner's claim then lapses. */
const CLAIM_MS = 60_000

export interface PlanSummary {
  /** Schedules whose plan was committed. */
  schedules: number
  /** Occurrences created as HeldOnMaster jobs. */
  occurrences: number
  /** Of those, occurrences already due when planned (catch-up runs kept by the misfire policy). */
  caughtUp: number
  completed: number
}

/**
 * Plan recurring schedules: claim the Active ones whose coverage ends within half the horizon
 * (skip-locked, least covered first, so the schedules furthest behind are never starved), plan
 * their occurrences up to now + max(TT, 5 min) with the misfire policy for those already due,
 * and commit each plan in one transaction: the occurrences as HeldOnMaster jobs (the hand-over
 * duty routes them to buckets) and the new coverage, compare-and-set on the schedule's version.
 * An occurrence exists once however many coordinators run: claims are disjoint, a stale plan's
 * commit applies nothing, and the master refuses a second job for one schedule and occurrence.
 * A Passive or Archive cluster plans nothing; on return to Active the misfire policy applies.
 */
export async function planSchedules(ctx: ClusterContext, options: { batch?: number; maxRounds?: number } = {}): Promise<PlanSummary> {
  const summary: PlanSummary = { schedules: 0, occurrences: 0, caughtUp: 0, completed: 0 }
  if (ctx.settings.mode !== 'Active') return summary
  const batch = options.batch ?? 100
  for (let round = 0; round < (options.maxRounds ?? 10); round++) {
    const now = ctx.clock.now()
    const horizonMs = planHorizonMs(ctx.settings)
    const due = await ctx.master.claimDueSchedules(ctx.clusterId, new Date(now.getTime() + horizonMs / 2), batch, CLAIM_MS, now)
    for (const schedule of due) {
      const plan = planOccurrences(schedule, { now, horizonEnd: new Date(now.getTime() + horizonMs), clusterTimeZone: ctx.settings.timeZone })
      const next = {
        ...schedule,
        coveredUntil: plan.coveredUntil,
        ...(plan.completed ? { status: 'Completed' as const, statusChangedAt: now } : {}),
      }
      const inserted = await ctx.master.commitSchedulePlan(next, schedule.version, occurrenceJobs(schedule, plan.occurrences, ctx.settings, now), now)
      if (inserted === null) continue // changed meanwhile (paused, cancelled, re-synced): its next claim plans it afresh
      summary.schedules++
      summary.occurrences += inserted.length
      summary.caughtUp += plan.caughtUp
      if (plan.completed) summary.completed++
      if (plan.misfired) {
        ctx.logger.warn(
          { schedule: schedule.id, name: schedule.name, misfire: schedule.misfirePolicy, missedSince: schedule.coveredUntil, caughtUp: plan.caughtUp },
          'schedule missed occurrences while nothing planned it; misfire policy applied',
        )
      }
    }
    if (due.length < batch) break
  }
  return summary
}

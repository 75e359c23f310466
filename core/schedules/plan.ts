import { newId } from '../ids.js'
import { MINUTE } from '../durations.js'
import type { ClusterSettings, ScheduleRecord } from '../model.js'
import type { NewScheduledJob } from '../stores/master.js'
import { recurrenceOf } from './recurrence.js'

/** Occurrences are planned this far ahead at least (the look-ahead, if longer). */
export const MIN_PLAN_HORIZON_MS = 5 * MINUTE

/**
 * An occurrence planned at most this late is not a misfire but planning latency (a new or resumed
 * schedule, the scheduled coordinator's tick): the `skip` policy still runs it.
 */
export const MISFIRE_GRACE_MS = 15_000

/** `run-all` replays at most this many missed occurrences (the latest ones). */
export const MAX_MISSED_RUNS = 100

/** One plan creates at most this many occurrences; the rest are planned by the next round. */
export const MAX_OCCURRENCES_PER_PLAN = 1000

export function planHorizonMs(settings: Pick<ClusterSettings, 'transientThresholdMs'>): number {
  return Math.max(settings.transientThresholdMs, MIN_PLAN_HORIZON_MS)
}

export interface OccurrencePlan {
  /** Occurrences to create, ascending: the missed ones the misfire policy keeps, then the upcoming ones. */
  occurrences: Date[]
  /** Missed occurrences (due before now) that the policy kept. */
  caughtUp: number
  /** An occurrence was due more than MISFIRE_GRACE_MS before now: the misfire policy decided what runs. */
  misfired: boolean
  /** The schedule's new coverage: every occurrence up to it is planned or skipped. */
  coveredUntil: Date
  /** No occurrence remains (end-before reached, or an expression that never matches again). */
  completed: boolean
}

/**
 * Plan a schedule's occurrences after its coverage and up to `horizonEnd`. Occurrences already
 * due (after downtime, or a little late after creation) follow the misfire policy:
 * `run-once` keeps the latest of them, `skip` keeps the latest only if it is at most
 * MISFIRE_GRACE_MS late, `run-all` keeps the latest MAX_MISSED_RUNS. Pure: the caller gives the
 * time and the cluster's zone.
 */
export function planOccurrences(
  schedule: Pick<ScheduleRecord, 'everyMs' | 'cron' | 'timeZone' | 'startAfter' | 'endBefore' | 'createdAt' | 'coveredUntil' | 'misfirePolicy'>,
  at: { now: Date; horizonEnd: Date; clusterTimeZone: string; maxOccurrences?: number },
): OccurrencePlan {
  const recurrence = recurrenceOf(schedule, at.clusterTimeZone)
  const max = at.maxOccurrences ?? MAX_OCCURRENCES_PER_PLAN
  const floor = schedule.coveredUntil
  const endMs = schedule.endBefore?.getTime() ?? Number.POSITIVE_INFINITY
  const now = at.now.getTime()

  // Due before now: at most MAX_MISSED_RUNS are ever kept, so only those are enumerated.
  const missedBefore = new Date(Math.min(now, endMs))
  const wanted = schedule.misfirePolicy === 'run-all' ? MAX_MISSED_RUNS : 1
  const latestMissed = floor.getTime() < missedBefore.getTime() ? recurrence.latestBefore(missedBefore, floor, wanted) : []
  let kept = latestMissed
  if (schedule.misfirePolicy === 'skip') kept = latestMissed.filter((t) => t.getTime() >= now - MISFIRE_GRACE_MS)
  kept = kept.slice(-max)
  const first = recurrence.next(floor)
  const misfired = first !== null && first.getTime() < Math.min(now - MISFIRE_GRACE_MS, endMs)

  const through = new Date(Math.min(at.horizonEnd.getTime(), endMs - 1))
  const upcomingAfter = new Date(Math.max(floor.getTime(), now - 1))
  const room = max - kept.length
  const upcoming = through.getTime() > upcomingAfter.getTime() && room > 0 ? recurrence.between(upcomingAfter, through, room) : []
  const full = kept.length + upcoming.length >= max
  const last = upcoming[upcoming.length - 1] ?? kept[kept.length - 1]
  // A full plan covers up to its last occurrence; the next round continues from there.
  const coveredUntil = full && last ? last : new Date(Math.max(floor.getTime(), through.getTime()))
  const next = recurrence.next(coveredUntil)
  const completed = next === null || next.getTime() >= endMs
  return { occurrences: [...kept, ...upcoming], caughtUp: kept.length, misfired, coveredUntil, completed }
}

/** The jobs of planned occurrences: HeldOnMaster, due at their occurrence; the coordinator hands them to buckets. */
export function occurrenceJobs(schedule: ScheduleRecord, occurrences: readonly Date[], settings: Pick<ClusterSettings, 'defaultJobTimeoutMs' | 'defaultMaxRetries'>, now: Date): NewScheduledJob[] {
  return occurrences.map((occurrenceAt) => scheduledJob(schedule, occurrenceAt, occurrenceAt, settings, now))
}

/**
 * One job of a schedule. `occurrenceAt` null is a run the operator asked for ("run now"): it is
 * not an occurrence of the recurrence, so it neither collides with one nor waits for overlap.
 */
export function scheduledJob(
  schedule: ScheduleRecord,
  occurrenceAt: Date | null,
  runAt: Date,
  settings: Pick<ClusterSettings, 'defaultJobTimeoutMs' | 'defaultMaxRetries'>,
  now: Date,
): NewScheduledJob {
  return {
    envelope: {
      id: newId(),
      definition: schedule.definition,
      payload: schedule.payload,
      metadata: schedule.metadata,
      priority: schedule.priority,
      lane: schedule.lane,
      scheduledAt: runAt,
      createdAt: now,
      timeoutMs: schedule.timeoutMs ?? settings.defaultJobTimeoutMs,
      maxRetries: schedule.maxRetries ?? settings.defaultMaxRetries,
      idempotencyKey: null,
    },
    status: 'HeldOnMaster',
    bucketId: null,
    agentConnection: null,
    scheduleId: schedule.id,
    occurrenceAt,
    skipIfOverlapping: occurrenceAt !== null && schedule.overlapPolicy === 'skip',
  }
}

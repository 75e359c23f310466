import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ManualClock } from '../../core/clock.js'
import { HOUR, MINUTE, SECOND } from '../../core/durations.js'
import type { ScheduleRecord } from '../../core/model.js'
import { MAX_MISSED_RUNS, MISFIRE_GRACE_MS, planOccurrences } from '../../core/schedules/plan.js'
import { cronRecurrence, intervalRecurrence } from '../../core/schedules/recurrence.js'

type Plannable = Pick<ScheduleRecord, 'everyMs' | 'cron' | 'timeZone' | 'startAfter' | 'endBefore' | 'createdAt' | 'coveredUntil' | 'misfirePolicy'>

function schedule(overrides: Partial<Plannable>): Plannable {
  const createdAt = new Date('2026-03-01T00:00:00Z')
  return { everyMs: null, cron: null, timeZone: null, startAfter: null, endBefore: null, createdAt, coveredUntil: createdAt, misfirePolicy: 'run-once', ...overrides }
}

/**
 * Drive the planner as a coordinator would: at each tick, plan when the coverage ends within half
 * the horizon, and keep the coverage it reports. Returns every occurrence planned.
 */
function simulate(s: Plannable, clock: ManualClock, until: Date, options: { tickMs: number; horizonMs: number; zone: string }): Date[] {
  const planned: Date[] = []
  let current = { ...s }
  while (clock.now().getTime() < until.getTime()) {
    const now = clock.now()
    if (current.coveredUntil.getTime() < now.getTime() + options.horizonMs / 2) {
      const plan = planOccurrences(current, { now, horizonEnd: new Date(now.getTime() + options.horizonMs), clusterTimeZone: options.zone })
      planned.push(...plan.occurrences)
      current = { ...current, coveredUntil: plan.coveredUntil }
      if (plan.completed) break
    }
    clock.advance(options.tickMs)
  }
  return planned
}

describe('a 5-field cron expression in America/Sao_Paulo across a month', () => {
  test('weekdays at 08:30 local are 11:30 UTC (UTC−3, no daylight saving since 2019), each planned once', () => {
    const start = new Date('2026-03-01T00:00:00Z')
    const clock = new ManualClock(start)
    const s = schedule({ cron: '30 8 * * 1-5', timeZone: 'America/Sao_Paulo', createdAt: start, coveredUntil: start })
    // The Lambda coordinator's cadence (10 s ticks) with the default horizon (10 min), over all of March.
    const planned = simulate(s, clock, new Date('2026-04-01T03:00:00Z'), { tickMs: 10 * SECOND, horizonMs: 10 * MINUTE, zone: 'UTC' })
    const expected: string[] = []
    for (let day = 1; day <= 31; day++) {
      const date = new Date(Date.UTC(2026, 2, day, 11, 30))
      if (date.getUTCDay() >= 1 && date.getUTCDay() <= 5) expected.push(date.toISOString())
    }
    expect(planned.map((d) => d.toISOString())).toEqual(expected)
    expect(expected).toHaveLength(22)
    console.log(`São Paulo, 30 8 * * 1-5, March 2026: ${planned.length} occurrences, first ${planned[0]!.toISOString()}, last ${planned.at(-1)!.toISOString()}`)
  })

  test('the cluster zone applies when the schedule has none; a 6-field expression has seconds', () => {
    const start = new Date('2026-03-02T11:29:00Z')
    const plan = planOccurrences(schedule({ cron: '15 30 8 * * *', createdAt: start, coveredUntil: start }), {
      now: start,
      horizonEnd: new Date('2026-03-03T12:00:00Z'),
      clusterTimeZone: 'America/Sao_Paulo',
    })
    expect(plan.occurrences.map((d) => d.toISOString())).toEqual(['2026-03-02T11:30:15.000Z', '2026-03-03T11:30:15.000Z'])
  })

  test('across the 2018 change, when São Paulo still kept daylight saving (UTC−2 from 4 November)', () => {
    const start = new Date('2018-11-01T00:00:00Z')
    const plan = planOccurrences(schedule({ cron: '30 8 * * *', timeZone: 'America/Sao_Paulo', createdAt: start, coveredUntil: start }), {
      now: start,
      horizonEnd: new Date('2018-11-07T00:00:00Z'),
      clusterTimeZone: 'UTC',
    })
    expect(plan.occurrences.map((d) => d.toISOString().slice(5, 16))).toEqual(['11-01T11:30', '11-02T11:30', '11-03T11:30', '11-04T10:30', '11-05T10:30', '11-06T10:30'])
  })
})

describe('misfire policy after a one-hour outage', () => {
  // An every-minute schedule planned up to 10:10; nothing planned it until 11:10:30.
  const created = new Date('2026-03-01T10:00:00Z')
  const coveredUntil = new Date('2026-03-01T10:10:00Z')
  const now = new Date('2026-03-01T11:10:30Z')
  const horizonEnd = new Date(now.getTime() + 10 * MINUTE)
  const plan = (misfirePolicy: ScheduleRecord['misfirePolicy'], overrides: Partial<Plannable> = {}) =>
    planOccurrences(schedule({ everyMs: MINUTE, createdAt: created, coveredUntil, misfirePolicy, ...overrides }), { now, horizonEnd, clusterTimeZone: 'UTC' })
  const late = (dates: Date[]) => dates.filter((d) => d.getTime() < now.getTime()).map((d) => d.toISOString().slice(11, 19))

  test('run-once (the default): one catch-up run for the 60 missed occurrences, then on schedule', () => {
    const p = plan('run-once')
    expect(late(p.occurrences)).toEqual(['11:10:00'])
    expect(p.occurrences.filter((d) => d.getTime() >= now.getTime())).toHaveLength(10)
    expect(p).toMatchObject({ caughtUp: 1, misfired: true })
    expect(p.coveredUntil.getTime()).toBe(horizonEnd.getTime())
  })

  test('skip: none of them (the latest is 30 s late, past the grace)', () => {
    const p = plan('skip')
    expect(late(p.occurrences)).toEqual([])
    expect(p.occurrences[0]!.toISOString()).toBe('2026-03-01T11:11:00.000Z')
    expect(p.misfired).toBe(true)
  })

  test(`skip still runs an occurrence at most ${MISFIRE_GRACE_MS / 1000} s late (planning latency, not a misfire)`, () => {
    const p = planOccurrences(schedule({ everyMs: MINUTE, createdAt: created, coveredUntil, misfirePolicy: 'skip' }), {
      now: new Date('2026-03-01T11:10:10Z'),
      horizonEnd,
      clusterTimeZone: 'UTC',
    })
    expect(p.occurrences[0]!.toISOString()).toBe('2026-03-01T11:10:00.000Z')
    expect(p.caughtUp).toBe(1)
  })

  test('run-all: each of the 60, oldest first', () => {
    const p = plan('run-all')
    expect(late(p.occurrences)).toHaveLength(60)
    expect(late(p.occurrences)[0]).toBe('10:11:00')
    expect(p.caughtUp).toBe(60)
  })

  test(`run-all replays at most the latest ${MAX_MISSED_RUNS} (an every-second schedule missed 3,600)`, () => {
    const p = plan('run-all', { everyMs: SECOND, coveredUntil: new Date('2026-03-01T10:10:00Z') })
    expect(p.caughtUp).toBe(MAX_MISSED_RUNS)
    expect(late(p.occurrences)[0]).toBe('11:08:50')
    expect(late(p.occurrences).at(-1)).toBe('11:10:29')
  })

  test('cron schedules too: the latest missed is found without enumerating the outage', () => {
    const p = planOccurrences(schedule({ cron: '*/5 * * * * *', createdAt: created, coveredUntil: new Date('2026-02-01T00:00:00Z'), misfirePolicy: 'run-once' }), {
      now,
      horizonEnd: new Date(now.getTime() + MINUTE),
      clusterTimeZone: 'UTC',
    })
    expect(late(p.occurrences)).toEqual(['11:10:25'])
    // Then 11:10:30 (due now) to 11:11:30, every 5 s.
    expect(p.occurrences).toHaveLength(1 + 13)
  })

  test('no outage, no misfire: a plan made ahead of time has nothing late', () => {
    const p = planOccurrences(schedule({ everyMs: MINUTE, createdAt: created, coveredUntil: new Date('2026-03-01T11:15:00Z') }), { now, horizonEnd, clusterTimeZone: 'UTC' })
    expect(p).toMatchObject({ caughtUp: 0, misfired: false })
    expect(p.occurrences[0]!.toISOString()).toBe('2026-03-01T11:16:00.000Z')
  })
})

describe('planning rounds', () => {
  test('an interval counts from start-after (else creation); occurrences are strictly after it and strictly before end-before', () => {
    const start = new Date('2026-03-01T10:00:00Z')
    const p = planOccurrences(
      schedule({ everyMs: 30 * SECOND, createdAt: new Date('2026-03-01T09:00:00Z'), startAfter: start, coveredUntil: start, endBefore: new Date('2026-03-01T10:02:00Z') }),
      { now: start, horizonEnd: new Date('2026-03-01T11:00:00Z'), clusterTimeZone: 'UTC' },
    )
    expect(p.occurrences.map((d) => d.toISOString().slice(11, 19))).toEqual(['10:00:30', '10:01:00', '10:01:30'])
    expect(p.completed).toBe(true)
  })

  test('a plan with more occurrences than fit covers up to its last one; the next continues from there', () => {
    const start = new Date('2026-03-01T10:00:00Z')
    const s = schedule({ everyMs: SECOND, createdAt: start, coveredUntil: start })
    const first = planOccurrences(s, { now: start, horizonEnd: new Date(start.getTime() + HOUR), clusterTimeZone: 'UTC', maxOccurrences: 100 })
    expect(first.occurrences).toHaveLength(100)
    expect(first.coveredUntil.toISOString()).toBe('2026-03-01T10:01:40.000Z')
    const second = planOccurrences({ ...s, coveredUntil: first.coveredUntil }, { now: start, horizonEnd: new Date(start.getTime() + HOUR), clusterTimeZone: 'UTC', maxOccurrences: 100 })
    expect(second.occurrences[0]!.toISOString()).toBe('2026-03-01T10:01:41.000Z')
  })

  test('an expression that never matches completes', () => {
    const start = new Date('2026-03-01T10:00:00Z')
    const p = planOccurrences(schedule({ cron: '0 0 30 2 *', createdAt: start, coveredUntil: start }), { now: start, horizonEnd: new Date(start.getTime() + HOUR), clusterTimeZone: 'UTC' })
    expect(p).toMatchObject({ occurrences: [], completed: true })
  })

  test('property: ticking at any cadence plans every occurrence of an interval once, in order, with no gap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }).map((s) => s * SECOND),
        fc.integer({ min: 1, max: 120 }).map((s) => s * SECOND),
        fc.integer({ min: 0, max: 59_999 }),
        (everyMs, tickMs, offsetMs) => {
          const start = new Date(Date.UTC(2026, 2, 1, 10) + offsetMs)
          const clock = new ManualClock(start)
          const until = new Date(start.getTime() + 2 * HOUR)
          const planned = simulate(schedule({ everyMs, createdAt: start, coveredUntil: start }), clock, until, { tickMs, horizonMs: 5 * MINUTE, zone: 'UTC' })
          const expected = Math.floor((planned.at(-1)!.getTime() - start.getTime()) / everyMs)
          expect(planned).toHaveLength(expected)
          planned.forEach((d, i) => expect(d.getTime()).toBe(start.getTime() + (i + 1) * everyMs))
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('recurrences', () => {
  test('property: interval between() and latestBefore() agree with counting one by one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 90_000 }), fc.integer({ min: -500_000, max: 500_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 30 }), (every, afterOffset, span, limit) => {
        const anchor = new Date('2026-01-01T00:00:00Z')
        const r = intervalRecurrence(anchor, every)
        const after = new Date(anchor.getTime() + afterOffset)
        const through = new Date(after.getTime() + span)
        const all: number[] = []
        for (let k = 1; anchor.getTime() + k * every <= through.getTime(); k++) all.push(anchor.getTime() + k * every)
        const inWindow = all.filter((t) => t > after.getTime())
        expect(r.between(after, through, limit).map((d) => d.getTime())).toEqual(inWindow.slice(0, limit))
        expect(r.latestBefore(through, after, limit).map((d) => d.getTime())).toEqual(inWindow.filter((t) => t < through.getTime()).slice(-limit))
      }),
      { numRuns: 300 },
    )
  })

  test('cron latestBefore() and between() are mirror images', () => {
    const r = cronRecurrence('*/7 * * * * *', 'Europe/Berlin')
    const after = new Date('2026-03-29T00:59:00Z')
    const before = new Date('2026-03-29T01:01:00Z')
    const forward = r.between(after, new Date(before.getTime() - 1), 1000)
    expect(r.latestBefore(before, after, 1000)).toEqual(forward)
    expect(r.latestBefore(before, after, 3)).toEqual(forward.slice(-3))
  })
})

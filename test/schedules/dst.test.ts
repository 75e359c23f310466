import { describe, expect, test } from 'vitest'
import { planOccurrences } from '../../core/schedules/plan.js'

/**
 * Daylight-saving transitions, as croner (v11) defines them, through the planner. croner tells
 * two kinds of expression apart (its `fixedTimeRule: "single-value"`, the default):
 *
 * - fixed-time expressions, whose second, minute and hour fields are single values (`30 2 * * *`):
 *   a time in the skipped hour runs at the first valid time after the gap (03:00), and a time in
 *   the repeated hour runs once (its first occurrence, still on summer time);
 * - interval expressions, with a wildcard, step, list or range in those fields (`*\/30 * * * *`):
 *   times in the skipped hour do not happen, and times in the repeated hour run twice (once on
 *   each offset), so the spacing in absolute time stays even.
 *
 * Intervals (`every`) are absolute durations and never notice a transition.
 */
/** `UTC instant, local wall time and offset`, e.g. `03-08T07:00Z 03-08 03:00 EDT`. */
function local(dates: Date[], zone: string): string[] {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: zone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' })
  return dates.map((d) => {
    const part = Object.fromEntries(format.formatToParts(d).map((p) => [p.type, p.value]))
    return `${d.toISOString().slice(5, 16)}Z ${part.month}-${part.day} ${part.hour}:${part.minute} ${part.timeZoneName}`
  })
}

function occurrences(cron: string, zone: string, from: string, to: string): Date[] {
  const start = new Date(from)
  return planOccurrences(
    { everyMs: null, cron, timeZone: zone, startAfter: null, endBefore: null, createdAt: start, coveredUntil: start, misfirePolicy: 'run-once' },
    { now: start, horizonEnd: new Date(to), clusterTimeZone: 'UTC' },
  ).occurrences
}

describe('America/New_York: clocks go forward at 02:00 on 8 March 2026 (EST → EDT) and back at 02:00 on 1 November (EDT → EST)', () => {
  const zone = 'America/New_York'

  test('fixed time in the skipped hour: 02:30 runs at 03:00 EDT that day only', () => {
    expect(local(occurrences('30 2 * * *', zone, '2026-03-06T12:00:00Z', '2026-03-10T12:00:00Z'), zone)).toEqual([
      '03-07T07:30Z 03-07 02:30 EST',
      '03-08T07:00Z 03-08 03:00 EDT',
      '03-09T06:30Z 03-09 02:30 EDT',
      '03-10T06:30Z 03-10 02:30 EDT',
    ])
  })

  test('interval expression across the skipped hour: 02:00 and 02:30 do not happen; the runs stay 30 minutes apart', () => {
    const runs = occurrences('*/30 * * * *', zone, '2026-03-08T06:00:00Z', '2026-03-08T08:00:00Z')
    expect(local(runs, zone)).toEqual(['03-08T06:30Z 03-08 01:30 EST', '03-08T07:00Z 03-08 03:00 EDT', '03-08T07:30Z 03-08 03:30 EDT', '03-08T08:00Z 03-08 04:00 EDT'])
  })

  test('fixed time in the repeated hour: 01:30 runs once, on its first (EDT) occurrence', () => {
    expect(local(occurrences('30 1 * * *', zone, '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z'), zone)).toEqual(['11-01T05:30Z 11-01 01:30 EDT', '11-02T06:30Z 11-02 01:30 EST'])
  })

  test('interval expression in the repeated hour: 01:00 and 01:30 run on both offsets, 30 minutes apart in absolute time', () => {
    const runs = occurrences('*/30 * * * *', zone, '2026-11-01T04:45:00Z', '2026-11-01T07:00:00Z')
    expect(local(runs, zone)).toEqual([
      '11-01T05:00Z 11-01 01:00 EDT',
      '11-01T05:30Z 11-01 01:30 EDT',
      '11-01T06:00Z 11-01 01:00 EST',
      '11-01T06:30Z 11-01 01:30 EST',
      '11-01T07:00Z 11-01 02:00 EST',
    ])
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.getTime() - runs[i - 1]!.getTime()).toBe(30 * 60_000)
  })
})

describe('Europe/Berlin: clocks go forward at 02:00 on 29 March 2026 (CET → CEST) and back at 03:00 on 25 October (CEST → CET)', () => {
  const zone = 'Europe/Berlin'

  test('a daily 02:15 runs at 03:00 on the day the hour is skipped, and once when 02:15 happens twice', () => {
    expect(local(occurrences('15 2 * * *', zone, '2026-03-28T00:00:00Z', '2026-03-30T12:00:00Z'), zone)).toEqual([
      '03-28T01:15Z 03-28 02:15 GMT+1',
      '03-29T01:00Z 03-29 03:00 GMT+2',
      '03-30T00:15Z 03-30 02:15 GMT+2',
    ])
    expect(local(occurrences('15 2 * * *', zone, '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), zone)).toEqual(['10-25T00:15Z 10-25 02:15 GMT+2', '10-26T01:15Z 10-26 02:15 GMT+1'])
  })

  test('an hourly job (`0 * * * *`) has 23 runs on the short day and 25 on the long one', () => {
    expect(occurrences('0 * * * *', zone, '2026-03-28T22:59:59Z', '2026-03-29T21:59:59Z')).toHaveLength(23)
    expect(occurrences('0 * * * *', zone, '2026-10-24T21:59:59Z', '2026-10-25T22:59:59Z')).toHaveLength(25)
  })
})

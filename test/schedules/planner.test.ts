import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ManualClock } from '../../core/clock.js'
import type { ClusterContext } from '../../core/cluster.js'
import { planSchedules } from '../../core/coordinator/plan-schedules.js'
import { changeClusterMode } from '../../core/operations.js'
import { HOUR, MINUTE, SECOND } from '../../core/durations.js'
import type { MisfirePolicy, ScheduleRecord } from '../../core/model.js'
import { recurrenceOf } from '../../core/schedules/recurrence.js'
import { newScheduleRecord } from '../../core/schedules/spec.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { PG_MASTER_URL } from '../support/env.js'
import { MYSQL_MASTER_URL, mysqlQuery, startMySqlCluster } from '../support/mysql.js'
import { rawQuery } from '../support/pg.js'

/**
 * The planner on real masters (PostgreSQL and MariaDB), on a manual clock: concurrent
 * coordinators never create an occurrence twice, and a one-hour outage follows the misfire policy.
 */
const providers = {
  postgres: {
    start: (clock: ManualClock) => startTestCluster({ clock, config: { transientThreshold: '10m' } }),
    query: (text: string) => rawQuery<Record<string, unknown>>(PG_MASTER_URL, text),
    dropOccurrenceIndex: (prefix: string) => `DROP INDEX ${prefix}jobs_occurrence`,
  },
  mysql: {
    start: (clock: ManualClock) => startMySqlCluster({ clock, config: { transientThreshold: '10m' } }),
    query: (text: string) => mysqlQuery(MYSQL_MASTER_URL, text) as Promise<Array<Record<string, unknown>>>,
    dropOccurrenceIndex: (prefix: string) => `ALTER TABLE ${prefix}jobs DROP INDEX jobs_occurrence`,
  },
}

function dynamic(clusterId: string, at: Date, recurrence: { everyMs: number } | { cron: string }, misfirePolicy: MisfirePolicy = 'run-once'): ScheduleRecord {
  return newScheduleRecord(
    {
      name: null,
      definition: 'noop',
      everyMs: 'everyMs' in recurrence ? recurrence.everyMs : null,
      cron: 'cron' in recurrence ? recurrence.cron : null,
      timeZone: null,
      payload: null,
      metadata: {},
      priority: 'medium',
      lane: null,
      timeoutMs: null,
      maxRetries: null,
      startAfter: null,
      endBefore: null,
      misfirePolicy,
      overlapPolicy: 'allow',
    },
    { id: randomUUID(), clusterId, kind: 'dynamic', createdAt: at, now: at },
  )
}

describe.each(Object.keys(providers) as Array<keyof typeof providers>)('planner on %s', (provider) => {
  const p = providers[provider]
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 9, 0, 0))
  let cluster: TestCluster
  let coordinators: ClusterContext[]
  beforeAll(async () => {
    cluster = await p.start(clock)
    coordinators = [cluster.ctx, await cluster.openPeer(), await cluster.openPeer(), await cluster.openPeer()]
  })
  afterAll(() => cluster?.close())

  test('four coordinators planning at once never create an occurrence twice, and leave no gap', async () => {
    // Without the unique index the claims and the compare-and-set alone must keep occurrences
    // single (the conformance suite shows the index refusing a duplicate on its own).
    await p.query(p.dropOccurrenceIndex(cluster.prefix))
    const schedules = [
      ...Array.from({ length: 4 }, () => dynamic('test', clock.now(), { everyMs: SECOND })),
      ...Array.from({ length: 4 }, () => dynamic('test', clock.now(), { everyMs: 7 * SECOND })),
      ...Array.from({ length: 4 }, () => dynamic('test', clock.now(), { cron: '*/2 * * * * *' })),
    ]
    await cluster.ctx.master.insertSchedules(schedules)
    let planned = 0
    for (let round = 0; round < 25; round++) {
      // Small batches, so the coordinators' claims interleave within one round.
      const summaries = await Promise.all(coordinators.map((ctx) => planSchedules(ctx, { batch: 2 })))
      planned += summaries.reduce((sum, s) => sum + s.occurrences, 0)
      // Less than half the horizon between rounds: coverage stays ahead, so nothing is ever missed.
      clock.advance(Math.floor(Math.random() * 90 * SECOND))
    }
    const duplicates = await p.query(
      `SELECT schedule_id, occurrence_at, COUNT(*) AS n FROM ${cluster.prefix}jobs WHERE schedule_id IS NOT NULL GROUP BY schedule_id, occurrence_at HAVING COUNT(*) > 1`,
    )
    expect(duplicates).toEqual([])
    let expected = 0
    for (const s of schedules) {
      const stored = (await cluster.ctx.master.getSchedule('test', s.id))!
      const want = recurrenceOf(s, 'UTC').between(s.createdAt, stored.coveredUntil, 1_000_000).map((d) => d.getTime())
      const have = (await p.query(`SELECT occurrence_at FROM ${cluster.prefix}jobs WHERE schedule_id = '${s.id}' ORDER BY occurrence_at`)).map((r) => new Date(r.occurrence_at as string | Date).getTime())
      expect(have).toEqual(want)
      expected += want.length
    }
    expect(planned).toBe(expected)
    for (const s of schedules) {
      const current = (await cluster.ctx.master.getSchedule('test', s.id))!
      await cluster.ctx.master.updateSchedule({ ...current, status: 'Cancelled' }, current.version, { withdrawOccurrences: true }, clock.now())
    }
    console.log(`${provider}: 4 coordinators × 25 rounds planned ${planned} occurrences of 12 schedules, 0 duplicates, 0 gaps`)
  })

  test('after a one-hour outage the misfire policy holds: one catch-up, none, or each missed one', async () => {
    clock.set(Date.UTC(2026, 2, 3, 9, 0, 0))
    const start = clock.now()
    const [once, skip, all, allEverySecond] = [
      dynamic('test', start, { everyMs: MINUTE }, 'run-once'),
      dynamic('test', start, { everyMs: MINUTE }, 'skip'),
      dynamic('test', start, { cron: '* * * * *' }, 'run-all'),
      dynamic('test', start, { everyMs: SECOND }, 'run-all'),
    ]
    await cluster.ctx.master.insertSchedules([once!, skip!, all!, allEverySecond!])
    await planSchedules(cluster.ctx)
    // Planned ahead to start + 10 min. The coordinators are down for an hour: nothing plans.
    clock.advance(HOUR + 10 * MINUTE + 30 * SECOND)
    const now = clock.now()
    await planSchedules(cluster.ctx)
    const occurrences = async (s: ScheduleRecord) =>
      (await p.query(`SELECT occurrence_at FROM ${cluster.prefix}jobs WHERE schedule_id = '${s.id}'`)).map((r) => new Date(r.occurrence_at as string | Date).getTime()).sort((a, b) => a - b)
    const late = async (s: ScheduleRecord) => (await occurrences(s)).filter((t) => t > start.getTime() + 10 * MINUTE && t < now.getTime())
    const missedOnce = await late(once!)
    expect(missedOnce).toEqual([now.getTime() - 30 * SECOND])
    expect(await late(skip!)).toEqual([])
    expect(await late(all!)).toHaveLength(60)
    expect(await late(allEverySecond!)).toHaveLength(100)
    // And each then continues on schedule.
    for (const s of [once!, skip!, all!]) expect((await occurrences(s)).filter((t) => t >= now.getTime())).toHaveLength(10)
    // A Passive cluster plans nothing (on return to Active, the misfire policy decides).
    await changeClusterMode(cluster.ctx, 'Passive')
    clock.advance(HOUR)
    expect(await planSchedules(cluster.ctx)).toEqual({ schedules: 0, occurrences: 0, caughtUp: 0, completed: 0 })
    await changeClusterMode(cluster.ctx, 'Active')
    // Planned up to 10 min past the last plan, so 50 every-minute occurrences were missed this time.
    expect((await planSchedules(cluster.ctx)).caughtUp).toBe(1 + 0 + 50 + 100)
    console.log(`${provider}: 1 h outage, every-minute schedules: run-once caught up ${missedOnce.length}, skip 0, run-all 60; every-second run-all capped at 100`)
  })
})

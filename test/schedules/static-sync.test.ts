import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ManualClock } from '../../core/clock.js'
import { planSchedules } from '../../core/coordinator/plan-schedules.js'
import { MINUTE, SECOND } from '../../core/durations.js'
import { ConfigError } from '../../core/errors.js'
import { cancelSchedule, pauseSchedule } from '../../core/operations.js'
import { defineSchedule, staticScheduleId } from '../../core/schedules/spec.js'
import { syncStaticSchedules } from '../../core/schedules/static-sync.js'
import { echo, sleep } from '../../jobs/definitions.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'

/**
 * Static schedules across deploys: synced at start-up, removed ones retired, operators' pauses
 * and cancellations kept, and an older process (started before the newest sync) ignored.
 */
const clock = new ManualClock(Date.UTC(2026, 2, 2, 9, 0, 0))
let cluster: TestCluster
beforeAll(async () => {
  cluster = await startTestCluster({ clock })
})
afterAll(() => cluster?.close())

const id = (name: string) => staticScheduleId('test', name)
const stored = async (name: string) => (await cluster.ctx.master.getSchedule('test', id(name)))!
const held = async (name: string) => cluster.ctx.master.countJobs('test', { scheduleId: id(name), status: 'HeldOnMaster' })

const v1 = [
  defineSchedule({ name: 'reports.hourly', job: echo, every: '1h', payload: { v: 1 } }),
  defineSchedule({ name: 'cleanup.nightly', job: sleep, cron: '0 3 * * *', timeZone: 'Europe/Berlin', payload: { ms: 1 } }),
  defineSchedule({ name: 'pings', job: echo, every: '1m', payload: 'ping' }),
]

describe('static schedules across deploys', () => {
  test('a first start creates them', async () => {
    const result = await syncStaticSchedules(cluster.ctx, v1, clock.now())
    expect(result.created.sort()).toEqual(['cleanup.nightly', 'pings', 'reports.hourly'])
    expect(await stored('pings')).toMatchObject({ kind: 'static', name: 'pings', status: 'Active', everyMs: MINUTE, payload: 'ping' })
    expect(await stored('cleanup.nightly')).toMatchObject({ cron: '0 3 * * *', timeZone: 'Europe/Berlin', definition: 'sleep' })
    await planSchedules(cluster.ctx)
    expect(await held('pings')).toBe(10)
  })

  test('a paused or cancelled schedule is not resurrected by the next boot', async () => {
    clock.advance(SECOND)
    await pauseSchedule(cluster.ctx, id('reports.hourly'))
    await cancelSchedule(cluster.ctx, id('cleanup.nightly'))
    clock.advance(MINUTE)
    const result = await syncStaticSchedules(cluster.ctx, v1, clock.now())
    expect(result).toMatchObject({ created: [], changed: [], reactivated: [], inactivated: [] })
    expect((await stored('reports.hourly')).status).toBe('Paused')
    expect((await stored('cleanup.nightly')).status).toBe('Cancelled')
    expect((await stored('pings')).status).toBe('Active')
  })

  const v2 = [defineSchedule({ name: 'reports.hourly', job: echo, every: '2h', payload: { v: 2 } }), v1[1]!]
  let v2StartedAt: Date

  test('a deploy that removes one retires it and withdraws its planned occurrences; a changed one keeps its status', async () => {
    clock.advance(MINUTE)
    v2StartedAt = clock.now()
    const result = await syncStaticSchedules(cluster.ctx, v2, v2StartedAt)
    expect(result).toMatchObject({ created: [], changed: ['reports.hourly'], inactivated: ['pings'] })
    expect(await stored('pings')).toMatchObject({ status: 'Inactive' })
    expect(await held('pings')).toBe(0)
    expect(await stored('reports.hourly')).toMatchObject({ status: 'Paused', everyMs: 2 * 60 * MINUTE, payload: { v: 2 } })
  })

  test('an old process starting after the new one synced is ignored: no revert, no revival', async () => {
    clock.advance(MINUTE)
    // Its start-up time predates the new code's sync (it was started before the deploy).
    const oldStart = new Date(v2StartedAt.getTime() - 30 * SECOND)
    const result = await syncStaticSchedules(cluster.ctx, v1, oldStart)
    expect(result.ignored.sort()).toEqual(['cleanup.nightly', 'pings', 'reports.hourly'])
    expect((await stored('pings')).status).toBe('Inactive')
    expect((await stored('reports.hourly')).payload).toEqual({ v: 2 })
  })

  test('a later deploy that brings it back reactivates it from now, without replaying the retired stretch', async () => {
    clock.advance(10 * MINUTE)
    const result = await syncStaticSchedules(cluster.ctx, [...v2, v1[2]!], clock.now())
    expect(result.reactivated).toEqual(['pings'])
    const pings = await stored('pings')
    expect(pings.status).toBe('Active')
    expect(pings.coveredUntil.getTime()).toBe(clock.now().getTime())
    await planSchedules(cluster.ctx)
    const jobs = await cluster.ctx.master.listJobs('test', { scheduleId: id('pings'), status: 'HeldOnMaster' }, 100)
    expect(jobs.every((j) => j.scheduledAt.getTime() > clock.now().getTime())).toBe(true)
  })

  test('a changed declaration withdraws what the old one planned and plans afresh', async () => {
    clock.advance(MINUTE)
    await planSchedules(cluster.ctx)
    const before = await held('pings')
    expect(before).toBeGreaterThan(0)
    const faster = defineSchedule({ name: 'pings', job: echo, every: '30s', payload: 'ping' })
    expect((await syncStaticSchedules(cluster.ctx, [...v2, faster], clock.now())).changed).toEqual(['pings'])
    expect(await held('pings')).toBe(0)
    await planSchedules(cluster.ctx)
    expect(await held('pings')).toBe(20)
  })

  test('declarations that cannot be synced are refused whole, naming the schedule', async () => {
    const twice = [v1[0]!, v1[0]!]
    await expect(syncStaticSchedules(cluster.ctx, twice, clock.now())).rejects.toThrow(ConfigError)
    const huge = defineSchedule({ name: 'huge', job: echo, every: '1h', payload: 'x'.repeat(200_000) })
    await expect(syncStaticSchedules(cluster.ctx, [huge], clock.now())).rejects.toThrow(/schedule "huge".payload: serialized schedule is \d+ bytes, over the cluster's maxMessageBytes/)
    expect(await cluster.ctx.master.getSchedule('test', id('huge'))).toBeNull()
  })
})

describe('workers sync at start-up', () => {
  test('a Full worker syncs the schedules its process declares; an Execution worker does not', async () => {
    const own = await startTestCluster({ staticSchedules: [defineSchedule({ name: 'from-worker', job: echo, every: '1h' })] })
    try {
      await own.startWorker({ name: 'exec', mode: 'Execution' })
      expect(await own.ctx.master.listSchedules('test', {}, 10)).toEqual([])
      await own.startWorker({ name: 'full' })
      expect((await own.ctx.master.listSchedules('test', {}, 10)).map((s) => [s.name, s.status])).toEqual([['from-worker', 'Active']])
    } finally {
      await own.close()
    }
  })
})

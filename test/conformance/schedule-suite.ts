import { randomUUID } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { WITHDRAWN_OCCURRENCE_ERROR, type MasterStore } from '../../core/stores/master.js'
import { at, occurrenceJob, scheduleRecord } from './fixtures.js'

/**
 * The schedule part of the master store contract (run by describeMasterConformance for every
 * provider): records, claims, guarded writes, occurrences that exist once, withdrawal, and the
 * overlap slot.
 */
export function describeScheduleConformance(stores: () => { store: MasterStore; peer: MasterStore }): void {
  describe('recurring schedules', () => {
    const cluster = () => `sch-${randomUUID().slice(0, 8)}`

    test('insertSchedules round-trips every field, and an existing id inserts nothing', async () => {
      const { store: m, peer } = stores()
      const c = cluster()
      const full = scheduleRecord({
        clusterId: c,
        kind: 'static',
        name: 'reports.daily',
        definition: 'email.send',
        everyMs: null,
        cron: '0 30 8 * * 1-5',
        timeZone: 'America/Sao_Paulo',
        payload: { to: ['a@b.c'], deep: { x: null, y: 'é' } },
        metadata: { tenant: 'acme', team: 'ops' },
        priority: 'critical',
        lane: 'Reports',
        timeoutMs: 7 * 86_400_000,
        maxRetries: 25,
        startAfter: at(1001),
        endBefore: at(86_400_000),
        misfirePolicy: 'run-all',
        overlapPolicy: 'skip',
        coveredUntil: at(1001),
        createdAt: at(-5),
        updatedAt: at(-4),
        statusChangedAt: at(-3),
        specHash: 'a'.repeat(64),
        syncedAt: at(-2),
      })
      const plain = scheduleRecord({ clusterId: c, payload: null, metadata: {} })
      expect(await m.insertSchedules([full])).toEqual([full.id])
      expect(await peer.insertSchedules([full, plain])).toEqual([plain.id])
      expect(await m.getSchedule(c, full.id)).toEqual(full)
      expect(await m.getSchedule(c, plain.id)).toEqual(plain)
      expect(await m.getSchedule('other-cluster', full.id)).toBeNull()
      expect(await m.getSchedule(c, randomUUID())).toBeNull()
    })

    test('listSchedules filters by status and kind, named ones first by name', async () => {
      const { store: m } = stores()
      const c = cluster()
      const b = scheduleRecord({ clusterId: c, kind: 'static', name: 'b' })
      const a = scheduleRecord({ clusterId: c, kind: 'static', name: 'a', status: 'Paused' })
      const unnamed = scheduleRecord({ clusterId: c })
      await m.insertSchedules([b, unnamed, a])
      expect((await m.listSchedules(c, {}, 10)).map((s) => s.id)).toEqual([a.id, b.id, unnamed.id])
      expect((await m.listSchedules(c, { status: 'Active' }, 10)).map((s) => s.id)).toEqual([b.id, unnamed.id])
      expect((await m.listSchedules(c, { kind: 'static', status: 'Paused' }, 10)).map((s) => s.id)).toEqual([a.id])
      expect(await m.listSchedules(c, {}, 2)).toHaveLength(2)
    })

    test('updateSchedule is compare-and-set on the version, raises it, and writes every field', async () => {
      const { store: m, peer } = stores()
      const s = scheduleRecord({ clusterId: cluster() })
      await m.insertSchedules([s])
      const next = { ...s, status: 'Paused' as const, cron: '*/5 * * * *', everyMs: null, timeZone: 'Europe/Berlin', payload: { v: 2 }, lane: 'L', startAfter: at(5000), coveredUntil: at(9000), syncedAt: at(7) }
      const [first, second] = await Promise.all([m.updateSchedule(next, 1, { withdrawOccurrences: false }, at()), peer.updateSchedule(next, 1, { withdrawOccurrences: false }, at())])
      expect([first.applied, second.applied].filter(Boolean)).toHaveLength(1)
      const stored = (await m.getSchedule(s.clusterId, s.id))!
      expect(stored).toMatchObject({ status: 'Paused', cron: '*/5 * * * *', everyMs: null, timeZone: 'Europe/Berlin', payload: { v: 2 }, lane: 'L', version: 2 })
      expect(stored.coveredUntil.getTime()).toBe(at(9000).getTime())
      expect(stored.createdAt.getTime()).toBe(s.createdAt.getTime())
      expect((await m.updateSchedule({ ...next, status: 'Active' }, 1, { withdrawOccurrences: false }, at())).applied).toBe(false)
      expect((await m.updateSchedule({ ...next, status: 'Active' }, 2, { withdrawOccurrences: false }, at())).applied).toBe(true)
    })

    test('claimDueSchedules gives concurrent planners disjoint sets, least covered first, and hides claims until their lease ends', async () => {
      const { store: m, peer } = stores()
      const c = cluster()
      const due = Array.from({ length: 30 }, (_, i) => scheduleRecord({ clusterId: c, coveredUntil: at(-60_000 + i * 1000) }))
      const ahead = scheduleRecord({ clusterId: c, coveredUntil: at(3_600_000) })
      const paused = scheduleRecord({ clusterId: c, coveredUntil: at(-120_000), status: 'Paused' })
      await m.insertSchedules([...due, ahead, paused])
      const now = at()
      const [x, y] = await Promise.all([m.claimDueSchedules(c, at(60_000), 20, 5000, now), peer.claimDueSchedules(c, at(60_000), 20, 5000, now)])
      const ids = [...x, ...y].map((s) => s.id)
      expect(new Set(ids).size).toBe(30)
      expect(ids).not.toContain(ahead.id)
      expect(ids).not.toContain(paused.id)
      for (const claim of [x, y]) expect(claim.map((s) => s.coveredUntil.getTime())).toEqual([...claim].map((s) => s.coveredUntil.getTime()).sort((p, q) => p - q))
      expect(await m.claimDueSchedules(c, at(60_000), 100, 5000, now)).toEqual([])
      // The least covered come first when there is not room for all.
      const again = await m.claimDueSchedules(c, at(60_000), 5, 5000, at(6000))
      expect(again.map((s) => s.id)).toEqual(due.slice(0, 5).map((s) => s.id))
    })

    test('commitSchedulePlan writes coverage and occurrences together; a stale version writes nothing; an occurrence exists once', async () => {
      const { store: m, peer } = stores()
      const c = cluster()
      const s = scheduleRecord({ clusterId: c, overlapPolicy: 'skip' })
      await m.insertSchedules([s])
      await m.claimDueSchedules(c, at(60_000), 10, 60_000, at())
      const t1 = at(60_000)
      const t2 = at(120_000)
      const first = [occurrenceJob(s, t1), occurrenceJob(s, t2)]
      const inserted = await m.commitSchedulePlan({ ...s, coveredUntil: t2 }, 1, first, at())
      expect(inserted?.sort()).toEqual(first.map((j) => j.envelope.id).sort())
      const stored = (await m.getSchedule(c, s.id))!
      expect(stored.version).toBe(2)
      expect(stored.coveredUntil.getTime()).toBe(t2.getTime())
      // The commit ended the claim: the schedule can be claimed again at once.
      expect(await m.claimDueSchedules(c, at(600_000), 10, 60_000, at())).toHaveLength(1)
      const job = (await m.getJob(c, first[0]!.envelope.id))!
      expect(job).toMatchObject({ status: 'HeldOnMaster', scheduleId: s.id, skipIfOverlapping: true, definition: 'echo', payload: s.payload })
      expect(job.occurrenceAt!.getTime()).toBe(t1.getTime())
      expect(job.scheduledAt.getTime()).toBe(t1.getTime())
      // A plan made from the old version applies nothing, not even its new occurrences.
      expect(await peer.commitSchedulePlan({ ...s, coveredUntil: at(180_000) }, 1, [occurrenceJob(s, at(180_000))], at())).toBeNull()
      expect(await m.countJobs(c, { scheduleId: s.id })).toBe(2)
      // The same occurrence planned again (another job id) is not inserted, and is no error; a new one is.
      const again = [occurrenceJob(s, t2), occurrenceJob(s, at(180_000))]
      expect(await peer.commitSchedulePlan({ ...s, coveredUntil: at(180_000) }, 2, again, at())).toEqual([again[1]!.envelope.id])
      // Runs without an occurrence ("run now") never collide.
      const runs = [occurrenceJob(s, null), occurrenceJob(s, null)]
      expect((await m.commitSchedulePlan(s, 3, runs, at()))?.sort()).toEqual(runs.map((j) => j.envelope.id).sort())
      expect(await m.countJobs(c, { scheduleId: s.id })).toBe(5)
      expect((await m.getJob(c, runs[0]!.envelope.id))!).toMatchObject({ occurrenceAt: null, skipIfOverlapping: false, scheduleId: s.id })
    })

    test('concurrent commits of the same occurrence: exactly one job', async () => {
      const { store: m, peer } = stores()
      const c = cluster()
      const s = scheduleRecord({ clusterId: c })
      await m.insertSchedules([s])
      const t = at(60_000)
      const results = await Promise.all([m.commitSchedulePlan({ ...s, coveredUntil: t }, 1, [occurrenceJob(s, t)], at()), peer.commitSchedulePlan({ ...s, coveredUntil: t }, 1, [occurrenceJob(s, t)], at())])
      expect(results.filter((r) => r !== null)).toHaveLength(1)
      expect(await m.countJobs(c, { scheduleId: s.id })).toBe(1)
    })

    test('updateSchedule with withdrawal: held occurrences deleted, unstarted ones in buckets cancelled, running ones and runs-now kept', async () => {
      const { store: m } = stores()
      const c = cluster()
      const s = scheduleRecord({ clusterId: c })
      await m.insertSchedules([s])
      const [held, assigned, queued, running] = [1, 2, 3, 4].map((i) => occurrenceJob(s, at(i * 60_000)))
      const runNow = occurrenceJob(s, null)
      await m.commitSchedulePlan(s, 1, [held!, assigned!, queued!, running!, runNow], at())
      const toBucket = (id: string) => ({ id, fromBucketId: null, fromStatuses: ['HeldOnMaster' as const], status: 'AssignedToBucket' as const, bucketId: 'b-w', agentConnection: 'a1', scheduledAt: at(), attempts: 0, finishedAt: null, lastError: null })
      await m.transitionJobs([toBucket(assigned!.envelope.id), toBucket(queued!.envelope.id), toBucket(running!.envelope.id)], [], at())
      await m.markJobs(
        [
          { id: queued!.envelope.id, bucketId: 'b-w', status: 'Queued', attempt: 0, workerId: 'w', at: at() },
          { id: running!.envelope.id, bucketId: 'b-w', status: 'Processing', attempt: 1, workerId: 'w', at: at() },
        ],
        at(),
      )
      const update = await m.updateSchedule({ ...s, status: 'Paused' }, 2, { withdrawOccurrences: true }, at())
      expect(update.applied).toBe(true)
      expect(update.cancelled.map((j) => [j.id, j.status, j.bucketId]).sort()).toEqual(
        [
          [assigned!.envelope.id, 'AssignedToBucket', 'b-w'],
          [queued!.envelope.id, 'Queued', 'b-w'],
        ].sort(),
      )
      expect(await m.getJob(c, held!.envelope.id)).toBeNull()
      for (const id of [assigned!.envelope.id, queued!.envelope.id]) {
        expect(await m.getJob(c, id)).toMatchObject({ status: 'Cancelled', bucketId: null, occurrenceAt: null, lastError: WITHDRAWN_OCCURRENCE_ERROR })
      }
      expect((await m.getJob(c, running!.envelope.id))!.status).toBe('Processing')
      expect((await m.getJob(c, runNow.envelope.id))!.status).toBe('HeldOnMaster')
      // The withdrawn occurrences are free to be planned again; the running one's is not.
      const replanned = [held!, assigned!, queued!, running!].map((j) => occurrenceJob(s, j.occurrenceAt))
      const inserted = await m.commitSchedulePlan({ ...s, status: 'Active' }, 3, replanned, at())
      expect(inserted?.sort()).toEqual(replanned.slice(0, 3).map((j) => j.envelope.id).sort())
      // A stale version withdraws nothing.
      expect(await m.updateSchedule({ ...s, status: 'Paused' }, 2, { withdrawOccurrences: true }, at())).toEqual({ applied: false, cancelled: [] })
      expect(await m.countJobs(c, { scheduleId: s.id, status: 'HeldOnMaster' })).toBe(4)
    })

    test('claimOverlapSlots: one live run per schedule, free again once it finished; concurrent claims: one wins', async () => {
      const { store: m, peer } = stores()
      const c = cluster()
      const s = scheduleRecord({ clusterId: c, overlapPolicy: 'skip' })
      const other = scheduleRecord({ clusterId: c, overlapPolicy: 'skip' })
      await m.insertSchedules([s, other])
      const [j1, j2, j3, j4] = [1, 2, 3, 4].map((i) => occurrenceJob(s, at(i * 1000)))
      const [k1, k2] = [1, 2].map((i) => occurrenceJob(other, at(i * 1000)))
      await m.commitSchedulePlan(s, 1, [j1!, j2!, j3!, j4!], at())
      await m.commitSchedulePlan(other, 1, [k1!, k2!], at())
      const slot = (job: { envelope: { id: string }; scheduleId: string }) => ({ scheduleId: job.scheduleId, jobId: job.envelope.id })
      expect((await m.claimOverlapSlots(c, [slot(j1!), slot(k1!)])).sort()).toEqual([j1!.envelope.id, k1!.envelope.id].sort())
      expect(await m.claimOverlapSlots(c, [slot(j2!)])).toEqual([])
      expect(await m.claimOverlapSlots(c, [slot(j1!)])).toEqual([j1!.envelope.id])
      await m.transitionJobs([{ id: j1!.envelope.id, fromBucketId: null, fromStatuses: ['HeldOnMaster'], status: 'Cancelled', bucketId: null, agentConnection: null, scheduledAt: at(), attempts: 0, finishedAt: at(), lastError: null }], [], at())
      const [x, y] = await Promise.all([m.claimOverlapSlots(c, [slot(j3!)]), peer.claimOverlapSlots(c, [slot(j4!)])])
      expect([...x, ...y]).toHaveLength(1)
      expect(await m.claimOverlapSlots('other-cluster', [slot(k2!)])).toEqual([])
      expect(await m.claimOverlapSlots(c, [])).toEqual([])
    })

    test('claimDueHeldJobs holds occurrences that skip overlapping runs until they are due', async () => {
      const { store: m } = stores()
      const c = cluster()
      const s = scheduleRecord({ clusterId: c, overlapPolicy: 'skip' })
      await m.insertSchedules([s])
      const soon = occurrenceJob(s, at(30_000))
      const due = occurrenceJob(s, at(-1000))
      const ordinary = occurrenceJob(s, at(40_000), { skipIfOverlapping: false })
      await m.commitSchedulePlan(s, 1, [soon, due, ordinary], at())
      const claimed = await m.claimDueHeldJobs(c, at(60_000), 10, 60_000, at())
      expect(claimed.map((j) => j.id).sort()).toEqual([due.envelope.id, ordinary.envelope.id].sort())
      expect(await m.claimDueHeldJobs(c, at(60_000), 10, 5000, at(31_000))).toMatchObject([{ id: soon.envelope.id, skipIfOverlapping: true }])
    })

    test('listJobs and countJobs filter by schedule', async () => {
      const { store: m } = stores()
      const c = cluster()
      const s = scheduleRecord({ clusterId: c })
      await m.insertSchedules([s])
      const jobs = [occurrenceJob(s, at(1000)), occurrenceJob(s, null)]
      await m.commitSchedulePlan(s, 1, jobs, at())
      expect((await m.listJobs(c, { scheduleId: s.id }, 10)).map((j) => j.id).sort()).toEqual(jobs.map((j) => j.envelope.id).sort())
      expect(await m.countJobs(c, { scheduleId: randomUUID() })).toBe(0)
    })
  })
}

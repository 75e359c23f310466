import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { IN_BUCKET_STATUSES } from '../../core/model.js'
import type { JobTransition, MasterStore } from '../../core/stores/master.js'
import { at, bucket, CLUSTER, masterJob, settings, worker } from './fixtures.js'
import { describeScheduleConformance } from './schedule-suite.js'

export interface MasterHarness {
  store: MasterStore
  /** A second, independent store on the same database (another process). */
  peer: MasterStore
  cleanup(): Promise<void>
}

function held(id: string, transition: Partial<JobTransition> = {}): JobTransition {
  return {
    id,
    fromBucketId: null,
    fromStatuses: ['HeldOnMaster'],
    status: 'AssignedToBucket',
    bucketId: 'b1',
    agentConnection: 'a1',
    scheduledAt: at(),
    attempts: 0,
    finishedAt: null,
    lastError: null,
    ...transition,
  }
}

/**
 * The master store contract, specified once. Every provider runs it unchanged:
 * `describeMasterConformance('postgres', () => …)`.
 */
export function describeMasterConformance(provider: string, open: () => Promise<MasterHarness>): void {
  describe(`master conformance: ${provider}`, () => {
    let h: MasterHarness
    let m: MasterStore
    beforeAll(async () => {
      h = await open()
      m = h.store
      await Promise.all([m.provision(), h.peer.provision()])
      await m.provision()
    })
    afterAll(() => h?.cleanup())

    test('provisioning is idempotent and the DDL is printable', async () => {
      await Promise.all([m.provision(), h.peer.provision()])
      expect(m.schemaSql()).toMatch(/jobs/)
    })

    test('cluster settings: first writer wins unless told to overwrite', async () => {
      const id = `c-${randomUUID().slice(0, 8)}`
      const first = await m.initCluster(settings({ clusterId: id, transientThresholdMs: 60_000, dataRetentionMs: null }), false, at())
      expect(first.transientThresholdMs).toBe(60_000)
      expect(first.dataRetentionMs).toBeNull()
      const second = await h.peer.initCluster(settings({ clusterId: id, transientThresholdMs: 120_000 }), false, at())
      expect(second.transientThresholdMs).toBe(60_000)
      const forced = await h.peer.initCluster(settings({ clusterId: id, transientThresholdMs: 120_000, mode: 'Passive' }), true, at())
      expect(forced).toMatchObject({ transientThresholdMs: 120_000, mode: 'Passive' })
      await m.updateCluster({ ...forced, mode: 'Archive', dataRetentionMs: 5 * 86_400_000 * 365 }, at())
      expect(await m.getCluster(id)).toMatchObject({ mode: 'Archive', dataRetentionMs: 5 * 86_400_000 * 365 })
      expect(await m.getCluster('nope')).toBeNull()
    })

    test('insertJobs round-trips every field and ignores a re-delivered job', async () => {
      const job = masterJob({ lane: 'Payroll', priority: 'critical', idempotencyKey: 'k-1', metadata: { a: 'b', c: 'd' } }, { status: 'AssignedToBucket', bucketId: 'b-x', agentConnection: 'a1' })
      expect(await m.insertJobs(CLUSTER, [job], at())).toEqual([job.envelope.id])
      expect(await h.peer.insertJobs(CLUSTER, [job], at())).toEqual([])
      const r = (await m.getJob(CLUSTER, job.envelope.id))!
      expect(r).toMatchObject({
        id: job.envelope.id,
        clusterId: CLUSTER,
        definition: 'echo',
        status: 'AssignedToBucket',
        priority: 'critical',
        lane: 'Payroll',
        payload: job.envelope.payload,
        metadata: { a: 'b', c: 'd' },
        attempts: 0,
        maxRetries: 2,
        timeoutMs: 1000,
        agentConnection: 'a1',
        bucketId: 'b-x',
        idempotencyKey: 'k-1',
        lastError: null,
        finishedAt: null,
      })
      expect(r.scheduledAt.getTime()).toBe(job.envelope.scheduledAt.getTime())
      expect(r.originalScheduledAt.getTime()).toBe(job.envelope.scheduledAt.getTime())
      expect(r.createdAt.getTime()).toBe(job.envelope.createdAt.getTime())
      expect(await m.getJob(CLUSTER, randomUUID())).toBeNull()
      expect(await m.getJob('other-cluster', job.envelope.id)).toBeNull()
    })

    test('a batch insert is one statement', async () => {
      const before = m.statementCount
      const jobs = Array.from({ length: 300 }, () => masterJob())
      expect(await m.insertJobs(CLUSTER, jobs, at())).toHaveLength(300)
      expect(m.statementCount - before).toBe(1)
    })

    test('markJobs applies only to the bucket that holds the job', async () => {
      const job = masterJob({}, { status: 'AssignedToBucket', bucketId: 'b-mark', agentConnection: 'a1' })
      await m.insertJobs(CLUSTER, [job], at())
      await m.markJobs([{ id: job.envelope.id, bucketId: 'b-other', status: 'Processing', attempt: 1, workerId: 'w', at: at() }], at())
      expect((await m.getJob(CLUSTER, job.envelope.id))!.status).toBe('AssignedToBucket')
      await m.markJobs([{ id: job.envelope.id, bucketId: 'b-mark', status: 'Queued', attempt: 0, workerId: 'w1', at: at() }], at())
      expect(await m.getJob(CLUSTER, job.envelope.id)).toMatchObject({ status: 'Queued', workerId: 'w1', attempts: 0 })
      const started = at(5)
      await m.markJobs([{ id: job.envelope.id, bucketId: 'b-mark', status: 'Processing', attempt: 1, workerId: 'w1', at: started }], at())
      const r = (await m.getJob(CLUSTER, job.envelope.id))!
      expect(r).toMatchObject({ status: 'Processing', attempts: 1 })
      expect(r.startedAt!.getTime()).toBe(started.getTime())
    })

    test('transitionJobs is compare-and-set on bucket and status, and records attempts', async () => {
      const a = masterJob({}, { status: 'AssignedToBucket', bucketId: 'b-t', agentConnection: 'a1' })
      const b = masterJob()
      await m.insertJobs(CLUSTER, [a, b], at())
      const finished = at(10)
      const applied = await m.transitionJobs(
        [
          { ...held(a.envelope.id), fromBucketId: 'b-t', fromStatuses: IN_BUCKET_STATUSES, status: 'Succeeded', bucketId: null, agentConnection: null, attempts: 1, finishedAt: finished },
          { ...held(b.envelope.id), fromBucketId: 'b-wrong', fromStatuses: IN_BUCKET_STATUSES },
        ],
        [{ jobId: a.envelope.id, attempt: 1, workerId: 'w', bucketId: 'b-t', startedAt: at(1), endedAt: finished, outcome: 'Succeeded', error: null, result: { ok: [1, 'x'] } }],
        at(),
      )
      expect(applied).toEqual([a.envelope.id])
      const ra = (await m.getJob(CLUSTER, a.envelope.id))!
      expect(ra).toMatchObject({ status: 'Succeeded', bucketId: null, attempts: 1 })
      expect(ra.finishedAt!.getTime()).toBe(finished.getTime())
      expect((await m.getJob(CLUSTER, b.envelope.id))!.status).toBe('HeldOnMaster')
      const history = await m.listAttempts(CLUSTER, a.envelope.id)
      expect(history).toHaveLength(1)
      expect(history[0]).toMatchObject({ attempt: 1, outcome: 'Succeeded', result: { ok: [1, 'x'] }, workerId: 'w', bucketId: 'b-t' })
      // A second transition from the old state no longer applies; a stale report cannot resurrect it.
      expect(await h.peer.transitionJobs([{ ...held(a.envelope.id), fromBucketId: 'b-t', fromStatuses: IN_BUCKET_STATUSES, status: 'HeldOnMaster', bucketId: null }], [], at())).toEqual([])
    })

    test('transitionJobs keeps lastError when given null and never lowers the attempt count', async () => {
      const j = masterJob({}, { status: 'AssignedToBucket', bucketId: 'b-e', agentConnection: 'a1' })
      await m.insertJobs(CLUSTER, [j], at())
      await m.transitionJobs([{ ...held(j.envelope.id), fromBucketId: 'b-e', fromStatuses: IN_BUCKET_STATUSES, status: 'HeldOnMaster', bucketId: null, agentConnection: null, attempts: 2, lastError: 'boom' }], [], at())
      await m.transitionJobs([{ ...held(j.envelope.id), attempts: 1, lastError: null }], [], at())
      expect(await m.getJob(CLUSTER, j.envelope.id)).toMatchObject({ status: 'AssignedToBucket', attempts: 2, lastError: 'boom', bucketId: 'b1' })
    })

    test('claimDueHeldJobs gives concurrent claimers disjoint sets and hides claims until their lease ends', async () => {
      const cluster = `claim-${randomUUID().slice(0, 6)}`
      const due = Array.from({ length: 40 }, (_, i) => masterJob({ scheduledAt: at(-1000 + i) }))
      const later = masterJob({ scheduledAt: at(3_600_000) })
      const assigned = masterJob({ scheduledAt: at(-5000) }, { status: 'AssignedToBucket', bucketId: 'bb', agentConnection: 'a1' })
      await m.insertJobs(cluster, [...due, later, assigned], at())
      const now = at(0)
      const [x, y] = await Promise.all([
        m.claimDueHeldJobs(cluster, at(60_000), 25, 5000, now),
        h.peer.claimDueHeldJobs(cluster, at(60_000), 25, 5000, now),
      ])
      const ids = [...x, ...y].map((j) => j.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids.length).toBe(40)
      expect(ids).not.toContain(later.envelope.id)
      expect(ids).not.toContain(assigned.envelope.id)
      expect(await m.claimDueHeldJobs(cluster, at(60_000), 100, 5000, now)).toEqual([])
      expect(await m.claimDueHeldJobs(cluster, at(60_000), 100, 5000, at(6000))).toHaveLength(40)
    })

    test('jobsInBucket lists the non-terminal jobs recorded in a bucket', async () => {
      const bid = `b-in-${randomUUID().slice(0, 6)}`
      const inside = masterJob({}, { status: 'AssignedToBucket', bucketId: bid, agentConnection: 'a1' })
      const done = masterJob({}, { status: 'AssignedToBucket', bucketId: bid, agentConnection: 'a1' })
      await m.insertJobs(CLUSTER, [inside, done], at())
      await m.transitionJobs([{ ...held(done.envelope.id), fromBucketId: bid, fromStatuses: IN_BUCKET_STATUSES, status: 'Succeeded', bucketId: null, agentConnection: null, finishedAt: at() }], [], at())
      expect((await m.jobsInBucket(bid, 10)).map((j) => j.id)).toEqual([inside.envelope.id])
    })

    test('findStrandedJobs finds jobs in vanished buckets and overdue assignments', async () => {
      const cluster = `str-${randomUUID().slice(0, 6)}`
      const live = bucket('w-live', { clusterId: cluster })
      await m.createBuckets([live])
      const orphan = masterJob({}, { status: 'AssignedToBucket', bucketId: 'gone', agentConnection: 'a1' })
      const overdue = masterJob({ scheduledAt: at(-120_000) }, { status: 'AssignedToBucket', bucketId: live.id, agentConnection: 'a1' })
      const fresh = masterJob({ scheduledAt: at() }, { status: 'AssignedToBucket', bucketId: live.id, agentConnection: 'a1' })
      await m.insertJobs(cluster, [orphan, overdue, fresh], at(-120_000))
      const found = await m.findStrandedJobs(cluster, at(), 60_000, 100)
      expect(found.orphaned.map((j) => j.id)).toEqual([orphan.envelope.id])
      expect(found.overdue.map((j) => j.id)).toEqual([overdue.envelope.id])
    })

    test('cancelJob cancels once, from any non-terminal status', async () => {
      const j = masterJob({}, { status: 'AssignedToBucket', bucketId: 'b-c', agentConnection: 'a1' })
      await m.insertJobs(CLUSTER, [j], at())
      const [first, second] = await Promise.all([m.cancelJob(CLUSTER, j.envelope.id, at()), h.peer.cancelJob(CLUSTER, j.envelope.id, at())])
      const winners = [first, second].filter(Boolean)
      expect(winners).toHaveLength(1)
      expect(winners[0]).toMatchObject({ status: 'AssignedToBucket', bucketId: 'b-c' })
      expect(await m.getJob(CLUSTER, j.envelope.id)).toMatchObject({ status: 'Cancelled', bucketId: null })
      expect(await m.cancelJob(CLUSTER, randomUUID(), at())).toBeNull()
    })

    test('countJobs filters by status, definition and lane', async () => {
      const cluster = `cnt-${randomUUID().slice(0, 6)}`
      await m.insertJobs(cluster, [masterJob({ lane: 'L' }), masterJob({ definition: 'noop' }), masterJob()], at())
      expect(await m.countJobs(cluster, {})).toBe(3)
      expect(await m.countJobs(cluster, { status: 'HeldOnMaster', definition: 'echo' })).toBe(2)
      expect(await m.countJobs(cluster, { lane: 'L' })).toBe(1)
      expect(await m.countJobs(cluster, { lane: null })).toBe(2)
    })

    test('listJobs pages newest first with a keyset cursor and filters by metadata and time', async () => {
      const cluster = `lst-${randomUUID().slice(0, 6)}`
      const jobs = Array.from({ length: 7 }, (_, i) => masterJob({ createdAt: at(i * 1000), metadata: { tenant: i % 2 ? 'odd' : 'even', i: String(i) } }))
      await m.insertJobs(cluster, jobs, at())
      const page1 = await m.listJobs(cluster, {}, 3)
      expect(page1.map((j) => j.id)).toEqual([jobs[6]!, jobs[5]!, jobs[4]!].map((j) => j.envelope.id))
      const last = page1[2]!
      const page2 = await m.listJobs(cluster, {}, 3, { createdAt: last.createdAt, id: last.id })
      expect(page2.map((j) => j.id)).toEqual([jobs[3]!, jobs[2]!, jobs[1]!].map((j) => j.envelope.id))
      expect((await m.listJobs(cluster, { metadata: { tenant: 'odd' } }, 10)).map((j) => j.id).sort()).toEqual([1, 3, 5].map((i) => jobs[i]!.envelope.id).sort())
      expect((await m.listJobs(cluster, { metadata: { tenant: 'odd', i: '3' } }, 10)).map((j) => j.id)).toEqual([jobs[3]!.envelope.id])
      expect(await m.listJobs(cluster, { createdFrom: at(2000), createdTo: at(4000) }, 10)).toHaveLength(2)
      expect(await m.countJobs(cluster, { metadata: { tenant: 'even' } })).toBe(4)
      expect(await m.countJobsByStatus(cluster)).toEqual({ HeldOnMaster: 7 })
      // Filters are values, never SQL.
      expect(await m.listJobs(cluster, { definition: "echo' OR '1'='1", metadata: { "x'": "'; DROP TABLE x; --" } }, 10)).toEqual([])
    })

    test('purgeFinishedJobs removes finished jobs older than the cut-off, with their attempts, in bounded batches', async () => {
      const cluster = `pur-${randomUUID().slice(0, 6)}`
      const jobs = Array.from({ length: 5 }, () => masterJob({}, { status: 'AssignedToBucket', bucketId: 'b-p', agentConnection: 'a1' }))
      const open = masterJob()
      await m.insertJobs(cluster, [...jobs, open], at())
      await m.transitionJobs(
        jobs.map((j, i) => ({ ...held(j.envelope.id), fromBucketId: 'b-p', fromStatuses: IN_BUCKET_STATUSES, status: i < 4 ? 'Succeeded' : 'Failed', bucketId: null, agentConnection: null, finishedAt: at(i < 3 ? -100_000 : 0) })),
        jobs.map((j) => ({ jobId: j.envelope.id, attempt: 1, workerId: 'w', bucketId: 'b-p', startedAt: at(), endedAt: at(), outcome: 'Succeeded' as const, error: null, result: null })),
        at(),
      )
      expect(await m.purgeFinishedJobs(cluster, at(-50_000), 2)).toBe(2)
      expect(await m.purgeFinishedJobs(cluster, at(-50_000), 10)).toBe(1)
      expect(await m.countJobs(cluster, {})).toBe(3)
      expect(await m.listAttempts(cluster, jobs[0]!.envelope.id)).toEqual([])
      expect(await m.listAttempts(cluster, jobs[4]!.envelope.id)).toHaveLength(1)
    })

    test('workers: register, heartbeat, stop request, reap the silent ones', async () => {
      const cluster = `wrk-${randomUUID().slice(0, 6)}`
      const alive = worker({ clusterId: cluster })
      const silent = worker({ clusterId: cluster, heartbeatAt: at(-60_000) })
      await m.registerWorker(alive)
      await m.registerWorker(silent)
      expect(await m.heartbeat(alive.id, at())).toEqual({ stopRequested: false })
      expect(await m.requestWorkerStop(alive.id, at())).toBe(true)
      expect(await m.heartbeat(alive.id, at())).toEqual({ stopRequested: true })
      expect((await m.listWorkers(cluster)).map((w) => w.id).sort()).toEqual([alive.id, silent.id].sort())
      expect(await m.reapDeadWorkers(cluster, at(-30_000))).toEqual([silent.id])
      expect(await m.heartbeat(silent.id, at())).toBeNull()
      await m.deleteWorker(alive.id)
      expect(await m.listWorkers(cluster)).toEqual([])
    })

    test('buckets: compare-and-set transitions let exactly one of two drainers win', async () => {
      const cluster = `bkt-${randomUUID().slice(0, 6)}`
      const owner = worker({ clusterId: cluster })
      await m.registerWorker(owner)
      const b = bucket(owner.id, { clusterId: cluster, lane: 'L', priority: 'high' })
      await m.createBuckets([b])
      expect(await m.getBucket(b.id)).toMatchObject({ status: 'Active', ownerId: owner.id, lane: 'L', priority: 'high' })
      expect(await m.transitionBucket(b.id, { from: ['Active'], expectOwner: 'someone-else', to: 'Completing' }, at())).toBe(false)
      await m.deleteWorker(owner.id)
      expect(await m.markOrphanedBucketsLost(cluster, at(-60_000), at())).toEqual([b.id])
      expect(await m.getBucket(b.id)).toMatchObject({ status: 'Lost', ownerId: null })
      const wins = await Promise.all([
        m.transitionBucket(b.id, { from: ['Lost'], to: 'Draining', owner: 'd1' }, at()),
        h.peer.transitionBucket(b.id, { from: ['Lost'], to: 'Draining', owner: 'd2' }, at()),
      ])
      expect(wins.filter(Boolean)).toHaveLength(1)
      expect(await m.markOrphanedBucketsLost(cluster, at(-60_000), at())).toEqual([])
      expect(await m.markOrphanedBucketsLost(cluster, at(60_000), at())).toEqual([b.id])
      expect(await m.listBuckets(cluster, { statuses: ['Lost'] })).toHaveLength(1)
      expect(await m.listBuckets(cluster, { statuses: ['Active'] })).toHaveLength(0)
      expect(await m.deleteBucket(b.id, 'ReadyToDelete')).toBe(false)
      expect(await m.transitionBucket(b.id, { from: ['Lost'], to: 'ReadyToDelete', owner: null }, at())).toBe(true)
      expect(await m.deleteBucket(b.id, 'ReadyToDelete')).toBe(true)
      expect(await m.getBucket(b.id)).toBeNull()
    })

    test('agent connection records', async () => {
      const cluster = `con-${randomUUID().slice(0, 6)}`
      const record = { clusterId: cluster, name: 'pg-1', provider: 'postgres', fingerprint: 'f1', protect: true, firstSeenAt: at(), lastSeenAt: at(), deletionDeferredAt: null }
      await m.upsertAgentConnection(record)
      await m.upsertAgentConnection({ ...record, fingerprint: 'f2', lastSeenAt: at(1000), deletionDeferredAt: at(500) })
      const got = (await m.getAgentConnection(cluster, 'pg-1'))!
      expect(got).toMatchObject({ fingerprint: 'f2', protect: true })
      expect(got.deletionDeferredAt!.getTime()).toBe(at(500).getTime())
      expect(await m.listAgentConnections(cluster)).toHaveLength(1)
      await m.deleteAgentConnection(cluster, 'pg-1')
      expect(await m.getAgentConnection(cluster, 'pg-1')).toBeNull()
    })

    describeScheduleConformance(() => ({ store: m, peer: h.peer }))
  })
}

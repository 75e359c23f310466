import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { AgentSignal, AgentStore } from '../../core/stores/agent.js'
import { waitFor } from '../support/wait.js'
import { at, bucketJob, envelope } from './fixtures.js'

export interface AgentHarness {
  store: AgentStore
  /** A second store on the same transport (another process). */
  peer: AgentStore
  /** A store on another transport instance or prefix (a different fingerprint). */
  other: AgentStore
  cleanup(): Promise<void>
}

/** Lease used in the tests; providers whose lease is coarser may ask for more through `leaseMs`. */
export interface AgentSuiteOptions {
  leaseMs?: number
}

/**
 * The agent transport contract, specified once. Every provider runs it unchanged.
 */
export function describeAgentConformance(provider: string, open: () => Promise<AgentHarness>, options: AgentSuiteOptions = {}): void {
  const lease = options.leaseMs ?? 500
  describe(`agent conformance: ${provider}`, () => {
    let h: AgentHarness
    let a: AgentStore
    beforeAll(async () => {
      h = await open()
      a = h.store
      await Promise.all([a.provision(), h.peer.provision(), h.other.provision()])
    })
    afterAll(() => h?.cleanup())

    /** Drain whatever earlier tests left in the inbox so each test sees its own messages. */
    async function emptyInbox(): Promise<void> {
      for (;;) {
        const got = await a.claimInbox(1000, 60_000, 'cleaner', new Date())
        if (got.length === 0) return
        await a.ackInbox(got.map((m) => m.receipt))
      }
    }

    test('fingerprint is stable, shared by peers and distinct per store', async () => {
      await a.provision()
      const f = await a.fingerprint()
      expect(f).toMatch(/\S{8,}/)
      expect(await h.peer.fingerprint()).toBe(f)
      expect(await h.other.fingerprint()).not.toBe(f)
      await a.ping()
    })

    test('enqueue then claim round-trips the envelope', async () => {
      await emptyInbox()
      const e = envelope({ lane: 'Payroll', priority: 'high', scheduledAt: at(5000), metadata: { k: 'v' } })
      const result = await a.enqueue([e], 60_000, new Date())
      expect(result).toEqual({ ids: [e.id], duplicates: 0 })
      const [got] = await h.peer.claimInbox(10, 60_000, 'c1', new Date())
      expect(got!.envelope).toEqual(e)
      await h.peer.ackInbox([got!.receipt])
      expect(await a.claimInbox(10, 60_000, 'c1', new Date(Date.now() + 120_000))).toEqual([])
    })

    test('a batch is all or nothing', async () => {
      await emptyInbox()
      const first = envelope()
      await a.enqueue([first], 60_000, new Date())
      const fresh = envelope()
      await expect(a.enqueue([fresh, { ...envelope(), id: first.id }], 60_000, new Date())).rejects.toThrow()
      const claimed = await a.claimInbox(100, 60_000, 'c', new Date())
      expect(claimed.map((m) => m.envelope.id)).toEqual([first.id])
      await a.ackInbox(claimed.map((m) => m.receipt))
    })

    test('an idempotency key returns the first job within its window, and a new one after it', async () => {
      await emptyInbox()
      const key = `key-${randomUUID()}`
      const now = new Date()
      const one = envelope({ idempotencyKey: key })
      const two = envelope({ idempotencyKey: key })
      expect(await a.enqueue([one], 60_000, now)).toEqual({ ids: [one.id], duplicates: 0 })
      expect(await h.peer.enqueue([two, envelope()], 60_000, now)).toMatchObject({ ids: [one.id, expect.any(String)], duplicates: 1 })
      const later = envelope({ idempotencyKey: key })
      expect(await a.enqueue([later], 60_000, new Date(now.getTime() + 61_000))).toEqual({ ids: [later.id], duplicates: 0 })
      const claimed = await a.claimInbox(100, 60_000, 'c', new Date())
      expect(claimed.map((m) => m.envelope.id).sort()).toHaveLength(3)
      expect(claimed.map((m) => m.envelope.id)).not.toContain(two.id)
      await a.ackInbox(claimed.map((m) => m.receipt))
    })

    test('concurrent identical requests create one job', async () => {
      await emptyInbox()
      const key = `race-${randomUUID()}`
      const attempts = Array.from({ length: 6 }, () => envelope({ idempotencyKey: key }))
      const results = await Promise.all(attempts.map((e, i) => (i % 2 ? h.peer : a).enqueue([e], 60_000, new Date())))
      const ids = new Set(results.map((r) => r.ids[0]))
      expect(ids.size).toBe(1)
      const claimed = await a.claimInbox(100, 60_000, 'c', new Date())
      expect(claimed).toHaveLength(1)
      await a.ackInbox(claimed.map((m) => m.receipt))
    })

    test('competing consumers never claim the same message; unacknowledged ones return after the lease', async () => {
      await emptyInbox()
      const batch = Array.from({ length: 60 }, () => envelope())
      await a.enqueue(batch, 60_000, new Date())
      const [x, y] = await Promise.all([a.claimInbox(40, lease, 'x', new Date()), h.peer.claimInbox(40, lease, 'y', new Date())])
      const ids = [...x, ...y].map((m) => m.envelope.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids).toHaveLength(60)
      await a.ackInbox(x.map((m) => m.receipt))
      expect(await a.claimInbox(100, lease, 'z', new Date())).toEqual([])
      // A transport may hand expired messages back over several claims (NATS naks each one at
      // its own lease end): collect until y's are all back, then nothing else may have come.
      // (A message back twice was held past its new lease meanwhile: keep its latest receipt.)
      const back = new Map<string, (typeof y)[number]>()
      await waitFor('lease expiry', async () => {
        for (const m of await a.claimInbox(100, lease, 'z', new Date(Date.now() + lease + 10))) back.set(m.envelope.id, m)
        return back.size >= y.length ? back : null
      }, lease * 10 + 5000)
      expect([...back.keys()].sort()).toEqual(y.map((m) => m.envelope.id).sort())
      await a.ackInbox([...back.values()].map((m) => m.receipt))
    })

    test('claimInbox can be limited to messages older than a time (orphan ingest)', async () => {
      await emptyInbox()
      const t0 = new Date()
      await a.enqueue([envelope()], 60_000, t0)
      expect(await a.claimInbox(10, 60_000, 'old', t0, new Date(t0.getTime() - 1000))).toEqual([])
      const got = await a.claimInbox(10, 60_000, 'old', new Date(t0.getTime() + 5000), new Date(t0.getTime() + 1000))
      expect(got).toHaveLength(1)
      await a.ackInbox(got.map((m) => m.receipt))
    })

    test('buckets: fetch due jobs in time order, each once; re-push is idempotent', async () => {
      const b = `bk-${randomUUID().slice(0, 8)}`
      await a.createBucket(b)
      const now = at()
      const jobs = [bucketJob(b, { scheduledAt: at(-300) }), bucketJob(b, { scheduledAt: at(-100) }), bucketJob(b, { scheduledAt: at(-200) }), bucketJob(b, { scheduledAt: at(60_000) })]
      await a.pushToBuckets(jobs)
      await h.peer.pushToBuckets(jobs)
      expect(await a.bucketDepth(b)).toBe(4)
      const first = await a.fetchDue(b, now, 2, now)
      expect(first.map((j) => j.id)).toEqual([jobs[0]!.id, jobs[2]!.id])
      expect(first[0]).toEqual(jobs[0])
      const second = await h.peer.fetchDue(b, now, 10, now)
      expect(second.map((j) => j.id)).toEqual([jobs[1]!.id])
      await a.pushToBuckets(jobs)
      expect(await a.fetchDue(b, now, 10, now)).toEqual([])
      expect((await a.fetchDue(b, at(61_000), 10, now)).map((j) => j.id)).toEqual([jobs[3]!.id])
      expect(await a.bucketDepth(b)).toBe(4)
      await a.clearBucket(b)
      expect(await a.bucketDepth(b)).toBe(0)
      await a.deleteBucket(b)
    })

    test('concurrent fetches of one bucket never deliver a job twice', async () => {
      const b = `bk-${randomUUID().slice(0, 8)}`
      await a.createBucket(b)
      const jobs = Array.from({ length: 50 }, () => bucketJob(b, { scheduledAt: at(-1000) }))
      await a.pushToBuckets(jobs)
      const now = new Date()
      const got = await Promise.all([a.fetchDue(b, now, 30, now), h.peer.fetchDue(b, now, 30, now)])
      const ids = got.flat().map((j) => j.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids).toHaveLength(50)
      await a.deleteBucket(b)
    })

    test('settle removes finished jobs and puts retried ones back with their new time and attempt', async () => {
      const b = `bk-${randomUUID().slice(0, 8)}`
      await a.createBucket(b)
      const [done, retry] = [bucketJob(b, { scheduledAt: at(-10) }), bucketJob(b, { scheduledAt: at(-10) })]
      await a.pushToBuckets([done!, retry!])
      const now = new Date()
      expect(await a.fetchDue(b, now, 10, now)).toHaveLength(2)
      // Settling against another bucket does nothing (the job was moved away meanwhile).
      await a.settle([{ bucketId: 'elsewhere', jobId: done!.id }], [])
      expect(await a.bucketDepth(b)).toBe(2)
      const again = { ...retry!, scheduledAt: new Date(Date.now() + 3000), attempts: 1 }
      await h.peer.settle([{ bucketId: b, jobId: done!.id }], [again])
      expect(await a.bucketDepth(b)).toBe(1)
      expect(await a.fetchDue(b, new Date(), 10, new Date())).toEqual([])
      expect(await a.fetchDue(b, new Date(Date.now() + 5000), 10, new Date())).toEqual([again])
      await a.deleteBucket(b)
    })

    test('pushing a job to another bucket moves it there', async () => {
      const [b1, b2] = [`bk-${randomUUID().slice(0, 8)}`, `bk-${randomUUID().slice(0, 8)}`]
      await a.createBucket(b1)
      await a.createBucket(b2)
      const job = bucketJob(b1, { scheduledAt: at(-10) })
      await a.pushToBuckets([job])
      expect(await a.fetchDue(b1, new Date(), 10, new Date())).toHaveLength(1)
      await a.pushToBuckets([{ ...job, bucketId: b2 }])
      expect(await a.bucketDepth(b1)).toBe(0)
      expect(await a.fetchDue(b2, new Date(), 10, new Date())).toEqual([{ ...job, bucketId: b2 }])
      expect(await a.missingFromBuckets([{ bucketId: b2, jobId: job.id }, { bucketId: b1, jobId: job.id }])).toEqual([job.id])
      await a.deleteBucket(b1)
      await a.deleteBucket(b2)
    })

    test('signals: inbox writes, bucket pushes and cancellations wake subscribers', async () => {
      if (!a.pushesSignals) return
      const seen: AgentSignal[] = []
      const unsubscribe = await h.peer.subscribe((s) => seen.push(s))
      try {
        const b = `bk-${randomUUID().slice(0, 8)}`
        await a.createBucket(b)
        await a.enqueue([envelope()], 60_000, new Date())
        await a.pushToBuckets([bucketJob(b)])
        const job = bucketJob(b)
        await a.pushToBuckets([job])
        await a.signalCancel(b, job.id)
        await waitFor('signals', () => seen.some((s) => s.kind === 'inbox') && seen.some((s) => s.kind === 'bucket' && s.bucketId === b) && seen.some((s) => s.kind === 'cancel' && s.jobId === job.id), 5000)
        expect(await a.missingFromBuckets([{ bucketId: b, jobId: job.id }])).toEqual([job.id])
        await a.deleteBucket(b)
      } finally {
        await unsubscribe()
        await emptyInbox()
      }
    })

    test('expired idempotency keys are purged', async () => {
      const key = `purge-${randomUUID()}`
      await a.enqueue([envelope({ idempotencyKey: key })], 1000, new Date())
      expect(await a.purgeExpired(new Date(Date.now() + 5000))).toBeGreaterThanOrEqual(1)
      await emptyInbox()
    })
  })
}

import { connect, headers } from '@nats-io/transport-node'
import { jetstream } from '@nats-io/jetstream'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ConfigError, StoreError } from '../core/errors.js'
import { decodeToken, encodeToken, Layout } from '../core/providers/nats/layout.js'
import { NatsAgentStore } from '../core/providers/nats/index.js'
import { openAgent, openMaster } from '../core/stores/registry.js'
import { bucketJob, envelope } from './conformance/fixtures.js'
import { deleteNatsPrefix, NATS_URL, natsPrefix } from './support/nats.js'

/** NATS-specific behaviour beyond the shared agent suite. */
describe('NATS agent', () => {
  const prefix = natsPrefix('ag')
  let store: NatsAgentStore

  beforeAll(async () => {
    store = new NatsAgentStore('n1', NATS_URL, prefix)
    await store.provision()
  })
  afterAll(async () => {
    await store?.close()
    await deleteNatsPrefix(NATS_URL, prefix)
  })

  test('bucket ids become subject tokens and consumer names that decode back', () => {
    for (const id of ['n1:-:medium:0a1b2c3d4e', 'n1:Payroll:critical:ff', 'a.b*c>d e_f', 'héllo']) {
      const token = encodeToken(id)
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(decodeToken(token)).toBe(id)
    }
    expect(encodeToken('a_b')).not.toBe(encodeToken('a:b'))
  })

  test('the registry opens nats:// as an agent only', async () => {
    const agent = await openAgent('n2', `${NATS_URL}?lookAhead=90s`, { tablePrefix: prefix })
    expect(agent.provider).toBe('nats')
    expect(agent.maxLookAheadMs).toBe(90_000)
    await agent.close()
    await expect(openMaster(NATS_URL, { tablePrefix: prefix })).rejects.toThrow(ConfigError)
  })

  test('configuration errors name the field, never the URL', () => {
    const attempt = () => new NatsAgentStore('n3', 'nats://user:s3cret@127.0.0.1:4222?retension=1d', prefix)
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(/agents\.n3.*unknown NATS option "retension"/)
    expect(attempt).not.toThrow(/s3cret/)
  })

  test('transport errors name the connection, never the URL or its credentials', async () => {
    const unreachable = new NatsAgentStore('n4', 'nats://someone:s3cret@127.0.0.1:1', prefix)
    const error = await unreachable.enqueue([envelope()], 60_000, new Date()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as Error).message).toMatch(/^agent connection "n4": enqueue failed/)
    expect((error as Error).message).not.toMatch(/s3cret|someone|127\.0\.0\.1:1\b/)
    await unreachable.close()
  })

  test('a store that was never provisioned says so at once', async () => {
    const blank = new NatsAgentStore('n5', NATS_URL, natsPrefix('nv'))
    await expect(blank.fingerprint()).rejects.toThrow(/agent connection "n5": has no fingerprint: it was never provisioned/)
    await blank.close()
  })

  test("a job over the server's max_payload is refused with a clear error and nothing is written", async () => {
    const before = await store.inboxDepth()
    const huge = envelope({ payload: { blob: 'x'.repeat(1024 * 1024) } })
    await expect(store.enqueue([envelope(), huge], 60_000, new Date())).rejects.toThrow(/max_payload/)
    expect(await store.inboxDepth()).toBe(before)
  })

  test('members of a batch without commit marker wait, are dropped once abandoned, and count as committed once older than the markers', async () => {
    const nc = await connect({ servers: new URL(NATS_URL).host })
    const js = jetstream(nc)
    const layout = new Layout(prefix)
    const now = Date.now()
    const member = async (enqueuedAt: number) => {
      const h = headers()
      h.set('Jm-Enqueued-At', String(enqueuedAt))
      h.set('Jm-Batch', `no-marker-${enqueuedAt}`)
      const e = envelope()
      await js.publish(layout.inboxSubject, JSON.stringify({ ...e, scheduledAt: e.scheduledAt.toISOString(), createdAt: e.createdAt.toISOString() }), { headers: h })
      return e.id
    }
    await member(now) // its batch is still being written
    await member(now - 120_000) // its writer failed two minutes ago
    const ancient = await member(now - 2 * 3600_000) // older than any marker: its marker expired
    await nc.close()
    const claimed = await store.claimInbox(10, 60_000, 'c', new Date())
    expect(claimed.map((m) => m.envelope.id)).toEqual([ancient])
    await store.ackInbox(claimed.map((m) => m.receipt))
    // The young one waits for its commit; the abandoned one is gone.
    expect(await store.inboxDepth()).toBe(1)
  })

  test('a parked job moved to another bucket leaves the first one', async () => {
    const [b1, b2] = ['n1:-:medium:park1', 'n1:-:medium:park2']
    await store.createBucket(b1)
    await store.createBucket(b2)
    const later = bucketJob(b1, { scheduledAt: new Date(Date.now() + 30_000) })
    await store.pushToBuckets([later])
    expect(await store.fetchDue(b1, new Date(), 10, new Date())).toEqual([]) // delivered early: parked
    expect(await store.bucketDepth(b1)).toBe(1)
    await store.pushToBuckets([{ ...later, bucketId: b2 }])
    expect(await store.bucketDepth(b1)).toBe(0)
    expect(await store.fetchDue(b1, new Date(Date.now() + 60_000), 10, new Date())).toEqual([])
    expect(await store.fetchDue(b2, new Date(Date.now() + 60_000), 10, new Date())).toEqual([{ ...later, bucketId: b2 }])
    await store.deleteBucket(b1)
    await store.deleteBucket(b2)
  })

  test('settling the same retry twice puts the job back once', async () => {
    const b = 'n1:-:high:retry'
    await store.createBucket(b)
    const job = bucketJob(b, { scheduledAt: new Date(Date.now() - 10) })
    await store.pushToBuckets([job])
    expect(await store.fetchDue(b, new Date(), 10, new Date())).toHaveLength(1)
    const again = { ...job, attempts: 1, scheduledAt: new Date(Date.now() - 5) }
    await store.settle([], [again])
    await store.settle([], [again])
    expect(await store.fetchDue(b, new Date(), 10, new Date())).toEqual([again])
    expect(await store.fetchDue(b, new Date(), 10, new Date())).toEqual([])
    await store.settle([{ bucketId: b, jobId: job.id }], [])
    expect(await store.bucketDepth(b)).toBe(0)
    await store.deleteBucket(b)
  })

  test('purging expired keys keeps the live ones', async () => {
    const live = envelope({ idempotencyKey: `live-${prefix}` })
    await store.enqueue([live], 60_000, new Date())
    await store.purgeExpired(new Date())
    expect(await store.enqueue([envelope({ idempotencyKey: `live-${prefix}` })], 60_000, new Date())).toEqual({ ids: [live.id], duplicates: 1 })
  })

  test('schemaSql describes the streams with their limits', () => {
    const text = store.schemaSql()
    for (const name of ['inbox', 'buckets', 'park', 'meta', 'batches', 'info']) expect(text).toContain(`"${prefix}${name}"`)
    expect(text).toContain('"max_age"')
    expect(text).toContain('"max_bytes"')
  })
})

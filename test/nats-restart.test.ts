import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { JobEnvelope } from '../core/model.js'
import { NatsAgentStore } from '../core/providers/nats/index.js'
import { bucketJob, envelope } from './conformance/fixtures.js'
import { natsPrefix, PrivateNatsServer } from './support/nats.js'
import { waitFor } from './support/wait.js'

/**
 * A server killed with SIGKILL and restarted mid-run: every envelope whose enqueue was
 * acknowledged (JetStream PubAck) is still there exactly once, no batch is half there, and the
 * store reconnects by itself.
 */
describe('NATS agent across a server kill -9 and restart', () => {
  let server: PrivateNatsServer
  let store: NatsAgentStore

  beforeAll(async () => {
    server = await PrivateNatsServer.start()
    store = new NatsAgentStore('r1', `${server.url}?timeout=2s`, natsPrefix('rs'))
    await store.provision()
  })

  afterAll(async () => {
    await store?.close()
    await server?.stop()
  })

  test('acknowledged envelopes and bucket entries survive; nothing is duplicated or half-written', async () => {
    const bucket = 'r1:-:medium:restart'
    await store.createBucket(bucket)
    const parked = Array.from({ length: 20 }, () => bucketJob(bucket, { scheduledAt: new Date(Date.now() - 1000) }))
    await store.pushToBuckets(parked)

    const acknowledged: string[] = []
    const attempted = new Set<string>()
    const failedBatches: JobEnvelope[][] = []
    let failures = 0
    let restarted = false
    let ackedAfterRestart = 0

    const produce = async () => {
      for (let round = 0; round < 1000 && !(restarted && ackedAfterRestart >= 200); round++) {
        const batch = round % 5 === 0 ? Array.from({ length: 4 }, () => envelope()) : [envelope()]
        for (const e of batch) attempted.add(e.id)
        try {
          await store.enqueue(batch, 60_000, new Date())
          acknowledged.push(...batch.map((e) => e.id))
          if (restarted) ackedAfterRestart += batch.length
        } catch {
          failures++
          if (batch.length > 1) failedBatches.push(batch)
          await sleep(20)
        }
      }
    }
    const chaos = async () => {
      await waitFor('some acknowledged enqueues', () => acknowledged.length >= 200, 20_000, 5)
      await server.kill()
      await sleep(1000)
      await server.restart()
      restarted = true
    }
    // Several producers, so publishes are in flight when the server dies.
    await Promise.all([produce(), produce(), produce(), produce(), chaos()])
    expect(restarted).toBe(true)
    expect(ackedAfterRestart).toBeGreaterThanOrEqual(200)

    // The server answers publishes before it has recovered its consumers; pulls wait for them.
    await waitFor('inbox consumer recovered', () => store.inboxDepth().then(() => true), 20_000)
    const claimed: string[] = []
    for (;;) {
      const got = await store.claimInbox(500, 60_000, 'check', new Date())
      if (got.length === 0) break
      claimed.push(...got.map((m) => m.envelope.id))
      await store.ackInbox(got.map((m) => m.receipt))
    }
    expect(new Set(claimed).size).toBe(claimed.length)
    const claimedSet = new Set(claimed)
    expect(acknowledged.filter((id) => !claimedSet.has(id))).toEqual([])
    expect(claimed.filter((id) => !attempted.has(id))).toEqual([])
    for (const batch of failedBatches) {
      const present = batch.filter((e) => claimedSet.has(e.id)).length
      expect([0, batch.length]).toContain(present)
    }

    const fetched = await store.fetchDue(bucket, new Date(), 100, new Date())
    expect(fetched.map((j) => j.id).sort()).toEqual(parked.map((j) => j.id).sort())
    console.info(`nats restart: ${acknowledged.length} enqueues acknowledged (${failures} failed while the server was down), ${claimed.length} claimed afterwards`)
  })
})

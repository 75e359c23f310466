import { setTimeout as delay } from 'node:timers/promises'
import { jetstream } from '@nats-io/jetstream'
import { connect, headers } from '@nats-io/transport-node'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { NatsAgentStore } from '../core/providers/nats/index.js'
import { Layout } from '../core/providers/nats/layout.js'
import { envelope } from './conformance/fixtures.js'
import { deleteNatsPrefix, NATS_URL, natsPrefix } from './support/nats.js'

/**
 * A producer killed while writing a batch to NATS leaves the batch's members in the inbox without
 * their commit marker; they wait a minute to be dropped. Meanwhile they must not crowd out the
 * committed jobs behind them: an ingester claiming like a worker (batches of 250, a pause when a
 * claim comes back short) gets every committed job within seconds.
 */
const ABANDONED = 4000
const COMMITTED = 250
const prefix = natsPrefix('ab')
let store: NatsAgentStore

beforeAll(async () => {
  store = new NatsAgentStore('n1', NATS_URL, prefix)
  await store.provision()
})
afterAll(async () => {
  await store?.close()
  await deleteNatsPrefix(NATS_URL, prefix)
})

test('members of an abandoned batch do not hold up the committed jobs behind them', async () => {
  const nc = await connect({ servers: new URL(NATS_URL).host })
  const js = jetstream(nc)
  const subject = new Layout(prefix).inboxSubject
  const now = Date.now()
  for (let i = 0; i < ABANDONED; i += 500) {
    await Promise.all(
      Array.from({ length: 500 }, () => {
        const h = headers()
        h.set('Jm-Enqueued-At', String(now))
        h.set('Jm-Batch', 'killed-mid-write')
        const e = envelope()
        return js.publish(subject, JSON.stringify({ ...e, scheduledAt: e.scheduledAt.toISOString(), createdAt: e.createdAt.toISOString() }), { headers: h })
      }),
    )
  }
  await nc.close()
  const committed = new Set((await store.enqueue(Array.from({ length: COMMITTED }, () => envelope()), 60_000, new Date())).ids)

  const started = Date.now()
  let claimedCommitted = 0
  while (claimedCommitted < COMMITTED && Date.now() - started < 30_000) {
    const claimed = await store.claimInbox(250, 15_000, 'ingester', new Date())
    claimedCommitted += claimed.filter((m) => committed.has(m.envelope.id)).length
    await store.ackInbox(claimed.map((m) => m.receipt))
    if (claimed.length < 250) await delay(200)
  }
  const seconds = (Date.now() - started) / 1000
  console.log(`${COMMITTED} committed jobs behind ${ABANDONED} members of an abandoned batch: all claimed in ${seconds.toFixed(1)} s`)
  expect(claimedCommitted).toBe(COMMITTED)
  expect(seconds).toBeLessThan(5)
})

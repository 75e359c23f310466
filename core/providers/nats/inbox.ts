import { randomUUID } from 'node:crypto'
import { headers } from '@nats-io/transport-node'
import type { PubAck } from '@nats-io/jetstream'
import { parseEnvelope, serializeEnvelope } from '../../envelope.js'
import type { JobEnvelope } from '../../model.js'
import type { EnqueueResult, InboxMessage } from '../../stores/agent.js'
import { HeldDeliveries } from './held.js'
import type { IdempotencyKeys } from './keys.js'
import { BATCH_MARKER_TTL_MS, INBOX_ACK_WAIT_MS } from './layout.js'
import { pullAvailable, type Delivery } from './pull.js'
import { EMPTY, type Session } from './session.js'

const ENQUEUED_AT = 'Jm-Enqueued-At'
const BATCH = 'Jm-Batch'
/**
 * A batch member whose batch is not committed yet is offered again after as long as it has been
 * waiting, between these bounds: a batch commits within moments of its members, so the first
 * retries come quickly, and the members of an abandoned batch (its producer killed mid-write) come
 * back ever more rarely instead of crowding out committed jobs until they are dropped.
 */
const UNCOMMITTED_RETRY_MIN_MS = 1000
const UNCOMMITTED_RETRY_MAX_MS = 15_000
/** Pulls one claim may make while everything it pulls is such a member (an abandoned batch ahead of committed jobs). */
const MAX_PULLS_PER_CLAIM = 8
/**
 * After this, a batch without its commit marker was abandoned by a failed enqueue: its members
 * are dropped — until they are older than the markers' lifetime, when a missing marker means an
 * expired one (only a cluster with no ingester for that long gets there).
 */
const ABANDONED_AFTER_MS = 60_000
const COMMITTED_CACHE = 10_000

/**
 * The inbox: a work-queue stream, ONE envelope per message, ONE durable pull consumer shared by
 * every ingester (competing consumers get disjoint messages; an ack removes the message).
 *
 * Why one envelope per message: a claim takes up to `limit` envelopes and concurrent claims
 * split them, which a whole batch in one message cannot do. Batches stay all-or-nothing with a
 * commit marker: members are published with a `Jm-Batch` header, then one marker message in the
 * batches stream commits the batch. Claims skip members of uncommitted batches (offered again
 * shortly) and drop them once the batch is clearly abandoned; a failed enqueue also deletes the
 * members it wrote. `Nats-Msg-Id` is the job id: a repeated job id within the duplicate window
 * is refused, as a primary key would.
 */
export class NatsInbox {
  private readonly held = new HeldDeliveries(INBOX_ACK_WAIT_MS)
  private readonly committed = new Set<string>()

  constructor(
    private readonly s: Session,
    private readonly keys: IdempotencyKeys,
  ) {}

  async enqueue(envelopes: JobEnvelope[], windowMs: number, now: Date): Promise<EnqueueResult> {
    if (envelopes.length === 0) return { ids: [], duplicates: 0 }
    const bodies = new Map<string, string>()
    for (const e of envelopes) {
      if (bodies.has(e.id)) throw new Error(`job id ${e.id} appears twice in the batch`)
      const body = serializeEnvelope(e)
      this.s.checkSize(`job ${e.id}`, Buffer.byteLength(body))
      bodies.set(e.id, body)
    }
    const plan = await this.keys.claim(envelopes, windowMs, now)
    try {
      if (!plan.stillHeld()) throw new Error('claiming idempotency keys took too long to write safely; retry')
      await this.write(plan.fresh, bodies, now)
    } catch (error) {
      await plan.release()
      throw error
    }
    await plan.commit()
    if (plan.fresh.length > 0) this.s.signal(this.s.layout.inboxSignal)
    return { ids: plan.ids, duplicates: plan.duplicates }
  }

  private async write(fresh: JobEnvelope[], bodies: Map<string, string>, now: Date): Promise<void> {
    if (fresh.length === 0) return
    if (fresh.length === 1) {
      const ack = await this.publish(fresh[0]!, bodies, now, null)
      if (ack.duplicate) throw alreadyEnqueued(fresh[0]!.id)
      return
    }
    const batchId = randomUUID()
    const results = await Promise.allSettled(fresh.map((e) => this.publish(e, bodies, now, batchId)))
    const written: PubAck[] = []
    let failure: unknown = null
    results.forEach((r, i) => {
      if (r.status === 'rejected') failure ??= r.reason
      else if (r.value.duplicate) failure ??= alreadyEnqueued(fresh[i]!.id) // the stored one is the earlier job's: keep it
      else written.push(r.value)
    })
    if (!failure) {
      try {
        await this.s.js.publish(this.s.layout.batch(batchId), EMPTY, { timeout: this.s.timeoutMs })
        return
      } catch (error) {
        failure = error
      }
    }
    // Not committed: claims would drop these members anyway; deleting them now frees the inbox sooner.
    await Promise.allSettled(written.map((ack) => this.s.remove(this.s.layout.streams.inbox, ack.seq)))
    throw failure
  }

  private publish(e: JobEnvelope, bodies: Map<string, string>, now: Date, batchId: string | null): Promise<PubAck> {
    const h = headers()
    h.set(ENQUEUED_AT, String(now.getTime()))
    if (batchId) h.set(BATCH, batchId)
    return this.s.js.publish(this.s.layout.inboxSubject, bodies.get(e.id)!, { msgID: e.id, headers: h, timeout: this.s.timeoutMs })
  }

  /**
   * Pull up to `limit` messages and hold them for `leaseMs` (see HeldDeliveries). Messages newer
   * than `enqueuedBefore` are given back at once; the consumer delivers oldest first. A pull that
   * brought nothing but members of uncommitted batches is followed by another (a few at most), so
   * an abandoned batch does not make claims come back empty while committed jobs wait behind it.
   */
  async claim(limit: number, leaseMs: number, now: Date, enqueuedBefore?: Date): Promise<InboxMessage[]> {
    const claimed: InboxMessage[] = []
    for (let round = 0; round < MAX_PULLS_PER_CLAIM; round++) {
      const { pulled, deferred } = await this.pullOnce(limit, leaseMs, now, enqueuedBefore, claimed)
      if (claimed.length > 0 || pulled < limit || deferred < pulled) break
    }
    return claimed
  }

  /** One pull: claimable messages go into `claimed`; says how many were pulled and how many were deferred uncommitted members. */
  private async pullOnce(limit: number, leaseMs: number, now: Date, enqueuedBefore: Date | undefined, claimed: InboxMessage[]): Promise<{ pulled: number; deferred: number }> {
    const { nc, layout } = this.s
    const pulled = await pullAvailable(nc, layout.streams.inbox, layout.inboxConsumer, limit, this.s.timeoutMs)
    try {
      await this.learnCommitted(pulled)
    } catch (error) {
      for (const d of pulled) d.nak()
      throw error
    }
    const givenBack: Array<Promise<void>> = []
    let deferred = 0
    for (const d of pulled) {
      let envelope: JobEnvelope
      try {
        envelope = parseEnvelope(d.text())
      } catch {
        d.term() // not written by this store (nothing else publishes here): redelivering it forever helps no one
        continue
      }
      const enqueuedAt = Number(d.header(ENQUEUED_AT) ?? 0)
      if (enqueuedBefore && enqueuedAt > enqueuedBefore.getTime()) {
        givenBack.push(d.nakConfirmed(nc, this.s.timeoutMs))
        continue
      }
      const batch = d.header(BATCH)
      const age = now.getTime() - enqueuedAt
      if (batch && !this.committed.has(batch) && age < BATCH_MARKER_TTL_MS) {
        if (age > ABANDONED_AFTER_MS) d.term()
        else d.nak(Math.min(UNCOMMITTED_RETRY_MAX_MS, Math.max(UNCOMMITTED_RETRY_MIN_MS, age)))
        deferred++
        continue
      }
      const receipt = String(d.streamSeq)
      this.held.hold(receipt, d, Date.now() + leaseMs)
      claimed.push({ envelope, receipt })
    }
    // The next claim (by anyone) must find them again. (If a confirmation fails, the message
    // still comes back after the ack wait.)
    await Promise.allSettled(givenBack)
    return { pulled: pulled.length, deferred }
  }

  private async learnCommitted(pulled: Delivery[]): Promise<void> {
    const unknown = new Set(pulled.map((d) => d.header(BATCH)).filter((b): b is string => !!b && !this.committed.has(b)))
    await Promise.all(
      [...unknown].map(async (batch) => {
        if (await this.s.last(this.s.layout.streams.batches, this.s.layout.batch(batch))) this.committed.add(batch)
      }),
    )
    for (const old of this.committed) {
      if (this.committed.size <= COMMITTED_CACHE) break
      this.committed.delete(old)
    }
  }

  /**
   * A receipt is the message's stream sequence. The claimer acks its own deliveries without a
   * confirmation per message, then flushes once: a thousand-message claim costs one round trip,
   * not a thousand. That is safe here: an ack that never arrives only re-delivers the message after
   * the ack wait, and ingest is idempotent on the job id. Any other receipt (another process's
   * claim, a lease that ran out) deletes the message by sequence. Repeated and unknown receipts
   * are harmless.
   */
  async ack(receipts: string[]): Promise<void> {
    const { nc, layout } = this.s
    const others: number[] = []
    for (const receipt of new Set(receipts)) {
      const seq = Number(receipt)
      if (!Number.isSafeInteger(seq) || seq <= 0) continue
      const delivery = this.held.release(receipt)
      if (delivery) delivery.ack()
      else others.push(seq)
    }
    await nc.flush()
    await Promise.all(others.map((seq) => this.s.remove(layout.streams.inbox, seq)))
  }

  async depth(): Promise<number> {
    const info = await this.s.jsm.consumers.info(this.s.layout.streams.inbox, this.s.layout.inboxConsumer)
    return info.num_pending + info.num_ack_pending
  }

  /** Closing: give claimed messages back so another ingester takes them at once. */
  close(): void {
    this.held.giveBackAll()
  }
}

function alreadyEnqueued(id: string): Error {
  return new Error(`job ${id} is already in the inbox (same job id within the de-duplication window); nothing of this batch was written`)
}

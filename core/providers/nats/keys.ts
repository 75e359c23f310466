import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream'
import type { JobEnvelope } from '../../model.js'
import { pullAvailable } from './pull.js'
import { decode, type Session } from './session.js'

/**
 * How long a claimed key may stay "pending" (claimed, its job not yet written). Longer than a
 * publish can take (its timeout), so a live writer is never overtaken; a writer that died
 * mid-way blocks its key only this long.
 */
const PENDING_MS = 15_000

/** A key's record in the meta stream. `pending` (ms) while the first request is still writing its job. */
interface KeyRecord {
  job: string
  /** End of the idempotency window (ms). */
  until: number
  pending?: number
}

type Claim = { kind: 'fresh'; subject: string; seq: number; record: KeyRecord } | { kind: 'duplicate'; jobId: string } | { kind: 'busy' }

/** The outcome of claiming a batch's keys: which envelopes to write, and what to answer. */
export interface KeyPlan {
  /** One id per envelope: its own, or the first job's for a repeated key. */
  ids: string[]
  fresh: JobEnvelope[]
  duplicates: number
  /** False when claiming took so long that another request could soon take the keys over. */
  stillHeld(): boolean
  /** The jobs are written: the keys now answer with them for their whole window. */
  commit(): Promise<void>
  /** The write failed: free the keys so a retry can create the jobs. */
  release(): Promise<void>
}

/**
 * Idempotency keys without a KV library: one subject per key in the meta stream (one message
 * per subject), claimed with a compare-and-set publish (expected last subject sequence 0 =
 * "create", like a KV `create`). The record names the first job's id, so a repeated request
 * within the window answers with it; an expired record is taken over by compare-and-set on its
 * sequence. Concurrent identical requests: one creates the record, the others find it pending
 * and wait until it is committed, then answer with its job.
 */
export class IdempotencyKeys {
  constructor(private readonly s: Session) {}

  async claim(envelopes: JobEnvelope[], windowMs: number, now: Date): Promise<KeyPlan> {
    const firstByKey = new Map<string, JobEnvelope>()
    for (const e of envelopes) if (e.idempotencyKey !== null && !firstByKey.has(e.idempotencyKey)) firstByKey.set(e.idempotencyKey, e)
    const keys = [...firstByKey.keys()]
    const giveUpAt = Date.now() + PENDING_MS
    for (let attempt = 0; ; attempt++) {
      const claimedAt = Date.now()
      const settled = await Promise.allSettled(keys.map((key) => this.claimOne(key, firstByKey.get(key)!.id, windowMs, now)))
      const claims = new Map<string, Claim>()
      const fresh: Array<Extract<Claim, { kind: 'fresh' }>> = []
      let failure: unknown = null
      settled.forEach((result, i) => {
        if (result.status === 'rejected') failure ??= result.reason
        else {
          claims.set(keys[i]!, result.value)
          if (result.value.kind === 'fresh') fresh.push(result.value)
        }
      })
      const busy = [...claims.values()].some((c) => c.kind === 'busy')
      if (!failure && !busy) return this.plan(envelopes, firstByKey, claims, fresh, claimedAt)
      // Never wait while holding keys: two batches sharing keys would wait for each other.
      await this.release(fresh)
      if (failure) throw failure
      if (Date.now() > giveUpAt) throw new Error('an idempotency key of this request is being written by a concurrent request; retry')
      await sleep(Math.min(200, 10 * 2 ** attempt) * (0.5 + Math.random()))
    }
  }

  private plan(envelopes: JobEnvelope[], firstByKey: Map<string, JobEnvelope>, claims: Map<string, Claim>, freshClaims: Array<Extract<Claim, { kind: 'fresh' }>>, claimedAt: number): KeyPlan {
    const ids: string[] = []
    const fresh: JobEnvelope[] = []
    for (const e of envelopes) {
      const claim = e.idempotencyKey === null ? null : claims.get(e.idempotencyKey)!
      if (claim === null || (claim.kind === 'fresh' && firstByKey.get(e.idempotencyKey!) === e)) {
        ids.push(e.id)
        fresh.push(e)
      } else {
        // A repeat within this batch answers with the batch's first job for the key.
        ids.push(claim.kind === 'duplicate' ? claim.jobId : firstByKey.get(e.idempotencyKey!)!.id)
      }
    }
    return {
      ids,
      fresh,
      duplicates: envelopes.length - fresh.length,
      stillHeld: () => Date.now() - claimedAt < PENDING_MS / 2,
      commit: () => this.commit(freshClaims),
      release: () => this.release(freshClaims),
    }
  }

  private async claimOne(key: string, jobId: string, windowMs: number, now: Date): Promise<Claim> {
    const subject = this.s.layout.key(key)
    const nowMs = now.getTime()
    const record: KeyRecord = { job: jobId, until: nowMs + windowMs, pending: nowMs + PENDING_MS }
    let expected = 0
    for (let round = 0; round < 5; round++) {
      const ack = await this.s.writeIf(subject, JSON.stringify(record), expected)
      if (ack) return { kind: 'fresh', subject, seq: ack.seq, record }
      const current = await this.s.last(this.s.layout.streams.meta, subject)
      if (!current) {
        expected = 0 // deleted meanwhile (purged or released)
        continue
      }
      const found = JSON.parse(decode(current.data)) as KeyRecord
      if (isExpired(found, nowMs)) {
        expected = current.seq
        continue
      }
      return found.pending === undefined ? { kind: 'duplicate', jobId: found.job } : { kind: 'busy' }
    }
    return { kind: 'busy' }
  }

  /**
   * Best effort: if a commit is lost, the key stays pending until PENDING_MS and a later repeat
   * then creates a second job. The jobs themselves are written, so the request succeeded.
   */
  private async commit(claims: Array<Extract<Claim, { kind: 'fresh' }>>): Promise<void> {
    await Promise.allSettled(claims.map((c) => this.s.writeIf(c.subject, JSON.stringify({ job: c.record.job, until: c.record.until }), c.seq)))
  }

  /** Delete exactly the records we wrote (by sequence): a newer claim by someone else is untouched. */
  private async release(claims: Array<Extract<Claim, { kind: 'fresh' }>>): Promise<void> {
    await Promise.allSettled(claims.map((c) => this.s.remove(this.s.layout.streams.meta, c.seq)))
  }

  /** Delete key records whose window (or abandoned pending claim) is over; returns how many. */
  async purgeExpired(now: Date): Promise<number> {
    const { layout, jsm } = this.s
    const stream = layout.streams.meta
    // A short-lived consumer reads every key record once; it is deleted at the end (and would
    // expire by itself if this process died).
    const name = `purge_${randomBytes(6).toString('hex')}`
    await jsm.consumers.add(stream, {
      durable_name: name,
      filter_subject: layout.keyFilter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: -1,
      inactive_threshold: 60_000 * 1_000_000,
    })
    const expired: number[] = []
    try {
      const page = 500
      for (;;) {
        const batch = await pullAvailable(this.s.nc, stream, name, page, this.s.timeoutMs)
        for (const d of batch) {
          try {
            if (isExpired(JSON.parse(d.text()) as KeyRecord, now.getTime())) expired.push(d.streamSeq)
          } catch {
            expired.push(d.streamSeq) // not a key record: nothing answers from it
          }
        }
        if (batch.length < page) break
      }
    } finally {
      await jsm.consumers.delete(stream, name).catch(() => {})
    }
    const removed = await Promise.all(expired.map((seq) => this.s.remove(stream, seq)))
    return removed.filter(Boolean).length
  }
}

function isExpired(record: KeyRecord, nowMs: number): boolean {
  return record.until <= nowMs || (record.pending !== undefined && record.pending <= nowMs)
}

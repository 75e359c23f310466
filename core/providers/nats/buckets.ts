import { JetStreamApiCodes, type PubAck } from '@nats-io/jetstream'
import { parseBucketJob, serializeBucketJob } from '../../envelope.js'
import type { BucketJob } from '../../model.js'
import { HeldDeliveries } from './held.js'
import { BUCKET_ACK_WAIT_MS, type ParkEntry } from './layout.js'
import { pullAvailable, type Delivery } from './pull.js'
import { apiCode, decode, EMPTY, type Session } from './session.js'

/** Key of a held delivery: bucket and job. */
const heldKey = (bucketId: string, jobId: string) => `${bucketId}\n${jobId}`

/**
 * Buckets. A job's entry is the message on `<p>.bucket.<bucket>.<job>` (one message per subject):
 * the record is the truth (depth, "missing", settle), a durable pull consumer per bucket is how
 * its owner receives new and changed records.
 *
 * - Push: create-only publish of the record (a re-push is a no-op, so a fetched job is not
 *   delivered again) and of a location record `<p>.loc.<job>` naming the bucket. When the job
 *   already had a location in another bucket, it is moved: the location is updated by
 *   compare-and-set and the old record deleted by sequence. (A lookup by wildcard would find the
 *   old bucket without a location record, but costs a scan of the stream on NATS 2.9.)
 * - Fetch: JetStream cannot delay delivery, and a nak'ed delay cannot be shortened when a later
 *   fetch looks further ahead. So a record delivered before its time is *parked*: an index entry
 *   `<p>.park.<bucket>.<due>.<job>.<seq>` is written and the delivery acked (the record stays).
 *   Each fetch first lists its bucket's parked entries (one request) and republishes the records
 *   now due (compare-and-set on the parked sequence), which the consumer then delivers. Parked
 *   jobs therefore occupy no ack-pending slot and are never redelivered in a loop.
 * - Fetched records stay un-acked while their job waits or runs, kept alive by in-progress acks;
 *   settle deletes them (done) or replaces them (retry) by compare-and-set.
 * - Records are deleted by sequence, never purged by subject while their bucket lives: on NATS
 *   2.9 a filtered purge resets the delivery state of the consumer whose filter it overlaps.
 */
export class NatsBuckets {
  private readonly held = new HeldDeliveries(BUCKET_ACK_WAIT_MS)

  constructor(private readonly s: Session) {}

  async create(bucketId: string): Promise<void> {
    const config = this.s.layout.bucketConsumerConfig(bucketId)
    await this.s.ensureConsumer(this.s.layout.streams.buckets, { ...config, durable_name: config.durable_name! })
  }

  async delete(bucketId: string): Promise<void> {
    await this.clear(bucketId)
    await this.s.jsm.consumers.delete(this.s.layout.streams.buckets, this.s.layout.bucketConsumer(bucketId)).catch((error: unknown) => {
      if (!isNotFound(error)) throw error
    })
  }

  async push(jobs: BucketJob[]): Promise<void> {
    if (jobs.length === 0) return
    const { layout } = this.s
    // Published in due order (in one pipeline, which keeps its order), so the consumer delivers
    // a batch of pushes earliest first.
    const ordered = [...jobs].sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())
    const bodies = ordered.map((job) => {
      const body = serializeBucketJob(job)
      this.s.checkSize(`job ${job.id}`, Buffer.byteLength(body))
      return body
    })
    const writes = ordered.map((job, i) => [this.s.writeIf(layout.record(job.bucketId, job.id), bodies[i]!, 0), this.s.writeIf(layout.location(job.id), job.bucketId, 0)] as const)
    const outcomes = await Promise.all(writes.map(([record, location]) => Promise.allSettled([record, location])))
    const failed = outcomes.find((o) => o.some((r) => r.status === 'rejected'))
    if (failed) {
      // All or nothing, as far as it can be: take back the records this call created.
      await Promise.allSettled(outcomes.map(([record]) => (record.status === 'fulfilled' && record.value ? this.s.remove(layout.streams.buckets, record.value.seq) : null)))
      throw (failed.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason
    }
    const touched = new Set<string>()
    const moves: Array<Promise<void>> = []
    outcomes.forEach(([record, location], i) => {
      const job = ordered[i]!
      const created = (record as PromiseFulfilledResult<PubAck | null>).value !== null
      const located = (location as PromiseFulfilledResult<PubAck | null>).value !== null
      if (!created) return // already in this bucket
      touched.add(job.bucketId)
      if (!located) moves.push(this.leavePreviousBucket(job))
    })
    await Promise.all(moves)
    for (const bucketId of touched) this.s.signal(layout.bucketSignal(bucketId))
  }

  /** The job had a location already: point it here and delete its entry in the bucket it was in. */
  private async leavePreviousBucket(job: BucketJob): Promise<void> {
    const { layout } = this.s
    const location = await this.s.last(layout.streams.meta, layout.location(job.id))
    if (!location) {
      await this.s.writeIf(layout.location(job.id), job.bucketId, 0)
      return
    }
    const previous = decode(location.data)
    if (previous === job.bucketId) return // a stale location of an entry cleared earlier
    await this.s.writeIf(layout.location(job.id), job.bucketId, location.seq)
    await this.removeEntry(previous, job.id, true)
  }

  /**
   * Delete a job's record in one bucket (by sequence: the version this process holds, else the
   * current one); true if there was a record. `mayBeParked`: also drop its park entry (a fetched
   * job has none: it was unparked before it could be delivered).
   */
  private async removeEntry(bucketId: string, jobId: string, mayBeParked: boolean): Promise<boolean> {
    const { layout } = this.s
    const held = this.held.release(heldKey(bucketId, jobId))
    const seq = held?.streamSeq ?? (await this.s.last(layout.streams.buckets, layout.record(bucketId, jobId)))?.seq
    const [removed] = await Promise.all([
      seq === undefined ? false : this.s.remove(layout.streams.buckets, seq),
      mayBeParked ? this.s.purge(layout.streams.park, layout.jobParked(bucketId, jobId)) : 0,
    ])
    return removed
  }

  async fetchDue(bucketId: string, dueBefore: Date, limit: number): Promise<BucketJob[]> {
    const { layout, nc, timeoutMs } = this.s
    await this.unpark(bucketId, dueBefore, limit)
    const due: BucketJob[] = []
    const parking: Array<Promise<void>> = []
    try {
      while (due.length < limit) {
        const want = limit - due.length
        const pulled = await pullAvailable(nc, layout.streams.buckets, layout.bucketConsumer(bucketId), want, timeoutMs)
        for (const d of pulled) {
          let job: BucketJob
          try {
            job = parseBucketJob(d.text())
          } catch {
            d.term() // not written by this store
            continue
          }
          if (job.scheduledAt.getTime() <= dueBefore.getTime()) {
            this.held.hold(heldKey(bucketId, job.id), d)
            due.push(job)
          } else {
            parking.push(this.park(bucketId, job, d))
          }
        }
        if (pulled.length < want) break
      }
      await Promise.all(parking)
    } catch (error) {
      // The caller gets none of them: give them back rather than hold them for nobody.
      for (const job of due) this.held.release(heldKey(bucketId, job.id))?.nak()
      throw error
    }
    return due.sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime())
  }

  private async park(bucketId: string, job: BucketJob, d: Delivery): Promise<void> {
    try {
      await this.s.writeIf(this.s.layout.park(bucketId, job.scheduledAt.getTime(), job.id, d.streamSeq), EMPTY, 0)
      // Confirmed, so the bucket's depth right after the fetch no longer counts the delivery as
      // pending beside its park entry (a plain ack raced the consumer info under load).
      await d.ackConfirmed(this.s.nc, this.s.timeoutMs)
    } catch (error) {
      d.nak()
      throw error
    }
  }

  /** Republish parked records due before `dueBefore` (earliest first, at most `limit`). */
  private async unpark(bucketId: string, dueBefore: Date, limit: number): Promise<void> {
    const { layout } = this.s
    const ready = (await this.parked(bucketId))
      .filter((p) => p.dueMs <= dueBefore.getTime())
      .sort((a, b) => a.dueMs - b.dueMs)
      .slice(0, limit)
    await Promise.all(
      ready.map(async (p) => {
        const record = await this.s.bySeq(layout.streams.buckets, p.recordSeq)
        // Republish first, then drop the index entry: a crash in between leaves a stale entry
        // (its compare-and-set fails next time), never a record nobody will deliver.
        if (record && record.subject === layout.record(bucketId, p.jobId)) await this.s.writeIf(record.subject, record.data, record.seq)
        await this.s.purge(layout.streams.park, p.subject)
      }),
    )
  }

  private async parked(bucketId: string): Promise<ParkEntry[]> {
    const { layout } = this.s
    const subjects = await this.s.subjects(layout.streams.park, layout.bucketParked(bucketId))
    return subjects.map((s) => layout.parseParked(s)).filter((p): p is ParkEntry => p !== null)
  }

  async settle(done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Promise<void> {
    await Promise.all([...done.map((d) => this.settleDone(d.bucketId, d.jobId)), ...retried.map((job) => this.putBack(job))])
  }

  /** Guarded by the bucket: a job moved away meanwhile has no record here, so nothing happens. */
  private async settleDone(bucketId: string, jobId: string): Promise<void> {
    if (await this.removeEntry(bucketId, jobId, false)) await this.s.purge(this.s.layout.streams.meta, this.s.layout.location(jobId))
  }

  private async putBack(job: BucketJob): Promise<void> {
    const { layout } = this.s
    this.held.release(heldKey(job.bucketId, job.id))
    const subject = layout.record(job.bucketId, job.id)
    const current = await this.s.last(layout.streams.buckets, subject)
    if (!current) return // moved away or cleared meanwhile: whoever moved it owns it now
    const body = serializeBucketJob(job)
    if (decode(current.data) === body) return // an earlier attempt of this settle already did it
    // Replacing the record removes the fetched delivery and makes the consumer deliver it anew.
    await this.s.writeIf(subject, body, current.seq)
  }

  /** Delete everything a bucket holds. Its consumer's delivery state restarts after the purge. */
  async clear(bucketId: string): Promise<number> {
    const { layout } = this.s
    const [purged] = await Promise.all([this.s.purge(layout.streams.buckets, layout.bucketRecords(bucketId)), this.s.purge(layout.streams.park, layout.bucketParked(bucketId))])
    this.held.releaseWhere((key) => key.startsWith(`${bucketId}\n`))
    return purged
  }

  /**
   * Records in the bucket: not yet delivered + delivered and held (consumer info) + parked.
   * A bucket without consumer (never created, or deleted) is counted from the stream.
   */
  async depth(bucketId: string): Promise<number> {
    const { layout, jsm } = this.s
    const [info, parked] = await Promise.all([
      jsm.consumers.info(layout.streams.buckets, layout.bucketConsumer(bucketId)).catch((error: unknown) => {
        if (isNotFound(error)) return null
        throw error
      }),
      this.parked(bucketId),
    ])
    if (!info) return (await this.s.subjects(layout.streams.buckets, layout.bucketRecords(bucketId))).length
    return info.num_pending + info.num_ack_pending + parked.length
  }

  async missing(entries: Array<{ bucketId: string; jobId: string }>): Promise<string[]> {
    const { layout } = this.s
    const found = await Promise.all(entries.map((e) => this.s.last(layout.streams.buckets, layout.record(e.bucketId, e.jobId))))
    return entries.filter((_, i) => found[i] === null).map((e) => e.jobId)
  }

  /** A cancelled job leaves its bucket (its owner is told through the cancel signal). */
  async cancel(bucketId: string, jobId: string): Promise<void> {
    if (await this.removeEntry(bucketId, jobId, true)) await this.s.purge(this.s.layout.streams.meta, this.s.layout.location(jobId))
    this.s.nc.publish(this.s.layout.cancelSignal(bucketId), jobId)
  }

  /**
   * Closing: stop the in-progress acks. The server redelivers after one ack wait, to nobody
   * unless the bucket lives on; a closed worker's buckets are relocated through the master.
   */
  close(): void {
    this.held.releaseWhere(() => true)
  }
}

function isNotFound(error: unknown): boolean {
  return apiCode(error) === JetStreamApiCodes.ConsumerNotFound
}

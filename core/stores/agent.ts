import type { BucketJob, JobEnvelope } from '../model.js'

/** An inbox message claimed by an ingester; `receipt` acknowledges it. */
export interface InboxMessage {
  envelope: JobEnvelope
  receipt: string
}

/** A wake-up hint from the transport. Hints may be lost; polling stays the correctness path. */
export type AgentSignal =
  | { kind: 'inbox' }
  | { kind: 'bucket'; bucketId: string }
  | { kind: 'cancel'; bucketId: string; jobId: string }

export interface EnqueueResult {
  /** One id per envelope, in order: the new job's id, or the first job's id for a repeated idempotency key. */
  ids: string[]
  /** How many of them were duplicates of an earlier request. */
  duplicates: number
}

/**
 * An agent transport: the inbox producers write to, and the buckets workers own.
 * Short-lived by design; the master owns durable state.
 */
export interface AgentStore {
  /** The connection name. */
  readonly name: string
  readonly provider: string
  /** Longest look-ahead a bucket on this transport may hold (NATS cannot delay delivery); null: any. */
  readonly maxLookAheadMs: number | null
  /** Whether `subscribe` delivers push hints (else callers poll adaptively). */
  readonly pushesSignals: boolean

  provision(): Promise<void>
  schemaSql(): string
  /** The random identity written into the store when it was first provisioned. */
  fingerprint(): Promise<string>
  /** Cheap reachability check. */
  ping(): Promise<void>
  close(): Promise<void>

  // ---- producer side
  /** Write envelopes to the inbox atomically (all or none); de-duplicates idempotency keys within the window. */
  enqueue(envelopes: JobEnvelope[], idempotencyWindowMs: number, now: Date): Promise<EnqueueResult>

  // ---- ingest side
  /**
   * Claim up to `limit` inbox messages for `leaseMs` (competing consumers never get the same one;
   * unacknowledged messages come back after the lease). `enqueuedBefore` restricts to older messages
   * (the coordinator's orphan ingest).
   */
  claimInbox(limit: number, leaseMs: number, consumer: string, now: Date, enqueuedBefore?: Date): Promise<InboxMessage[]>
  ackInbox(receipts: string[]): Promise<void>
  inboxDepth(): Promise<number>

  // ---- buckets
  createBucket(bucketId: string): Promise<void>
  deleteBucket(bucketId: string): Promise<void>
  /** Put jobs into their buckets (`job.bucketId`). Idempotent per job id; a job moved to another bucket replaces its old entry. */
  pushToBuckets(jobs: BucketJob[]): Promise<void>
  /** The owner takes up to `limit` jobs of its bucket due before `dueBefore`; they stay until settled. */
  fetchDue(bucketId: string, dueBefore: Date, limit: number, now: Date): Promise<BucketJob[]>
  /** Remove finished jobs; put retried ones back into their bucket with their new time and attempt count. */
  settle(done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Promise<void>
  /** Remove everything a bucket holds (after its jobs were relocated through the master). */
  clearBucket(bucketId: string): Promise<number>
  bucketDepth(bucketId: string): Promise<number>
  /** Of these bucket entries, the job ids the transport does not hold (a lost write to repair). */
  missingFromBuckets(entries: Array<{ bucketId: string; jobId: string }>): Promise<string[]>

  // ---- signals
  subscribe(listener: (signal: AgentSignal) => void): Promise<() => Promise<void>>
  /** Tell a bucket's owner to abort or drop a cancelled job. */
  signalCancel(bucketId: string, jobId: string): Promise<void>

  /** Housekeeping: forget idempotency keys older than their window. */
  purgeExpired(now: Date): Promise<number>
}

import { createHash } from 'node:crypto'
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream'
import { DAY, HOUR, MINUTE, SECOND } from '../../durations.js'
import type { NatsAgentOptions } from './options.js'

/** Consumer ack waits. Held deliveries are kept alive with in-progress acks well before they run out. */
export const INBOX_ACK_WAIT_MS = 30 * SECOND
export const BUCKET_ACK_WAIT_MS = 60 * SECOND
/** Window of `Nats-Msg-Id` de-duplication (retried publishes of the same envelope). */
const DUPLICATE_WINDOW_MS = 2 * MINUTE
/** Idempotency windows may be configured up to 30 days; key records must outlive them. */
const META_MAX_AGE_MS = 31 * DAY
/**
 * How long a batch's commit marker is kept. A batch member older than this has outlived its
 * marker and counts as committed (see NatsInbox): markers must not pile up with every batch.
 */
export const BATCH_MARKER_TTL_MS = HOUR

const ns = (ms: number) => ms * 1_000_000

/**
 * Subject tokens and consumer names allow neither `.`, `*`, `>` nor whitespace, and bucket ids
 * contain `:`. Keep `[A-Za-z0-9-]`, write every other byte as `_xx`: injective, so a token
 * decodes back to its id, and readable for the usual ids.
 */
export function encodeToken(id: string): string {
  let out = ''
  for (const byte of Buffer.from(id, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`
  }
  return out
}

export function decodeToken(token: string): string {
  const bytes: number[] = []
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '_') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(token.charCodeAt(i))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** Due times in park subjects are fixed-width so they read in time order. */
const DUE_DIGITS = 15

export interface ParkEntry {
  subject: string
  dueMs: number
  jobId: string
  /** The bucket record's stream sequence when it was parked (compare-and-set on unpark). */
  recordSeq: number
}

/**
 * Names of the six streams and their subjects under one prefix. Every subject starts with the
 * prefix, so stores with different prefixes share a server without seeing each other.
 *
 * | stream   | subjects                                   | retention  | what it holds |
 * |----------|--------------------------------------------|------------|---------------|
 * | inbox    | `<p>.inbox`                                | work queue | one envelope per message, one shared durable consumer `ingest` |
 * | buckets  | `<p>.bucket.<bucket>.<job>`                | limits, 1 per subject | the job's entry in its bucket; durable consumer `b_<bucket>` per bucket |
 * | park     | `<p>.park.<bucket>.<due>.<job>.<seq>`      | limits, 1 per subject | jobs fetched before their time, indexed by due time |
 * | meta     | `<p>.key.<sha256>`, `<p>.loc.<job>`        | limits, 1 per subject | idempotency keys, which bucket holds a job |
 * | batches  | `<p>.batch.<id>`                           | limits, 1 hour | commit markers of multi-job enqueues |
 * | info     | `<p>.info.fingerprint`                     | limits     | the store's identity |
 */
export class Layout {
  readonly streams: { inbox: string; buckets: string; park: string; meta: string; batches: string; info: string }
  readonly inboxSubject: string
  readonly inboxConsumer = 'ingest'
  readonly fingerprintSubject: string
  readonly keyFilter: string
  readonly signalFilter: string
  readonly inboxSignal: string

  constructor(readonly prefix: string) {
    this.streams = { inbox: `${prefix}inbox`, buckets: `${prefix}buckets`, park: `${prefix}park`, meta: `${prefix}meta`, batches: `${prefix}batches`, info: `${prefix}info` }
    this.inboxSubject = `${prefix}.inbox`
    this.fingerprintSubject = `${prefix}.info.fingerprint`
    this.keyFilter = `${prefix}.key.>`
    this.signalFilter = `${prefix}.signal.>`
    this.inboxSignal = `${prefix}.signal.inbox`
  }

  record(bucketId: string, jobId: string): string {
    return `${this.prefix}.bucket.${encodeToken(bucketId)}.${encodeToken(jobId)}`
  }

  bucketRecords(bucketId: string): string {
    return `${this.prefix}.bucket.${encodeToken(bucketId)}.*`
  }

  bucketConsumer(bucketId: string): string {
    return `b_${encodeToken(bucketId)}`
  }

  park(bucketId: string, dueMs: number, jobId: string, recordSeq: number): string {
    return `${this.prefix}.park.${encodeToken(bucketId)}.${String(dueMs).padStart(DUE_DIGITS, '0')}.${encodeToken(jobId)}.${recordSeq}`
  }

  bucketParked(bucketId: string): string {
    return `${this.prefix}.park.${encodeToken(bucketId)}.>`
  }

  jobParked(bucketId: string, jobId: string): string {
    return `${this.prefix}.park.${encodeToken(bucketId)}.*.${encodeToken(jobId)}.*`
  }

  parseParked(subject: string): ParkEntry | null {
    const [due, job, seq] = subject.split('.').slice(-3)
    if (!due || !job || !seq) return null
    return { subject, dueMs: Number(due), jobId: decodeToken(job), recordSeq: Number(seq) }
  }

  location(jobId: string): string {
    return `${this.prefix}.loc.${encodeToken(jobId)}`
  }

  /** Keys are hashed: they may hold any printable character and up to 200 of them. */
  key(idempotencyKey: string): string {
    return `${this.prefix}.key.${createHash('sha256').update(idempotencyKey).digest('hex')}`
  }

  batch(batchId: string): string {
    return `${this.prefix}.batch.${batchId}`
  }

  bucketSignal(bucketId: string): string {
    return `${this.prefix}.signal.bucket.${encodeToken(bucketId)}`
  }

  cancelSignal(bucketId: string): string {
    return `${this.prefix}.signal.cancel.${encodeToken(bucketId)}`
  }

  /** `[kind, bucketId?]` of a signal subject. */
  parseSignal(subject: string): { kind: string; bucketId?: string } {
    const [kind, token] = subject.slice(`${this.prefix}.signal.`.length).split('.')
    return { kind: kind ?? '', ...(token ? { bucketId: decodeToken(token) } : {}) }
  }

  /**
   * Every stream has limits (SPEC §5): a max age, max bytes and "discard new", so a stream can
   * neither grow forever nor silently drop accepted work when full (the write is refused instead).
   */
  streamConfigs(o: NatsAgentOptions): Array<Partial<StreamConfig> & { name: string; subjects: string[] }> {
    const common = { storage: StorageType.File, num_replicas: o.replicas, discard: DiscardPolicy.New, max_bytes: o.maxBytes }
    return [
      {
        ...common,
        name: this.streams.inbox,
        subjects: [this.inboxSubject],
        retention: RetentionPolicy.Workqueue,
        max_age: ns(o.retentionMs),
        duplicate_window: ns(DUPLICATE_WINDOW_MS),
      },
      {
        ...common,
        name: this.streams.buckets,
        subjects: [`${this.prefix}.bucket.>`],
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        max_age: ns(o.retentionMs),
        duplicate_window: ns(DUPLICATE_WINDOW_MS),
        allow_direct: true,
      },
      {
        ...common,
        name: this.streams.park,
        subjects: [`${this.prefix}.park.>`],
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        max_age: ns(o.retentionMs),
        duplicate_window: ns(DUPLICATE_WINDOW_MS),
      },
      {
        ...common,
        name: this.streams.meta,
        subjects: [this.keyFilter, `${this.prefix}.loc.>`],
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        max_age: ns(Math.max(META_MAX_AGE_MS, o.retentionMs)),
        duplicate_window: ns(DUPLICATE_WINDOW_MS),
        allow_direct: true,
      },
      {
        ...common,
        name: this.streams.batches,
        subjects: [`${this.prefix}.batch.>`],
        retention: RetentionPolicy.Limits,
        max_age: ns(BATCH_MARKER_TTL_MS),
        duplicate_window: ns(DUPLICATE_WINDOW_MS),
        allow_direct: true,
      },
      {
        ...common,
        name: this.streams.info,
        subjects: [`${this.prefix}.info.>`],
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        max_bytes: 1024 ** 2,
        allow_direct: true,
      },
    ]
  }

  inboxConsumerConfig(): Partial<ConsumerConfig> {
    return pullConsumer(this.inboxConsumer, this.inboxSubject, INBOX_ACK_WAIT_MS)
  }

  bucketConsumerConfig(bucketId: string): Partial<ConsumerConfig> {
    return pullConsumer(this.bucketConsumer(bucketId), this.bucketRecords(bucketId), BUCKET_ACK_WAIT_MS)
  }
}

/**
 * A durable pull consumer with explicit acks. No delivery limit (a message is never dropped for
 * being redelivered often) and no ack-pending limit (held jobs must not starve due ones).
 */
function pullConsumer(name: string, filter: string, ackWaitMs: number): Partial<ConsumerConfig> {
  return {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ns(ackWaitMs),
    max_deliver: -1,
    max_ack_pending: -1,
  }
}

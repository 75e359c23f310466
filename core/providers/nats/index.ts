import { randomUUID } from 'node:crypto'
import { JetStreamApiCodes } from '@nats-io/jetstream'
import { StoreError } from '../../errors.js'
import type { BucketJob, JobEnvelope } from '../../model.js'
import type { AgentSignal, AgentStore, EnqueueResult, InboxMessage } from '../../stores/agent.js'
import { NatsBuckets } from './buckets.js'
import { NatsInbox } from './inbox.js'
import { IdempotencyKeys } from './keys.js'
import { Layout } from './layout.js'
import { parseNatsUrl, type NatsAgentOptions } from './options.js'
import { apiCode, decode, Session } from './session.js'

interface Parts {
  session: Session
  inbox: NatsInbox
  buckets: NatsBuckets
  keys: IdempotencyKeys
}

/**
 * The agent on NATS JetStream (agent only: NATS is never a master). See `Layout` for the streams
 * and subjects, `NatsInbox` for the inbox, `NatsBuckets` for buckets, `IdempotencyKeys` for keys.
 * Wake-up hints travel on plain NATS subjects `<p>.signal.*`; they may be lost, polling stays the
 * correctness path. The connection is opened on first use and reconnects by itself.
 */
export class NatsAgentStore implements AgentStore {
  readonly provider = 'nats'
  readonly pushesSignals = true
  readonly maxLookAheadMs: number
  private readonly options: NatsAgentOptions
  private readonly layout: Layout
  /** Errors name the connection, never the URL (it may hold credentials). */
  private readonly resource: string
  private opening: Promise<Parts> | null = null
  private closed = false

  constructor(
    readonly name: string,
    url: string,
    prefix = 'jm_',
  ) {
    this.options = parseNatsUrl(name, url, prefix)
    this.layout = new Layout(prefix)
    this.maxLookAheadMs = this.options.lookAheadMs
    this.resource = `agent connection "${name}"`
  }

  private parts(): Promise<Parts> {
    if (this.closed) return Promise.reject(new Error('the store is closed'))
    if (this.opening) return this.opening
    const opening: Promise<Parts> = Session.open(this.options, this.name).then(
      (session) => {
        // The client reconnects by itself; if it ever gives up for good, the next call opens anew.
        void session.nc.closed().then(() => {
          if (this.opening === opening) this.opening = null
        })
        const keys = new IdempotencyKeys(session)
        return { session, keys, inbox: new NatsInbox(session, keys), buckets: new NatsBuckets(session) }
      },
      (error: unknown) => {
        if (this.opening === opening) this.opening = null // the next call tries again
        throw error
      },
    )
    this.opening = opening
    return opening
  }

  private async run<T>(operation: string, work: (parts: Parts) => Promise<T>): Promise<T> {
    try {
      return await work(await this.parts())
    } catch (error) {
      if (error instanceof StoreError) throw error
      throw new StoreError(this.resource, `${operation} failed: ${this.redact(error)}`, { cause: error })
    }
  }

  private redact(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error)
    for (const secret of [this.options.pass, this.options.token, this.options.user, this.options.server]) {
      if (secret) text = text.split(secret).join('***')
    }
    return text
  }

  async provision(): Promise<void> {
    await this.run('provisioning streams', async ({ session }) => {
      for (const config of this.layout.streamConfigs(this.options)) await session.ensureStream(config)
      const inboxConsumer = this.layout.inboxConsumerConfig()
      await session.ensureConsumer(this.layout.streams.inbox, { ...inboxConsumer, durable_name: inboxConsumer.durable_name! })
      // Written once: later provisions find it and keep it.
      await session.writeIf(this.layout.fingerprintSubject, randomUUID(), 0)
    })
  }

  /** No SQL: the stream and consumer configurations an operator creates when provisioning is off. */
  schemaSql(): string {
    const inboxConsumer = { stream: this.layout.streams.inbox, ...this.layout.inboxConsumerConfig() }
    return [
      `// NATS JetStream agent "${this.name}": streams and the shared inbox consumer (durations in nanoseconds).`,
      '// Bucket consumers are created and deleted with their buckets; the fingerprint message is written on first provisioning.',
      JSON.stringify({ streams: this.layout.streamConfigs(this.options), consumers: [inboxConsumer] }, null, 2),
    ].join('\n')
  }

  async fingerprint(): Promise<string> {
    // Through the stream API rather than a direct get: a missing stream is reported at once.
    const stored = await this.run('reading the fingerprint', async ({ session }) =>
      session.jsm.streams.getMessage(this.layout.streams.info, { last_by_subj: this.layout.fingerprintSubject }).catch((error: unknown) => {
        if (apiCode(error) === JetStreamApiCodes.StreamNotFound) return null
        throw error
      }),
    )
    if (!stored) throw new StoreError(this.resource, 'has no fingerprint: it was never provisioned')
    return decode(stored.data)
  }

  async ping(): Promise<void> {
    await this.run('ping', async ({ session }) => void (await session.jsm.getAccountInfo()))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const opening = this.opening
    this.opening = null
    const parts = await opening?.catch(() => null)
    if (!parts) return
    parts.inbox.close()
    parts.buckets.close()
    await parts.session.close()
  }

  enqueue(envelopes: JobEnvelope[], idempotencyWindowMs: number, now: Date): Promise<EnqueueResult> {
    return this.run('enqueue', ({ inbox }) => inbox.enqueue(envelopes, idempotencyWindowMs, now))
  }

  /** `consumer` names the caller for the SQL stores' bookkeeping; JetStream tracks its own deliveries. */
  claimInbox(limit: number, leaseMs: number, _consumer: string, now: Date, enqueuedBefore?: Date): Promise<InboxMessage[]> {
    return this.run('claiming the inbox', ({ inbox }) => inbox.claim(limit, leaseMs, now, enqueuedBefore))
  }

  ackInbox(receipts: string[]): Promise<void> {
    if (receipts.length === 0) return Promise.resolve()
    return this.run('acknowledging the inbox', ({ inbox }) => inbox.ack(receipts))
  }

  inboxDepth(): Promise<number> {
    return this.run('reading the inbox depth', ({ inbox }) => inbox.depth())
  }

  createBucket(bucketId: string): Promise<void> {
    return this.run(`creating bucket ${bucketId}`, ({ buckets }) => buckets.create(bucketId))
  }

  deleteBucket(bucketId: string): Promise<void> {
    return this.run(`deleting bucket ${bucketId}`, ({ buckets }) => buckets.delete(bucketId))
  }

  pushToBuckets(jobs: BucketJob[]): Promise<void> {
    if (jobs.length === 0) return Promise.resolve()
    return this.run('pushing to buckets', ({ buckets }) => buckets.push(jobs))
  }

  /** `now` is not needed: what is due is decided by `dueBefore`, held deliveries are kept alive on the wall clock. */
  fetchDue(bucketId: string, dueBefore: Date, limit: number, _now: Date): Promise<BucketJob[]> {
    return this.run(`fetching from bucket ${bucketId}`, ({ buckets }) => buckets.fetchDue(bucketId, dueBefore, limit))
  }

  settle(done: Array<{ bucketId: string; jobId: string }>, retried: BucketJob[]): Promise<void> {
    if (done.length === 0 && retried.length === 0) return Promise.resolve()
    return this.run('settling bucket jobs', ({ buckets }) => buckets.settle(done, retried))
  }

  clearBucket(bucketId: string): Promise<number> {
    return this.run(`clearing bucket ${bucketId}`, ({ buckets }) => buckets.clear(bucketId))
  }

  bucketDepth(bucketId: string): Promise<number> {
    return this.run(`reading the depth of bucket ${bucketId}`, ({ buckets }) => buckets.depth(bucketId))
  }

  missingFromBuckets(entries: Array<{ bucketId: string; jobId: string }>): Promise<string[]> {
    if (entries.length === 0) return Promise.resolve([])
    return this.run('checking bucket entries', ({ buckets }) => buckets.missing(entries))
  }

  subscribe(listener: (signal: AgentSignal) => void): Promise<() => Promise<void>> {
    return this.run('subscribing to signals', async ({ session }) => {
      const sub = session.nc.subscribe(this.layout.signalFilter, {
        callback: (error, msg) => {
          if (error) return
          const signal = this.decodeSignal(msg.subject, msg.string())
          if (signal) listener(signal)
        },
      })
      // Make sure the server has the subscription before the caller relies on it.
      await session.nc.flush()
      return async () => sub.unsubscribe()
    })
  }

  private decodeSignal(subject: string, payload: string): AgentSignal | null {
    const { kind, bucketId } = this.layout.parseSignal(subject)
    if (kind === 'inbox') return { kind: 'inbox' }
    if (kind === 'bucket' && bucketId) return { kind: 'bucket', bucketId }
    if (kind === 'cancel' && bucketId && payload) return { kind: 'cancel', bucketId, jobId: payload }
    return null
  }

  signalCancel(bucketId: string, jobId: string): Promise<void> {
    return this.run(`cancelling job ${jobId}`, ({ buckets }) => buckets.cancel(bucketId, jobId))
  }

  purgeExpired(now: Date): Promise<number> {
    return this.run('purging expired idempotency keys', ({ keys }) => keys.purgeExpired(now))
  }
}

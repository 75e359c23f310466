import { connect, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type ConsumerConfig, type JetStreamClient, type JetStreamManager, type PubAck, type StoredMsg, type StreamConfig } from '@nats-io/jetstream'
import { Layout } from './layout.js'
import type { NatsAgentOptions } from './options.js'

/** Room left for headers (message id, times, batch id) when checking a body against max_payload. */
const HEADER_ALLOWANCE = 512
const CONSUMER_EXISTS = [10013, 10148]
const STREAM_NAME_IN_USE = 10058
const MESSAGE_GONE = [JetStreamApiCodes.NoMessageFound, 10057]

export const EMPTY = new Uint8Array(0)
const text = new TextDecoder()

export function decode(data: Uint8Array): string {
  return text.decode(data)
}

export function apiCode(error: unknown): number | null {
  return error instanceof JetStreamApiError ? error.code : null
}

/**
 * One connection to the server and the small set of JetStream operations the store is built
 * from. A publish counts as written only once its PubAck arrived, so nothing is acknowledged to
 * a caller before the server stored it; the client reconnects on its own (without limit) and
 * buffers what is sent meanwhile.
 */
export class Session {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly layout: Layout,
    readonly options: NatsAgentOptions,
  ) {}

  static async open(options: NatsAgentOptions, connectionName: string): Promise<Session> {
    const nc = await connect({
      servers: options.server,
      ...(options.user ? { user: options.user, pass: options.pass } : {}),
      ...(options.token ? { token: options.token } : {}),
      name: `jobmaster-agent-${connectionName}`,
      timeout: options.timeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // By default the client captures a stack trace for every request and publish up front (in
      // case it times out): a quarter of the producer's CPU in a profile of single-job enqueues.
      // Our errors name the connection and the operation instead.
      noAsyncTraces: true,
    })
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs })
      return new Session(nc, jsm.jetstream(), jsm, new Layout(options.prefix), options)
    } catch (error) {
      await nc.close()
      throw error
    }
  }

  private readonly pendingSignals = new Set<string>()

  /**
   * Send a wake-up hint (an empty core NATS message) at the end of this event-loop turn, once
   * however many writes asked for it meanwhile: concurrent enqueues would otherwise double the
   * messages the server handles. A hint may be lost anyway; consumers also poll.
   */
  signal(subject: string): void {
    if (this.pendingSignals.size === 0) {
      setImmediate(() => {
        for (const pending of this.pendingSignals) if (!this.nc.isClosed()) this.nc.publish(pending)
        this.pendingSignals.clear()
      })
    }
    this.pendingSignals.add(subject)
  }

  get timeoutMs(): number {
    return this.options.timeoutMs
  }

  /** Refuse a body the server would reject (its max_payload, read from the connection info). */
  checkSize(what: string, bytes: number): void {
    const max = this.nc.info?.max_payload ?? 1024 ** 2
    if (bytes + HEADER_ALLOWANCE > max) {
      throw new Error(`${what} is ${bytes} bytes; the NATS server accepts messages up to ${max} bytes (max_payload) including ${HEADER_ALLOWANCE} bytes of headers`)
    }
  }

  /**
   * Write `subject` only if its last stored sequence is `expectedSeq` (0: the subject is empty).
   * Returns null when it is not: a compare-and-set on one subject, as a KV `create`/`update` does.
   */
  async writeIf(subject: string, data: Uint8Array | string, expectedSeq: number, headers?: MsgHdrs): Promise<PubAck | null> {
    try {
      return await this.js.publish(subject, data, { expect: { lastSubjectSequence: expectedSeq }, timeout: this.timeoutMs, ...(headers ? { headers } : {}) })
    } catch (error) {
      if (apiCode(error) === JetStreamApiCodes.StreamWrongLastSequence) return null
      throw error
    }
  }

  /** The current message of a subject (streams with direct get), or null. */
  last(stream: string, subject: string): Promise<StoredMsg | null> {
    return this.jsm.direct.getMessage(stream, { last_by_subj: subject })
  }

  bySeq(stream: string, seq: number): Promise<StoredMsg | null> {
    return this.jsm.direct.getMessage(stream, { seq })
  }

  /** Delete one stored message; false when it is already gone. */
  async remove(stream: string, seq: number): Promise<boolean> {
    try {
      return await this.jsm.streams.deleteMessage(stream, seq, false)
    } catch (error) {
      if (MESSAGE_GONE.includes(apiCode(error) ?? 0)) return false
      throw error
    }
  }

  /**
   * Purge the messages of a subject filter. NATS 2.9 resets the delivery state of every consumer
   * whose filter overlaps a filtered purge (undelivered messages are skipped for good), so this is
   * used only where no consumer is affected: consumer-less streams, and a bucket's own consumer
   * when the whole bucket is emptied.
   */
  async purge(stream: string, filter: string): Promise<number> {
    return (await this.jsm.streams.purge(stream, { filter })).purged
  }

  /** Create a stream, or bring an existing one to this configuration (limits may change; retention may not). */
  async ensureStream(config: Partial<StreamConfig> & { name: string }): Promise<void> {
    try {
      await this.jsm.streams.add(config)
    } catch (error) {
      if (apiCode(error) !== STREAM_NAME_IN_USE) throw error
      await this.jsm.streams.update(config.name, config)
    }
  }

  /** Create a durable consumer, or bring an existing one to this configuration. */
  async ensureConsumer(stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
    try {
      await this.jsm.consumers.add(stream, config)
    } catch (error) {
      if (!CONSUMER_EXISTS.includes(apiCode(error) ?? 0)) throw error
      await this.jsm.consumers.update(stream, config.durable_name, config)
    }
  }

  /** Subjects (with counts) of a stream under a filter: one request, no consumer involved. */
  async subjects(stream: string, filter: string): Promise<string[]> {
    const info = await this.jsm.streams.info(stream, { subjects_filter: filter })
    return Object.keys(info.state.subjects ?? {})
  }

  async close(): Promise<void> {
    await this.nc.flush().catch(() => {})
    await this.nc.close()
  }
}

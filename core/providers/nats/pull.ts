import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node'

/**
 * One message delivered by a pull consumer, with the acknowledgements the store uses.
 * (The client's own JsMsg is only produced by its `fetch`, which cannot pull without waiting.)
 */
export class Delivery {
  private constructor(
    private readonly msg: Msg,
    /** Stream sequence: identifies the stored message. */
    readonly streamSeq: number,
  ) {}

  /** Parse the ack subject `$JS.ACK.<stream>.<consumer>.<delivered>.<streamSeq>.<consumerSeq>.<time>.<pending>[…]`. */
  static from(msg: Msg): Delivery {
    const tokens = (msg.reply ?? '').split('.')
    // The v2 form inserts domain and account hash after `$JS.ACK` and appends a token.
    const at = tokens.length >= 12 ? 4 : 2
    const streamSeq = Number(tokens[at + 3])
    if (tokens[0] !== '$JS' || tokens[1] !== 'ACK' || !Number.isSafeInteger(streamSeq)) throw new Error(`not a JetStream delivery (reply subject "${msg.reply ?? ''}")`)
    return new Delivery(msg, streamSeq)
  }

  header(name: string): string | undefined {
    return this.msg.headers?.get(name) || undefined
  }

  text(): string {
    return this.msg.string()
  }

  ack(): void {
    this.msg.respond('+ACK')
  }

  /** Acknowledge and wait for the server to confirm it. */
  async ackConfirmed(nc: NatsConnection, timeoutMs: number): Promise<void> {
    await nc.request(this.msg.reply!, '+ACK', { timeout: timeoutMs })
  }

  /** Give back for immediate redelivery and wait until the server took it back (a pull right after sees it). */
  async nakConfirmed(nc: NatsConnection, timeoutMs: number): Promise<void> {
    await nc.request(this.msg.reply!, '-NAK', { timeout: timeoutMs })
  }

  /** Give the message back for redelivery, now or after `delayMs`. */
  nak(delayMs = 0): void {
    this.msg.respond(delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : '-NAK')
  }

  /** Still being worked on: restart the consumer's ack wait. */
  working(): void {
    this.msg.respond('+WPI')
  }

  /** Never deliver again. */
  term(): void {
    this.msg.respond('+TERM')
  }
}

/**
 * Ask a durable pull consumer for up to `batch` messages without waiting for more than are
 * available (`no_wait`): the request is finished on the server when this returns, so no message
 * is ever delivered to a listener that has gone. Concurrent callers get disjoint messages.
 */
export async function pullAvailable(nc: NatsConnection, stream: string, consumer: string, batch: number, timeoutMs: number): Promise<Delivery[]> {
  const inbox = createInbox()
  const sub = nc.subscribe(inbox)
  const got: Delivery[] = []
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    sub.unsubscribe()
  }, timeoutMs)
  try {
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch, no_wait: true }), { reply: inbox })
    for await (const msg of sub) {
      const code = msg.headers?.code ?? 0
      if (code === 404 || code === 408) break // no (more) messages: the request is over
      if (code !== 0) throw new Error(`pull from consumer "${consumer}" refused: ${code} ${msg.headers?.description ?? ''}`.trim())
      got.push(Delivery.from(msg))
      if (got.length === batch) break
    }
  } catch (error) {
    for (const d of got) d.nak()
    throw error
  } finally {
    clearTimeout(timer)
    sub.unsubscribe()
  }
  if (timedOut) {
    // Give back what arrived so it need not wait out the ack wait.
    for (const d of got) d.nak()
    throw new Error(`pull from consumer "${consumer}" of stream "${stream}" got no answer within ${timeoutMs} ms (the consumer does not exist, or the server is unreachable)`)
  }
  return got
}

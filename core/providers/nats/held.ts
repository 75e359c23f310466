import type { Delivery } from './pull.js'

interface Held {
  delivery: Delivery
  /** Wall-clock ms when the claim ends and the message is given back; Infinity: until released. */
  until: number
  touchedAt: number
}

/**
 * Deliveries this process holds un-acknowledged. A consumer's ack wait is fixed when it is
 * created, while callers choose a lease per call, so the lease is emulated here: in-progress
 * acks (`working()`) every half ack wait keep a held message from being redelivered, and at the
 * end of its lease an unreleased message is nak'ed so another consumer gets it at once. If this
 * process dies, the server redelivers after at most one ack wait.
 */
export class HeldDeliveries {
  private readonly held = new Map<string, Held>()
  private timer: NodeJS.Timeout | null = null
  private readonly tickMs: number

  constructor(private readonly ackWaitMs: number) {
    this.tickMs = Math.min(250, ackWaitMs / 4)
  }

  hold(key: string, delivery: Delivery, until = Number.POSITIVE_INFINITY): void {
    this.held.set(key, { delivery, until, touchedAt: Date.now() })
    this.timer ??= setInterval(() => this.tick(), this.tickMs).unref()
  }

  /** Stop holding `key` (its caller settles the message) and return its delivery. */
  release(key: string): Delivery | undefined {
    const entry = this.held.get(key)
    this.held.delete(key)
    this.stopIfIdle()
    return entry?.delivery
  }

  releaseWhere(matches: (key: string) => boolean): void {
    for (const key of [...this.held.keys()]) if (matches(key)) this.held.delete(key)
    this.stopIfIdle()
  }

  /** Give every held message back (closing the store). */
  giveBackAll(): void {
    for (const { delivery } of this.held.values()) delivery.nak()
    this.held.clear()
    this.stopIfIdle()
  }

  private tick(): void {
    const now = Date.now()
    for (const [key, entry] of this.held) {
      if (entry.until <= now) {
        entry.delivery.nak()
        this.held.delete(key)
      } else if (now - entry.touchedAt >= this.ackWaitMs / 2) {
        entry.delivery.working()
        entry.touchedAt = now
      }
    }
    this.stopIfIdle()
  }

  private stopIfIdle(): void {
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }
}

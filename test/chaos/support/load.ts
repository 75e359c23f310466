import { setTimeout as delay } from 'node:timers/promises'
import { TransportUnavailableError } from '../../../core/errors.js'
import type { Producer } from '../../../core/producer.js'

export interface LoadResult {
  /** Ids of the jobs a producer answered for (202): the denominator of every loss count. */
  accepted: string[]
  /** Batches refused whole (transport unavailable), each retried later like a client would. */
  refusals: number
  /** Longest time from a refusal to the next accepted batch. */
  longestRefusalMs: number
}

export interface LoadOptions {
  total: number
  batch: number
  /** Pause between batches (paces the load so faults land in the middle of a run). */
  everyMs: number
  job: (index: number) => Record<string, unknown>
  /** Called after each accepted batch with the running total. */
  onAccepted?: (accepted: number) => void
  /** Stop early (the scenario is over). */
  stop?: () => boolean
}

/** Enqueue `total` jobs in batches through the producer (no master access), retrying refused batches. */
export async function produce(producer: Producer, o: LoadOptions): Promise<LoadResult> {
  const accepted: string[] = []
  let refusals = 0
  let refusedSince: number | null = null
  let longestRefusalMs = 0
  while (accepted.length < o.total && !o.stop?.()) {
    const size = Math.min(o.batch, o.total - accepted.length)
    const requests = Array.from({ length: size }, (_, i) => o.job(accepted.length + i))
    try {
      const jobs = await producer.enqueueBatch(requests)
      accepted.push(...jobs.map((j) => j.id))
      if (refusedSince !== null) longestRefusalMs = Math.max(longestRefusalMs, Date.now() - refusedSince)
      refusedSince = null
      o.onAccepted?.(accepted.length)
      await delay(o.everyMs)
    } catch (error) {
      if (!(error instanceof TransportUnavailableError)) throw error
      refusals++
      refusedSince ??= Date.now()
      await delay(200)
    }
  }
  return { accepted, refusals, longestRefusalMs }
}

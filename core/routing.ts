import type { Clock } from './clock.js'
import { laneKey, type BucketRecord, type Priority } from './model.js'
import type { MasterStore } from './stores/master.js'

/**
 * Active buckets of the cluster, cached briefly. Routing never trusts a stale cache for
 * correctness: the master write that assigns a job is what a drain reads, so a job routed to a
 * bucket that just left Active is relocated with it (or by the stranded-job repair).
 */
export class BucketDirectory {
  private cache: BucketRecord[] = []
  private loadedAt = 0
  private loading: Promise<void> | null = null

  constructor(
    private readonly master: MasterStore,
    private readonly clusterId: string,
    private readonly clock: Clock,
    private readonly ttlMs = 2000,
  ) {}

  invalidate(): void {
    this.loadedAt = 0
  }

  async active(): Promise<BucketRecord[]> {
    if (this.clock.now().getTime() - this.loadedAt > this.ttlMs) {
      this.loading ??= this.master
        .listBuckets(this.clusterId, { statuses: ['Active'] })
        .then((list) => {
          this.cache = list
          this.loadedAt = this.clock.now().getTime()
        })
        .finally(() => {
          this.loading = null
        })
      await this.loading
    }
    return this.cache
  }
}

export interface RouteWanted {
  priority: Priority
  lane: string | null
}

/**
 * Choose a bucket for a job among `candidates`: same priority and lane; the preferred owner's
 * buckets first (ingest keeps work local), otherwise spread at random.
 */
export function pickBucket(candidates: readonly BucketRecord[], job: RouteWanted, options: { preferOwner?: string; exclude?: string } = {}): BucketRecord | null {
  const lane = laneKey(job.lane)
  const matching = candidates.filter((b) => b.status === 'Active' && b.priority === job.priority && laneKey(b.lane) === lane && b.id !== options.exclude)
  if (matching.length === 0) return null
  const own = options.preferOwner ? matching.filter((b) => b.ownerId === options.preferOwner) : []
  const pool = own.length > 0 ? own : matching
  return pool[Math.floor(Math.random() * pool.length)]!
}

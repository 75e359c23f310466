import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { BucketJob } from '../model.js'
import { planAfterAttempt, type AttemptReport, type RetryPolicy } from '../outcomes.js'
import type { AgentStore } from '../stores/agent.js'
import type { JobMark, MasterStore } from '../stores/master.js'

export interface ReporterDeps {
  master: MasterStore
  agent: AgentStore
  clock: Clock
  logger: Logger
  policy: () => RetryPolicy
  /** A retried job went back into its bucket, due at `at`. */
  onRetry?: (job: BucketJob) => void
  /** Coalescing delay: marks and results arriving within it share one statement. */
  flushDelayMs?: number
  /**
   * Shortest time between the starts of two flushes. Under load, results accumulate meanwhile, so
   * a flush carries hundreds of jobs and the master cost per job falls as throughput rises.
   */
  minFlushIntervalMs?: number
}

/**
 * Batched result reporting. Marks (Queued, Processing) and attempt results accumulate and are
 * written as one guarded multi-row statement per kind; then the agent copies are settled in one
 * statement. Under load a flush carries hundreds of jobs, which is what keeps the master cost far
 * below one statement per job. A mark superseded before its flush is never sent.
 */
export class ResultReporter {
  private marks = new Map<string, JobMark>()
  private reports: AttemptReport[] = []
  /** Agent work still to do: copies to remove, retries to put back, retries of in-memory jobs to push. */
  private agentPending: { done: Array<{ bucketId: string; jobId: string }>; retried: BucketJob[]; pushed: BucketJob[] } = { done: [], retried: [], pushed: [] }
  private lastFlushStart = 0
  private timer: NodeJS.Timeout | null = null
  private flushing: Promise<void> | null = null
  private failures = 0
  private idleWaiters: Array<() => void> = []
  /** Jobs whose results were written, for metrics and tests. */
  reported = 0

  constructor(private readonly deps: ReporterDeps) {}

  mark(mark: JobMark): void {
    this.marks.set(mark.id, mark)
    this.schedule()
  }

  report(report: AttemptReport): void {
    this.reports.push(report)
    this.schedule()
  }

  /** Results not yet in the master; runners stop fetching when this grows (master unreachable). */
  get backlog(): number {
    return this.reports.length + this.marks.size
  }

  /** Resolves when everything handed to the reporter is written (or `timeoutMs` elapses). */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    if (this.isIdle()) return true
    this.schedule(0)
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.idleWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  private isIdle(): boolean {
    const agent = this.agentPending
    return this.backlog === 0 && agent.done.length + agent.retried.length + agent.pushed.length === 0 && !this.flushing
  }

  private schedule(delay = this.deps.flushDelayMs ?? 10): void {
    if (this.timer || this.flushing) return
    const spacing = this.lastFlushStart + (this.deps.minFlushIntervalMs ?? 50) - Date.now()
    this.timer = setTimeout(() => {
      this.timer = null
      this.lastFlushStart = Date.now()
      this.flushing = this.flush().finally(() => {
        this.flushing = null
        if (!this.isIdle()) {
          this.schedule(this.failures > 0 ? Math.min(5000, 100 * 2 ** this.failures) : 0)
        } else {
          for (const wake of this.idleWaiters.splice(0)) wake()
        }
      })
    }, Math.max(delay, spacing))
  }

  private async flush(): Promise<void> {
    const reports = this.reports.splice(0)
    const reported = new Set(reports.map((r) => r.job.id))
    const marks = [...this.marks.values()].filter((m) => !reported.has(m.id))
    this.marks.clear()
    const { master, agent, clock, logger } = this.deps
    const now = clock.now()
    const policy = this.deps.policy()
    const plans = reports.map((r) => planAfterAttempt(r, now, policy))
    let applied: Set<string>
    try {
      if (marks.length > 0) await master.markJobs(marks, now)
      applied = new Set(
        plans.length > 0
          ? await master.transitionJobs(
              plans.map((p) => p.transition),
              plans.map((p) => p.history),
              now,
            )
          : [],
      )
    } catch (error) {
      // Keep everything for the next flush; newer marks win over these older ones.
      for (const m of marks) if (!this.marks.has(m.id)) this.marks.set(m.id, m)
      this.reports.unshift(...reports)
      this.failures++
      logger.warn({ err: error, pending: this.backlog }, 'master unreachable: results kept in memory and retried')
      return
    }
    this.reported += reports.length
    plans.forEach((p, i) => {
      const inAgent = reports[i]!.inAgent !== false
      const retry = p.agent.kind === 'retry' && applied.has(p.transition.id) ? p.agent.job : null
      if (retry) (inAgent ? this.agentPending.retried : this.agentPending.pushed).push(retry)
      else if (inAgent) this.agentPending.done.push({ bucketId: p.history.bucketId!, jobId: p.transition.id })
    })
    const { done, retried, pushed } = this.agentPending
    this.agentPending = { done: [], retried: [], pushed: [] }
    try {
      await agent.settle(done, retried)
      await agent.pushToBuckets(pushed)
      this.failures = 0
      for (const job of [...retried, ...pushed]) this.deps.onRetry?.(job)
    } catch (error) {
      // Both writes are idempotent: keep everything and redo it.
      this.agentPending.done.push(...done)
      this.agentPending.retried.push(...retried)
      this.agentPending.pushed.push(...pushed)
      this.failures++
      logger.warn({ err: error }, 'agent unreachable: settlements kept in memory and retried')
    }
  }

  /** Stop timers (the process is going away without a graceful drain). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}

import * as v from 'valibot'
import type { Clock } from '../clock.js'
import { issuesFrom } from '../schemas.js'
import { storableErrorText, storableText, unstorableJson } from '../json-storable.js'
import type { JobRegistry } from '../definitions.js'
import type { Logger } from '../logger.js'
import { recordAttemptFinished, recordAttemptStarted } from '../metrics.js'
import { BASE_RUN_CAPACITY, type AttemptOutcome, type BucketJob, type BucketRecord } from '../model.js'
import type { AgentStore } from '../stores/agent.js'
import { createRunContext, type RunContext } from './job-context.js'
import type { ResultReporter } from './reporter.js'
import { Sleeper } from './sleeper.js'

export interface BucketRunnerOptions {
  bucket: BucketRecord
  workerId: string
  agent: AgentStore
  reporter: ResultReporter
  registry: JobRegistry
  clock: Clock
  logger: Logger
  batchSize: number
  parallelismFactor: number
  /** Fetch jobs due this far ahead and start them on an in-memory timer at their exact time. */
  prefetchMs?: number
  /** Longest idle wait between fetches (delayed jobs are picked up within it). */
  maxIdleMs?: number
  /** Stop fetching while this many results wait for the master (it is unreachable). */
  maxReporterBacklog?: number
  /** False while the cluster must run nothing (Passive or Archive mode). */
  canRun?: () => boolean
}

interface Running {
  job: BucketJob
  attempt: number
  startedAt: Date
  run: RunContext
  timer: NodeJS.Timeout
  settled: boolean
  finish: (outcome: AttemptOutcome, error: string | null, result: unknown, permanent?: boolean) => void
}

const MAX_RESULT_BYTES = 64 * 1024
/** How many finished deliveries a runner remembers, to ignore a late duplicate of one it already ran. */
const REMEMBER_FINISHED = 10_000

/**
 * The execution engine of one bucket: fetch due jobs in batches, keep at most 5 × run capacity
 * waiting in memory (backpressure: no fetch when full), run up to run capacity handlers at once,
 * enforce each job's timeout through its AbortSignal, and hand results to the batched reporter.
 * There is no pause between jobs: a freed slot starts the next due job at once.
 */
export class BucketRunner {
  readonly capacity: number
  readonly waitingCapacity: number
  /** Fetched jobs not yet started, in due order. */
  private readonly waiting: BucketJob[] = []
  private readonly waitingIds = new Set<string>()
  private readonly running = new Map<string, Running>()
  /** Jobs handed over in memory by this worker's ingest: the agent holds no copy of them. */
  private readonly notInAgent = new Set<string>()
  /** `jobId:attempts` of deliveries already run: a retry arrives with a higher attempt count and runs. */
  private readonly finished = new Set<string>()
  private readonly sleeper = new Sleeper()
  private state: 'running' | 'completing' | 'stopped' = 'running'
  private dueTimer: NodeJS.Timeout | null = null
  private loop: Promise<void> | null = null
  /** Called when the last running handler has finished (a graceful stop waits for it). */
  private onIdle: (() => void) | null = null
  private readonly prefetchMs: number
  private readonly maxIdleMs: number
  /** Attempts started, for metrics and tests. */
  started = 0

  constructor(private readonly o: BucketRunnerOptions) {
    this.capacity = BASE_RUN_CAPACITY[o.bucket.priority] * o.parallelismFactor
    this.waitingCapacity = 5 * this.capacity
    this.prefetchMs = o.prefetchMs ?? 2000
    this.maxIdleMs = o.maxIdleMs ?? 1000
  }

  get bucketId(): string {
    return this.o.bucket.id
  }

  get load(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running.size }
  }

  start(): void {
    this.loop ??= this.fetchLoop()
  }

  /** New work may be there (a transport hint, an ingest into this bucket, a retry coming due). */
  wake(): void {
    this.sleeper.wake()
  }

  /** Wake the fetch loop when `at` comes (a retry put back with a short back-off). */
  wakeAt(at: Date): void {
    const delay = Math.max(0, at.getTime() - this.o.clock.now().getTime() - this.prefetchMs)
    setTimeout(() => this.wake(), delay).unref()
  }

  /**
   * Take jobs straight from this worker's ingest (the master already records them in this bucket,
   * so recovery is unchanged), as many as the waiting line has room for; the rest are returned for
   * the agent. Saves the agent push, fetch and removal of every job taken.
   */
  offer(jobs: BucketJob[]): BucketJob[] {
    if (this.state !== 'running' || this.o.canRun?.() === false) return jobs
    // Like a fetch: only jobs due within the prefetch window; later ones wait in the agent.
    const horizon = this.o.clock.now().getTime() + this.prefetchMs
    let room = Math.max(0, this.waitingCapacity - this.waiting.length)
    const taken: BucketJob[] = []
    const rest: BucketJob[] = []
    for (const job of jobs) {
      if (room > 0 && job.scheduledAt.getTime() <= horizon) {
        taken.push(job)
        room--
      } else {
        rest.push(job)
      }
    }
    for (const job of taken) this.notInAgent.add(job.id)
    this.accept(taken)
    return rest
  }

  /** Jobs this runner holds (waiting or running). */
  jobIds(): string[] {
    return [...this.running.keys(), ...this.waiting.map((j) => j.id)]
  }

  private async fetchLoop(): Promise<void> {
    let idle = 25
    while (this.state === 'running') {
      const free = this.waitingCapacity - this.waiting.length
      if (free <= 0 || this.o.reporter.backlog > (this.o.maxReporterBacklog ?? 20_000) || this.o.canRun?.() === false) {
        await this.sleeper.sleep(this.maxIdleMs)
        continue
      }
      const limit = Math.min(this.o.batchSize, free)
      let jobs: BucketJob[]
      try {
        const now = this.o.clock.now()
        jobs = await this.o.agent.fetchDue(this.bucketId, new Date(now.getTime() + this.prefetchMs), limit, now)
      } catch (error) {
        this.o.logger.warn({ err: error, bucket: this.bucketId }, 'fetch from agent failed; retrying')
        await this.sleeper.sleep(Math.min(5000, (idle = Math.min(idle * 2, 5000))))
        continue
      }
      if (this.state !== 'running') {
        // Stopped while fetching: these stay in the agent as fetched; the hand-back relocates them.
        break
      }
      if (jobs.length > 0) {
        this.accept(jobs)
        idle = 25
        if (jobs.length === limit) continue
      }
      await this.sleeper.sleep(idle)
      idle = Math.min(idle * 2, this.maxIdleMs)
    }
  }

  private accept(jobs: BucketJob[]): void {
    const now = this.o.clock.now()
    for (const job of jobs) {
      if (this.running.has(job.id) || this.waitingIds.has(job.id) || this.finished.has(deliveryKey(job))) continue
      this.o.reporter.mark({ id: job.id, bucketId: job.bucketId, status: 'Queued', attempt: job.attempts, workerId: this.o.workerId, at: now })
      this.enqueueWaiting(job)
    }
    this.dispatch()
  }

  /** Insert in due order; fetches arrive in due order, so the usual place is the end. */
  private enqueueWaiting(job: BucketJob): void {
    this.waitingIds.add(job.id)
    const due = job.scheduledAt.getTime()
    const last = this.waiting[this.waiting.length - 1]
    if (!last || last.scheduledAt.getTime() <= due) {
      this.waiting.push(job)
      return
    }
    let lo = 0
    let hi = this.waiting.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.waiting[mid]!.scheduledAt.getTime() <= due) lo = mid + 1
      else hi = mid
    }
    this.waiting.splice(lo, 0, job)
  }

  private takeWaiting(): BucketJob {
    const job = this.waiting.shift()!
    this.waitingIds.delete(job.id)
    return job
  }

  private clearWaiting(): void {
    this.waiting.splice(0)
    this.waitingIds.clear()
  }

  /** Start every due job a free slot allows; arm a timer for the next one not yet due. */
  private dispatch(): void {
    if (this.state === 'stopped') return
    const now = this.o.clock.now().getTime()
    while (this.running.size < this.capacity && this.waiting.length > 0 && this.waiting[0]!.scheduledAt.getTime() <= now) {
      this.run(this.takeWaiting())
    }
    if (this.dueTimer) clearTimeout(this.dueTimer)
    this.dueTimer = null
    const next = this.waiting[0]
    if (next && this.running.size < this.capacity && this.state === 'running') {
      this.dueTimer = setTimeout(() => this.dispatch(), Math.max(1, next.scheduledAt.getTime() - now))
    }
  }

  private run(job: BucketJob): void {
    const { clock, reporter, registry, workerId } = this.o
    const attempt = job.attempts + 1
    const startedAt = clock.now()
    const entry: Running = {
      job,
      attempt,
      startedAt,
      run: createRunContext(job, attempt, this.o.logger),
      timer: setTimeout(() => {
        entry.run.abort(new Error(`timed out after ${job.timeoutMs} ms`))
        entry.finish('TimedOut', `timed out after ${job.timeoutMs} ms`, null)
      }, job.timeoutMs),
      settled: false,
      finish: (outcome, error, result, permanent) => {
        if (entry.settled) return
        entry.settled = true
        clearTimeout(entry.timer)
        this.running.delete(job.id)
        this.remember(deliveryKey(job))
        const inAgent = !this.notInAgent.delete(job.id)
        reporter.report({ job, attempt, workerId, startedAt, endedAt: clock.now(), outcome, error, result: safeResult(result), permanent, inAgent })
        recordAttemptFinished(job.definition, outcome)
        if (this.running.size === 0) this.onIdle?.()
        this.dispatch()
        // Refill before the waiting line runs dry, so slots never idle while the agent has work.
        if (this.waiting.length <= this.waitingCapacity / 2) this.wake()
      },
    }
    this.running.set(job.id, entry)
    this.started++
    recordAttemptStarted(this.o.bucket.agentConnection, job.priority, job.scheduledAt, startedAt)
    reporter.mark({ id: job.id, bucketId: job.bucketId, status: 'Processing', attempt, workerId, at: startedAt })

    const definition = registry.findDefinition(job.definition)
    const handler = registry.handler(job.definition)
    if (!definition || !handler) {
      entry.finish('Failed', `no handler for job definition "${job.definition}" on worker ${workerId}`, null)
      return
    }
    const parsed = v.safeParse(definition.schema, job.payload)
    if (!parsed.success) {
      const detail = storableText(issuesFrom(parsed.issues, 'payload').map((i) => `${i.path}: ${i.message}`).join('; '))
      entry.finish('Failed', `payload no longer matches the schema of "${job.definition}": ${detail}`, null, true)
      return
    }
    Promise.resolve()
      .then(() => handler(parsed.output, entry.run.ctx))
      .then(
        (result) => entry.finish('Succeeded', null, result),
        (error: unknown) => {
          // An abort we caused (cancel, stop) already settled the attempt; this is its echo.
          entry.finish('Failed', storableErrorText(error), null)
        },
      )
  }

  private remember(key: string): void {
    this.finished.add(key)
    if (this.finished.size > REMEMBER_FINISHED) this.finished.delete(this.finished.values().next().value!)
  }

  /** A job was cancelled in the master: abort it if running, drop it if waiting. */
  cancel(jobId: string): boolean {
    const running = this.running.get(jobId)
    if (running) {
      running.run.abort(new Error('cancelled'))
      running.finish('Cancelled', 'cancelled while running', null)
      return true
    }
    if (this.waitingIds.delete(jobId)) {
      this.waiting.splice(this.waiting.findIndex((w) => w.id === jobId), 1)
      this.notInAgent.delete(jobId)
      return true
    }
    return false
  }

  /**
   * Graceful stop: no more fetching; jobs not started are dropped from memory (the master still
   * records them in this bucket, and the hand-back moves them on); running handlers get up to
   * `graceMs` to finish, then are aborted and recorded as Interrupted.
   */
  async complete(graceMs: number): Promise<void> {
    if (this.state === 'running') this.state = 'completing'
    this.wake()
    if (this.dueTimer) clearTimeout(this.dueTimer)
    this.clearWaiting()
    const all = new Promise<'done'>((resolve) => {
      if (this.running.size === 0) resolve('done')
      else this.onIdle = () => resolve('done')
    })
    const graceOver = new Promise<'grace'>((resolve) => setTimeout(() => resolve('grace'), graceMs).unref())
    if ((await Promise.race([all, graceOver])) === 'grace') {
      for (const r of [...this.running.values()]) {
        r.run.abort(new Error('worker stopping: grace period over'))
        r.finish('Interrupted', 'interrupted: the worker stopped and its grace period ran out', null)
      }
    }
    await this.loop
    this.state = 'stopped'
  }

  /** Immediate stop (this worker was declared dead: its buckets are being drained elsewhere). */
  halt(): void {
    this.state = 'stopped'
    if (this.dueTimer) clearTimeout(this.dueTimer)
    this.clearWaiting()
    for (const r of [...this.running.values()]) {
      r.settled = true
      clearTimeout(r.timer)
      r.run.abort(new Error('worker declared dead'))
    }
    this.running.clear()
    this.wake()
  }
}

function deliveryKey(job: BucketJob): string {
  return `${job.id}:${job.attempts}`
}

/**
 * Results go to the history as JSON; keep them serializable, bounded and storable by the master
 * (one it refused would fail every flush of this worker's results).
 */
function safeResult(result: unknown): unknown {
  if (result === undefined) return null
  const unstorable = unstorableJson(result, 'result')
  if (unstorable) return { unstorable: `${unstorable.path} ${unstorable.message}` }
  try {
    const text = JSON.stringify(result)
    if (text === undefined) return null
    if (Buffer.byteLength(text) > MAX_RESULT_BYTES) return { truncated: true, bytes: Buffer.byteLength(text) }
    return result
  } catch (error) {
    return { unserializable: storableErrorText(error) }
  }
}

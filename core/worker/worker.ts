import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { ClusterContext } from '../cluster.js'
import type { WorkerConfig } from '../config.js'
import { assignHeldJobs } from '../coordinator/assign-held-jobs.js'
import { drainLostBuckets } from '../coordinator/drain-lost-buckets.js'
import { enforceRetention } from '../coordinator/enforce-retention.js'
import { protectConnections, recordConnectionsSeen } from '../coordinator/protect-connections.js'
import { ingestOrphanedInboxes } from '../coordinator/ingest-orphaned-inboxes.js'
import { planSchedules } from '../coordinator/plan-schedules.js'
import { syncStaticSchedules } from '../schedules/static-sync.js'
import { reapDeadWorkers } from '../coordinator/reap-dead-workers.js'
import { relocateBucketJobs } from '../coordinator/relocate-bucket-jobs.js'
import { repairStrandedJobs } from '../coordinator/repair-stranded-jobs.js'
import { retireBucket } from '../coordinator/retire-bucket.js'
import { ingestIsolatingRefusals } from '../ingest.js'
import type { Logger } from '../logger.js'
import { MODE_DUTIES, PRIORITIES, type BucketRecord } from '../model.js'
import type { AgentSignal, AgentStore, InboxMessage } from '../stores/agent.js'
import { BucketRunner } from './bucket-runner.js'
import { ResultReporter } from './reporter.js'
import { Sleeper } from './sleeper.js'

/** Intervals of the periodic duties (tests shorten them). */
export interface WorkerTimings {
  assignHeldMs: number
  /** How often coordinating workers plan recurring schedules (cheap when none is due: one claim statement). */
  planSchedulesMs: number
  reapMs: number
  drainMs: number
  repairMs: number
  orphanedInboxMs: number
  retentionMs: number
  settingsRefreshMs: number
  /** How often the worker records its connection as seen, and coordinating workers apply connection protection. */
  connectionsMs: number
  /** Longest idle wait of fetch and ingest loops. */
  maxIdleMs: number
  reporterFlushMs: number
}

export const DEFAULT_TIMINGS: WorkerTimings = {
  assignHeldMs: 1000,
  planSchedulesMs: 1000,
  reapMs: 2000,
  drainMs: 2000,
  repairMs: 30_000,
  orphanedInboxMs: 10_000,
  retentionMs: 10 * 60_000,
  settingsRefreshMs: 10_000,
  connectionsMs: 60_000,
  maxIdleMs: 1000,
  reporterFlushMs: 10,
}

export type WorkerState = 'new' | 'running' | 'stopping' | 'stopped'

/**
 * A worker process's engine: registers, heartbeats, owns buckets on its agent connection (one per
 * priority × configured quantity), ingests the connection's inbox, runs jobs, reports results in
 * batches, and performs the coordinator duties its mode includes (SPEC §3 worker table).
 */
export class Worker {
  id: string
  readonly name: string
  private readonly agent: AgentStore
  private readonly duties: (typeof MODE_DUTIES)[keyof typeof MODE_DUTIES]
  private readonly timings: WorkerTimings
  private readonly logger: Logger
  private runners = new Map<string, BucketRunner>()
  private buckets: BucketRecord[] = []
  private reporter: ResultReporter | null = null
  private readonly intervals: NodeJS.Timeout[] = []
  /** Two ingest loops: one claims the next inbox batch while the other writes the master. */
  private readonly ingestSleepers = [new Sleeper(), new Sleeper()]
  private ingestLoops: Array<Promise<void>> = []
  private unsubscribe: (() => Promise<void>) | null = null
  private stateValue: WorkerState = 'new'
  /** This worker's unbroken contact with the master, from its heartbeats (see `watchingSince`). */
  private masterContact: { since: Date; last: Date } | null = null
  private stoppedResolve!: () => void
  /** Resolves when the worker has stopped (gracefully, or on a remote stop request). */
  readonly stopped: Promise<void> = new Promise((resolve) => (this.stoppedResolve = resolve))
  /** Jobs ingested from the inbox by this worker. */
  ingested = 0

  constructor(
    private readonly ctx: ClusterContext,
    private readonly config: WorkerConfig,
    timings: Partial<WorkerTimings> = {},
  ) {
    this.name = config.name ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 30)}-${process.pid}`
    this.id = newWorkerId(this.name)
    this.agent = ctx.agent(config.agent)
    this.duties = MODE_DUTIES[config.mode]
    this.timings = { ...DEFAULT_TIMINGS, ...timings }
    this.logger = ctx.logger.child({ worker: this.name, mode: config.mode, agent: config.agent })
  }

  get state(): WorkerState {
    return this.stateValue
  }

  get ownBuckets(): readonly BucketRecord[] {
    return this.buckets
  }

  stats() {
    let started = 0
    let waiting = 0
    let running = 0
    for (const r of this.runners.values()) {
      started += r.started
      waiting += r.load.waiting
      running += r.load.running
    }
    return { id: this.id, ingested: this.ingested, started, reported: this.reporter?.reported ?? 0, waiting, running, buckets: this.buckets.length }
  }

  async start(): Promise<void> {
    if (this.stateValue !== 'new') throw new Error(`worker ${this.id} was already started`)
    this.stateValue = 'running'
    // A coordinating process brings the schedules declared in its code into the master first.
    if (this.duties.coordinate && this.ctx.staticSchedules) await syncStaticSchedules(this.ctx, this.ctx.staticSchedules)
    await this.register()
    if (this.duties.execute) {
      this.reporter = new ResultReporter({
        master: this.ctx.master,
        agent: this.agent,
        clock: this.ctx.clock,
        logger: this.logger,
        flushDelayMs: this.timings.reporterFlushMs,
        policy: () => ({
          agentConnection: this.agent.name,
          baseDelayMs: this.ctx.config.retryBaseDelayMs,
          maxDelayMs: this.ctx.config.retryMaxDelayMs,
          lookAheadMs: this.ctx.lookAheadMs(this.agent),
        }),
        onRetry: (job) => this.runners.get(job.bucketId)?.wakeAt(job.scheduledAt),
      })
      await this.createBuckets()
      this.unsubscribe = await this.agent.subscribe((signal) => this.onSignal(signal))
      this.ingestLoops = this.ingestSleepers.map((sleeper) => this.runIngest(sleeper))
    }
    // These three keep running in Archive mode: liveness and settings, not job data.
    this.every(this.ctx.config.heartbeatIntervalMs, 'heartbeat', () => this.heartbeat(), true)
    if (this.duties.execute) this.every(this.ctx.config.heartbeatIntervalMs, 'cancellations', () => this.abortCancelledJobs())
    this.every(this.timings.settingsRefreshMs, 'settings', async () => void (await this.ctx.refreshSettings()), true)
    this.every(this.timings.connectionsMs, 'connections-seen', () => recordConnectionsSeen(this.ctx, this.drainableConnections()), true)
    if (this.duties.coordinate) {
      this.every(this.timings.planSchedulesMs, 'plan-schedules', () => planSchedules(this.ctx))
      this.every(this.timings.connectionsMs, 'connection-protection', () => protectConnections(this.ctx))
      this.every(this.timings.assignHeldMs, 'assign', () => assignHeldJobs(this.ctx))
      this.every(this.timings.repairMs, 'repair', () => repairStrandedJobs(this.ctx))
      this.every(this.timings.orphanedInboxMs, 'orphaned-inbox', () => ingestOrphanedInboxes(this.ctx, this.id))
      this.every(this.timings.retentionMs, 'retention', () => enforceRetention(this.ctx))
    }
    if (this.duties.drain) {
      this.every(this.timings.reapMs, 'reap', () => reapDeadWorkers(this.ctx, { watchingSince: this.watchingSince() }))
      this.every(this.timings.drainMs, 'drain', () => drainLostBuckets(this.ctx, this.id, this.drainableConnections()))
    }
    this.logger.info({ id: this.id, buckets: this.buckets.length }, 'worker started')
  }

  /** Full and Drain workers look after their own connection; a Coordinator after every reachable one. */
  private drainableConnections(): string[] {
    return this.config.mode === 'Coordinator' ? [...this.ctx.agents.keys()] : [this.agent.name]
  }

  private async register(): Promise<void> {
    const now = this.ctx.clock.now()
    await this.ctx.master.registerWorker({
      id: this.id,
      clusterId: this.ctx.clusterId,
      name: this.name,
      agentConnection: this.config.agent,
      lane: this.config.lane,
      mode: this.config.mode,
      heartbeatAt: now,
      startedAt: now,
      stopRequestedAt: null,
      host: hostname(),
      pid: process.pid,
    })
    this.masterContact = { since: now, last: now }
  }

  private async createBuckets(): Promise<void> {
    const now = this.ctx.clock.now()
    const buckets: BucketRecord[] = []
    for (const priority of PRIORITIES) {
      for (let i = 0; i < this.config.buckets[priority]; i++) {
        buckets.push({
          id: `${this.agent.name}:${this.config.lane ?? '-'}:${priority}:${randomBytes(5).toString('hex')}`,
          clusterId: this.ctx.clusterId,
          agentConnection: this.agent.name,
          priority,
          lane: this.config.lane,
          status: 'Active',
          ownerId: this.id,
          createdAt: now,
          statusChangedAt: now,
        })
      }
    }
    for (const b of buckets) await this.agent.createBucket(b.id)
    await this.ctx.master.createBuckets(buckets)
    this.ctx.directory.invalidate()
    this.buckets = buckets
    for (const bucket of buckets) {
      const runner = new BucketRunner({
        bucket,
        workerId: this.id,
        agent: this.agent,
        reporter: this.reporter!,
        registry: this.ctx.registry,
        clock: this.ctx.clock,
        logger: this.logger,
        batchSize: this.config.batchSize,
        parallelismFactor: this.config.parallelismFactor,
        maxIdleMs: this.timings.maxIdleMs,
        canRun: () => this.ctx.settings.mode === 'Active',
      })
      this.runners.set(bucket.id, runner)
      runner.start()
    }
  }

  private onSignal(signal: AgentSignal): void {
    if (signal.kind === 'inbox') for (const sleeper of this.ingestSleepers) sleeper.wake()
    else if (signal.kind === 'bucket') this.runners.get(signal.bucketId)?.wake()
    else this.runners.get(signal.bucketId)?.cancel(signal.jobId)
  }

  private async runIngest(sleeper: Sleeper): Promise<void> {
    let idle = 25
    // A batch whose ingest failed (the master was unreachable) is retried while its lease lasts,
    // rather than left to wait out the lease while this loop claims more it cannot ingest either.
    let held: { messages: InboxMessage[]; leaseEndsAt: number } | null = null
    // If this worker dies holding a claim, the messages come back when it would be declared dead.
    const leaseMs = this.ctx.config.workerDeadAfterMs
    while (this.stateValue === 'running') {
      if (this.ctx.settings.mode === 'Archive') {
        await sleeper.sleep(this.timings.maxIdleMs)
        continue
      }
      try {
        const now = this.ctx.clock.now()
        if (held && held.leaseEndsAt <= now.getTime()) held = null
        const messages: InboxMessage[] = held?.messages ?? (await this.agent.claimInbox(this.config.batchSize, leaseMs, this.id, now))
        if (messages.length > 0) {
          held ??= { messages, leaseEndsAt: now.getTime() + leaseMs }
          const { assigned } = await ingestIsolatingRefusals(this.ctx, this.agent, messages, {
            preferOwner: this.id,
            handOver: (bucketId, jobs) => this.runners.get(bucketId)?.offer(jobs) ?? jobs,
          })
          held = null
          this.ingested += messages.length
          for (const bucketId of new Set(assigned.map((j) => j.bucketId))) this.runners.get(bucketId)?.wake()
          idle = 25
          if (messages.length === this.config.batchSize) continue
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'ingest failed; the claimed messages are retried while their lease lasts')
        idle = Math.min(idle * 4, 5000)
      }
      await sleeper.sleep(idle)
      idle = Math.min(idle * 2, this.timings.maxIdleMs)
    }
  }

  private async heartbeat(): Promise<void> {
    let answer: Awaited<ReturnType<typeof this.ctx.master.heartbeat>>
    try {
      answer = await this.ctx.master.heartbeat(this.id, this.ctx.clock.now())
    } catch (error) {
      this.masterContact = null
      throw error
    }
    const back = this.ctx.clock.now()
    // A heartbeat that comes back more than two periods after the previous one ends the streak:
    // the master was out of reach in between, however the query itself ended.
    const contact = this.masterContact
    this.masterContact = contact && back.getTime() - contact.last.getTime() <= 2 * this.ctx.config.heartbeatIntervalMs ? { since: contact.since, last: back } : { since: back, last: back }
    if (this.stateValue !== 'running') return
    if (answer === null) {
      await this.rejoin()
    } else if (answer.stopRequested) {
      this.logger.info('stop requested through the cluster; stopping gracefully')
      void this.stop()
    }
  }

  /**
   * Since when this worker has reached the master without a gap: what its reaper may count
   * other workers' silence from (null while the master does not answer its heartbeats).
   */
  private watchingSince(): Date | null {
    const contact = this.masterContact
    if (!contact || this.ctx.clock.now().getTime() - contact.last.getTime() > 2 * this.ctx.config.heartbeatIntervalMs) return null
    return contact.since
  }

  /**
   * Cancellation reaches a running handler through the transport's signal where there is one
   * (PostgreSQL NOTIFY, NATS); MySQL and SQL Server cannot push, and a signal may be lost. So the
   * worker also asks the master, once per heartbeat period in one statement, which of the jobs it
   * holds were cancelled, and aborts them.
   */
  private async abortCancelledJobs(): Promise<void> {
    const held = [...this.runners.values()].flatMap((r) => r.jobIds().map((id) => ({ id, runner: r })))
    if (held.length === 0) return
    const cancelled = new Set((await this.ctx.master.getJobs(this.ctx.clusterId, held.map((h) => h.id))).filter((j) => j.status === 'Cancelled').map((j) => j.id))
    for (const h of held) if (cancelled.has(h.id)) h.runner.cancel(h.id)
  }

  /**
   * This worker was declared dead (it stopped heartbeating long enough, e.g. a long pause): its
   * buckets are being drained elsewhere. Drop all in-memory work at once and come back as a new
   * worker with new buckets.
   */
  private async rejoin(): Promise<void> {
    this.logger.error({ id: this.id }, 'this worker was declared dead by the cluster; dropping its buckets and rejoining')
    for (const runner of this.runners.values()) runner.halt()
    this.runners.clear()
    this.buckets = []
    this.id = newWorkerId(this.name)
    await this.register()
    if (this.duties.execute) await this.createBuckets()
  }

  /** Run a duty periodically, never overlapping itself; an Archive (read-only) cluster skips job-data duties. */
  private every(ms: number, duty: string, work: () => Promise<unknown>, runsInArchive = false): void {
    let busy = false
    const timer = setInterval(() => {
      if (busy || this.stateValue !== 'running') return
      if (!runsInArchive && this.ctx.settings.mode === 'Archive') return
      busy = true
      work()
        .catch((error) => this.logger.error({ err: error, duty }, 'periodic duty failed'))
        .finally(() => (busy = false))
    }, ms)
    this.intervals.push(timer)
  }

  /**
   * Graceful stop: buckets → Completing, no more intake; running handlers finish within the grace
   * period (then are aborted and recorded Interrupted); results are flushed; every job still in
   * the buckets is handed back (to other active buckets or HeldOnMaster); buckets are retired;
   * the worker record is removed.
   */
  async stop(): Promise<void> {
    if (this.stateValue !== 'running') return this.stopped
    this.stateValue = 'stopping'
    for (const t of this.intervals) clearInterval(t)
    for (const sleeper of this.ingestSleepers) sleeper.wake()
    const now = this.ctx.clock.now()
    try {
      for (const bucket of this.buckets) {
        await this.ctx.master.transitionBucket(bucket.id, { from: ['Active'], expectOwner: this.id, to: 'Completing' }, now)
      }
      this.ctx.directory.invalidate()
      await Promise.all(this.ingestLoops)
      await Promise.all([...this.runners.values()].map((r) => r.complete(this.config.gracePeriodMs)))
      if (this.reporter && !(await this.reporter.drain())) this.logger.error('some results could not be written before stopping')
      for (const bucket of this.buckets) {
        const moved = await relocateBucketJobs(this.ctx, bucket, false)
        await retireBucket(this.ctx, bucket, 'Completing', this.id)
        if (moved.moved + moved.held > 0) this.logger.info({ bucket: bucket.id, ...moved }, 'handed back unstarted jobs')
      }
      await this.ctx.master.deleteWorker(this.id)
    } catch (error) {
      // The master or agent failed mid-way: the reaper will mark these buckets Lost and another
      // worker drains them, so nothing is lost, only delayed.
      this.logger.error({ err: error }, 'graceful stop could not finish; remaining buckets will be recovered by the cluster')
    } finally {
      this.reporter?.dispose()
      await this.unsubscribe?.().catch(() => {})
      this.stateValue = 'stopped'
      this.stoppedResolve()
      this.logger.info({ id: this.id }, 'worker stopped')
    }
  }

  /** Stop at once without telling the cluster (a crash, as far as the cluster can see). */
  async halt(): Promise<void> {
    this.stateValue = 'stopped'
    for (const t of this.intervals) clearInterval(t)
    for (const runner of this.runners.values()) runner.halt()
    this.reporter?.dispose()
    for (const sleeper of this.ingestSleepers) sleeper.wake()
    await this.unsubscribe?.().catch(() => {})
    this.stoppedResolve()
  }
}

function newWorkerId(name: string): string {
  return `${name}.${randomBytes(4).toString('hex')}`
}

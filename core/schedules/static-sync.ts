import type { ClusterContext } from '../cluster.js'
import { ConfigError, type Issue } from '../errors.js'
import type { ScheduleRecord } from '../model.js'
import { signalBucketOwner } from '../operations.js'
import { newScheduleRecord, specToJson, staticScheduleId, type StaticSchedule } from './spec.js'

/** More static schedules than this in one cluster is a declaration bug, not a workload. */
const MAX_STATIC_SCHEDULES = 10_000
const ATTEMPTS = 3

export interface StaticSyncResult {
  created: string[]
  /** Declaration changed: re-planned from now (occurrences planned with the old one withdrawn). */
  changed: string[]
  /** Back in the code after being retired. */
  reactivated: string[]
  /** No longer in the code: Active or Paused ones became Inactive. */
  inactivated: string[]
  /** Last synced by a process started later than this one (newer code): left as they are. */
  ignored: string[]
}

/**
 * Sync the schedules declared in this process's code into the master; run at start-up by
 * coordinating processes (Full and Coordinator workers, the coordinator function).
 *
 * - A declared schedule is created if new (identity: its name). A changed declaration replaces
 *   the stored spec, withdraws the occurrences planned with the old one and plans afresh from
 *   now. Its status is left alone: one an operator paused or cancelled stays so (the .NET
 *   original re-activated it at every boot); only one this sync had retired (Inactive), or a
 *   Completed one whose declaration changed, becomes Active again.
 * - A static schedule no longer declared becomes Inactive (from Active or Paused), its planned
 *   occurrences withdrawn.
 * - Two versions of the code run side by side during a deploy, and an old process may restart
 *   after a new one synced. Every schedule records the start time of the newest process that
 *   synced it; a sync from a process started earlier leaves it alone. So the newest code wins,
 *   old processes neither revert a changed schedule nor revive a removed one, and a rollback
 *   (new processes running old code) applies like any deploy.
 *
 * Every change is compare-and-set on the schedule's version (retried on a concurrent change),
 * in one transaction with its withdrawals.
 */
export async function syncStaticSchedules(ctx: ClusterContext, declared: readonly StaticSchedule[], startedAt: Date = ctx.openedAt): Promise<StaticSyncResult> {
  refuseBadDeclarations(declared, ctx.settings.maxMessageBytes)
  const result: StaticSyncResult = { created: [], changed: [], reactivated: [], inactivated: [], ignored: [] }
  if (ctx.settings.mode === 'Archive') {
    ctx.logger.info('the cluster is in Archive mode (read-only): static schedules are not synced')
    return result
  }
  const stored = new Map((await ctx.master.listSchedules(ctx.clusterId, { kind: 'static' }, MAX_STATIC_SCHEDULES)).map((s) => [s.id, s]))
  const declaredIds = new Set<string>()
  for (const schedule of declared) {
    const id = staticScheduleId(ctx.clusterId, schedule.name)
    declaredIds.add(id)
    await reconcile(ctx, id, stored.get(id), startedAt, result, (current, now) => declare(current, schedule, startedAt, now), schedule)
  }
  for (const current of stored.values()) {
    if (!declaredIds.has(current.id)) await reconcile(ctx, current.id, current, startedAt, result, (latest, now) => retire(latest, startedAt, now))
  }
  const changes = result.created.length + result.changed.length + result.reactivated.length + result.inactivated.length
  if (changes > 0 || result.ignored.length > 0) ctx.logger.info({ ...result }, 'static schedules synced')
  return result
}

function refuseBadDeclarations(declared: readonly StaticSchedule[], maxMessageBytes: number): void {
  const issues: Issue[] = []
  const seen = new Set<string>()
  for (const s of declared) {
    if (seen.has(s.name)) issues.push({ path: `schedule "${s.name}"`, message: 'is declared twice' })
    seen.add(s.name)
    const bytes = Buffer.byteLength(specToJson(s.spec))
    if (bytes > maxMessageBytes) issues.push({ path: `schedule "${s.name}".payload`, message: `serialized schedule is ${bytes} bytes, over the cluster's maxMessageBytes (${maxMessageBytes})` })
  }
  if (issues.length > 0) throw new ConfigError(issues)
}

interface Decision {
  next: ScheduleRecord
  withdraw: boolean
  outcome: keyof StaticSyncResult | null
}

/**
 * Apply `decide` to the stored schedule (inserting it first when `declaration` is new), guarded
 * on its version; on a concurrent change, read it again and decide again.
 */
async function reconcile(
  ctx: ClusterContext,
  id: string,
  stored: ScheduleRecord | undefined,
  startedAt: Date,
  result: StaticSyncResult,
  decide: (current: ScheduleRecord, now: Date) => Decision | null,
  declaration?: StaticSchedule,
): Promise<void> {
  let current = stored ?? null
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const now = ctx.clock.now()
    if (!current && declaration) {
      const record = newScheduleRecord(declaration.spec, { id, clusterId: ctx.clusterId, kind: 'static', createdAt: now, now, syncedAt: startedAt })
      if ((await ctx.master.insertSchedules([record])).length === 1) return void result.created.push(declaration.name)
      current = await ctx.master.getSchedule(ctx.clusterId, id)
      continue
    }
    if (!current) return
    if (current.syncedAt && current.syncedAt.getTime() > startedAt.getTime()) return void result.ignored.push(current.name ?? current.id)
    const decision = decide(current, now)
    if (!decision) return
    const update = await ctx.master.updateSchedule(decision.next, current.version, { withdrawOccurrences: decision.withdraw }, now)
    if (update.applied) {
      await Promise.all(update.cancelled.map((job) => signalBucketOwner(ctx, job)))
      if (decision.outcome) result[decision.outcome].push(current.name ?? current.id)
      return
    }
    current = await ctx.master.getSchedule(ctx.clusterId, id)
  }
  throw new Error(`static schedule ${id} kept changing while it was synced (${ATTEMPTS} attempts)`)
}

function declare(current: ScheduleRecord, declaration: StaticSchedule, startedAt: Date, now: Date): Decision | null {
  const changed = current.specHash !== declaration.specHash
  const revived = current.status === 'Inactive' || (current.status === 'Completed' && changed)
  if (!changed && !revived) {
    // Nothing to change but the stamp that makes older processes leave it alone.
    if (current.syncedAt && current.syncedAt.getTime() >= startedAt.getTime()) return null
    return { next: { ...current, syncedAt: startedAt }, withdraw: false, outcome: null }
  }
  return {
    next: {
      ...current,
      ...declaration.spec,
      specHash: declaration.specHash,
      syncedAt: startedAt,
      status: revived ? 'Active' : current.status,
      statusChangedAt: revived ? now : current.statusChangedAt,
      // Re-planned from now: what the old declaration planned is withdrawn, a retired stretch is not replayed.
      coveredUntil: startOf(declaration.spec.startAfter, now),
    },
    withdraw: changed,
    outcome: revived ? 'reactivated' : 'changed',
  }
}

function retire(current: ScheduleRecord, startedAt: Date, now: Date): Decision | null {
  if (current.status === 'Active' || current.status === 'Paused') {
    return { next: { ...current, status: 'Inactive', statusChangedAt: now, syncedAt: startedAt }, withdraw: true, outcome: 'inactivated' }
  }
  if (current.syncedAt && current.syncedAt.getTime() >= startedAt.getTime()) return null
  return { next: { ...current, syncedAt: startedAt }, withdraw: false, outcome: null }
}

function startOf(startAfter: Date | null, now: Date): Date {
  return startAfter && startAfter.getTime() > now.getTime() ? startAfter : now
}

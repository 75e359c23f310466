import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import * as v from 'valibot'
import type { ClusterContext } from '../core/cluster.js'
import { coordinatorTick, type TickSummary } from '../core/coordinator/tick.js'
import { SECOND } from '../core/durations.js'
import { ConfigError } from '../core/errors.js'
import { durationSchema, issuesFrom } from '../core/schemas.js'

/** The payload a fanned-out invocation receives: tick one connection. */
export interface ConnectionTickEvent {
  jobmaster: 'coordinator-tick'
  connection: string
}

export function isConnectionTick(event: unknown): event is ConnectionTickEvent {
  return typeof event === 'object' && event !== null && (event as ConnectionTickEvent).jobmaster === 'coordinator-tick' && typeof (event as ConnectionTickEvent).connection === 'string'
}

export interface CoordinatorSettings {
  /** Ticks per invocation (sub-minute reaction from a once-a-minute schedule). */
  ticks: number
  tickEveryMs: number
  /** Fan out per connection when the cluster has more connections than this. */
  fanOutAbove: number
}

const countField = (name: string, min: number, max: number) =>
  v.pipe(v.string(), v.regex(/^\d+$/, `${name} must be a whole number`), v.transform(Number), v.minValue(min, `${name} must be at least ${min}`), v.maxValue(max, `${name} must be at most ${max}`))

const envSchema = v.object({
  JM_COORDINATOR_TICKS: v.optional(countField('JM_COORDINATOR_TICKS', 1, 60), '1'),
  JM_COORDINATOR_TICK_EVERY: v.optional(durationSchema('JM_COORDINATOR_TICK_EVERY', SECOND, 60 * SECOND), '10s'),
  JM_COORDINATOR_FAN_OUT_ABOVE: v.optional(countField('JM_COORDINATOR_FAN_OUT_ABOVE', 0, 1000), '3'),
})

/** The function's own settings, from its environment; errors name the variable. */
export function coordinatorSettingsFromEnv(env: Record<string, string | undefined>): CoordinatorSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([k, value]) => k.startsWith('JM_COORDINATOR_') && value !== undefined && value !== ''))
  const parsed = v.safeParse(envSchema, present)
  if (!parsed.success) throw new ConfigError(issuesFrom(parsed.issues, ''))
  return { ticks: parsed.output.JM_COORDINATOR_TICKS, tickEveryMs: parsed.output.JM_COORDINATOR_TICK_EVERY, fanOutAbove: parsed.output.JM_COORDINATOR_FAN_OUT_ABOVE }
}

export interface CoordinatorRun {
  ticks: TickSummary[]
  fannedOut: string[]
  fanOutErrors: Array<{ connection: string; message: string }>
}

/**
 * One invocation of the scheduled coordinator. A scheduled invocation performs the cluster-wide
 * duties and, for few connections, the per-connection ones too; with many connections it invokes
 * itself once per connection (asynchronously) so one slow transport does not hold the others up.
 * A per-connection invocation performs only that connection's duties. Every tick is idempotent.
 */
export async function runCoordinator(
  ctx: ClusterContext,
  event: unknown,
  settings: CoordinatorSettings,
  fanOut: (event: ConnectionTickEvent) => Promise<void>,
  id = `coordinator-${randomBytes(4).toString('hex')}`,
): Promise<CoordinatorRun> {
  const run: CoordinatorRun = { ticks: [], fannedOut: [], fanOutErrors: [] }
  const connections = [...ctx.agents.keys()]
  const single = isConnectionTick(event)
  if (single && !ctx.agents.has(event.connection)) throw new ConfigError([{ path: 'connection', message: `"${event.connection}" is not an agent connection of this cluster` }])
  const fanning = !single && connections.length > settings.fanOutAbove
  if (fanning) {
    await Promise.all(
      connections.map((connection) =>
        fanOut({ jobmaster: 'coordinator-tick', connection }).then(
          () => void run.fannedOut.push(connection),
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error)
            run.fanOutErrors.push({ connection, message })
            ctx.logger.error({ connection, err: error }, 'coordinator fan-out invocation failed; ticking that connection here')
          },
        ),
      ),
    )
  }
  // A connection whose invocation could not be started is ticked here rather than skipped.
  const local = single ? [event.connection] : fanning ? run.fanOutErrors.map((e) => e.connection) : connections
  for (let i = 0; i < settings.ticks; i++) {
    const started = Date.now()
    run.ticks.push(await coordinatorTick(ctx, { id, connections: local, clusterDuties: !single }))
    if (i + 1 < settings.ticks) await delay(Math.max(0, settings.tickEveryMs - (Date.now() - started)))
  }
  return run
}

/**
 * The worker container's entrypoint, configured entirely by JM_ environment variables (see the
 * README): agent connection, lane, mode, batch size, parallelism factor, buckets per priority,
 * grace period, handler and schedule modules, health port. Runs one worker until SIGTERM/SIGINT
 * or a stop request through the cluster, then stops gracefully (running handlers get
 * JM_GRACE_PERIOD to finish, everything unstarted is handed back) and exits 0. A configuration error exits 1 with a
 * message naming the variable. `GET /health` and `GET /metrics` are served on JM_HEALTH_PORT.
 */
import { openCluster } from '../core/cluster.js'
import { configFromEnv } from '../core/config-env.js'
import { JobRegistry } from '../core/definitions.js'
import { ConfigError } from '../core/errors.js'
import { createLogger } from '../core/logger.js'
import { MODE_DUTIES } from '../core/model.js'
import { Worker } from '../core/worker/worker.js'
import { loadHandlers } from './handlers.js'
import { loadSchedules } from './schedules.js'
import { healthPortFromEnv, startHealthServer, type HealthServer, type HealthState } from './health.js'

const logger = createLogger({ role: 'worker' })

async function main(): Promise<void> {
  const healthPort = healthPortFromEnv(process.env)
  const config = configFromEnv(process.env, { worker: true })
  const workerConfig = config.worker!
  const registry = new JobRegistry([], await loadHandlers())

  // Listen for signals from the start: a task stopped while it is still starting stops as soon
  // as its worker is up, instead of being killed half-registered.
  let requestStop!: (reason: string) => void
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve))
  process.on('SIGTERM', () => requestStop('SIGTERM'))
  process.on('SIGINT', () => requestStop('SIGINT'))

  let worker: Worker | undefined
  let started = false
  // Healthy once registered with its buckets created, until a stop begins (from here or the cluster).
  const state = (): HealthState => (worker?.state === 'stopping' || worker?.state === 'stopped' ? 'stopping' : started ? 'running' : 'starting')
  const health = healthPort === 0 ? undefined : await listenForHealth(healthPort, state)

  // Only coordinating workers sync static schedules; the others need not load them.
  const staticSchedules = MODE_DUTIES[workerConfig.mode].coordinate ? await loadSchedules() : undefined
  const ctx = await openCluster(config, { registry, logger, agentNames: undefined, staticSchedules })
  worker = new Worker(ctx, workerConfig)
  await worker.start()
  started = true

  const reason = await Promise.race([stopRequested, worker.stopped.then(() => 'stop requested through the cluster')])
  const stopStartedAt = Date.now()
  logger.info({ reason, gracePeriodMs: workerConfig.gracePeriodMs }, 'stopping gracefully')
  await worker.stop()
  await ctx.close()
  await health?.close()
  logger.info({ reason, stopMs: Date.now() - stopStartedAt }, 'stopped')
  process.exit(0)
}

/**
 * A port already taken (several workers on one machine) costs the endpoint, not the worker: the
 * jobs still run. In a container the port is the task's own, so this does not happen there.
 */
async function listenForHealth(port: number, state: () => HealthState): Promise<HealthServer | undefined> {
  try {
    return await startHealthServer(port, state)
  } catch (error) {
    logger.error({ err: error }, `JM_HEALTH_PORT: cannot listen on port ${port}; running without /health and /metrics (set another port, or 0)`)
    return undefined
  }
}

main().catch((error) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`)
  else logger.fatal({ err: error }, 'worker failed to start')
  process.exit(1)
})

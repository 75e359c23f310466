/**
 * The worker container's entrypoint, configured entirely by JM_ environment variables (see the
 * README). Runs one worker until SIGTERM/SIGINT or a stop request, then stops gracefully and
 * exits 0. A configuration error exits 1 with a message naming the variable.
 */
import { openCluster } from '../core/cluster.js'
import { configFromEnv } from '../core/config-env.js'
import { JobRegistry } from '../core/definitions.js'
import { ConfigError } from '../core/errors.js'
import { createLogger } from '../core/logger.js'
import { Worker } from '../core/worker/worker.js'
import { loadHandlers } from './handlers.js'

const logger = createLogger({ role: 'worker' })

async function main(): Promise<void> {
  const config = configFromEnv(process.env, { worker: true })
  const registry = new JobRegistry([], await loadHandlers())
  const ctx = await openCluster(config, { registry, logger, agentNames: undefined })
  const worker = new Worker(ctx, config.worker!)
  await worker.start()

  let stopping = false
  const stop = async (reason: string) => {
    if (stopping) return
    stopping = true
    logger.info({ reason, gracePeriodMs: config.worker!.gracePeriodMs }, 'stopping gracefully')
    await worker.stop()
    await ctx.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  void worker.stopped.then(() => stop('stop requested'))
}

main().catch((error) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`)
  else logger.fatal({ err: error }, 'worker failed to start')
  process.exit(1)
})

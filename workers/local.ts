/**
 * `npm start`: a whole cluster in one process — an embedded PostgreSQL (unless JM_MASTER_URL is
 * set), the producer endpoints, the management API, a Full worker (which also performs the
 * coordinator duties on timers). Ctrl-C stops gracefully.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { openCluster } from '../core/cluster.js'
import { configFromEnv } from '../core/config-env.js'
import { JobRegistry } from '../core/definitions.js'
import { ConfigError } from '../core/errors.js'
import { createLogger } from '../core/logger.js'
import { Producer } from '../core/producer.js'
import { Worker } from '../core/worker/worker.js'
import { createApiApp } from '../functions/api.js'
import { apiKeyEntry, authConfigured, authSettingsFromEnv, newApiKey } from '../functions/auth.js'
import { createProducerApp } from '../functions/producer.js'
import { handlers } from '../jobs/handlers.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js'
import { loadSchedules } from './schedules.js'

const logger = createLogger({ role: 'local-cluster' })

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError([{ path: 'PORT', message: 'must be a TCP port number' }])

  const auth = await authSettingsFromEnv(process.env)
  // No management credentials configured: make an API key for this run and print it.
  const localApiKey = authConfigured(auth) ? null : newApiKey()
  if (localApiKey) auth.apiKeys.push(apiKeyEntry('local', localApiKey))

  let embedded: EmbeddedDatabase | null = null
  if (!process.env.JM_MASTER_URL) {
    const dataDir = process.env.JM_EMBEDDED_DATA_DIR ?? '.jobmaster/pgdata'
    embedded = await startEmbeddedPostgres({ dataDir, port: Number(process.env.JM_EMBEDDED_PG_PORT ?? 54329), logger })
    logger.info({ dataDir }, 'embedded PostgreSQL started')
  }
  const config = configFromEnv(process.env, { worker: true, defaultMasterUrl: embedded?.url })
  const registry = new JobRegistry([], handlers)
  const ctx = await openCluster(config, { registry, logger, staticSchedules: await loadSchedules() })
  const worker = new Worker(ctx, config.worker!)
  await worker.start()

  const producer = new Producer({
    registry,
    agents: config.agents.map((a) => ({ store: ctx.agent(a.name), config: a })),
    maxMessageBytes: ctx.settings.maxMessageBytes,
    idempotencyWindowMs: config.idempotencyWindowMs,
    clusterMode: ctx.settings.mode,
  })
  const app = new Hono()
  app.route('/', createProducerApp({ producer, maxMessageBytes: ctx.settings.maxMessageBytes, logger }))
  app.route('/', createApiApp(ctx, { auth, logger }))
  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '127.0.0.1' })

  const url = `http://localhost:${port}`
  process.stdout.write(
    [
      '',
      `JobMaster local cluster "${config.clusterId}" is running at ${url}`,
      `  master: ${embedded ? 'embedded PostgreSQL' : 'JM_MASTER_URL'} · agents: ${config.agents.map((a) => a.name).join(', ')} · worker: ${worker.name}`,
      '',
      'Enqueue a job:',
      `  curl -s -X POST ${url}/v1/jobs -H 'content-type: application/json' -d '{"definition":"echo","payload":{"hello":"world"}}'`,
      'Then look at it (use the id from the answer):',
      `  curl -s ${url}/v1/jobs/<id> -H 'x-api-key: ${localApiKey ?? '<a JM_MANAGEMENT_API_KEYS key>'}'`,
      `Dashboard: ${url}/dashboard${localApiKey ? ` (API key for this run: ${localApiKey})` : ''}`,
      '',
      'Ctrl-C stops gracefully.',
      '',
    ].join('\n'),
  )

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping: finishing running jobs and handing back the rest')
    server.close()
    await worker.stop()
    await ctx.close()
    await embedded?.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  worker.stopped.then(() => void shutdown('stop requested'))
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`)
  } else {
    logger.fatal({ err: error }, 'local cluster failed to start')
  }
  process.exit(1)
})

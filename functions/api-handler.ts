/**
 * Lambda entry of the management API and dashboard (Function URL). Configured from the
 * environment only (JM_ cluster variables plus the authentication ones); the cluster connection
 * and the app are built on the first request and reused by the container's later invocations.
 */
import { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'
import { openCluster } from '../core/cluster.js'
import { configFromEnv } from '../core/config-env.js'
import { JobRegistry } from '../core/definitions.js'
import { createLogger } from '../core/logger.js'
import { createApiApp } from './api.js'
import { authSettingsFromEnv } from './auth.js'

const logger = createLogger({ role: 'management-api' })
let api: Promise<Hono<any>> | null = null

async function openApi(): Promise<Hono<any>> {
  // Authentication first: a misconfigured API fails before it opens any connection.
  const auth = await authSettingsFromEnv(process.env)
  const ctx = await openCluster(configFromEnv(process.env), { registry: new JobRegistry(), logger, poolSize: 2 })
  return createApiApp(ctx, { auth, logger })
}

const app = new Hono()
app.all('*', async (c) => {
  api ??= openApi().catch((error) => {
    api = null // try again on the next request
    throw error
  })
  return (await api).fetch(c.req.raw)
})
app.onError((error, c) => {
  logger.error({ err: error }, 'management API could not start')
  return c.json({ error: 'management API unavailable' }, 503)
})

export const handler = handle(app)

import { Hono, type MiddlewareHandler } from 'hono'
import { handle, type APIGatewayProxyResult, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda'
import { producerAuthFromEnv, producerConfigFromEnv } from '../core/config-env.js'
import { JobRegistry, type JobDefinition } from '../core/definitions.js'
import { createLogger, type Logger } from '../core/logger.js'
import { Producer } from '../core/producer.js'
import type { AgentStore } from '../core/stores/agent.js'
import { openAgent } from '../core/stores/registry.js'
import { AuthenticationError } from './auth-api-key.js'
import { errorResponse, type ErrorBody } from './http-errors.js'
import { createProducerApp } from './producer.js'

export interface LambdaProducerOptions {
  /** The job definitions this producer accepts (no handler code). */
  definitions: readonly JobDefinition[]
  /** Configuration source (default `process.env`): `JM_` variables only. */
  env?: Record<string, string | undefined>
  logger?: Logger
}

export type LambdaHandler = (event: LambdaEvent, context?: LambdaContext) => Promise<APIGatewayProxyResult>

export interface LambdaProducer {
  handler: LambdaHandler
  /** Close the agent connections (tests; on Lambda the process is frozen and reused instead). */
  close(): Promise<void>
}

type LambdaBindings = { event: LambdaEvent; lambdaContext?: LambdaContext }

/**
 * The producer as a Lambda function: the Hono app of functions/producer.ts behind `hono/aws-lambda`.
 *
 * Configuration is read and checked when this is called, i.e. at module load: a bad variable, or
 * no authentication configured (JM_AUTH / JM_API_KEYS), fails the function's init so it never
 * serves. Agent connections are opened on the first invocation and reused by every later one
 * while the instance lives. Only agents: the master is never opened (JM_MASTER_URL is not even
 * needed unless the cluster is standalone), so a producer keeps accepting jobs while the master is down.
 */
export function createLambdaProducer(options: LambdaProducerOptions): LambdaProducer {
  const initMs = performance.now()
  const env = options.env ?? process.env
  const config = producerConfigFromEnv(env)
  const auth = producerAuthFromEnv(env)
  const logger = options.logger ?? createLogger({ role: 'producer', cluster: config.clusterId })
  const registry = new JobRegistry(options.definitions)

  const build = async () => {
    // One request at a time per Lambda instance: one connection per agent is enough, and keeps
    // thousands of instances from exhausting the database's connection slots.
    const stores: AgentStore[] = []
    for (const agent of config.agents) stores.push(await openAgent(agent.name, agent.url, { tablePrefix: config.tablePrefix, poolSize: 1 }))
    const producer = new Producer({
      registry,
      agents: config.agents.map((agent, i) => ({ store: stores[i]!, config: agent })),
      maxMessageBytes: config.maxMessageBytes,
      idempotencyWindowMs: config.idempotencyWindowMs,
      clusterMode: config.clusterMode,
    })
    const app = new Hono<{ Bindings: LambdaBindings }>()
    if (auth.mode === 'iam') app.use('*', requireIamIdentity(logger))
    app.route('/', createProducerApp({ producer, maxMessageBytes: config.maxMessageBytes, logger, apiKeys: auth.mode === 'api-key' ? auth.apiKeys : undefined }))
    app.notFound((c) => c.json<ErrorBody>({ error: 'not found' }, 404))
    app.onError((error, c) => errorResponse(error, c, logger))
    return { serve: handle(app), stores }
  }

  let ready: ReturnType<typeof build> | undefined
  let coldStart = true
  return {
    async handler(event, context) {
      const startedMs = performance.now()
      ready ??= build()
      const result = await (await ready).serve(event, context)
      if (coldStart) {
        coldStart = false
        // performance.now() counts from the process start: runtime start-up, module load, first request.
        logger.info(
          { coldStart: { moduleLoadedMs: Math.round(initMs), firstInvocationMs: Math.round(performance.now() - startedMs), sinceProcessStartMs: Math.round(performance.now()) } },
          'producer cold start',
        )
      }
      return result
    },
    async close() {
      if (!ready) return
      const { stores } = await ready
      await Promise.all(stores.map((store) => store.close()))
    },
  }
}

/**
 * JM_AUTH=iam: the Function URL's AWS_IAM auth verified the SigV4 signature before invoking us and
 * put the caller in `requestContext.authorizer.iam`. An event without it means the URL was switched
 * to NONE (or the function is invoked some other way): refuse rather than serve unauthenticated.
 */
function requireIamIdentity(logger: Logger): MiddlewareHandler<{ Bindings: LambdaBindings }> {
  return async (c, next) => {
    const requestContext = (c.env.event as { requestContext?: { authorizer?: { iam?: unknown } } }).requestContext
    if (!requestContext?.authorizer?.iam) {
      logger.warn({ method: c.req.method, path: c.req.path }, 'request refused: no IAM identity in the event (is the Function URL auth AWS_IAM?)')
      throw new AuthenticationError('missing', 'AWS IAM (SigV4) authentication required')
    }
    await next()
  }
}

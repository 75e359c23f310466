/**
 * Lambda entry of the scheduled coordinator (sst.aws.CronV2, every minute). Configured from the
 * environment; the cluster connection is opened once per container and reused across invocations.
 */
import { openCluster, type ClusterContext } from '../core/cluster.js'
import { configFromEnv } from '../core/config-env.js'
import { JobRegistry } from '../core/definitions.js'
import { createLogger } from '../core/logger.js'
import { syncStaticSchedules } from '../core/schedules/static-sync.js'
import { schedules } from '../jobs/schedules.js'
import { coordinatorSettingsFromEnv, runCoordinator } from './coordinator.js'
import { lambdaInvoker } from './lambda-invoke.js'

const logger = createLogger({ role: 'coordinator' })
let cluster: Promise<ClusterContext> | null = null

/** The parts of the Lambda context this handler uses. */
interface InvocationContext {
  awsRequestId: string
  functionName: string
}

export async function handler(event: unknown, context?: InvocationContext) {
  // A cold start syncs the static schedules bundled with this code (jobs/schedules.ts).
  cluster ??= openCluster(configFromEnv(process.env), { registry: new JobRegistry(), logger })
    .then(async (ctx) => {
      try {
        await syncStaticSchedules(ctx, schedules)
        return ctx
      } catch (error) {
        await ctx.close()
        throw error
      }
    })
    .catch((error) => {
      cluster = null // try again on the next invocation
      throw error
    })
  const ctx = await cluster
  const settings = coordinatorSettingsFromEnv(process.env)
  const self = process.env.JM_COORDINATOR_FUNCTION ?? context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME
  if (!self) throw new Error('cannot fan out: set JM_COORDINATOR_FUNCTION (this function’s name)')
  const invoke = lambdaInvoker(self, 'Event')
  const run = await runCoordinator(ctx, event, settings, async (e) => void (await invoke(e)), context ? `coordinator-${context.awsRequestId}` : undefined)
  const errors = run.ticks.flatMap((t) => t.errors)
  logger.info({ ticks: run.ticks.length, fannedOut: run.fannedOut, fanOutErrors: run.fanOutErrors, errors }, 'coordinator invocation done')
  return { ticks: run.ticks.length, fannedOut: run.fannedOut, errors: [...errors, ...run.fanOutErrors] }
}

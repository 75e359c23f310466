import type { Secrets } from './secrets.js'

interface FunctionsInput {
  vpc: sst.aws.Vpc
  secrets: Secrets
  /** JM_ variables every process of the cluster shares (cluster id, lane affinity). */
  clusterEnvironment: Record<string, string>
}

/** The coordinator runs this many ticks, 10 s apart, per scheduled invocation: sub-minute reaction from a once-a-minute schedule. */
const COORDINATOR_TICKS = 6

/**
 * The producer and management API (Hono on Lambda, each with a Function URL; they authenticate
 * requests themselves) and the scheduled coordinator. They run in the VPC so they reach databases
 * inside it, and through its NAT anything outside.
 */
export function createFunctions({ vpc, secrets, clusterEnvironment }: FunctionsInput) {
  const connections = {
    ...clusterEnvironment,
    JM_MASTER_URL: secrets.masterUrl.value,
    JM_AGENTS: secrets.agents.value,
  }

  // Producers only write to agents: they get no master URL (nor its credentials).
  const producer = new sst.aws.Function('Producer', {
    handler: 'functions/producer-handler.handler',
    url: true,
    vpc,
    // ESM code splitting: 148 KiB load before the first request instead of a 2.4 MB single file
    // (each provider's driver becomes its own chunk, loaded on first use).
    nodejs: { format: 'esm', splitting: true },
    environment: { ...clusterEnvironment, JM_AGENTS: secrets.agents.value, JM_API_KEYS: secrets.apiKeys.value },
  })

  const api = new sst.aws.Function('Api', {
    handler: 'functions/api-handler.handler',
    url: true,
    vpc,
    environment: { ...connections, JM_MANAGEMENT_API_KEYS: secrets.managementApiKeys.value },
  })

  // A fixed name, so the function may be given the right to invoke itself (fan-out per connection).
  const coordinatorName = `${$app.name}-${$app.stage}-coordinator`
  const coordinator = new sst.aws.CronV2('Coordinator', {
    schedule: 'rate(1 minute)',
    function: {
      name: coordinatorName,
      handler: 'functions/coordinator-handler.handler',
      vpc,
      // The ticks take about 50 s; the next invocation may overlap the end (ticks are idempotent).
      timeout: '90 seconds',
      environment: {
        ...connections,
        JM_COORDINATOR_TICKS: String(COORDINATOR_TICKS),
        JM_COORDINATOR_TICK_EVERY: '10s',
      },
      permissions: [{ actions: ['lambda:InvokeFunction'], resources: [`arn:aws:lambda:*:*:function:${coordinatorName}`] }],
    },
  })

  return { producer, api, coordinator }
}

/// <reference path="./.sst/platform/config.d.ts" />

/**
 * `npx sst deploy --stage <stage>`: the VPC, the secrets, the producer and management API
 * functions (Function URLs), the coordinator (every minute) and one worker service per fleet in
 * infra/fleets.ts. Type-checked in CI by test/infra/typecheck.test.ts.
 */
export default $config({
  app(input) {
    return {
      name: 'jobmaster',
      // Production keeps its resources if removed, and `sst remove` refuses to run on it until
      // `protect` is lifted; any other stage is torn down whole.
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
      home: 'aws',
    }
  },
  async run() {
    const { agentLanes } = await import('./infra/fleets.js')
    const { createSecrets, containerSecrets } = await import('./infra/secrets.js')
    const { createFunctions } = await import('./infra/functions.js')
    const { createWorkerFleets } = await import('./infra/workers.js')

    const lanes = agentLanes()
    const clusterEnvironment: Record<string, string> = {
      JM_CLUSTER_ID: $app.stage,
      ...(lanes === undefined ? {} : { JM_AGENT_LANES: lanes }),
    }
    // Private subnets with NAT: tasks and functions reach databases in the VPC and outside it.
    // A managed NAT gateway in production; a small NAT instance elsewhere (far cheaper).
    const vpc = new sst.aws.Vpc('Vpc', { nat: $app.stage === 'production' ? 'managed' : 'ec2' })
    const secrets = createSecrets()
    const { producer, api } = createFunctions({ vpc, secrets, clusterEnvironment })
    createWorkerFleets({ vpc, secretParameters: containerSecrets(secrets), clusterEnvironment })

    return { producerUrl: producer.url, apiUrl: api.url }
  },
})

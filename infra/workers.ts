import { ECS_STOP_TIMEOUT_SECONDS, WORKER_HEALTH_PORT, fleetEnvironment, fleets } from './fleets.js'

interface WorkersInput {
  vpc: sst.aws.Vpc
  /** Variable → SSM parameter ARN, injected by ECS when a task starts. */
  secretParameters: Record<string, $util.Output<string>>
  clusterEnvironment: Record<string, string>
}

/**
 * One ECS Fargate service per fleet in infra/fleets.ts, all on one cluster and one image
 * (workers/Dockerfile). Workers serve no traffic: no load balancer; ECS checks /health.
 */
export function createWorkerFleets({ vpc, secretParameters, clusterEnvironment }: WorkersInput) {
  const cluster = new sst.aws.Cluster('Cluster', { vpc })
  return fleets.map(
    (fleet) =>
      new sst.aws.Service(fleet.service, {
        cluster,
        image: { context: '.', dockerfile: 'workers/Dockerfile' },
        cpu: fleet.cpu,
        memory: fleet.memory,
        // Spot outside production: a reclaimed task gets SIGTERM and stops gracefully like any other.
        capacity: $app.stage === 'production' ? undefined : 'spot',
        scaling: { min: fleet.min, max: fleet.max, cpuUtilization: fleet.cpuTarget, memoryUtilization: false },
        environment: { ...clusterEnvironment, ...fleetEnvironment(fleet) },
        ssm: secretParameters,
        health: {
          // The image has node but no curl.
          command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${WORKER_HEALTH_PORT}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
          startPeriod: '60 seconds',
          interval: '30 seconds',
        },
        transform: { taskDefinition: withStopTimeout },
      }),
  )
}

/** SST has no option for the container's stopTimeout (SIGTERM → SIGKILL); set it on the task definition. */
function withStopTimeout(args: aws.ecs.TaskDefinitionArgs): undefined {
  args.containerDefinitions = $jsonStringify(
    $jsonParse(args.containerDefinitions).apply((containers: Array<Record<string, unknown>>) =>
      containers.map((container) => ({ ...container, stopTimeout: ECS_STOP_TIMEOUT_SECONDS })),
    ),
  )
  return undefined
}

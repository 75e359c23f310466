import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { ClusterContext } from '../../core/cluster.js'
import { runCoordinator, type ConnectionTickEvent } from '../../functions/coordinator.js'
import { lambdaInvoker } from '../../functions/lambda-invoke.js'
import { PG_AGENT2_URL, PG_AGENT3_URL, PG_AGENT_URL } from '../support/env.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

/**
 * A local HTTP server implementing the Lambda Invoke REST path
 * (POST /2015-03-31/functions/{name}/invocations). "coordinator" runs the real coordinator for the
 * payload it receives (asynchronously for Event invocations, like AWS); "broken" fails every call.
 */
interface Invocation {
  functionName: string
  invocationType: string
  payload: unknown
}

let cluster: TestCluster
let functionSide: ClusterContext
let server: Server
let client: LambdaClient
const invocations: Invocation[] = []
const background: Array<Promise<unknown>> = []
const settings = { ticks: 1, tickEveryMs: 1000, fanOutAbove: 2 }

async function body(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += chunk
  return text
}

beforeAll(async () => {
  cluster = await startTestCluster({
    config: {
      agents: [
        { name: 'pg-1', url: PG_AGENT_URL },
        { name: 'pg-2', url: PG_AGENT2_URL },
        { name: 'pg-3', url: PG_AGENT3_URL },
      ],
    },
  })
  functionSide = await cluster.openPeer()
  server = createServer(async (req, res) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '')
    const functionName = decodeURIComponent(match?.[1] ?? '')
    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse')
    const payload = JSON.parse((await body(req)) || 'null')
    invocations.push({ functionName, invocationType, payload })
    const run = () => runCoordinator(functionSide, payload, settings, async () => {}, `fanned-${(payload as ConnectionTickEvent).connection}`)
    if (functionName === 'broken') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
      res.end(JSON.stringify({ errorType: 'Error', errorMessage: 'connection tick exploded' }))
    } else if (functionName !== 'coordinator') {
      res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' })
      res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${functionName}` }))
    } else if (invocationType === 'Event') {
      background.push(run())
      res.writeHead(202).end()
    } else {
      const result = await run()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ drained: result.ticks[0]!.drained }))
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  client = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  })
})
afterAll(async () => {
  await Promise.allSettled(background)
  server?.close()
  await cluster?.close()
})

/** One lost bucket (with a job) per connection, for the per-connection ticks to drain. */
async function loseOneBucketPerConnection(): Promise<Map<string, string>> {
  const now = new Date()
  const lost = new Map<string, string>()
  for (const connection of ['pg-1', 'pg-2', 'pg-3']) {
    const id = `${connection}:-:low:${randomUUID().slice(0, 8)}`
    await cluster.ctx.master.createBuckets([{ id, clusterId: 'test', agentConnection: connection, priority: 'low', lane: null, status: 'Lost', ownerId: null, createdAt: now, statusChangedAt: now }])
    const envelope = { id: randomUUID(), definition: 'noop', payload: null, metadata: {}, priority: 'low' as const, lane: null, scheduledAt: now, createdAt: now, timeoutMs: 1000, maxRetries: 0, idempotencyKey: null }
    await cluster.ctx.master.insertJobs('test', [{ envelope, status: 'AssignedToBucket', bucketId: id, agentConnection: connection }], now)
    lost.set(connection, id)
  }
  return lost
}

test('Event fan-out: one asynchronous invocation per connection, each draining its own connection', async () => {
  invocations.length = 0
  const lost = await loseOneBucketPerConnection()
  const invoke = lambdaInvoker('coordinator', 'Event', client)
  const run = await runCoordinator(cluster.ctx, { source: 'aws.events', 'detail-type': 'Scheduled Event' }, settings, async (e) => void (await invoke(e)), 'root')
  expect(run.fannedOut.sort()).toEqual(['pg-1', 'pg-2', 'pg-3'])
  expect(run.fanOutErrors).toEqual([])
  expect(run.ticks[0]!.drained).toEqual([]) // the root left per-connection work to the invocations
  expect(invocations.map((i) => [i.functionName, i.invocationType, (i.payload as ConnectionTickEvent).connection]).sort()).toEqual([
    ['coordinator', 'Event', 'pg-1'],
    ['coordinator', 'Event', 'pg-2'],
    ['coordinator', 'Event', 'pg-3'],
  ])
  await Promise.all(background)
  await waitFor('lost buckets drained', async () => (await cluster.ctx.master.listBuckets('test', { statuses: ['Lost'] })).length === 0, 10_000)
  for (const id of lost.values()) expect(await cluster.ctx.master.getBucket(id)).toBeNull()
})

test('RequestResponse invocation returns the function result', async () => {
  const lost = await loseOneBucketPerConnection()
  const invoke = lambdaInvoker('coordinator', 'RequestResponse', client)
  expect(await invoke({ jobmaster: 'coordinator-tick', connection: 'pg-2' })).toEqual({ drained: [lost.get('pg-2')] })
  // Tidy the other two for the next test.
  await runCoordinator(cluster.ctx, { jobmaster: 'coordinator-tick', connection: 'pg-1' }, settings, async () => {})
  await runCoordinator(cluster.ctx, { jobmaster: 'coordinator-tick', connection: 'pg-3' }, settings, async () => {})
})

test('a function error or a missing function is an error, and the root ticks those connections itself', async () => {
  await expect(lambdaInvoker('broken', 'RequestResponse', client)({})).rejects.toThrow(/broken failed \(Unhandled\): .*connection tick exploded/)
  await expect(lambdaInvoker('nowhere', 'Event', client)({})).rejects.toThrow(/Function not found: nowhere/)
  const lost = await loseOneBucketPerConnection()
  const broken = lambdaInvoker('broken', 'RequestResponse', client)
  const run = await runCoordinator(cluster.ctx, {}, settings, async (e) => void (await broken(e)), 'root-fallback')
  expect(run.fannedOut).toEqual([])
  expect(run.fanOutErrors.map((e) => e.connection).sort()).toEqual(['pg-1', 'pg-2', 'pg-3'])
  expect(run.ticks[0]!.drained.sort()).toEqual([...lost.values()].sort())
})

import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, test } from 'vitest'
import { coordinatorTick } from '../../core/coordinator/tick.js'
import { ClusterModeError } from '../../core/errors.js'
import { Producer } from '../../core/producer.js'
import { echo } from '../../jobs/definitions.js'
import { createProducerApp } from '../../functions/producer.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

let cluster: TestCluster | undefined
afterEach(() => cluster?.close())

const status = async (id: string) => (await cluster!.ctx.master.getJob('test', id))!.status
const bucketsOf = async (prefix: string) => (await cluster!.ctx.master.listBuckets('test', { statuses: ['Active'] })).filter((b) => b.ownerId?.startsWith(`${prefix}.`))

describe('worker modes do exactly their duties', () => {
  test('Execution runs jobs but hands nothing over; Coordinator hands over and drains but owns no bucket', async () => {
    cluster = await startTestCluster({ config: { transientThreshold: '10s' } })
    const exec = await cluster.startWorker({ mode: 'Execution', name: 'exec' })
    expect(await bucketsOf('exec')).toHaveLength(5)
    // A job due beyond TT is held; an Execution worker never hands it over, even once due.
    const { id } = await cluster.producer.enqueue(echo, 1, { delay: '10500ms' })
    await waitFor('held', async () => (await status(id)) === 'HeldOnMaster')
    await new Promise((r) => setTimeout(r, 1500))
    expect(await status(id)).toBe('HeldOnMaster')

    const coord = await cluster.startWorker({ mode: 'Coordinator', name: 'coord' })
    expect(await bucketsOf('coord')).toHaveLength(0)
    expect(coord.stats().buckets).toBe(0)
    await waitFor('handed over by the Coordinator worker', async () => (await status(id)) === 'AssignedToBucket', 5000)

    // The Coordinator drains a lost bucket of any connection.
    const now = new Date()
    const lostId = `standalone:-:medium:${randomUUID().slice(0, 8)}`
    await cluster.ctx.master.createBuckets([{ id: lostId, clusterId: 'test', agentConnection: 'standalone', priority: 'medium', lane: null, status: 'Lost', ownerId: null, createdAt: now, statusChangedAt: now }])
    await waitFor('drained', async () => (await cluster!.ctx.master.getBucket(lostId)) === null, 5000)
    await waitFor('ran', async () => (await status(id)) === 'Succeeded', 15_000)
    expect(exec.stats().started).toBe(1)
  })

  test('a Drain worker drains lost buckets, owns none and hands nothing over', async () => {
    cluster = await startTestCluster({ config: { transientThreshold: '10s' } })
    const drain = await cluster.startWorker({ mode: 'Drain', name: 'drain' })
    expect(drain.stats().buckets).toBe(0)
    const now = new Date()
    const lostId = `standalone:-:low:${randomUUID().slice(0, 8)}`
    await cluster.ctx.master.createBuckets([{ id: lostId, clusterId: 'test', agentConnection: 'standalone', priority: 'low', lane: null, status: 'Lost', ownerId: null, createdAt: now, statusChangedAt: now }])
    const job = { id: randomUUID(), definition: 'echo', payload: 1, metadata: {}, priority: 'low' as const, lane: null, scheduledAt: now, createdAt: now, timeoutMs: 1000, maxRetries: 0, idempotencyKey: null }
    await cluster.ctx.master.insertJobs('test', [{ envelope: job, status: 'AssignedToBucket', bucketId: lostId, agentConnection: 'standalone' }], now)
    await waitFor('drained', async () => (await cluster!.ctx.master.getBucket(lostId)) === null, 5000)
    // No active bucket anywhere: the job went back to the master, and the Drain worker leaves it there.
    expect(await status(job.id)).toBe('HeldOnMaster')
    await new Promise((r) => setTimeout(r, 800))
    expect(await status(job.id)).toBe('HeldOnMaster')
  })
})

describe('cluster modes', () => {
  test('Passive accepts and stores but runs nothing; back to Active, the jobs run', async () => {
    cluster = await startTestCluster({ config: { clusterMode: 'Passive' } })
    const worker = await cluster.startWorker({}, { settingsRefreshMs: 200 })
    const { id } = await cluster.producer.enqueue(echo, 'p')
    await waitFor('stored', async () => (await status(id)) === 'HeldOnMaster')
    expect((await coordinatorTick(cluster.ctx, { id: 't' })).assigned).toBe(0)
    await new Promise((r) => setTimeout(r, 800))
    expect(await status(id)).toBe('HeldOnMaster')
    expect(worker.stats().started).toBe(0)

    await cluster.ctx.master.updateCluster({ ...cluster.ctx.settings, mode: 'Active' }, new Date())
    await waitFor('ran once Active', async () => (await status(id)) === 'Succeeded', 10_000)
  })

  test('Archive is read-only: producers refuse, workers ingest nothing, the coordinator does nothing', async () => {
    cluster = await startTestCluster({ config: { clusterMode: 'Archive' } })
    const archived = new Producer({
      registry: cluster.producer.registry,
      agents: [{ store: cluster.ctx.agent('standalone'), config: { name: 'standalone', lanes: [] } }],
      maxMessageBytes: 131072,
      idempotencyWindowMs: 60_000,
      clusterMode: 'Archive',
    })
    await expect(archived.enqueue(echo, 1)).rejects.toThrow(ClusterModeError)
    const res = await createProducerApp({ producer: archived, maxMessageBytes: 131072 }).request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"definition":"echo"}' })
    expect(res.status).toBe(409)

    // A producer configured as Active still writes; an Archive cluster's workers leave it in the inbox.
    await cluster.startWorker()
    await cluster.producer.enqueue(echo, 1)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await cluster.ctx.agent('standalone').inboxDepth()).toBe(1)
    expect(await cluster.ctx.master.countJobs('test', {})).toBe(0)
    const tick = await coordinatorTick(cluster.ctx, { id: 't' })
    expect(tick).toMatchObject({ orphanedIngested: 0, assigned: 0, errors: [] })
  })
})

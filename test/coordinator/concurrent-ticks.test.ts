import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { ClusterContext } from '../../core/cluster.js'
import { coordinatorTick } from '../../core/coordinator/tick.js'
import type { BucketJob, BucketRecord } from '../../core/model.js'
import { PG_AGENT_URL } from '../support/env.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'

/**
 * Four coordinator ticks run at once on one cluster holding due HeldOnMaster jobs and lost buckets
 * full of jobs. Every push to an agent is counted: each job must be handed over exactly once and
 * each lost bucket drained exactly once.
 */
const HELD = 400
const LOST_BUCKETS = 6
const PER_LOST_BUCKET = 50

let cluster: TestCluster
let peers: ClusterContext[]
const pushes = new Map<string, number>()

beforeAll(async () => {
  cluster = await startTestCluster({ config: { agents: [{ name: 'pg-1', url: PG_AGENT_URL }] } })
  peers = await Promise.all([1, 2, 3, 4].map(() => cluster.openPeer()))
  for (const peer of peers) {
    const agent = peer.agent('pg-1')
    const push = agent.pushToBuckets.bind(agent)
    agent.pushToBuckets = async (jobs: BucketJob[]) => {
      await push(jobs)
      for (const j of jobs) pushes.set(j.id, (pushes.get(j.id) ?? 0) + 1)
    }
  }
})
afterAll(() => cluster?.close())

test('concurrent ticks never hand a job over twice nor drain a bucket twice', async () => {
  const { master } = cluster.ctx
  const now = new Date()
  // A live worker owns the target buckets (registered, heartbeating through the test; not running jobs).
  const live = `live.${randomUUID().slice(0, 6)}`
  await master.registerWorker({ id: live, clusterId: 'test', name: 'live', agentConnection: 'pg-1', lane: null, mode: 'Execution', heartbeatAt: new Date(now.getTime() + 60_000), startedAt: now, stopRequestedAt: null, host: 'h', pid: 1 })
  const bucket = (owner: string | null, status: BucketRecord['status']): BucketRecord => ({ id: `pg-1:-:medium:${randomUUID().slice(0, 8)}`, clusterId: 'test', agentConnection: 'pg-1', priority: 'medium', lane: null, status, ownerId: owner, createdAt: now, statusChangedAt: now })
  const targets = [bucket(live, 'Active'), bucket(live, 'Active')]
  const lost = Array.from({ length: LOST_BUCKETS }, () => bucket('dead-worker', 'Active'))
  await master.createBuckets([...targets, ...lost])

  const envelope = () => ({ id: randomUUID(), definition: 'noop', payload: null, metadata: {}, priority: 'medium' as const, lane: null, scheduledAt: now, createdAt: now, timeoutMs: 1000, maxRetries: 1, idempotencyKey: null })
  const held = Array.from({ length: HELD }, () => ({ envelope: envelope(), status: 'HeldOnMaster' as const, bucketId: null, agentConnection: null }))
  const inLost = lost.flatMap((b) => Array.from({ length: PER_LOST_BUCKET }, () => ({ envelope: envelope(), status: 'AssignedToBucket' as const, bucketId: b.id, agentConnection: 'pg-1' })))
  await master.insertJobs('test', [...held, ...inLost], now)
  await cluster.ctx.agent('pg-1').pushToBuckets(inLost.map((j) => ({ ...j.envelope, bucketId: j.bucketId, attempts: 0 })))

  const summaries = await Promise.all(peers.map((peer, i) => coordinatorTick(peer, { id: `tick-${i}`, connections: ['pg-1'] })))
  expect(summaries.flatMap((s) => s.errors)).toEqual([])

  const drained = summaries.flatMap((s) => s.drained)
  expect(drained.sort()).toEqual(lost.map((b) => b.id).sort())
  expect(new Set(drained).size).toBe(LOST_BUCKETS)

  const all = [...held, ...inLost].map((j) => j.envelope.id)
  const pushedTwice = all.filter((id) => (pushes.get(id) ?? 0) > 1)
  const neverPushed = all.filter((id) => !pushes.has(id))
  console.log(
    `4 concurrent ticks: ${HELD} held + ${LOST_BUCKETS * PER_LOST_BUCKET} in lost buckets → assigned ${summaries.reduce((n, s) => n + s.assigned, 0)}, ` +
      `relocated ${summaries.reduce((n, s) => n + s.relocated, 0)}, per tick drained ${summaries.map((s) => s.drained.length).join('/')}, pushed twice ${pushedTwice.length}`,
  )
  expect(pushedTwice).toEqual([])
  expect(neverPushed).toEqual([])
  const jobs = await master.getJobs('test', all)
  expect(jobs.every((j) => j.status === 'AssignedToBucket' && targets.some((t) => t.id === j.bucketId))).toBe(true)
  expect(await master.listBuckets('test', { statuses: ['Lost', 'Draining', 'ReadyToDelete'] })).toEqual([])
})

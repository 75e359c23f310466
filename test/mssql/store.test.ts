import { describe, expect, test } from 'vitest'
import { StoreError } from '../../core/errors.js'
import * as agent from '../../core/providers/mssql/agent/index.js'
import type { Result, Row, Runner, Statement } from '../../core/providers/mssql/db.js'
import * as cluster from '../../core/providers/mssql/master/cluster.js'
import * as jobs from '../../core/providers/mssql/master/jobs.js'
import * as workers from '../../core/providers/mssql/master/workers.js'
import { bucketJob, envelope, masterJob, settings } from '../conformance/fixtures.js'
import { a, ID, ID2, LATER, m, NOW, transition } from './catalog.js'

/** A Runner that records what the store sends and answers with canned results (or errors). */
class FakeRunner implements Runner {
  readonly sent: Statement[] = []
  constructor(private readonly answers: Array<Partial<Result> | Error> = []) {}
  async run<R extends Row = Row>(statement: Statement): Promise<Result<R>> {
    this.sent.push(statement)
    const answer = this.answers.shift() ?? {}
    if (answer instanceof Error) throw answer
    return { recordsets: [], rowsAffected: [], ...answer } as Result<R>
  }
  json(index: number, name: string): any[] {
    return JSON.parse(String(this.sent[index]!.params.find((p) => p.name === name)!.value))
  }
}

const duplicateKey = () => new StoreError('master', 'Violation of PRIMARY KEY constraint', { cause: Object.assign(new Error('dup'), { number: 2627 }) })

/** A job row as the driver returns it: BIGINT as text, JSON columns as text, times as Dates. */
function jobRow(overrides: Row = {}): Row {
  return {
    id: ID,
    cluster_id: 'c1',
    definition: 'echo',
    status: 'HeldOnMaster',
    priority: 5,
    lane: null,
    payload: '{"n":1,"text":"héllo"}',
    metadata: '{"tenant":"acme"}',
    scheduled_at: NOW,
    original_scheduled_at: NOW,
    created_at: NOW,
    updated_at: NOW,
    attempts: 0,
    max_retries: 2,
    timeout_ms: '604800000',
    agent_connection: null,
    bucket_id: null,
    worker_id: null,
    started_at: null,
    finished_at: null,
    idempotency_key: null,
    last_error: null,
    ...overrides,
  }
}

describe('master jobs', () => {
  test('insertJobs sends nothing for an empty batch, and one statement for a batch', async () => {
    const db = new FakeRunner([{ recordsets: [[{ id: ID }]] }])
    expect(await jobs.insertJobs(db, m, 'c1', [], NOW)).toEqual([])
    expect(db.sent).toHaveLength(0)
    const one = masterJob({ id: ID })
    expect(await jobs.insertJobs(db, m, 'c1', [one, masterJob({ id: ID2 })], NOW)).toEqual([ID])
    expect(db.sent).toHaveLength(1)
  })

  test('insertJobs keeps the first copy of a repeated id (the key would refuse the batch)', async () => {
    const db = new FakeRunner()
    const first = masterJob({ id: ID, definition: 'first' })
    await jobs.insertJobs(db, m, 'c1', [first, masterJob({ id: ID2 }), masterJob({ id: ID, definition: 'second' })], NOW)
    expect(db.json(0, 'jobs').map((r) => [r.id, r.definition])).toEqual([
      [ID, 'first'],
      [ID2, 'echo'],
    ])
  })

  test('insertJobs that lost a race on a key runs again and reports what the second run inserted', async () => {
    const db = new FakeRunner([duplicateKey(), { recordsets: [[{ id: ID2 }]] }])
    expect(await jobs.insertJobs(db, m, 'c1', [masterJob({ id: ID }), masterJob({ id: ID2 })], NOW)).toEqual([ID2])
    expect(db.sent).toHaveLength(2)
  })

  test('insertJobs writes the envelope fields the OPENJSON schema reads', async () => {
    const db = new FakeRunner()
    const job = masterJob({ id: ID, priority: 'critical', lane: 'Payroll', payload: null, metadata: { a: 'b' }, idempotencyKey: 'k', scheduledAt: NOW, createdAt: LATER })
    await jobs.insertJobs(db, m, 'c1', [{ ...job, status: 'AssignedToBucket', bucketId: 'b1', agentConnection: 'a1' }], NOW)
    expect(db.json(0, 'jobs')).toEqual([
      {
        id: ID,
        definition: 'echo',
        status: 'AssignedToBucket',
        priority: 5,
        lane: 'Payroll',
        payload: 'null',
        metadata: '{"a":"b"}',
        scheduledAt: NOW.toISOString(),
        createdAt: LATER.toISOString(),
        maxRetries: 2,
        timeoutMs: 1000,
        agentConnection: 'a1',
        bucketId: 'b1',
        idempotencyKey: 'k',
      },
    ])
  })

  test('markJobs sends the latest mark of each job', async () => {
    const db = new FakeRunner()
    await jobs.markJobs(
      db,
      m,
      [
        { id: ID, bucketId: 'b1', status: 'Queued', attempt: 1, workerId: 'w1', at: NOW },
        { id: ID2, bucketId: 'b1', status: 'Queued', attempt: 1, workerId: 'w1', at: NOW },
        { id: ID, bucketId: 'b1', status: 'Processing', attempt: 1, workerId: 'w1', at: LATER },
      ],
      NOW,
    )
    expect(db.json(0, 'marks').map((r) => [r.id, r.status])).toEqual([
      [ID, 'Processing'],
      [ID2, 'Queued'],
    ])
  })

  test('transitionJobs sends the from-statuses as a delimited list and returns the ids that applied', async () => {
    const db = new FakeRunner([{ recordsets: [[{ id: ID }]] }])
    expect(await jobs.transitionJobs(db, m, [transition({ fromStatuses: ['HeldOnMaster'] })], [], NOW)).toEqual([ID])
    expect(db.json(0, 'transitions')[0]).toMatchObject({ id: ID, fromBucketId: 'b1', fromStatuses: ',HeldOnMaster,', finishedAt: LATER.toISOString(), lastError: null })
  })

  test('transitionJobs with attempts only records them and reports no transition', async () => {
    const db = new FakeRunner()
    expect(await jobs.transitionJobs(db, m, [], [{ jobId: ID, attempt: 1, workerId: null, bucketId: null, startedAt: NOW, endedAt: LATER, outcome: 'Failed', error: 'boom', result: undefined }], NOW)).toEqual([])
    expect(db.sent[0]!.statements).toBe(1)
    expect(db.json(0, 'attempts')[0]).toMatchObject({ outcome: 'Failed', error: 'boom', result: null })
    expect(await jobs.transitionJobs(db, m, [], [], NOW)).toEqual([])
    expect(db.sent).toHaveLength(1)
  })

  test('claimed rows become records: JSON parsed, BIGINT as number, priority by rank, ordered by time', async () => {
    const early = jobRow({ id: ID2, scheduled_at: new Date(NOW.getTime() - 1000) })
    const db = new FakeRunner([{ recordsets: [[jobRow(), early]] }])
    const claimed = await jobs.claimDueHeldJobs(db, m, 'c1', LATER, 10, 5000, NOW)
    expect(claimed.map((j) => j.id)).toEqual([ID2, ID])
    expect(claimed[1]).toMatchObject({ payload: { n: 1, text: 'héllo' }, metadata: { tenant: 'acme' }, timeoutMs: 604_800_000, priority: 'critical' })
    expect(db.sent[0]!.params.find((p) => p.name === 'claimedUntil')!.value).toEqual(new Date(NOW.getTime() + 5000))
  })

  test('cancelJob returns the row as it was, or null', async () => {
    const db = new FakeRunner([{ recordsets: [[jobRow({ status: 'Queued', bucket_id: 'b1' })]] }, { recordsets: [[]] }])
    expect(await jobs.cancelJob(db, m, 'c1', ID, NOW)).toMatchObject({ status: 'Queued', bucketId: 'b1' })
    expect(await jobs.cancelJob(db, m, 'c1', ID, NOW)).toBeNull()
  })

  test('findStrandedJobs reads both result sets of its one request', async () => {
    const db = new FakeRunner([{ recordsets: [[jobRow({ id: ID })], [jobRow({ id: ID2 })]] }])
    const found = await jobs.findStrandedJobs(db, m, 'c1', NOW, 60_000, 100)
    expect(found.orphaned.map((j) => j.id)).toEqual([ID])
    expect(found.overdue.map((j) => j.id)).toEqual([ID2])
    expect(db.sent).toHaveLength(1)
  })

  test('counts, attempts and purges map their rows', async () => {
    const db = new FakeRunner([
      { recordsets: [[{ status: 'HeldOnMaster', n: 7 }, { status: 'Failed', n: 1 }]] },
      { recordsets: [[{ n: 3 }]] },
      { recordsets: [[{ job_id: ID, attempt: 1, worker_id: 'w', bucket_id: 'b', started_at: NOW, ended_at: LATER, outcome: 'Succeeded', error: null, result: '{"ok":[1,"x"]}' }]] },
    ])
    expect(await jobs.countJobsByStatus(db, m, 'c1')).toEqual({ HeldOnMaster: 7, Failed: 1 })
    expect(await jobs.purgeFinishedJobs(db, m, 'c1', NOW, 10)).toBe(3)
    expect(await jobs.listAttempts(db, m, 'c1', ID)).toEqual([
      { jobId: ID, attempt: 1, workerId: 'w', bucketId: 'b', startedAt: NOW, endedAt: LATER, outcome: 'Succeeded', error: null, result: { ok: [1, 'x'] } },
    ])
  })
})

describe('master settings and workers', () => {
  test('initCluster returns what is stored, BIGINT columns as numbers', async () => {
    const stored = {
      cluster_id: 'c1',
      mode: 'Passive',
      transient_threshold_ms: '60000',
      default_job_timeout_ms: '300000',
      default_max_retries: 3,
      max_message_bytes: 131072,
      time_zone: 'UTC',
      data_retention_ms: null,
    }
    const db = new FakeRunner([{ recordsets: [[stored]] }])
    expect(await cluster.initCluster(db, m, settings(), false, NOW)).toEqual({
      clusterId: 'c1',
      mode: 'Passive',
      transientThresholdMs: 60_000,
      defaultJobTimeoutMs: 300_000,
      defaultMaxRetries: 3,
      maxMessageBytes: 131072,
      timeZone: 'UTC',
      dataRetentionMs: null,
    })
  })

  test('heartbeat: null when the worker is gone, the stop request otherwise', async () => {
    const db = new FakeRunner([{ recordsets: [[]] }, { recordsets: [[{ stop_requested_at: NOW }]] }])
    expect(await workers.heartbeat(db, m, 'w1', NOW)).toBeNull()
    expect(await workers.heartbeat(db, m, 'w1', NOW)).toEqual({ stopRequested: true })
  })
})

describe('agent', () => {
  test('enqueue without keys is one INSERT and answers with the envelope ids', async () => {
    const db = new FakeRunner()
    const batch = [envelope(), envelope()]
    expect(await agent.enqueue(db, a, batch, 60_000, NOW)).toEqual({ ids: batch.map((e) => e.id), duplicates: 0 })
    expect(db.sent.map((s) => s.statements)).toEqual([1])
    expect(await agent.enqueue(db, a, [], 60_000, NOW)).toEqual({ ids: [], duplicates: 0 })
    expect(db.sent).toHaveLength(1)
  })

  test('enqueue with keys answers duplicates with the first job, and runs again after losing a race on a key', async () => {
    const [fresh, repeated] = [envelope({ idempotencyKey: 'k1' }), envelope({ idempotencyKey: 'k2' })]
    const db = new FakeRunner([
      duplicateKey(),
      {
        recordsets: [
          [
            { job_id: fresh.id, fresh: true },
            { job_id: ID, fresh: false },
          ],
        ],
      },
    ])
    expect(await agent.enqueue(db, a, [fresh, repeated], 60_000, NOW)).toEqual({ ids: [fresh.id, ID], duplicates: 1 })
    expect(db.sent).toHaveLength(2)
    expect(db.json(1, 'envelopes').map((r) => [r.ord, r.key])).toEqual([
      [0, 'k1'],
      [1, 'k2'],
    ])
    expect(db.sent[1]!.params.find((p) => p.name === 'expiresAt')!.value).toEqual(new Date(NOW.getTime() + 60_000))
  })

  test('claimInbox parses the messages; the receipt is the job id', async () => {
    const e = envelope({ scheduledAt: NOW, createdAt: NOW })
    const { serializeEnvelope } = await import('../../core/envelope.js')
    const db = new FakeRunner([{ recordsets: [[{ job_id: e.id, message: serializeEnvelope(e) }]] }])
    expect(await agent.claimInbox(db, a, 10, 1000, 'c', NOW)).toEqual([{ envelope: e, receipt: e.id }])
  })

  test('pushToBuckets sends the last push of each job and runs again after losing a race on a key', async () => {
    const job = bucketJob('b1', { id: ID })
    const db = new FakeRunner([duplicateKey()])
    await agent.pushToBuckets(db, a, [job, bucketJob('b1', { id: ID2 }), { ...job, bucketId: 'b2' }])
    expect(db.sent).toHaveLength(2)
    expect(db.json(1, 'jobs').map((r) => [r.id, r.bucketId])).toEqual([
      [ID, 'b2'],
      [ID2, 'b1'],
    ])
    await agent.pushToBuckets(db, a, [])
    expect(db.sent).toHaveLength(2)
  })

  test('fetchDue returns the jobs in time order whatever order OUTPUT gives', async () => {
    const { serializeBucketJob } = await import('../../core/envelope.js')
    const [late, early] = [bucketJob('b1', { scheduledAt: LATER }), bucketJob('b1', { scheduledAt: NOW })]
    const db = new FakeRunner([{ recordsets: [[{ message: serializeBucketJob(late) }, { message: serializeBucketJob(early) }]] }])
    expect(await agent.fetchDue(db, a, 'b1', LATER, 10, NOW)).toEqual([early, late])
  })

  test('settle sends only the halves it has', async () => {
    const db = new FakeRunner()
    await agent.settle(db, a, [], [])
    expect(db.sent).toHaveLength(0)
    await agent.settle(db, a, [{ bucketId: 'b1', jobId: ID }], [])
    expect(db.sent[0]!.params.map((p) => p.name)).toEqual(['done'])
  })

  test('sliced deletes repeat until a slice comes back short', async () => {
    const db = new FakeRunner([{ rowsAffected: [agent.DELETE_SLICE] }, { rowsAffected: [agent.DELETE_SLICE] }, { rowsAffected: [17] }])
    expect(await agent.deleteInSlices(db, agent.buildClearBucketSlice(a, 'b1'))).toBe(2 * agent.DELETE_SLICE + 17)
    expect(db.sent).toHaveLength(3)
  })
})

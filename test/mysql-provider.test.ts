import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RowDataPacket } from 'mysql2/promise'
import { StoreError } from '../core/errors.js'
import { MySqlAgentStore } from '../core/providers/mysql/agent/index.js'
import { MySqlMasterStore } from '../core/providers/mysql/master/index.js'
import { at, bucketJob, CLUSTER, envelope, masterJob } from './conformance/fixtures.js'
import { dropMySqlPrefix, ensureMySqlDatabases, MYSQL_AGENT_URL, MYSQL_MASTER_URL, mysqlQuery } from './support/mysql.js'
import { testPrefix } from './support/pg.js'

/** What the shared conformance suite cannot see: MySQL-specific failure modes of this provider. */
describe('mysql provider specifics', () => {
  const prefix = testPrefix('mp')
  let master: MySqlMasterStore
  let agent: MySqlAgentStore

  beforeAll(async () => {
    await ensureMySqlDatabases()
    master = new MySqlMasterStore(MYSQL_MASTER_URL, prefix)
    agent = new MySqlAgentStore('a1', MYSQL_AGENT_URL, prefix)
    await Promise.all([master.provision(), agent.provision()])
  })
  afterAll(async () => {
    await Promise.all([master?.close(), agent?.close()])
    await dropMySqlPrefix(MYSQL_MASTER_URL, prefix)
    await dropMySqlPrefix(MYSQL_AGENT_URL, prefix)
  })

  test('a partly re-delivered batch inserts the rest and answers exactly the new ids', async () => {
    const seen = masterJob()
    await master.insertJobs(CLUSTER, [seen], at())
    const fresh = [masterJob(), masterJob()]
    const before = master.statementCount
    expect((await master.insertJobs(CLUSTER, [fresh[0]!, seen, fresh[1]!], at())).sort()).toEqual(fresh.map((j) => j.envelope.id).sort())
    // The refused INSERT, the look-up of the existing ids, the INSERT of the others.
    expect(master.statementCount - before).toBe(3)
  })

  test('a real error is never mistaken for a duplicate: the batch fails whole', async () => {
    const ok = masterJob()
    const tooLong = masterJob({ definition: 'x'.repeat(101) })
    const failure = await master.insertJobs(CLUSTER, [ok, tooLong], at()).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(StoreError)
    expect((failure as StoreError).message).toMatch(/^master: .*definition/)
    expect(await master.getJob(CLUSTER, ok.envelope.id)).toBeNull()
  })

  test('a transaction counts its BEGIN and COMMIT', async () => {
    const before = master.statementCount
    expect(await master.claimDueHeldJobs('nobody', at(), 10, 1000, at())).toEqual([])
    expect(master.statementCount - before).toBe(3)
  })

  test('times are stored as UTC whatever the process and session time zones', async () => {
    const zone = process.env.TZ
    process.env.TZ = 'Pacific/Auckland'
    try {
      const instant = new Date('2031-03-04T05:06:07.089Z')
      const job = masterJob({ scheduledAt: instant, createdAt: instant })
      await master.insertJobs(CLUSTER, [job], instant)
      const [raw] = await mysqlQuery<RowDataPacket>(
        MYSQL_MASTER_URL,
        `SELECT DATE_FORMAT(scheduled_at, '%Y-%m-%dT%H:%i:%s.%f') AS text FROM ${prefix}jobs WHERE id = ?`,
        [job.envelope.id],
      )
      expect(raw!.text).toBe('2031-03-04T05:06:07.089000')
      expect((await master.getJob(CLUSTER, job.envelope.id))!.scheduledAt.toISOString()).toBe(instant.toISOString())
    } finally {
      if (zone === undefined) delete process.env.TZ
      else process.env.TZ = zone
    }
  })

  test('batches larger than max_allowed_packet are split, and an enqueue stays all or nothing', async () => {
    const large = () => envelope({ payload: { blob: 'x'.repeat(1536 * 1024) } })
    const batch = Array.from({ length: 12 }, large) // about 18 MiB: over MariaDB's 16 MiB packet limit
    await agent.enqueue(batch, 60_000, new Date())
    const claimed = await agent.claimInbox(100, 60_000, 'big', new Date())
    expect(claimed.map((m) => m.envelope.id).sort()).toEqual(batch.map((e) => e.id).sort())
    await agent.ackInbox(claimed.map((m) => m.receipt))

    const failing = [...Array.from({ length: 11 }, large), { ...large(), id: batch[0]!.id }]
    await agent.enqueue([batch[0]!], 60_000, new Date())
    await expect(agent.enqueue(failing, 60_000, new Date())).rejects.toThrow(StoreError)
    expect(await agent.inboxDepth()).toBe(1)
    await agent.ackInbox([batch[0]!.id])

    const jobs = Array.from({ length: 12 }, () => masterJob({ payload: { blob: 'y'.repeat(1536 * 1024) } }))
    expect(await master.insertJobs(CLUSTER, jobs, at())).toHaveLength(12)
  })

  test('no push signals: subscribe registers nothing, and a cancel removes the job from its bucket only', async () => {
    expect(agent.pushesSignals).toBe(false)
    const unsubscribe = await agent.subscribe(() => {
      throw new Error('no signal expected')
    })
    const job = bucketJob('bk-cancel', { scheduledAt: at(-10) })
    await agent.pushToBuckets([job])
    await agent.signalCancel('bk-elsewhere', job.id)
    expect(await agent.bucketDepth('bk-cancel')).toBe(1)
    await agent.signalCancel('bk-cancel', job.id)
    expect(await agent.missingFromBuckets([{ bucketId: 'bk-cancel', jobId: job.id }])).toEqual([job.id])
    await unsubscribe()
  })

  test('errors name the connection, never its URL', async () => {
    const unreachable = new MySqlAgentStore('edge', 'mysql://root:s3cret-pw@127.0.0.1:1/jm_test_agent', prefix)
    try {
      const failure = await unreachable.ping().catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StoreError)
      expect((failure as StoreError).message).toMatch(/^agent connection "edge": /)
      expect((failure as StoreError).message).not.toContain('s3cret-pw')
    } finally {
      await unreachable.close()
    }
  })
})

import { afterEach, expect, test } from 'vitest'
import { newId } from '../../core/ids.js'
import type { JobEnvelope } from '../../core/model.js'
import { PG_AGENT_URL } from '../support/env.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { startMySqlCluster } from '../support/mysql.js'
import { waitFor } from '../support/wait.js'

/**
 * A message the master refuses (one that slipped past the producer's checks, or was written by an
 * older version) must not stop the inbox: it comes back with every claim, so each batch holding it
 * failed for ever and nothing behind it was ingested. The worker isolates it, keeps it as a Failed
 * job with the refusal, and ingests the rest.
 */
let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

function envelope(overrides: Partial<JobEnvelope>): JobEnvelope {
  const now = new Date()
  return {
    id: newId(),
    definition: 'noop',
    payload: null,
    metadata: {},
    priority: 'medium',
    lane: null,
    scheduledAt: now,
    createdAt: now,
    timeoutMs: null,
    maxRetries: null,
    idempotencyKey: null,
    ...overrides,
  }
}

// PostgreSQL's jsonb refuses a NUL character; MariaDB's DATETIME ends with year 9999.
const refusedBy = {
  postgres: () => envelope({ payload: { text: 'a NUL \u0000 inside' } }),
  mysql: () => envelope({ scheduledAt: new Date('+020000-01-01T00:00:00.000Z') }),
}

// The worker's own ingest must cope: the coordinator's orphaned-inbox ingest (which isolates too)
// is kept out of the way.
const config = { inboxOrphanAfter: 600_000 }

test.each([
  ['postgres', () => startTestCluster({ config: { ...config, agents: [{ name: 'pg', url: PG_AGENT_URL }] } })],
  ['mysql', () => startMySqlCluster({ config })],
] as const)('a message the %s master refuses is kept as a Failed job and the rest of its batch runs', async (master, start) => {
  const c = (cluster = await start())
  const agent = [...c.ctx.agents.values()][0]!
  const good = Array.from({ length: 30 }, (_, n) => envelope({ payload: { n } }))
  const refused = refusedBy[master]()
  // Written straight into the inbox, as one batch, past the producer's checks.
  await agent.enqueue([...good.slice(0, 15), refused, ...good.slice(15)], 60_000, new Date())
  await c.startWorker()

  await waitFor('the 30 good jobs to succeed', async () => (await c.ctx.master.countJobs('test', { status: 'Succeeded' })) === 30, 20_000)
  await waitFor('the inbox to be empty', async () => (await agent.inboxDepth()) === 0, 5000)
  const kept = await c.ctx.master.getJob('test', refused.id)
  expect(kept).toMatchObject({ status: 'Failed', definition: 'noop', payload: null, attempts: 0 })
  expect(kept!.lastError).toMatch(/^the master refused this message: /)
  expect(await c.ctx.master.countJobsByStatus('test')).toEqual({ Succeeded: 30, Failed: 1 })
}, 40_000)

import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ManualClock } from '../../core/clock.js'
import { openCluster, type ClusterContext } from '../../core/cluster.js'
import { resolveConfig } from '../../core/config.js'
import { protectConnections } from '../../core/coordinator/protect-connections.js'
import { JobRegistry } from '../../core/definitions.js'
import { MINUTE } from '../../core/durations.js'
import { ConnectionFingerprintMismatchError } from '../../core/errors.js'
import type { AgentConnectionRecord } from '../../core/model.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { dropPrefix, testPrefix } from '../support/pg.js'

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; connection?: string }> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

const prefix = testPrefix()
afterAll(async () => {
  await dropPrefix(PG_MASTER_URL, prefix)
  await dropPrefix(PG_AGENT_URL, prefix)
})

const config = (agentUrl: string, protect: boolean) =>
  resolveConfig({ masterUrl: PG_MASTER_URL, tablePrefix: prefix, clusterId: 'prot', agents: [{ name: 'pg-1', url: agentUrl, protectConnectionChanges: protect }] })

describe('fingerprint at start-up', () => {
  test('a connection repointed at another store refuses to start when protected, warns when not', async () => {
    const first = await openCluster(config(PG_AGENT_URL, true), { registry: new JobRegistry() })
    const recorded = (await first.master.getAgentConnection('prot', 'pg-1'))!.fingerprint
    expect(recorded).toBe(await first.agent('pg-1').fingerprint())
    await first.close()

    // Same name, another database: its own fingerprint.
    const refused = await openCluster(config(PG_MASTER_URL, true), { registry: new JobRegistry() }).catch((e) => e)
    expect(refused).toBeInstanceOf(ConnectionFingerprintMismatchError)
    expect(refused.message).toMatch(/agent connection "pg-1" points at a different store than recorded/)

    const { logger, lines } = capturingLogger()
    const accepted = await openCluster(config(PG_MASTER_URL, false), { registry: new JobRegistry(), logger })
    expect(lines.some((l) => l.level === 40 && l.connection === 'pg-1' && /different store than recorded/.test(l.msg))).toBe(true)
    expect((await accepted.master.getAgentConnection('prot', 'pg-1'))!.fingerprint).not.toBe(recorded)
    await accepted.close()
  })
})

describe('run-time protection rules (controllable clock)', () => {
  let ctx: ClusterContext
  let clock: ManualClock
  let lines: ReturnType<typeof capturingLogger>['lines']
  const start = new Date('2026-06-01T12:00:00Z')
  beforeAll(async () => {
    clock = new ManualClock(start)
    const captured = capturingLogger()
    lines = captured.lines
    ctx = await openCluster(config(PG_MASTER_URL, false), { registry: new JobRegistry(), clock, logger: captured.logger })
  })
  afterAll(() => ctx?.close())

  async function connection(name: string, protect: boolean, withBucket: boolean): Promise<void> {
    const record: AgentConnectionRecord = { clusterId: 'prot', name, provider: 'postgres', fingerprint: `fp-${name}`, protect, firstSeenAt: start, lastSeenAt: start, deletionDeferredAt: null }
    await ctx.master.upsertAgentConnection(record)
    if (withBucket) {
      await ctx.master.createBuckets([{ id: `${name}:-:low:b`, clusterId: 'prot', agentConnection: name, priority: 'low', lane: null, status: 'Lost', ownerId: null, createdAt: start, statusChangedAt: start }])
    }
  }
  const actions = async () => Object.fromEntries((await protectConnections(ctx)).filter((r) => r.connection !== 'pg-1').map((r) => [r.connection, r.action]))
  const exists = async (name: string) => (await ctx.master.getAgentConnection('prot', name)) !== null

  test('the four rules, on their clocks', async () => {
    await connection('prot-busy', true, true)
    await connection('prot-idle', true, false)
    await connection('unprot-busy', false, true)
    await connection('unprot-idle', false, false)

    clock.set(start.getTime() + 9 * MINUTE) // not silent yet
    expect(await actions()).toEqual({})

    clock.set(start.getTime() + 11 * MINUTE)
    expect(await actions()).toEqual({ 'prot-busy': 'kept-critical', 'prot-idle': 'waiting', 'unprot-busy': 'deletion-deferred', 'unprot-idle': 'deleted' })
    expect(await exists('unprot-idle')).toBe(false)
    expect(lines.some((l) => l.level === 60 && l.connection === 'prot-busy' && /CRITICAL/.test(l.msg))).toBe(true)

    clock.set(start.getTime() + 14 * MINUTE) // retried only every 5 minutes
    expect((await actions())['unprot-busy']).toBe('waiting')
    clock.set(start.getTime() + 16 * MINUTE + 1)
    expect((await actions())['unprot-busy']).toBe('deletion-deferred')

    clock.set(start.getTime() + 59 * MINUTE) // a protected idle connection waits an hour
    expect((await actions())['prot-idle']).toBe('waiting')
    clock.set(start.getTime() + 61 * MINUTE)
    expect((await actions())['prot-idle']).toBe('deleted')
    expect(await exists('prot-idle')).toBe(false)

    // Buckets drained away: the unprotected connection goes at its next attempt; the protected
    // busy one is still never deleted while it has buckets.
    await ctx.master.transitionBucket('unprot-busy:-:low:b', { from: ['Lost'], to: 'ReadyToDelete' }, clock.now())
    await ctx.master.deleteBucket('unprot-busy:-:low:b', 'ReadyToDelete')
    clock.set(start.getTime() + 120 * MINUTE)
    expect(await actions()).toEqual({ 'prot-busy': 'kept-critical', 'unprot-busy': 'deleted' })
    expect(await exists('prot-busy')).toBe(true)
  })
})

import { expect, test } from 'vitest'
import { configFromEnv } from './config-env.js'

test('agents, lanes, protection and buckets from the environment', () => {
  const c = configFromEnv(
    {
      JM_MASTER_URL: 'postgres://m/db',
      JM_AGENTS: 'pg-1=postgres://a/db?sslmode=disable, nats-1=nats://n:4222',
      JM_UNPROTECTED_AGENTS: 'nats-1',
      JM_AGENT_LANES: 'pg-1=Payroll|LongRun',
      JM_WORKER_AGENT: 'pg-1',
      JM_BUCKETS: 'critical=2,low=0',
      JM_TRANSIENT_THRESHOLD: '2m',
      JM_DATA_RETENTION_TTL: 'none',
    },
    { worker: true },
  )
  expect(c.standalone).toBe(false)
  expect(c.agents).toEqual([
    { name: 'pg-1', url: 'postgres://a/db?sslmode=disable', protectConnectionChanges: true, lanes: ['Payroll', 'LongRun'] },
    { name: 'nats-1', url: 'nats://n:4222', protectConnectionChanges: false, lanes: [] },
  ])
  expect(c.worker).toMatchObject({ agent: 'pg-1', mode: 'Full', batchSize: 250, parallelismFactor: 1, buckets: { critical: 2, high: 1, medium: 1, low: 0, 'very-low': 1 } })
  expect(c.transientThresholdMs).toBe(120_000)
  expect(c.dataRetentionMs).toBeNull()
})

test('no agents means standalone: the master doubles as the agent', () => {
  const c = configFromEnv({ JM_MASTER_URL: 'postgres://m/db', JM_BUCKETS: '3' }, { worker: true })
  expect(c.standalone).toBe(true)
  expect(c.agents).toEqual([{ name: 'standalone', url: 'postgres://m/db', protectConnectionChanges: true, lanes: [] }])
  expect(c.worker!.agent).toBe('standalone')
  expect(Object.values(c.worker!.buckets)).toEqual([3, 3, 3, 3, 3])
})

test('errors name the variable, not the internal field', () => {
  expect(() => configFromEnv({ JM_MASTER_URL: 'postgres://m/db', JM_HEARTBEAT_INTERVAL: 'often' })).toThrow(/^invalid configuration: JM_HEARTBEAT_INTERVAL: /)
  expect(() => configFromEnv({ JM_MASTER_URL: 'postgres://m/db', JM_UNPROTECTED_AGENTS: 'ghost' })).toThrow(/JM_UNPROTECTED_AGENTS: "ghost" is not listed in JM_AGENTS/)
  const error = (() => {
    try {
      configFromEnv({ JM_MASTER_URL: 'postgres://user:s3cret@m/db', JM_AGENTS: 'x=bogus://user:s3cret@h' })
    } catch (e) {
      return e as Error
    }
  })()
  expect(error?.message).toMatch(/JM_AGENTS: must be a URL/)
  expect(error?.message).not.toContain('s3cret')
  expect(() => configFromEnv({ JM_MASTER_URL: 'postgres://m/db', JM_AGENTS: 'postgres://jm:s3cret@db/x' })).toThrow(/^invalid configuration: JM_AGENTS: entry 1 is not of the form name=value$/)
})

import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { resolveConfig } from '../core/config.js'
import { configFromEnv } from '../core/config-env.js'
import { ConfigError, PayloadTooLargeError, UnknownDefinitionError, ValidationError } from '../core/errors.js'
import { echo, sleep } from '../jobs/definitions.js'
import { createProducerApp } from '../functions/producer.js'
import { PG_MASTER_URL } from './support/env.js'
import { startWorkerProcess } from './support/child.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'

let cluster: TestCluster
let app: ReturnType<typeof createProducerApp>
beforeAll(async () => {
  cluster = await startTestCluster({ config: { maxMessageBytes: 4096 } })
  app = createProducerApp({ producer: cluster.producer, maxMessageBytes: 4096 })
})
afterAll(() => cluster?.close())

/** Nothing reached the transport or the master. */
async function nothingWritten(): Promise<void> {
  expect(await cluster.ctx.agent('standalone').inboxDepth()).toBe(0)
  expect(await cluster.ctx.master.countJobs('test', {})).toBe(0)
}

async function post(path: string, body: unknown) {
  const res = await app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as { error: string; issues?: Array<{ path: string; message: string }> } }
}

describe('the library refuses bad jobs whole, naming the field', () => {
  test('unknown definition', async () => {
    await expect(cluster.producer.enqueueRequest({ definition: 'nope', payload: {} })).rejects.toThrow(UnknownDefinitionError)
    await expect(cluster.producer.enqueueRequest({ definition: 'nope' })).rejects.toMatchObject({ issues: [{ path: 'definition', message: 'unknown job definition "nope"' }] })
    await nothingWritten()
  })

  test('payload not matching its schema', async () => {
    await expect(cluster.producer.enqueue(sleep, { ms: 'soon' })).rejects.toMatchObject({ issues: [{ path: 'payload.ms' }] })
    await expect(cluster.producer.enqueue(sleep, { ms: -1 })).rejects.toThrow(ValidationError)
    await nothingWritten()
  })

  test('oversize payload', async () => {
    const error = await cluster.producer.enqueue(echo, { blob: 'x'.repeat(5000) }).catch((e) => e)
    expect(error).toBeInstanceOf(PayloadTooLargeError)
    expect(error.message).toMatch(/payload: serialized job is \d+ bytes, over the limit of 4096 bytes/)
    await nothingWritten()
  })

  test('bad names and options', async () => {
    await expect(cluster.producer.enqueue(echo, {}, { lane: 'bad lane!' })).rejects.toMatchObject({ issues: [{ path: 'lane' }] })
    await expect(cluster.producer.enqueue(echo, {}, { metadata: { 'bad key': 'v' } })).rejects.toMatchObject({ issues: [{ path: 'metadata.bad key' }] })
    await expect(cluster.producer.enqueue(echo, {}, { priority: 'urgent' as never })).rejects.toMatchObject({ issues: [{ path: 'priority' }] })
    await expect(cluster.producer.enqueue(echo, {}, { maxRetries: 26 })).rejects.toMatchObject({ issues: [{ path: 'maxRetries' }] })
    await expect(cluster.producer.enqueue(echo, {}, { runAt: 'tomorrow' })).rejects.toMatchObject({ issues: [{ path: 'runAt' }] })
    await expect(cluster.producer.enqueue(echo, {}, { delay: '1y0' })).rejects.toMatchObject({ issues: [{ path: 'delay' }] })
    await expect(cluster.producer.enqueue(echo, {}, { runAt: new Date(Date.now() + 20 * 365 * 86_400_000) })).rejects.toMatchObject({ issues: [{ path: 'runAt' }] })
    await expect(cluster.producer.enqueue(echo, {}, { runAt: new Date(), delay: 5 })).rejects.toMatchObject({ issues: [{ path: 'runAt' }] })
    await expect(cluster.producer.enqueue(echo, {}, { colour: 'red' } as never)).rejects.toMatchObject({ issues: [{ path: 'colour' }] })
    await nothingWritten()
  })

  test('a batch with one bad job writes nothing', async () => {
    const error = await cluster.producer
      .enqueueBatch([{ definition: 'echo', payload: 1 }, { definition: 'sleep', payload: { ms: 'x' } }, { definition: 'echo', lane: '' }])
      .catch((e) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect(error.issues.map((i: { path: string }) => i.path)).toEqual(['jobs.1.payload.ms', 'jobs.2.lane'])
    await nothingWritten()
  })
})

describe('the HTTP producer answers 4xx naming the field, never echoing the payload', () => {
  test('400 for an unknown definition, a bad payload, bad names, bad JSON', async () => {
    const secret = 'do-not-echo-me'
    const cases: Array<[unknown, string]> = [
      [{ definition: 'nope', payload: { secret } }, 'definition'],
      [{ definition: 'sleep', payload: { ms: secret } }, 'payload.ms'],
      [{ definition: 'echo', payload: { secret }, lane: 'a b' }, 'lane'],
      [{ definition: 'echo', payload: { secret }, metadata: { k: 5 } }, 'metadata.k'],
      ['{not json', '(body)'],
      [[{ definition: 'echo' }], '(body)'],
    ]
    for (const [body, path] of cases) {
      const res = await post('/v1/jobs', body)
      expect(res.status).toBe(400)
      expect(res.body.issues?.[0]?.path).toBe(path)
      expect(JSON.stringify(res.body)).not.toContain(secret)
    }
    await nothingWritten()
  })

  test('413 when too large, 400 for a bad batch', async () => {
    expect((await post('/v1/jobs', { definition: 'echo', payload: 'x'.repeat(5000) })).status).toBe(413)
    expect((await post('/v1/jobs', { definition: 'echo', payload: 'x'.repeat(20_000) })).status).toBe(413)
    const batch = await post('/v1/jobs/batch', { jobs: [{ definition: 'echo' }, { definition: 'nope' }] })
    expect(batch).toMatchObject({ status: 400, body: { issues: [{ path: 'jobs.1.definition' }] } })
    expect((await post('/v1/jobs/batch', { jobs: [] })).body.issues?.[0]?.path).toBe('jobs')
    expect((await post('/v1/jobs/batch', { jobs: Array.from({ length: 1001 }, () => ({ definition: 'echo' })) })).body.issues?.[0]?.path).toBe('jobs')
    expect((await post('/v1/jobs/batch', { jobs: [{ definition: 'echo', idempotencyKey: 'a' }, { definition: 'echo', idempotencyKey: 'a' }] })).body.issues?.[0]?.path).toBe('jobs.1.idempotencyKey')
    await nothingWritten()
  })
})

describe('configuration is refused with the field or variable named', () => {
  test('the transient threshold must lie within 10 s – 24 h', () => {
    for (const tt of ['5s', 9999, '25h', '2d']) {
      expect(() => resolveConfig({ masterUrl: PG_MASTER_URL, transientThreshold: tt })).toThrow(/transientThreshold: transientThreshold must be between 10s and 1d/)
    }
    for (const tt of ['10s', '24h', 600_000]) expect(resolveConfig({ masterUrl: PG_MASTER_URL, transientThreshold: tt }).transientThresholdMs).toBeGreaterThan(0)
    expect(() => configFromEnv({ JM_MASTER_URL: PG_MASTER_URL, JM_TRANSIENT_THRESHOLD: '25h' })).toThrow(/JM_TRANSIENT_THRESHOLD: /)
  })

  test('names, URLs and numbers', () => {
    const bad = (env: Record<string, string>, variable: string) => {
      const error = (() => {
        try {
          configFromEnv({ JM_MASTER_URL: PG_MASTER_URL, ...env }, { worker: true })
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues.map((i) => i.path)).toContain(variable)
    }
    bad({ JM_CLUSTER_ID: 'my cluster' }, 'JM_CLUSTER_ID')
    bad({ JM_MASTER_URL: 'redis://x' }, 'JM_MASTER_URL')
    bad({ JM_AGENTS: 'pg 1=postgres://x/y' }, 'JM_AGENTS')
    bad({ JM_AGENTS: 'pg-1=ftp://x' }, 'JM_AGENTS')
    bad({ JM_AGENTS: 'pg-1=postgres://a/b,pg-1=postgres://c/d', JM_WORKER_AGENT: 'pg-1' }, 'JM_AGENTS')
    bad({ JM_AGENTS: 'a=postgres://a/b,b=postgres://c/d' }, 'JM_WORKER_AGENT')
    bad({ JM_WORKER_MODE: 'Turbo' }, 'JM_WORKER_MODE')
    bad({ JM_BATCH_SIZE: '0' }, 'JM_BATCH_SIZE')
    bad({ JM_BUCKETS: 'urgent=2' }, 'JM_BUCKETS')
    bad({ JM_DEFAULT_MAX_RETRIES: '26' }, 'JM_DEFAULT_MAX_RETRIES')
    bad({ JM_TIME_ZONE: 'Mars/Olympus' }, 'JM_TIME_ZONE')
    bad({ JM_WORKER_LANE: 'Long Run' }, 'JM_WORKER_LANE')
    expect(() => configFromEnv({})).toThrow(/JM_MASTER_URL: is required/)
  })

  test('a worker process with a bad variable exits non-zero naming it', async () => {
    const worker = startWorkerProcess({ JM_MASTER_URL: PG_MASTER_URL, JM_TRANSIENT_THRESHOLD: '5s' })
    const { code } = await worker.exited
    expect(code).toBe(1)
    expect(worker.output()).toContain('JM_TRANSIENT_THRESHOLD: transientThreshold must be between 10s and 1d')
  })
})

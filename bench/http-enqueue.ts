/**
 * HTTP enqueue throughput: the producer app on a real `@hono/node-server` (ephemeral port) writing
 * to a real PostgreSQL agent, driven by concurrent keep-alive fetch clients. Single-job requests
 * (`POST /v1/jobs`) and batches (`POST /v1/jobs/batch`), in accepted jobs per second.
 *
 * Alone: `npx tsx bench/http-enqueue.ts [--duration ms] [--concurrency n] [--batch n]` prints TSV.
 * The load generator runs in a worker thread so that client work does not share the server's
 * event loop (it still shares the machine's cores, as does PostgreSQL).
 */
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { serve } from '@hono/node-server'
import postgres from 'postgres'
import { JobRegistry } from '../core/definitions.js'
import { DAY } from '../core/durations.js'
import { silentLogger } from '../core/logger.js'
import { Producer } from '../core/producer.js'
import { openAgent } from '../core/stores/registry.js'
import { createProducerApp } from '../functions/producer.js'
import { sampleDefinitions } from '../jobs/definitions.js'
import { machine, percentile } from './lib.js'

export interface HttpEnqueueOptions {
  durationMs?: number
  concurrency?: number
  batchSize?: number
}

export interface HttpEnqueueFigure {
  name: string
  value: number
  unit: string
  notes: string
}

const PG = process.env.JM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432'
const AGENT_DATABASE = 'jm_bench_agent'
const API_KEY = `bench-${randomBytes(12).toString('hex')}`

export async function benchHttpEnqueue(options: HttpEnqueueOptions = {}): Promise<HttpEnqueueFigure[]> {
  const durationMs = options.durationMs ?? 5000
  const concurrency = options.concurrency ?? 32
  const batchSize = options.batchSize ?? 100
  await ensureDatabase(AGENT_DATABASE)
  const agentUrl = `${PG}/${AGENT_DATABASE}`
  const prefix = `jmhttp${randomBytes(4).toString('hex')}_`
  const store = await openAgent('bench', agentUrl, { tablePrefix: prefix, poolSize: 10 })
  const server = await listen(store)
  try {
    await store.provision()
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const single = await drive({ url: `${origin}/v1/jobs`, body: JSON.stringify({ definition: 'echo', payload: { order: 42, note: 'x'.repeat(64) } }), concurrency, durationMs })
    const batchBody = JSON.stringify({ jobs: Array.from({ length: batchSize }, (_, i) => ({ definition: 'echo', payload: { order: i, note: 'x'.repeat(64) } })) })
    const batch = await drive({ url: `${origin}/v1/jobs/batch`, body: batchBody, concurrency, durationMs })

    // Every 202 is a job in the inbox: the figures count only what was really written.
    const accepted = single.acceptedInAll + batch.acceptedInAll * batchSize
    const written = await store.inboxDepth()
    if (written !== accepted) throw new Error(`the inbox holds ${written} jobs, but ${accepted} were answered 202`)

    const m = machine()
    const conditions = `${m.cores} cores ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${await serverVersion(agentUrl)} agent on 127.0.0.1 (pool 10), ${concurrency} keep-alive clients in a worker thread, ${durationMs} ms after warm-up, x-api-key auth on`
    const latency = (r: LoadResult) => `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms per request`
    return [
      { name: 'http_enqueue_per_s', value: Math.round(single.accepted / single.seconds), unit: 'jobs/s', notes: `POST /v1/jobs, 1 job per request; ${latency(single)}; ${errorsOf(single)}${conditions}` },
      {
        name: 'http_enqueue_batch_per_s',
        value: Math.round((batch.accepted * batchSize) / batch.seconds),
        unit: 'jobs/s',
        notes: `POST /v1/jobs/batch, ${batchSize} jobs per request; ${latency(batch)}; ${errorsOf(batch)}${conditions}`,
      },
    ]
  } finally {
    await new Promise((closed) => server.close(closed))
    await store.close()
    await dropTables(agentUrl, prefix)
  }
}

function errorsOf(r: LoadResult): string {
  return r.failed > 0 ? `${r.failed} requests not answered 202 (${r.failureSample}); ` : ''
}

async function listen(store: Awaited<ReturnType<typeof openAgent>>) {
  const producer = new Producer({
    registry: new JobRegistry(sampleDefinitions),
    agents: [{ store, config: { name: store.name, lanes: [] } }],
    maxMessageBytes: 128 * 1024,
    idempotencyWindowMs: DAY,
  })
  const app = createProducerApp({ producer, maxMessageBytes: 128 * 1024, apiKeys: [API_KEY], logger: silentLogger })
  return new Promise<ReturnType<typeof serve>>((ready) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => ready(server))
  })
}

interface LoadResult {
  /** Answered 202 within the measured window. */
  accepted: number
  /** Answered 202 at any time, warm-up included (what the inbox must hold). */
  acceptedInAll: number
  failed: number
  failureSample: string
  seconds: number
  p50Ms: number
  p99Ms: number
}

/**
 * Closed-loop clients: each sends a request, waits for the answer, sends the next. A warm-up
 * (connections, prepared statements, JIT) runs first and is not counted.
 */
async function drive(options: { url: string; body: string; concurrency: number; durationMs: number }): Promise<LoadResult> {
  const worker = new Worker(LOAD_GENERATOR, {
    eval: true,
    workerData: { ...options, warmupMs: Math.min(1000, options.durationMs / 2), headers: { 'content-type': 'application/json', 'x-api-key': API_KEY } },
  })
  const result = await new Promise<Omit<LoadResult, 'p50Ms' | 'p99Ms'> & { latencies: number[] }>((done, failed) => {
    worker.once('message', done)
    worker.once('error', failed) // a failed fetch (server gone, refused) ends the run with its error
  }).finally(() => worker.terminate())
  const sorted = result.latencies.sort((a, b) => a - b)
  const { latencies: _, ...counts } = result
  return { ...counts, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) }
}

/** The worker thread's code (plain JavaScript: it runs without the TypeScript loader). */
const LOAD_GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads')
const { url, body, headers, concurrency, durationMs, warmupMs } = workerData
async function run() {
  const measureFrom = Date.now() + warmupMs
  const until = measureFrom + durationMs
  let accepted = 0, acceptedInAll = 0, failed = 0, failureSample = ''
  const latencies = []
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < until) {
      const sent = performance.now()
      const response = await fetch(url, { method: 'POST', headers, body })
      const text = await response.text()
      const now = Date.now()
      if (response.status === 202) acceptedInAll++
      if (now < measureFrom || now > until) continue
      latencies.push(performance.now() - sent)
      if (response.status === 202) accepted++
      else { failed++; failureSample ||= response.status + ' ' + text.slice(0, 200) }
    }
  }))
  parentPort.postMessage({ accepted, acceptedInAll, failed, failureSample, seconds: durationMs / 1000, latencies })
}
run()
`

async function ensureDatabase(name: string): Promise<void> {
  const sql = postgres(`${PG}/postgres`, { max: 1, onnotice: () => {} })
  try {
    const found = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`
    if (found.length === 0) await sql.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await sql.end()
  }
}

async function serverVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ server_version: string }[]>`SHOW server_version`
    return row!.server_version.split(' ')[0]!
  } finally {
    await sql.end()
  }
}

async function dropTables(url: string, prefix: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const tables = await sql<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND starts_with(tablename, ${prefix})`
    if (tables.length > 0) await sql.unsafe(`DROP TABLE ${tables.map((t) => `"${t.tablename}"`).join(', ')}`)
  } finally {
    await sql.end()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, concurrency: { type: 'string' }, batch: { type: 'string' } } })
  const number = (text: string | undefined) => (text === undefined ? undefined : Number(text))
  benchHttpEnqueue({ durationMs: number(values.duration), concurrency: number(values.concurrency), batchSize: number(values.batch) })
    .then((figures) => {
      for (const f of figures) process.stdout.write(`${[f.name, f.value, f.unit, f.notes].join('\t')}\n`)
    })
    .catch((error) => {
      process.stderr.write(`${error?.stack ?? error}\n`)
      process.exit(1)
    })
}

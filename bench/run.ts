/**
 * `npm run bench [-- --transport postgres|mysql|nats|all] [--quick] [--drain-only]`: one TSV line per figure,
 * and a JSON result in bench/results/. `--drain-only` measures just the drain (and its CPU split), for
 * profiling a change. Each transport's figures are compared with the transport's own floor
 * on this machine, measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { benchEngine } from './engine.js'
import { postgresCommitFloor } from './floors.js'
import { benchHttpEnqueue } from './http-enqueue.js'
import { ensureMySqlBenchDatabase, MYSQL_BENCH_AGENT_URL, mysqlCommitFloor } from './mysql.js'
import { NATS_BENCH_URL, natsPublishFloor } from './nats.js'
import { machine, meets, tsvHeader, tsvLine, type Figure } from './lib.js'

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'postgres' },
    quick: { type: 'boolean', default: false },
    'drain-only': { type: 'boolean', default: false },
    /** Worker settings for the drain, as JM_ variables: --worker JM_PARALLELISM_FACTOR=16 --worker JM_BATCH_SIZE=1000 */
    worker: { type: 'string', multiple: true, default: [] },
  },
})
const workerEnv = Object.fromEntries(
  values.worker!.map((pair) => {
    const at = pair.indexOf('=')
    if (at <= 0 || !pair.startsWith('JM_')) throw new Error(`--worker takes JM_NAME=value (got "${pair}")`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }),
)
const PG = process.env.JM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432'
const TRANSPORTS = ['postgres', 'mysql', 'nats'] as const
const wanted = (values.transport === "all" ? [...TRANSPORTS] : [values.transport!]) as Array<(typeof TRANSPORTS)[number]>
for (const t of wanted) if (!(TRANSPORTS as readonly string[]).includes(t)) throw new Error(`--transport must be one of ${TRANSPORTS.join(', ')} or all (got "${t}")`)

/** Targets of the benchmarks issue, per transport (a relative target is a fraction of the transport's floor). */
const COMMON: Record<string, Figure['target']> = { master_statements_per_job: { op: '<=', value: 0.05 }, worker_rss_mb: { op: '<=', value: 200 } }
const TARGETS: Record<(typeof TRANSPORTS)[number], Record<string, Figure['target']>> = {
  postgres: { ...COMMON, enqueue_single_per_s: { op: '>=', value: 0.7, relative: true }, drain_per_s: { op: '>=', value: 20_000 }, latency_p50_ms: { op: '<=', value: 10 } },
  mysql: { ...COMMON, drain_per_s: { op: '>=', value: 10_000 }, latency_p50_ms: { op: '<=', value: 100 } },
  nats: { ...COMMON, enqueue_single_per_s: { op: '>=', value: 0.7, relative: true }, drain_per_s: { op: '>=', value: 20_000 }, latency_p50_ms: { op: '<=', value: 5 } },
}

const drainOnly = values['drain-only']!
const durationMs = values.quick ? 2000 : 5000
const drainJobs = values.quick ? 5000 : 20_000
const log = (line: string) => process.stderr.write(`${line}\n`)

async function ensureDatabases(names: string[]): Promise<void> {
  const sql = postgres(`${PG}/postgres`, { max: 1, onnotice: () => {} })
  for (const name of names) {
    const found = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`
    if (found.length === 0) await sql.unsafe(`CREATE DATABASE ${name}`)
  }
  await sql.end()
}

/** The transport's own limit on this machine, which the enqueue figures are compared with. */
async function measureFloor(transport: (typeof TRANSPORTS)[number], agentUrl: string): Promise<{ floor: { name: string; value: number }; figure: Figure }> {
  if (transport === 'postgres') {
    log('[postgres] floor: single-row INSERT commits, 16 connections')
    const value = await postgresCommitFloor(agentUrl, durationMs)
    return { floor: { name: 'insert_commits_per_s', value }, figure: { name: 'floor_insert_commits_per_s', transport, value, unit: 'commits/s', notes: 'single-row INSERT, autocommit, 16 connections (synchronous_commit=on)' } }
  }
  if (transport === 'nats') {
    log('[nats] floor: acknowledged JetStream publishes, 16 in flight')
    const value = await natsPublishFloor(durationMs)
    return { floor: { name: 'acked_publishes_per_s', value }, figure: { name: 'floor_acked_publishes_per_s', transport, value, unit: 'publishes/s', notes: 'NATS 2.9 JetStream, file storage, 16 publishes in flight, each awaiting its PubAck' } }
  }
  log('[mysql] floor: single-row INSERT commits, 16 connections')
  const value = await mysqlCommitFloor(durationMs)
  return { floor: { name: 'insert_commits_per_s', value }, figure: { name: 'floor_insert_commits_per_s', transport, value, unit: 'commits/s', notes: 'MariaDB 10.11 single-row INSERT, autocommit, 16 connections (server defaults)' } }
}

async function main(): Promise<void> {
  await ensureDatabases(['jm_bench_master', 'jm_bench_agent'])
  const masterUrl = `${PG}/jm_bench_master`
  const figures: Figure[] = []
  for (const transport of wanted) {
    if (transport === 'mysql') await ensureMySqlBenchDatabase()
    const agentUrl = transport === 'postgres' ? `${PG}/jm_bench_agent` : transport === 'nats' ? NATS_BENCH_URL : MYSQL_BENCH_AGENT_URL
    const floor = drainOnly ? null : await measureFloor(transport, agentUrl)
    if (floor) figures.push(floor.figure)
    const engine = await benchEngine({ transport, masterUrl, agentUrl, drainJobs, drainOnly, durationMs, latencyRate: 200, latencySeconds: values.quick ? 3 : 10, workerEnv, log })
    const targets = TARGETS[transport]
    for (const f of engine) {
      if (f.name === 'enqueue_single_per_s' && floor) f.floor = floor.floor
      const target = targets[f.name]
      if (target) f.target = target
    }
    figures.push(...engine)
    if (transport === 'postgres' && !drainOnly) {
      log('[postgres] http_enqueue: the producer app on @hono/node-server, 32 keep-alive clients')
      for (const f of await benchHttpEnqueue({ durationMs })) figures.push({ ...f, transport })
    }
  }
  process.stdout.write(`${tsvHeader()}\n${figures.map(tsvLine).join('\n')}\n`)
  const result = { at: new Date().toISOString(), machine: machine(), quick: values.quick, figures: figures.map((f) => ({ ...f, met: meets(f) })) }
  mkdirSync('bench/results', { recursive: true })
  const file = `bench/results/${result.at.replace(/[:.]/g, '-')}.json`
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  log(`results written to ${file}`)
}

main().catch((error) => {
  log(String(error?.stack ?? error))
  process.exit(1)
})

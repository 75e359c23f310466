/**
 * `npm run bench [-- --transport postgres|all] [--quick]`: one TSV line per figure, and a JSON
 * result in bench/results/. Each transport's figures are compared with the transport's own floor
 * on this machine, measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { benchEngine } from './engine.js'
import { postgresCommitFloor } from './floors.js'
import { machine, meets, tsvHeader, tsvLine, type Figure } from './lib.js'

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'postgres' },
    quick: { type: 'boolean', default: false },
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
const TRANSPORTS = ['postgres'] as const
const wanted = values.transport === 'all' ? [...TRANSPORTS] : [values.transport!]
for (const t of wanted) if (!(TRANSPORTS as readonly string[]).includes(t)) throw new Error(`--transport must be one of ${TRANSPORTS.join(', ')} or all (got "${t}")`)

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

async function main(): Promise<void> {
  await ensureDatabases(['jm_bench_master', 'jm_bench_agent'])
  const masterUrl = `${PG}/jm_bench_master`
  const figures: Figure[] = []
  for (const transport of wanted) {
    if (transport === 'postgres') {
      const agentUrl = `${PG}/jm_bench_agent`
      log('[postgres] floor: single-row INSERT commits, 16 connections')
      const floor = { name: 'insert_commits_per_s', value: await postgresCommitFloor(agentUrl, durationMs) }
      figures.push({ name: 'floor_insert_commits_per_s', transport, value: floor.value, unit: 'commits/s', notes: 'single-row INSERT, autocommit, 16 connections (synchronous_commit=on)' })
      const engine = await benchEngine({ transport, masterUrl, agentUrl, drainJobs, durationMs, latencyRate: 200, latencySeconds: values.quick ? 3 : 10, workerEnv, log })
      for (const f of engine) {
        if (f.name === 'enqueue_single_per_s') Object.assign(f, { floor, target: { op: '>=', value: 0.7, relative: true } })
        if (f.name === 'drain_per_s') f.target = { op: '>=', value: 20_000 }
        if (f.name === 'latency_p50_ms') f.target = { op: '<=', value: 10 }
        if (f.name === 'master_statements_per_job') f.target = { op: '<=', value: 0.05 }
        if (f.name === 'worker_rss_mb') f.target = { op: '<=', value: 200 }
      }
      figures.push(...engine)
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

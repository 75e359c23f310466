import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { openCluster, type ClusterContext } from '../core/cluster.js'
import { resolveConfig } from '../core/config.js'
import { JobRegistry } from '../core/definitions.js'
import { silentLogger } from '../core/logger.js'
import { Producer } from '../core/producer.js'
import { noop } from '../jobs/definitions.js'
import { handlers } from '../jobs/handlers.js'
import { cpus } from 'node:os'
import { closedLoop, cpuSecondsOf, cpuSecondsOfPid, percentile, rssMb, workerImageCommand, type Figure } from './lib.js'
import { dropMySqlBenchTables } from './mysql.js'
import { deleteNatsBenchStreams } from './nats.js'

export interface EngineBenchOptions {
  transport: string
  masterUrl: string
  agentUrl: string
  /** Jobs pre-enqueued for the drain. */
  drainJobs: number
  /** Measure only the drain and its costs (no enqueue rates, no latency). */
  drainOnly: boolean
  durationMs: number
  latencyRate: number
  latencySeconds: number
  /** JM_ settings of the worker process (parallelism, batch size, buckets…), reported with the figures. */
  workerEnv: Record<string, string>
  log: (line: string) => void
}

/**
 * The PostgreSQL server's own statistics (pg_stat_database): transactions at the master database
 * (to count master statements), and rows written in every database of the server (the master's
 * and, for the PostgreSQL transport, the agent's), which bound the drain rate on a shared machine.
 */
async function serverCounters(masterUrl: string): Promise<{ masterTransactions: number; rowWrites: number }> {
  const sql = postgres(masterUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ xacts: string; writes: string }[]>`
      SELECT sum(xact_commit + xact_rollback) FILTER (WHERE datname = current_database())::text AS xacts,
             sum(tup_inserted + tup_updated + tup_deleted)::text AS writes
      FROM pg_stat_database`
    return { masterTransactions: Number(row!.xacts), rowWrites: Number(row!.writes) }
  } finally {
    await sql.end()
  }
}

/**
 * The engine figures for one agent transport: enqueue (16 concurrent single-job callers, batches
 * of 1,000), drain of pre-enqueued noop jobs by one worker process, enqueue-to-start latency at a
 * steady rate, master statements per job during the drain, and the worker's memory.
 */
export async function benchEngine(o: EngineBenchOptions): Promise<Figure[]> {
  const prefix = `jmb${randomBytes(3).toString('hex')}_`
  const config = resolveConfig({ masterUrl: o.masterUrl, tablePrefix: prefix, clusterId: 'bench', agents: [{ name: 'bench-agent', url: o.agentUrl }] })
  const registry = new JobRegistry([], handlers)
  const ctx: ClusterContext = await openCluster(config, { registry, logger: silentLogger, poolSize: 20 })
  const agent = ctx.agent('bench-agent')
  const producer = new Producer({ registry, agents: [{ store: agent, config: config.agents[0]! }], maxMessageBytes: config.maxMessageBytes, idempotencyWindowMs: config.idempotencyWindowMs })
  const figures: Figure[] = []
  const drainInbox = async () => {
    for (;;) {
      const got = await agent.claimInbox(5000, 60_000, 'bench-clean', new Date())
      if (got.length === 0) return
      await agent.ackInbox(got.map((m) => m.receipt))
    }
  }
  try {
    const batch = Array.from({ length: 1000 }, () => ({ definition: 'noop', payload: null }))
    if (!o.drainOnly) {
      o.log(`[${o.transport}] enqueue_single: 16 concurrent callers for ${o.durationMs} ms`)
      const singles = await closedLoop(16, o.durationMs, () => producer.enqueue(noop, null))
      figures.push({ name: 'enqueue_single_per_s', transport: o.transport, value: (singles * 1000) / o.durationMs, unit: 'jobs/s', notes: '16 concurrent library callers, one job per call' })
      await drainInbox()

      o.log(`[${o.transport}] enqueue_batch: batches of 1,000 from 4 callers for ${o.durationMs} ms`)
      const batches = await closedLoop(4, o.durationMs, () => producer.enqueueBatch(batch))
      figures.push({ name: 'enqueue_batch_per_s', transport: o.transport, value: (batches * 1000 * 1000) / o.durationMs, unit: 'jobs/s', notes: 'batches of 1,000, 4 concurrent callers' })
      await drainInbox()
    }

    o.log(`[${o.transport}] drain: ${o.drainJobs} noop jobs pre-enqueued, then one worker process`)
    for (let i = 0; i < o.drainJobs; i += 1000) await producer.enqueueBatch(batch.slice(0, Math.min(1000, o.drainJobs - i)))
    const [, ...imageArgs] = workerImageCommand()
    const worker = spawn(process.execPath, [...(process.env.JM_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.JM_BENCH_CPU_PROF}`] : []), ...imageArgs], {
      env: {
        PATH: process.env.PATH ?? '',
        JM_MASTER_URL: o.masterUrl,
        JM_AGENTS: `bench-agent=${o.agentUrl}`,
        JM_TABLE_PREFIX: prefix,
        JM_CLUSTER_ID: 'bench',
        JM_LOG_LEVEL: 'warn',
        JM_HEALTH_PORT: '0',
        ...o.workerEnv,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    const exited = new Promise((done) => worker.once('exit', done))
    try {
      // The clock starts when the worker has registered (process start-up is not the engine's speed).
      while ((await ctx.master.listWorkers('bench')).length === 0) await delay(20)
      const before = await serverCounters(o.masterUrl)
      const serverCpuBefore = serverCpuSeconds(o.agentUrl)
      const workerCpuBefore = cpuSecondsOfPid(worker.pid!)
      const started = Date.now()
      let polls = 0
      let peakRss = 0
      for (;;) {
        polls++
        const done = await ctx.master.countJobs('bench', { status: 'Succeeded' })
        peakRss = Math.max(peakRss, rssMb(worker.pid!).rss)
        if (done >= o.drainJobs) break
        if (Date.now() - started > 300_000) throw new Error(`drain did not finish in 5 minutes (${done}/${o.drainJobs})`)
        await delay(100)
      }
      const seconds = (Date.now() - started) / 1000
      const workerCpuMs = ((cpuSecondsOfPid(worker.pid!) - workerCpuBefore) * 1000) / o.drainJobs
      const serverCpuMs = ((serverCpuSeconds(o.agentUrl) - serverCpuBefore) * 1000) / o.drainJobs
      await delay(1500) // pg_stat_database is flushed about once a second
      const after = await serverCounters(o.masterUrl)
      // Subtract our own polling (one statement each) and the two stat reads.
      const workerStatements = after.masterTransactions - before.masterTransactions - polls - 1
      const settings = Object.entries(o.workerEnv).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'
      figures.push({ name: 'drain_per_s', transport: o.transport, value: o.drainJobs / seconds, unit: 'jobs/s', notes: `${o.drainJobs} pre-enqueued noop jobs, one worker process (${settings}), from worker registration to all Succeeded` })
      figures.push({ name: 'master_statements_per_job', transport: o.transport, value: workerStatements / o.drainJobs, unit: 'statements/job', notes: `${workerStatements} master transactions during the drain (pg_stat_database), every statement autocommits` })
      const where = o.transport === 'postgres' ? 'master and agent databases' : 'master database (the agent is not PostgreSQL)'
      figures.push({ name: 'pg_row_writes_per_job', transport: o.transport, value: (after.rowWrites - before.rowWrites) / o.drainJobs, unit: 'rows/job', notes: `rows inserted, updated and deleted on the PostgreSQL server (${where}) during the drain, per job` })
      const servers = o.agentUrl.startsWith('postgres') ? 'PostgreSQL' : `PostgreSQL (master) + ${o.agentUrl.startsWith('mysql') ? 'MariaDB' : 'NATS'} (agent)`
      figures.push({ name: 'worker_cpu_ms_per_job', transport: o.transport, value: workerCpuMs, unit: 'ms/job', notes: 'CPU time (user + system) of the worker process during the drain, per job' })
      figures.push({ name: 'server_cpu_ms_per_job', transport: o.transport, value: serverCpuMs, unit: 'ms/job', notes: `CPU time of the ${servers} server processes during the drain, per job` })
      figures.push({
        name: 'drain_cpu_ceiling_per_s',
        transport: o.transport,
        value: (cpus().length * 1000) / (workerCpuMs + serverCpuMs),
        unit: 'jobs/s',
        notes: `the drain rate if worker and servers kept all ${cpus().length} cores busy at the measured CPU per job (the design's limit on this machine)`,
      })
      figures.push({ name: 'worker_rss_mb', transport: o.transport, value: peakRss, unit: 'MB', notes: 'peak resident memory of the worker process during the drain' })

      if (o.drainOnly) return figures
      o.log(`[${o.transport}] latency: ${o.latencyRate} jobs/s for ${o.latencySeconds} s`)
      const ids: string[] = []
      const total = o.latencyRate * o.latencySeconds
      const t0 = Date.now()
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / o.latencyRate
        const wait = due - Date.now()
        if (wait > 0) await delay(wait)
        producer.enqueue(noop, null).then((j) => ids.push(j.id), () => {})
      }
      while ((await ctx.master.countJobs('bench', { status: 'Succeeded' })) < o.drainJobs + total) await delay(100)
      const sql = postgres(o.masterUrl, { max: 1, onnotice: () => {} })
      const rows = await sql.unsafe<{ ms: number }[]>(
        `SELECT extract(epoch FROM (a.started_at - j.created_at)) * 1000 AS ms FROM ${prefix}jobs j JOIN ${prefix}job_attempts a ON a.job_id = j.id WHERE j.id = ANY($1::uuid[])`,
        [ids],
      )
      await sql.end()
      const latencies = rows.map((r) => Number(r.ms)).sort((a, b) => a - b)
      const note = `enqueue call to handler start, ${o.latencyRate} jobs/s for ${o.latencySeconds} s (${latencies.length} jobs)`
      figures.push({ name: 'latency_p50_ms', transport: o.transport, value: percentile(latencies, 50), unit: 'ms', notes: note })
      figures.push({ name: 'latency_p99_ms', transport: o.transport, value: percentile(latencies, 99), unit: 'ms', notes: note })
    } finally {
      worker.kill('SIGTERM')
      await exited
    }
  } finally {
    await ctx.close()
    await dropBenchTables(o, prefix)
  }
  return figures
}

/** CPU seconds used so far by the database servers the drain writes to (the master is always PostgreSQL). */
function serverCpuSeconds(agentUrl: string): number {
  const agentServer = agentUrl.startsWith('mysql') ? 'mariadbd' : agentUrl.startsWith('nats') ? 'nats-server' : null
  return cpuSecondsOf('postgres') + (agentServer ? cpuSecondsOf(agentServer) : 0)
}

async function dropBenchTables(o: EngineBenchOptions, prefix: string): Promise<void> {
  if (o.agentUrl.startsWith('mysql')) await dropMySqlBenchTables(prefix)
  if (o.agentUrl.startsWith('nats')) await deleteNatsBenchStreams(prefix)
  for (const url of new Set([o.masterUrl, o.agentUrl].filter((u) => u.startsWith('postgres')))) {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    const tables = await sql<{ t: string }[]>`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE ${`${prefix}%`}`
    if (tables.length) await sql.unsafe(`DROP TABLE ${tables.map((t) => `"${t.t}"`).join(', ')}`)
    await sql.end()
  }
}

import type { JobMasterConfigInput } from '../../../core/config.js'
import type { HandlerEntry } from '../../../core/definitions.js'
import { startWorkerProcess, type WorkerProcess } from '../../support/child.js'
import { startTestCluster, type TestCluster } from '../../support/cluster.js'
import { PG_MASTER_URL } from '../../support/env.js'
import { createExecutionLog, recordingHandlers } from '../../support/jobs.js'
import { dropMySqlPrefix } from '../../support/mysql.js'
import { deleteNatsPrefix } from '../../support/nats.js'
import { dropPrefix, testPrefix } from '../../support/pg.js'

export interface ChaosClusterOptions {
  masterUrl: string
  /** Where worker processes reach the master, when not at masterUrl (through a proxy the test controls). */
  workerMasterUrl?: string
  agents: Array<{ name: string; url: string }>
  /** Liveness timings shared by the test process and every worker process. */
  heartbeatMs: number
  deadAfterMs: number
  config?: Partial<JobMasterConfigInput>
  /** Handlers for in-process workers besides `record` (given the execution log table). */
  handlers?: (log: string) => HandlerEntry<any>[]
  /** URLs of private servers that are thrown away whole (no tables to drop there). */
  disposable?: string[]
}

export interface ChaosCluster extends TestCluster {
  /** The execution log table (on the shared PostgreSQL, which no scenario disturbs). */
  log: string
  /** Start workers/main.ts as a child process of this cluster, recording every handler start. */
  workerProcess(name: string, env?: Record<string, string>): WorkerProcess
  processes: WorkerProcess[]
}

/**
 * A cluster for one chaos scenario: the test process is its producer and observer; workers run
 * as separate processes (so they can be killed) or in process. Tables live under a prefix of
 * their own and are dropped at the end.
 */
export async function startChaosCluster(o: ChaosClusterOptions): Promise<ChaosCluster> {
  const prefix = testPrefix('ch')
  const log = `${prefix}exec_log`
  await createExecutionLog(PG_MASTER_URL, log)
  const cluster = await startTestCluster({
    prefix,
    keepTables: true,
    handlers: [...recordingHandlers(PG_MASTER_URL, log), ...(o.handlers?.(log) ?? [])],
    config: {
      masterUrl: o.masterUrl,
      agents: o.agents,
      heartbeatInterval: o.heartbeatMs,
      workerDeadAfter: o.deadAfterMs,
      ...o.config,
    },
  })
  const processes: WorkerProcess[] = []
  const clusterEnv = {
    JM_MASTER_URL: o.workerMasterUrl ?? o.masterUrl,
    JM_AGENTS: o.agents.map((a) => `${a.name}=${a.url}`).join(','),
    JM_TABLE_PREFIX: prefix,
    JM_CLUSTER_ID: 'test',
    JM_HEARTBEAT_INTERVAL: String(o.heartbeatMs),
    JM_WORKER_DEAD_AFTER: String(o.deadAfterMs),
    JM_HANDLERS: 'test/support/jobs.ts',
    JM_TEST_EXEC_URL: PG_MASTER_URL,
    JM_TEST_EXEC_TABLE: log,
  }
  return {
    ...cluster,
    log,
    processes,
    workerProcess(name, env = {}) {
      const child = startWorkerProcess({ ...clusterEnv, JM_WORKER_NAME: name, ...env })
      processes.push(child)
      return child
    },
    async close() {
      for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
      await Promise.all(processes.map((p) => p.exited))
      await cluster.close()
      const disposable = new Set(o.disposable ?? [])
      for (const url of new Set([PG_MASTER_URL, o.masterUrl, ...o.agents.map((a) => a.url)])) {
        if (disposable.has(url)) continue
        if (url.startsWith('nats:')) await deleteNatsPrefix(url, prefix)
        else if (url.startsWith('mysql:')) await dropMySqlPrefix(url, prefix)
        else await dropPrefix(url, prefix)
      }
    },
  }
}

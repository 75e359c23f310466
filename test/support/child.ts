import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

export interface WorkerProcess {
  child: ChildProcess
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const ROOT = resolve(import.meta.dirname, '../..')

/**
 * Start workers/main.ts as a real child process configured only by environment variables.
 * Node runs it directly with the tsx loader (no wrapper process, so a signal reaches the worker).
 */
export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', JM_LOG_LEVEL: 'warn', JM_HEALTH_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c))
  child.stderr!.on('data', (c: Buffer) => (output += c))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })))
  return { child, output: () => output, exited }
}

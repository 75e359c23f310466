import { cpus, totalmem } from 'node:os'
import { readdirSync, readFileSync } from 'node:fs'

export interface Figure {
  name: string
  transport: string
  value: number
  unit: string
  /** The transport's own floor this figure is compared with, if any. */
  floor?: { name: string; value: number }
  target?: { op: '>=' | '<='; value: number; relative?: boolean }
  notes?: string
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[at]!
}

/** Whether a figure meets its target (a relative target is a fraction of the floor). */
export function meets(f: Figure): boolean | null {
  if (!f.target) return null
  const goal = f.target.relative ? f.target.value * (f.floor?.value ?? Number.NaN) : f.target.value
  return f.target.op === '>=' ? f.value >= goal : f.value <= goal
}

export function tsvHeader(): string {
  return ['figure', 'transport', 'value', 'unit', 'floor', 'ratio_to_floor', 'target', 'met', 'notes'].join('\t')
}

export function tsvLine(f: Figure): string {
  const ratio = f.floor ? (f.value / f.floor.value).toFixed(2) : ''
  const target = f.target ? `${f.target.op} ${f.target.value}${f.target.relative ? '× floor' : ''}` : ''
  const met = meets(f)
  return [f.name, f.transport, round(f.value), f.unit, f.floor ? `${f.floor.name}=${round(f.floor.value)}` : '', ratio, target, met === null ? '' : met ? 'yes' : 'NO', f.notes ?? ''].join('\t')
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x >= 100 ? x.toFixed(0) : x.toFixed(2)
}

export function machine() {
  const cpu = cpus()
  let kernel = ''
  try {
    kernel = readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {}
  return { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kernel }
}

/** Run `work` from `concurrency` loops for `durationMs`; returns completed operations. */
export async function closedLoop(concurrency: number, durationMs: number, work: () => Promise<unknown>): Promise<number> {
  const deadline = Date.now() + durationMs
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await work()
        done++
      }
    }),
  )
  return done
}

export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(/^(\w+):\s+(\d+) kB/m.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[2] ?? Number.NaN)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** The worker image's CMD (workers/Dockerfile), so the bench runs the worker exactly as deployed (node flags included). */
export function workerImageCommand(): string[] {
  const dockerfile = readFileSync(new URL('../workers/Dockerfile', import.meta.url), 'utf8')
  const cmd = dockerfile.split('\n').findLast((line) => line.startsWith('CMD '))
  if (!cmd) throw new Error('workers/Dockerfile has no CMD')
  return JSON.parse(cmd.slice(4)) as string[]
}

const CLOCK_TICKS_PER_S = 100 // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, children it waited for included. */
export function cpuSecondsOfPid(pid: number | string): number {
  try {
    // Fields after the command name (which may hold spaces) start at state; utime is field 14 overall.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number)
    return (utime! + stime! + cutime! + cstime!) / CLOCK_TICKS_PER_S
  } catch {
    return 0 // the process ended between listing and reading
  }
}

/** CPU seconds used so far by every process whose command name is `comm` (a server and its backends). */
export function cpuSecondsOf(comm: string): number {
  let total = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) total += cpuSecondsOfPid(pid)
    } catch {}
  }
  return total
}

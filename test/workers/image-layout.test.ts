import { spawn } from 'node:child_process'
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { PG_MASTER_URL } from '../support/env.js'
import { dropPrefix, testPrefix } from '../support/pg.js'
import { waitFor } from '../support/wait.js'
import { freePort, get } from './http.js'

/**
 * There is no Docker engine here, so workers/Dockerfile cannot be built. What can be checked is
 * that its runtime stage copies enough of the repository for its CMD to run a worker: the files
 * its COPY lines name go into an empty directory (node_modules linked in, as the dependencies
 * stage would provide them), and the CMD starts there, serves /health and stops on SIGTERM.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const prefix = testPrefix('img')
let app: string | undefined
afterAll(async () => {
  if (app) await rm(app, { recursive: true, force: true })
  await dropPrefix(PG_MASTER_URL, prefix)
})

/** The runtime (last) stage's `COPY src… dest` lines from the build context, and its CMD. */
function runtimeStage(dockerfile: string): { copies: Array<{ sources: string[]; destination: string }>; cmd: string[] } {
  const lines = dockerfile.split('\n').map((l) => l.trim())
  const stage = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')))
  const copies = stage
    .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
    .map((l) => {
      const words = l.split(/\s+/).slice(1)
      return { sources: words.slice(0, -1), destination: words.at(-1)! }
    })
  const cmdLine = stage.find((l) => l.startsWith('CMD '))
  if (!cmdLine) throw new Error('the runtime stage has no CMD')
  return { copies, cmd: JSON.parse(cmdLine.slice(4)) as string[] }
}

test('the image’s runtime stage holds everything its CMD needs to run a worker', async () => {
  const { copies, cmd } = runtimeStage(await readFile(join(ROOT, 'workers/Dockerfile'), 'utf8'))
  expect(cmd).toEqual(['node', '--max-semi-space-size=8', '--import', 'tsx', 'workers/main.ts'])
  app = await mkdtemp(join(tmpdir(), 'jm-image-'))
  for (const { sources, destination } of copies) {
    for (const source of sources) {
      const target = destination.endsWith('/') ? join(app, destination, basename(source)) : join(app, destination)
      await cp(join(ROOT, source), target, { recursive: true })
    }
  }
  await symlink(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir')

  const port = await freePort()
  const worker = spawn(process.execPath, cmd.slice(1), {
    cwd: app,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', JM_LOG_LEVEL: 'warn', JM_MASTER_URL: PG_MASTER_URL, JM_TABLE_PREFIX: prefix, JM_CLUSTER_ID: 'image', JM_HEALTH_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  worker.stdout.on('data', (c: Buffer) => (output += c))
  worker.stderr.on('data', (c: Buffer) => (output += c))
  const exited = new Promise<number | null>((done) => worker.once('exit', (code) => done(code)))
  try {
    await waitFor('/health to answer 200', async () => (await get(port, '/health'))?.status === 200 || worker.exitCode !== null, 30_000, 100)
    expect(worker.exitCode, output).toBeNull()
    worker.kill('SIGTERM')
    expect(await exited, output).toBe(0)
  } finally {
    worker.kill('SIGKILL')
  }
})

import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { build, type Metafile } from 'esbuild'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PG_AGENT_URL } from '../support/env.js'
import { testPrefix } from '../support/pg.js'
import { closedPort, functionUrlEvent, lambdaContext, provisionedAgents } from './support.js'

/**
 * The Lambda bundle of functions/producer-handler.ts, built the way a deploy builds it (esbuild,
 * ESM, minified): what is in it, how big it is, and how long a fresh `node` process takes from
 * spawn to its first handled invocation against a real PostgreSQL agent.
 */
const ROOT = resolve(import.meta.dirname, '../..')
const API_KEY = 'bundle-test-key-3c9d2e7f'
const prefix = testPrefix('pb')
const ENTRY = 'producer-handler'
// CommonJS dependencies (pino) call require(); an ESM bundle needs one (SST adds the same banner).
const REQUIRE_BANNER = "import { createRequire as __jmCreateRequire } from 'node:module'; const require = __jmCreateRequire(import.meta.url);"

interface Bundle {
  outdir: string
  metafile: Metafile
  /** Output files by path relative to the repository root, as the metafile names them. */
  entry: string
}

async function bundle(splitting: boolean): Promise<Bundle> {
  const outdir = await mkdtemp(join(tmpdir(), `jm-producer-bundle-${splitting ? 'split' : 'single'}-`))
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: { [ENTRY]: 'functions/producer-handler.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    splitting,
    metafile: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    banner: { js: REQUIRE_BANNER },
    logLevel: 'silent',
  })
  return { outdir, metafile, entry: relative(ROOT, join(outdir, `${ENTRY}.mjs`)) }
}

/** Output files loaded before the first request: the entry and what it imports statically. */
function staticClosure(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file) || !metafile.outputs[file]) return
    seen.add(file)
    for (const i of metafile.outputs[file]!.imports) if (i.kind === 'import-statement' && !i.external) visit(i.path)
  }
  visit(entry)
  return seen
}

const bytesOf = (metafile: Metafile, files: Iterable<string>) => [...files].reduce((sum, f) => sum + (metafile.outputs[f]?.bytes ?? 0), 0)
const inputsOf = (metafile: Metafile, files: Iterable<string>) => [...files].flatMap((f) => Object.keys(metafile.outputs[f]?.inputs ?? {}))
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`

let single: Bundle
let split: Bundle
let agents: Awaited<ReturnType<typeof provisionedAgents>>
beforeAll(async () => {
  ;[single, split, agents] = await Promise.all([bundle(false), bundle(true), provisionedAgents(prefix, { 'pg-a': PG_AGENT_URL })])
})
afterAll(async () => {
  await agents?.cleanup()
  for (const b of [single, split]) if (b) await rm(b.outdir, { recursive: true, force: true })
})

describe('the producer Lambda bundle', () => {
  test('holds no worker, coordinator, management API or worker-entrypoint code', () => {
    for (const { metafile } of [single, split]) {
      const inputs = Object.keys(metafile.inputs)
      expect(inputs.filter((p) => /^(core\/worker\/|core\/coordinator\/|workers\/|functions\/(api|coordinator|dashboard))/.test(p))).toEqual([])
      expect(inputs).toContain('functions/producer-handler.ts')
      expect(inputs).toContain('core/producer.ts')
    }
  })

  test('with code splitting, store drivers load on first use and only for the configured provider', () => {
    const cold = staticClosure(split.metafile, split.entry)
    const coldInputs = inputsOf(split.metafile, cold)
    expect(coldInputs.filter((p) => p.startsWith('core/providers/') || /^node_modules\/(postgres|mysql2|mssql|tedious)\//.test(p))).toEqual([])
    const outputs = Object.keys(split.metafile.outputs)
    const postgresChunks = outputs.filter((f) => Object.keys(split.metafile.outputs[f]!.inputs).some((p) => p.startsWith('core/providers/postgres/') || p.startsWith('node_modules/postgres/')))
    const sizes = {
      singleFile: kib(bytesOf(single.metafile, Object.keys(single.metafile.outputs))),
      splitAllChunks: kib(bytesOf(split.metafile, outputs)),
      splitLoadedBeforeFirstRequest: kib(bytesOf(split.metafile, cold)),
      splitPostgresProviderChunks: kib(bytesOf(split.metafile, postgresChunks)),
    }
    console.log(`producer bundle (esbuild, ESM, minified): ${JSON.stringify(sizes)}`)
    expect(bytesOf(split.metafile, cold)).toBeLessThan(bytesOf(single.metafile, Object.keys(single.metafile.outputs)) / 4)
  })

  test('cold start: a fresh node process from spawn to its first handled Function URL invocation', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      JM_MASTER_URL: `postgres://jobmaster:unused@127.0.0.1:${await closedPort()}/jobmaster`,
      JM_AGENTS: `pg-a=${PG_AGENT_URL}`,
      JM_TABLE_PREFIX: prefix,
      JM_API_KEYS: API_KEY,
      JM_LOG_LEVEL: 'info',
    }
    const baseline = await measure(process.execPath, ['-e', "console.log('COLD-START ' + JSON.stringify({ statusCode: 0 }))"], env)
    const report: Record<string, unknown> = { nodeBaselineMs: baseline.wallMs }
    for (const [name, b] of [['single', single], ['split', split]] as const) {
      const runner = join(b.outdir, 'cold-start.mjs')
      await writeFile(runner, COLD_START_RUNNER)
      const runs = []
      for (let i = 0; i < 5; i++) {
        const event = functionUrlEvent({ path: '/v1/jobs', body: { definition: 'echo', payload: { run: i } }, headers: { 'x-api-key': API_KEY } })
        const run = await measure(process.execPath, [runner], { ...env, JM_TEST_EVENT: JSON.stringify(event), JM_TEST_CONTEXT: JSON.stringify(lambdaContext()) })
        expect(run.result.statusCode).toBe(202)
        expect(run.output).toContain('producer cold start')
        runs.push(run)
      }
      const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!
      report[name] = {
        spawnToFirstResponseMs: median(runs.map((r) => r.wallMs)),
        moduleImportMs: Math.round(median(runs.map((r) => r.result.importedMs - r.result.importStartMs))),
        firstInvocationMs: Math.round(median(runs.map((r) => r.result.firstResponseMs - r.result.importedMs))),
      }
    }
    console.log(`producer cold start (median of 5, this machine): ${JSON.stringify(report)}`)
    expect((report.split as { spawnToFirstResponseMs: number }).spawnToFirstResponseMs).toBeLessThan(5000)
  })
})

/** Imports the bundle, invokes the handler once with the event from the environment, reports times. */
const COLD_START_RUNNER = `
const importStartMs = performance.now()
const { handler } = await import('./${ENTRY}.mjs')
const importedMs = performance.now()
const context = { ...JSON.parse(process.env.JM_TEST_CONTEXT), getRemainingTimeInMillis: () => 30000 }
const response = await handler(JSON.parse(process.env.JM_TEST_EVENT), context)
const firstResponseMs = performance.now()
console.log('COLD-START ' + JSON.stringify({ statusCode: response.statusCode, importStartMs, importedMs, firstResponseMs }))
process.exit(0)
`

interface Measured {
  wallMs: number
  output: string
  result: { statusCode: number; importStartMs: number; importedMs: number; firstResponseMs: number }
}

/** Spawn, and time until the child prints its COLD-START line; collect its output until it exits. */
function measure(command: string, args: string[], env: Record<string, string>): Promise<Measured> {
  return new Promise((done, failed) => {
    const started = performance.now()
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let wallMs: number | undefined
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (wallMs === undefined && output.includes('COLD-START ')) wallMs = Math.round(performance.now() - started)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('close', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('COLD-START '))
      if (wallMs === undefined || !line) failed(new Error(`cold-start process exited (code ${code}) without a result: ${output.slice(-2000)}`))
      else done({ wallMs, output, result: JSON.parse(line.slice('COLD-START '.length)) })
    })
  })
}

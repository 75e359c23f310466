import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'

/**
 * CI type-checks sst.config.ts and infra/ against SST's real component types, so a wrong
 * component option fails the build instead of the deploy. The types come from `sst install`
 * (offline: the CLI is an npm package; pulumi is not needed for it), which writes
 * .sst/platform (~340 MB, gitignored).
 */
const ROOT = resolve(import.meta.dirname, '../..')
const PLATFORM_TYPES = join(ROOT, '.sst/platform/config.d.ts')
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')

interface Run {
  code: number
  output: string
  seconds: number
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now()
  return new Promise((done) => {
    execFile(command, args, { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      done({ code, output: `${stdout}${stderr}`, seconds: (Date.now() - started) / 1000 })
    })
  })
}

let scratch: string
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'jm-infra-typecheck-'))
  if (existsSync(PLATFORM_TYPES)) return
  const install = await run(process.execPath, [join(ROOT, 'node_modules/sst/bin/sst.mjs'), 'install'], {
    SST_STAGE: 'dev',
    SST_SKIP_DEPENDENCY_CHECK: '1',
    SST_TELEMETRY_DISABLED: '1',
    SST_BUN_PATH: join(ROOT, 'node_modules/bun/bin/bun.exe'),
  })
  console.log(`sst install: ${install.seconds.toFixed(1)} s`)
  expect(install.output, 'sst install failed').toContain('Installed providers')
  expect(existsSync(PLATFORM_TYPES)).toBe(true)
}, 300_000)
afterAll(() => rm(scratch, { recursive: true, force: true }))

test('sst.config.ts and infra/ type-check against SST’s component types', async () => {
  const check = await run(process.execPath, [TSC, '-p', 'infra/tsconfig.json'])
  console.log(`tsc -p infra/tsconfig.json: ${check.seconds.toFixed(1)} s`)
  expect(check.output).toBe('')
  expect(check.code).toBe(0)
}, 180_000)

test('a deliberately wrong component option fails the check, naming the file, the line and the option', async () => {
  // Copies of the real worker services, each with one typical mistake: a wrongly typed scaling
  // bound, and an option the Service component does not have (the stop timeout is a task
  // definition setting). The copies live outside the repository: their relative import points back.
  const source = (await readFile(join(ROOT, 'infra/workers.ts'), 'utf8')).replace("from './fleets.js'", `from ${JSON.stringify(join(ROOT, 'infra/fleets.js'))}`)
  const mistakes: Record<string, [correct: string, wrong: string]> = {
    'wrong-scaling.ts': ['scaling: { min: fleet.min,', "scaling: { min: 'two',"],
    'unknown-option.ts': ['        cluster,\n', '        cluster,\n        stopTimeout: 60,\n'],
  }
  const files: string[] = []
  for (const [name, [correct, wrong]] of Object.entries(mistakes)) {
    expect(source).toContain(correct)
    files.push(join(scratch, name))
    await writeFile(files.at(-1)!, source.replace(correct, wrong))
  }
  const tsconfig = join(scratch, 'tsconfig.json')
  await writeFile(tsconfig, JSON.stringify({ extends: join(ROOT, 'infra/tsconfig.json'), files: [PLATFORM_TYPES, ...files], include: [] }))

  const check = await run(process.execPath, [TSC, '-p', tsconfig])
  console.log(`tsc on the deliberately wrong copies: ${check.seconds.toFixed(1)} s, exit ${check.code}:\n${check.output}`)
  expect(check.code).not.toBe(0)
  const errors = check.output.split('\n').filter((line) => line.includes('error TS'))
  expect(errors).toHaveLength(2)
  expect(errors).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/wrong-scaling\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'Input<number> \| undefined'/),
      expect.stringMatching(/unknown-option\.ts\(\d+,\d+\): error TS2353: Object literal may only specify known properties, and 'stopTimeout' does not exist in type 'ServiceArgs'/),
    ]),
  )
}, 180_000)

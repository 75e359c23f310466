import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { waitFor } from './wait.js'

/** The shared local server (PLATFORM.md). Tests that restart a server start a private one instead. */
export const NATS_URL = process.env.JM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const NATS_SERVER = process.env.JM_TEST_NATS_SERVER ?? '/usr/sbin/nats-server'

/** A prefix of its own per test run, so runs share the server without seeing each other. */
export function natsPrefix(tag = 't'): string {
  return `jn${tag}${randomBytes(4).toString('hex')}_`
}

/** Delete every stream a run created under its prefix. */
export async function deleteNatsPrefix(url: string, prefix: string): Promise<void> {
  const { hostname, port } = new URL(url)
  const nc = await connect({ servers: `${hostname}:${port || 4222}` })
  try {
    const jsm = await jetstreamManager(nc)
    for await (const stream of jsm.streams.list()) {
      if (stream.config.name.startsWith(prefix)) await jsm.streams.delete(stream.config.name)
    }
  } finally {
    await nc.close()
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A NATS server of the test's own (own port, own store directory) that it may kill and restart. */
export class PrivateNatsServer {
  private process: ChildProcess | null = null

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  static async start(): Promise<PrivateNatsServer> {
    const server = new PrivateNatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'jm-nats-')))
    await server.restart()
    return server
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  /** Start (again) on the same port and store directory, and wait until it accepts connections. */
  async restart(): Promise<void> {
    this.process = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' })
    await waitFor('private NATS server', async () => {
      const nc = await connect({ servers: `127.0.0.1:${this.port}`, timeout: 500 })
      try {
        await jetstreamManager(nc)
        return true
      } finally {
        await nc.close()
      }
    }, 10_000, 50)
  }

  /** SIGKILL: no shutdown, no flush. */
  async kill(): Promise<void> {
    const child = this.process
    this.process = null
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    await this.kill()
    await rm(this.storeDir, { recursive: true, force: true })
  }
}

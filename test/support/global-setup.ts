import postgres from 'postgres'
import { PG_ADMIN_URL, TEST_DATABASES } from './env.js'

/** Create the test databases once; fail early with the command that starts PostgreSQL. */
export default async function setup(): Promise<void> {
  const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    for (const db of TEST_DATABASES) {
      const found = await sql`SELECT 1 FROM pg_database WHERE datname = ${db}`
      if (found.length === 0) await sql.unsafe(`CREATE DATABASE ${db}`)
    }
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${(error as Error).message}). ` +
        'Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    )
  } finally {
    await sql.end()
  }
}

import { afterEach, expect, test } from 'vitest'
import { PgDb } from '../core/providers/postgres/db.js'
import { PG_MASTER_URL } from './support/env.js'
import { TcpProxy } from './support/proxy.js'

/**
 * A store whose database was down for a while (every query failing, each failure counting toward
 * the driver's reconnect back-off) must be usable again within a couple of seconds of the database
 * coming back. The postgres.js default back-off grows to 10–20 s between reconnect attempts, so a
 * worker could sit idle that long after a master or agent restart.
 */
let proxy: TcpProxy | undefined
let db: PgDb | undefined
afterEach(async () => {
  await db?.close()
  await proxy?.close()
  db = proxy = undefined
})

test('a PostgreSQL store reconnects within 2.5 s of its database returning, however many attempts failed meanwhile', async () => {
  const master = new URL(PG_MASTER_URL)
  proxy = await TcpProxy.start({ host: master.hostname, port: Number(master.port || 5432) })
  db = new PgDb(proxy.route(PG_MASTER_URL), 'master', { max: 2 })
  await db.query('SELECT 1')
  await proxy.cut()
  let failed = 0
  const downUntil = Date.now() + 3000
  while (Date.now() < downUntil) {
    await db.query('SELECT 1').catch(() => failed++)
  }
  await proxy.heal()
  const healedAt = Date.now()
  await db.query('SELECT 1')
  const seconds = (Date.now() - healedAt) / 1000
  console.log(`${failed} queries failed while the database was down; the first one after it returned took ${seconds.toFixed(2)} s`)
  expect(failed).toBeGreaterThan(3)
  expect(seconds).toBeLessThan(2.5)
})

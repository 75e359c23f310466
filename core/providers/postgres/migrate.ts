import type { PgDb } from './db.js'

/**
 * Apply pending migrations of one component ("master" or "agent") under a transaction-scoped
 * advisory lock, so processes starting together do not race. Idempotent.
 */
export async function migrate(db: PgDb, prefix: string, component: string, migrations: string[]): Promise<void> {
  const versions = `${prefix}schema_versions`
  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${versions}:${component}`])
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${versions} (component text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`,
    )
    const rows = await tx.query<{ version: number }>(`SELECT coalesce(max(version), 0) AS version FROM ${versions} WHERE component = $1`, [component])
    const current = rows[0]?.version ?? 0
    for (let i = current; i < migrations.length; i++) {
      // Multi-statement DDL runs as a simple query (no parameters).
      await tx.script(migrations[i]!)
      await tx.query(`INSERT INTO ${versions} (component, version) VALUES ($1, $2)`, [component, i + 1])
    }
  })
}

export function schemaText(prefix: string, migrations: string[]): string {
  return [`CREATE TABLE IF NOT EXISTS ${prefix}schema_versions (component text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version));`, ...migrations].join('\n')
}

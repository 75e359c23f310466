import { TABLE_OPTIONS, type MySqlDb } from './db.js'

/**
 * One schema version: statements run in order. MySQL DDL commits implicitly (no transactional
 * DDL), so each statement must be safe to run again after a crash half-way (IF NOT EXISTS, with
 * indexes declared inside CREATE TABLE because MySQL 8 has no CREATE INDEX IF NOT EXISTS).
 */
export type Migration = string[]

const LOCK_WAIT_SECONDS = 60

function versionsTable(prefix: string): string {
  return `CREATE TABLE IF NOT EXISTS ${prefix}schema_versions (
  component VARCHAR(20) NOT NULL,
  version INT NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (component, version)
) ${TABLE_OPTIONS}`
}

/**
 * Apply pending migrations of one component ("master" or "agent") while holding a named lock
 * (GET_LOCK, scoped to this database and prefix), so processes starting together do not race.
 * Idempotent. The lock belongs to the session: if the process dies, the server releases it.
 */
export async function migrate(db: MySqlDb, prefix: string, component: string, migrations: Migration[]): Promise<void> {
  const versions = `${prefix}schema_versions`
  // Lock names are server-wide and limited to 64 characters: hash the database, table and component.
  const lockName = `CONCAT('jm:', SHA1(CONCAT(DATABASE(), ':', ?)))`
  const lockKey = `${versions}:${component}`
  await db.session(async (session) => {
    const [lock] = await session.query<{ acquired: number | null }>(`SELECT GET_LOCK(${lockName}, ?) AS acquired`, [lockKey, LOCK_WAIT_SECONDS])
    if (Number(lock?.acquired) !== 1) throw new Error(`waited ${LOCK_WAIT_SECONDS} s for the ${component} schema migration lock held by another process`)
    try {
      await session.exec(versionsTable(prefix))
      const rows = await session.query<{ version: number }>(`SELECT COALESCE(MAX(version), 0) AS version FROM ${versions} WHERE component = ?`, [component])
      for (let version = Number(rows[0]?.version ?? 0); version < migrations.length; version++) {
        for (const statement of migrations[version]!) await session.exec(statement)
        await session.exec(`INSERT INTO ${versions} (component, version) VALUES (?, ?)`, [component, version + 1])
      }
    } finally {
      // If the connection broke, the server has already released the lock with the session.
      await session.query(`SELECT RELEASE_LOCK(${lockName})`, [lockKey]).catch(() => {})
    }
  })
}

/**
 * `statement` only if `table` has no column `column` yet. MySQL 8 has no ADD COLUMN IF NOT EXISTS
 * (MariaDB has) and DDL commits on its own, so a migration interrupted after its ALTER must be
 * able to run again: the check and the ALTER run as one prepared statement.
 */
export function unlessColumnExists(table: string, column: string, statement: string): string[] {
  if (statement.includes("'")) throw new Error('unlessColumnExists: the statement is quoted into a string literal and must not contain single quotes')
  return [
    `SET @jm_ddl = IF((SELECT COUNT(*) FROM information_schema.columns
   WHERE table_schema = DATABASE() AND table_name = '${table}' AND column_name = '${column}') = 0,
  '${statement}', 'DO 0')`,
    'PREPARE jm_ddl FROM @jm_ddl',
    'EXECUTE jm_ddl',
    'DEALLOCATE PREPARE jm_ddl',
  ]
}

/** The DDL `migrate` runs, as one script for operators who disable auto-provisioning. */
export function schemaText(prefix: string, migrations: Migration[]): string {
  return [versionsTable(prefix), ...migrations.flat()].map((statement) => `${statement.trim()};`).join('\n\n')
}

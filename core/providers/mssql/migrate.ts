import { StoreError } from '../../errors.js'
import { param, type MssqlDb, type Statement } from './db.js'

/** OPENJSON, which every batched statement uses, needs database compatibility level 130 (SQL Server 2016). */
export const MIN_COMPATIBILITY_LEVEL = 130

/** Waiting longer than this for another process's migration is a failure, not a hang. */
const LOCK_TIMEOUT_MS = 45_000

function versionsTableDdl(versions: string): string {
  return `IF OBJECT_ID(N'${versions}', N'U') IS NULL
  CREATE TABLE ${versions} (
    component nvarchar(20) NOT NULL,
    version int NOT NULL,
    applied_at datetimeoffset(3) NOT NULL,
    CONSTRAINT ${versions}_pk PRIMARY KEY (component, version)
  );`
}

/**
 * Take the migration lock (owned by the caller's transaction, so it is released at commit or
 * rollback), create the versions table if needed, and read the applied version and the
 * database's compatibility level. The lock is per table prefix: master and agent components on
 * one database share the versions table, so their first migrations must not race to create it.
 */
export function buildMigrationStart(prefix: string, component: string): Statement {
  const versions = `${prefix}schema_versions`
  return {
    text: `DECLARE @lockResult int;
EXEC @lockResult = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = @lockTimeoutMs;
IF @lockResult < 0 THROW 51000, N'timed out waiting for the schema migration lock', 1;
${versionsTableDdl(versions)}
SELECT COALESCE(MAX(version), 0) AS version,
       (SELECT compatibility_level FROM sys.databases WHERE database_id = DB_ID()) AS compatibility_level
  FROM ${versions} WHERE component = @component;`,
    params: [param('resource', 'nvarchar(255)', `jobmaster:${versions}`), param('lockTimeoutMs', 'int', LOCK_TIMEOUT_MS), param('component', 'nvarchar(20)', component)],
    statements: 4,
  }
}

/** One migration script followed by its version record, in the caller's transaction. */
export function buildMigrationStep(prefix: string, component: string, version: number, script: string): Statement {
  return {
    text: `${script}
INSERT INTO ${prefix}schema_versions (component, version, applied_at) VALUES (@component, @version, SYSUTCDATETIME());`,
    params: [param('component', 'nvarchar(20)', component), param('version', 'int', version)],
    // Each DDL statement of a script ends its line with ";"; plus the version record.
    statements: (script.match(/;$/gm)?.length ?? 1) + 1,
  }
}

/**
 * Apply pending migrations of one component ("master" or "agent") under sp_getapplock, in one
 * transaction (SQL Server DDL is transactional: a failed migration leaves nothing behind).
 * Idempotent: each migration runs once, recorded in `<prefix>schema_versions`.
 */
export async function migrate(db: MssqlDb, prefix: string, component: string, migrations: string[]): Promise<void> {
  await db.transaction(async (tx) => {
    const result = await tx.run<{ version: number; compatibility_level: number }>(buildMigrationStart(prefix, component))
    const row = result.recordsets[0]?.[0]
    const level = row?.compatibility_level ?? 0
    if (level < MIN_COMPATIBILITY_LEVEL) {
      throw new StoreError(
        db.resource,
        `database compatibility level is ${level}; JobMaster needs ${MIN_COMPATIBILITY_LEVEL} or higher (SQL Server 2016+) for OPENJSON ` +
          `(ALTER DATABASE <name> SET COMPATIBILITY_LEVEL = ${MIN_COMPATIBILITY_LEVEL})`,
      )
    }
    for (let i = row?.version ?? 0; i < migrations.length; i++) {
      await tx.run(buildMigrationStep(prefix, component, i + 1, migrations[i]!))
    }
  })
}

/**
 * The DDL `migrate` runs, as a script an operator can run with sqlcmd or SSMS when
 * auto-provisioning is disabled. Every step is guarded, so running it twice is harmless.
 */
export function schemaText(prefix: string, component: string, migrations: string[]): string {
  const versions = `${prefix}schema_versions`
  const steps = migrations.map(
    (script, i) => `${script}
IF NOT EXISTS (SELECT 1 FROM ${versions} WHERE component = N'${component}' AND version = ${i + 1})
  INSERT INTO ${versions} (component, version, applied_at) VALUES (N'${component}', ${i + 1}, SYSUTCDATETIME());`,
  )
  return [versionsTableDdl(versions), ...steps].join('\nGO\n') + '\nGO\n'
}

/** `CREATE TABLE` only when the table is missing (T-SQL has no CREATE TABLE IF NOT EXISTS). */
export function createTable(name: string, body: string): string {
  return `IF OBJECT_ID(N'${name}', N'U') IS NULL
  CREATE TABLE ${name} (
${body}
  );`
}

export function createIndex(name: string, table: string, columns: string): string {
  return `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${name}' AND object_id = OBJECT_ID(N'${table}'))
  CREATE INDEX ${name} ON ${table} (${columns});`
}

import type { AgentConnectionRecord } from '../../../model.js'
import { param, retryOnDuplicateKey, rowsOf, SQL_TYPES as T, type Runner, type Statement } from '../db.js'
import { toAgentConnectionRecord } from './rows.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const COLUMNS = 'cluster_id, name, provider, fingerprint, protect, first_seen_at, last_seen_at, deletion_deferred_at'

export function buildGetAgentConnection(t: MasterTables, clusterId: string, name: string): Statement {
  return {
    text: `SELECT ${COLUMNS} FROM ${t.connections} WHERE cluster_id = @clusterId AND name = @name`,
    params: [param('clusterId', T.clusterId, clusterId), param('name', T.name, name)],
    statements: 1,
  }
}

export async function getAgentConnection(db: Runner, t: MasterTables, clusterId: string, name: string): Promise<AgentConnectionRecord | null> {
  const row = rowsOf(await db.run(buildGetAgentConnection(t, clusterId, name)))[0]
  return row ? toAgentConnectionRecord(row) : null
}

export function buildListAgentConnections(t: MasterTables, clusterId: string): Statement {
  return { text: `SELECT ${COLUMNS} FROM ${t.connections} WHERE cluster_id = @clusterId ORDER BY name`, params: [param('clusterId', T.clusterId, clusterId)], statements: 1 }
}

export async function listAgentConnections(db: Runner, t: MasterTables, clusterId: string): Promise<AgentConnectionRecord[]> {
  return rowsOf(await db.run(buildListAgentConnections(t, clusterId))).map(toAgentConnectionRecord)
}

/** Insert or update in one serialized step (first_seen_at is kept on update). */
export function buildUpsertAgentConnection(t: MasterTables, c: AgentConnectionRecord): Statement {
  return {
    text: `MERGE ${t.connections} WITH (HOLDLOCK) AS c
USING (SELECT @clusterId AS cluster_id, @name AS name) AS s ON c.cluster_id = s.cluster_id AND c.name = s.name
WHEN MATCHED THEN UPDATE SET provider = @provider, fingerprint = @fingerprint, protect = @protect,
    last_seen_at = @lastSeenAt, deletion_deferred_at = @deletionDeferredAt
WHEN NOT MATCHED THEN INSERT (${COLUMNS})
  VALUES (@clusterId, @name, @provider, @fingerprint, @protect, @firstSeenAt, @lastSeenAt, @deletionDeferredAt);`,
    params: [
      param('clusterId', T.clusterId, c.clusterId),
      param('name', T.name, c.name),
      param('provider', T.status, c.provider),
      param('fingerprint', 'nvarchar(200)', c.fingerprint),
      param('protect', 'bit', c.protect),
      param('firstSeenAt', T.time, c.firstSeenAt),
      param('lastSeenAt', T.time, c.lastSeenAt),
      param('deletionDeferredAt', T.time, c.deletionDeferredAt),
    ],
    statements: 1,
  }
}

export async function upsertAgentConnection(db: Runner, t: MasterTables, c: AgentConnectionRecord): Promise<void> {
  await retryOnDuplicateKey(() => db.run(buildUpsertAgentConnection(t, c)))
}

export function buildDeleteAgentConnection(t: MasterTables, clusterId: string, name: string): Statement {
  return {
    text: `DELETE FROM ${t.connections} WHERE cluster_id = @clusterId AND name = @name`,
    params: [param('clusterId', T.clusterId, clusterId), param('name', T.name, name)],
    statements: 1,
  }
}

export async function deleteAgentConnection(db: Runner, t: MasterTables, clusterId: string, name: string): Promise<void> {
  await db.run(buildDeleteAgentConnection(t, clusterId, name))
}

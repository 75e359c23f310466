import { PRIORITY_RANK, type BucketRecord, type BucketStatus } from '../../../model.js'
import { toBucketRecord } from '../../../stores/master-rows.js'
import { param, rowsOf, SQL_TYPES as T, type Param, type Runner, type Statement } from '../db.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

const COLUMNS = 'id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at'

/** A set of statuses as a JSON array parameter, shredded in place. */
const STATUS_SET = (name: string) => `(SELECT status FROM OPENJSON(@${name}) WITH (status ${T.status} '$'))`

export function buildCreateBuckets(t: MasterTables, buckets: BucketRecord[]): Statement {
  const rows = buckets.map((b) => ({
    id: b.id,
    clusterId: b.clusterId,
    agentConnection: b.agentConnection,
    priority: PRIORITY_RANK[b.priority],
    lane: b.lane,
    status: b.status,
    ownerId: b.ownerId,
    createdAt: b.createdAt.toISOString(),
    statusChangedAt: b.statusChangedAt.toISOString(),
  }))
  return {
    text: `INSERT INTO ${t.buckets} (${COLUMNS})
SELECT id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at
  FROM OPENJSON(@buckets) WITH (
    id ${T.bucketId} '$.id', cluster_id ${T.clusterId} '$.clusterId', agent_connection ${T.name} '$.agentConnection',
    priority smallint '$.priority', lane ${T.name} '$.lane', status ${T.status} '$.status', owner_id ${T.workerId} '$.ownerId',
    created_at ${T.time} '$.createdAt', status_changed_at ${T.time} '$.statusChangedAt')`,
    params: [param('buckets', T.text, JSON.stringify(rows))],
    statements: 1,
  }
}

export async function createBuckets(db: Runner, t: MasterTables, buckets: BucketRecord[]): Promise<void> {
  if (buckets.length === 0) return
  await db.run(buildCreateBuckets(t, buckets))
}

export function buildListBuckets(t: MasterTables, clusterId: string, filter: { statuses?: readonly BucketStatus[]; agentConnection?: string } = {}): Statement {
  const clauses = ['cluster_id = @clusterId']
  const params: Param[] = [param('clusterId', T.clusterId, clusterId)]
  if (filter.statuses) {
    clauses.push(`status IN ${STATUS_SET('statuses')}`)
    params.push(param('statuses', T.text, JSON.stringify(filter.statuses)))
  }
  if (filter.agentConnection !== undefined) {
    clauses.push('agent_connection = @agentConnection')
    params.push(param('agentConnection', T.name, filter.agentConnection))
  }
  return { text: `SELECT ${COLUMNS} FROM ${t.buckets} WHERE ${clauses.join(' AND ')} ORDER BY created_at, id`, params, statements: 1 }
}

export async function listBuckets(db: Runner, t: MasterTables, clusterId: string, filter?: { statuses?: readonly BucketStatus[]; agentConnection?: string }): Promise<BucketRecord[]> {
  return rowsOf(await db.run(buildListBuckets(t, clusterId, filter))).map(toBucketRecord)
}

export function buildGetBucket(t: MasterTables, bucketId: string): Statement {
  return { text: `SELECT ${COLUMNS} FROM ${t.buckets} WHERE id = @bucketId`, params: [param('bucketId', T.bucketId, bucketId)], statements: 1 }
}

export async function getBucket(db: Runner, t: MasterTables, bucketId: string): Promise<BucketRecord | null> {
  const row = rowsOf(await db.run(buildGetBucket(t, bucketId)))[0]
  return row ? toBucketRecord(row) : null
}

export interface BucketChange {
  from: readonly BucketStatus[]
  expectOwner?: string | null
  to: BucketStatus
  owner?: string | null
}

/**
 * Compare-and-set on status (and owner), so two reapers never both drain a bucket: the second
 * UPDATE waits for the first's row lock, re-reads the row and no longer matches.
 */
export function buildTransitionBucket(t: MasterTables, bucketId: string, change: BucketChange, now: Date): Statement {
  const set = ['status = @to']
  const where = ['id = @bucketId', `status IN ${STATUS_SET('from')}`]
  const params: Param[] = [param('to', T.status, change.to), param('now', T.time, now), param('bucketId', T.bucketId, bucketId), param('from', T.text, JSON.stringify(change.from))]
  if (change.owner !== undefined) {
    set.push('owner_id = @owner')
    params.push(param('owner', T.workerId, change.owner))
  }
  if (change.expectOwner === null) where.push('owner_id IS NULL')
  else if (change.expectOwner !== undefined) {
    where.push('owner_id = @expectOwner')
    params.push(param('expectOwner', T.workerId, change.expectOwner))
  }
  set.push('status_changed_at = @now')
  return {
    text: `UPDATE ${t.buckets} SET ${set.join(', ')}
OUTPUT inserted.id
 WHERE ${where.join(' AND ')}`,
    params,
    statements: 1,
  }
}

export async function transitionBucket(db: Runner, t: MasterTables, bucketId: string, change: BucketChange, now: Date): Promise<boolean> {
  return rowsOf(await db.run(buildTransitionBucket(t, bucketId, change, now))).length > 0
}

/** Active/Completing buckets whose owner is gone, and Draining ones whose drainer stalled, become Lost. */
export function buildMarkOrphanedBucketsLost(t: MasterTables, clusterId: string, drainStaleBefore: Date, now: Date): Statement {
  return {
    text: `UPDATE b SET status = N'Lost', owner_id = NULL, status_changed_at = @now
OUTPUT inserted.id
  FROM ${t.buckets} AS b
 WHERE b.cluster_id = @clusterId AND (
       (b.status IN (N'Active', N'Completing') AND NOT EXISTS (SELECT 1 FROM ${t.workers} AS w WHERE w.id = b.owner_id))
    OR (b.status = N'Draining' AND b.status_changed_at < @drainStaleBefore))`,
    params: [param('now', T.time, now), param('clusterId', T.clusterId, clusterId), param('drainStaleBefore', T.time, drainStaleBefore)],
    statements: 1,
  }
}

export async function markOrphanedBucketsLost(db: Runner, t: MasterTables, clusterId: string, drainStaleBefore: Date, now: Date): Promise<string[]> {
  return rowsOf(await db.run<{ id: string }>(buildMarkOrphanedBucketsLost(t, clusterId, drainStaleBefore, now))).map((r) => r.id)
}

export function buildDeleteBucket(t: MasterTables, bucketId: string, expectStatus: BucketStatus): Statement {
  return {
    text: `DELETE FROM ${t.buckets} OUTPUT deleted.id WHERE id = @bucketId AND status = @expectStatus`,
    params: [param('bucketId', T.bucketId, bucketId), param('expectStatus', T.status, expectStatus)],
    statements: 1,
  }
}

export async function deleteBucket(db: Runner, t: MasterTables, bucketId: string, expectStatus: BucketStatus): Promise<boolean> {
  return rowsOf(await db.run(buildDeleteBucket(t, bucketId, expectStatus))).length > 0
}

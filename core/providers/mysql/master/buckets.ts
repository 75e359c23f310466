import { PRIORITY_RANK, type BucketRecord, type BucketStatus } from '../../../model.js'
import { toBucketRecord } from '../../../stores/master-rows.js'
import type { MySqlDb } from '../db.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

export async function createBuckets(db: MySqlDb, t: MasterTables, buckets: BucketRecord[]): Promise<void> {
  if (buckets.length === 0) return
  await db.exec(`INSERT INTO ${t.buckets} (id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at) VALUES ?`, [
    buckets.map((b) => [b.id, b.clusterId, b.agentConnection, PRIORITY_RANK[b.priority], b.lane, b.status, b.ownerId, b.createdAt, b.statusChangedAt]),
  ])
}

export async function listBuckets(db: MySqlDb, t: MasterTables, clusterId: string, filter: { statuses?: readonly BucketStatus[]; agentConnection?: string } = {}): Promise<BucketRecord[]> {
  if (filter.statuses?.length === 0) return []
  const clauses = ['cluster_id = ?']
  const params: unknown[] = [clusterId]
  if (filter.statuses) {
    clauses.push('status IN (?)')
    params.push([...filter.statuses])
  }
  if (filter.agentConnection !== undefined) {
    clauses.push('agent_connection = ?')
    params.push(filter.agentConnection)
  }
  const rows = await db.query(`SELECT * FROM ${t.buckets} WHERE ${clauses.join(' AND ')} ORDER BY created_at, id`, params)
  return rows.map(toBucketRecord)
}

export async function getBucket(db: MySqlDb, t: MasterTables, bucketId: string): Promise<BucketRecord | null> {
  const rows = await db.query(`SELECT * FROM ${t.buckets} WHERE id = ?`, [bucketId])
  return rows[0] ? toBucketRecord(rows[0]) : null
}

/** transitionBucket: compare-and-set on status (and owner), so two reapers never both drain a bucket. */
export async function transitionBucket(
  db: MySqlDb,
  t: MasterTables,
  bucketId: string,
  change: { from: readonly BucketStatus[]; expectOwner?: string | null; to: BucketStatus; owner?: string | null },
  now: Date,
): Promise<boolean> {
  if (change.from.length === 0) return false
  // `<=>` is MySQL's null-safe equality (IS NOT DISTINCT FROM): an expected null owner matches NULL.
  const { affectedRows } = await db.exec(
    `UPDATE ${t.buckets}
        SET status = ?, owner_id = IF(?, ?, owner_id), status_changed_at = ?
      WHERE id = ? AND status IN (?) AND (NOT ? OR owner_id <=> ?)`,
    [change.to, change.owner !== undefined, change.owner ?? null, now, bucketId, [...change.from], change.expectOwner !== undefined, change.expectOwner ?? null],
  )
  return affectedRows > 0
}

/**
 * Mark Lost every Active/Completing bucket whose owner is gone and every stalled drain. With no
 * UPDATE … RETURNING, the candidates are locked first and then changed by id, in one transaction.
 */
export async function markOrphanedBucketsLost(db: MySqlDb, t: MasterTables, clusterId: string, drainStaleBefore: Date, now: Date): Promise<string[]> {
  return db.transaction(async (tx) => {
    const orphaned = await tx.query<{ id: string }>(
      `SELECT b.id FROM ${t.buckets} b
        WHERE b.cluster_id = ? AND (
          (b.status IN ('Active', 'Completing') AND NOT EXISTS (SELECT 1 FROM ${t.workers} w WHERE w.id = b.owner_id))
          OR (b.status = 'Draining' AND b.status_changed_at < ?))
        FOR UPDATE`,
      [clusterId, drainStaleBefore],
    )
    const ids = orphaned.map((r) => r.id)
    if (ids.length > 0) await tx.exec(`UPDATE ${t.buckets} SET status = 'Lost', owner_id = NULL, status_changed_at = ? WHERE id IN (?)`, [now, ids])
    return ids
  })
}

export async function deleteBucket(db: MySqlDb, t: MasterTables, bucketId: string, expectStatus: BucketStatus): Promise<boolean> {
  const { affectedRows } = await db.exec(`DELETE FROM ${t.buckets} WHERE id = ? AND status = ?`, [bucketId, expectStatus])
  return affectedRows > 0
}

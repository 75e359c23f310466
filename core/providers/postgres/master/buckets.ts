import { PRIORITY_RANK, type BucketRecord, type BucketStatus } from '../../../model.js'
import { toBucketRecord } from '../../../stores/master-rows.js'
import type { PgDb } from '../db.js'
import type { MasterTables } from '../../../stores/sql-tables.js'

export async function createBuckets(db: PgDb, t: MasterTables, buckets: BucketRecord[]): Promise<void> {
  if (buckets.length === 0) return
  await db.query(
    `INSERT INTO ${t.buckets} (id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[])`,
    [
      buckets.map((b) => b.id),
      buckets.map((b) => b.clusterId),
      buckets.map((b) => b.agentConnection),
      buckets.map((b) => PRIORITY_RANK[b.priority]),
      buckets.map((b) => b.lane),
      buckets.map((b) => b.status),
      buckets.map((b) => b.ownerId),
      buckets.map((b) => b.createdAt.toISOString()),
      buckets.map((b) => b.statusChangedAt.toISOString()),
    ],
  )
}

export async function listBuckets(db: PgDb, t: MasterTables, clusterId: string, filter: { statuses?: readonly BucketStatus[]; agentConnection?: string } = {}): Promise<BucketRecord[]> {
  const rows = await db.query(
    `SELECT * FROM ${t.buckets}
      WHERE cluster_id = $1 AND ($2::text[] IS NULL OR status = ANY($2::text[])) AND ($3::text IS NULL OR agent_connection = $3)
      ORDER BY created_at, id`,
    [clusterId, filter.statuses ? [...filter.statuses] : null, filter.agentConnection ?? null],
  )
  return rows.map(toBucketRecord)
}

export async function getBucket(db: PgDb, t: MasterTables, bucketId: string): Promise<BucketRecord | null> {
  const rows = await db.query(`SELECT * FROM ${t.buckets} WHERE id = $1`, [bucketId])
  return rows[0] ? toBucketRecord(rows[0]) : null
}

/** transitionBucket: compare-and-set on status (and owner), so two reapers never both drain a bucket. */
export async function transitionBucket(
  db: PgDb,
  t: MasterTables,
  bucketId: string,
  change: { from: readonly BucketStatus[]; expectOwner?: string | null; to: BucketStatus; owner?: string | null },
  now: Date,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE ${t.buckets}
        SET status = $2, owner_id = CASE WHEN $3::boolean THEN $4 ELSE owner_id END, status_changed_at = $5
      WHERE id = $1 AND status = ANY($6::text[]) AND (NOT $7::boolean OR owner_id IS NOT DISTINCT FROM $8)
      RETURNING id`,
    [bucketId, change.to, change.owner !== undefined, change.owner ?? null, now, [...change.from], change.expectOwner !== undefined, change.expectOwner ?? null],
  )
  return rows.length > 0
}

export async function markOrphanedBucketsLost(db: PgDb, t: MasterTables, clusterId: string, drainStaleBefore: Date, now: Date): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `UPDATE ${t.buckets} b SET status = 'Lost', owner_id = NULL, status_changed_at = $2
      WHERE b.cluster_id = $1 AND (
        (b.status IN ('Active', 'Completing') AND NOT EXISTS (SELECT 1 FROM ${t.workers} w WHERE w.id = b.owner_id))
        OR (b.status = 'Draining' AND b.status_changed_at < $3))
      RETURNING b.id`,
    [clusterId, now, drainStaleBefore],
  )
  return rows.map((r) => r.id)
}

export async function deleteBucket(db: PgDb, t: MasterTables, bucketId: string, expectStatus: BucketStatus): Promise<boolean> {
  const rows = await db.query(`DELETE FROM ${t.buckets} WHERE id = $1 AND status = $2 RETURNING id`, [bucketId, expectStatus])
  return rows.length > 0
}

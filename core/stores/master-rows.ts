import {
  priorityFromRank,
  type AgentConnectionRecord,
  type AttemptRecord,
  type BucketRecord,
  type ClusterSettings,
  type JobRecord,
  type ScheduleRecord,
  type WorkerRecord,
} from '../model.js'

/** A master table row as the SQL drivers return it, keyed by column name. */
type Row = Record<string, any>

/**
 * How one driver returns the column types the SQL providers decode differently. Every other
 * column (text, INT, times as Dates) comes back the same from all of them and is taken as it is.
 * SQL NULL never reaches a decoder: the mappers keep it null.
 */
export interface ColumnDecoder {
  /** A JSON column: parsed already by some drivers, text from others. */
  json: (value: unknown) => unknown
  /** A boolean column: a boolean, or 0/1 where BOOLEAN is TINYINT(1). */
  bool: (value: unknown) => boolean
  /** A BIGINT column: a number where the driver parses it, else text (ours always fit a double). */
  bigint: (value: unknown) => number
}

/** NULL (or a column the statement did not select) stays null; anything else is decoded. */
function nullable<T>(value: unknown, decode: (value: unknown) => T): T | null {
  return value === null || value === undefined ? null : decode(value)
}

/** Stored metadata is always an object: NULL or JSON null reads as empty. */
function metadataOf(value: unknown, d: ColumnDecoder): Record<string, string> {
  return (nullable(value, d.json) as Record<string, string> | null) ?? {}
}

export function toWorkerRecord(r: Row): WorkerRecord {
  return {
    id: r.id,
    clusterId: r.cluster_id,
    name: r.name,
    agentConnection: r.agent_connection,
    lane: r.lane,
    mode: r.mode,
    heartbeatAt: r.heartbeat_at,
    startedAt: r.started_at,
    stopRequestedAt: r.stop_requested_at,
    host: r.host,
    pid: r.pid,
  }
}

export function toBucketRecord(r: Row): BucketRecord {
  return {
    id: r.id,
    clusterId: r.cluster_id,
    agentConnection: r.agent_connection,
    priority: priorityFromRank(r.priority),
    lane: r.lane,
    status: r.status,
    ownerId: r.owner_id,
    createdAt: r.created_at,
    statusChangedAt: r.status_changed_at,
  }
}

/** The row mappers whose columns need the provider's decoder. */
export interface MasterRowMappers {
  toJobRecord(r: Row): JobRecord
  toAttemptRecord(r: Row): AttemptRecord
  toScheduleRecord(r: Row): ScheduleRecord
  toClusterSettings(r: Row): ClusterSettings
  toAgentConnectionRecord(r: Row): AgentConnectionRecord
}

export function masterRowMappers(d: ColumnDecoder): MasterRowMappers {
  return {
    toJobRecord: (r) => ({
      id: r.id,
      clusterId: r.cluster_id,
      definition: r.definition,
      status: r.status,
      priority: priorityFromRank(r.priority),
      lane: r.lane,
      payload: nullable(r.payload, d.json),
      metadata: metadataOf(r.metadata, d),
      scheduledAt: r.scheduled_at,
      originalScheduledAt: r.original_scheduled_at,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      attempts: r.attempts,
      maxRetries: r.max_retries,
      timeoutMs: d.bigint(r.timeout_ms),
      agentConnection: r.agent_connection,
      bucketId: r.bucket_id,
      workerId: r.worker_id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      idempotencyKey: r.idempotency_key,
      lastError: r.last_error,
      scheduleId: r.schedule_id,
      occurrenceAt: r.occurrence_at,
      skipIfOverlapping: d.bool(r.skip_if_overlapping),
    }),

    toAttemptRecord: (r) => ({
      jobId: r.job_id,
      attempt: r.attempt,
      workerId: r.worker_id,
      bucketId: r.bucket_id,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      outcome: r.outcome,
      error: r.error,
      result: nullable(r.result, d.json),
    }),

    toScheduleRecord: (r) => ({
      id: r.id,
      clusterId: r.cluster_id,
      kind: r.kind,
      name: r.name,
      definition: r.definition,
      everyMs: nullable(r.every_ms, d.bigint),
      cron: r.cron,
      timeZone: r.time_zone,
      payload: nullable(r.payload, d.json),
      metadata: metadataOf(r.metadata, d),
      priority: priorityFromRank(r.priority),
      lane: r.lane,
      timeoutMs: nullable(r.timeout_ms, d.bigint),
      maxRetries: r.max_retries,
      startAfter: r.start_after,
      endBefore: r.end_before,
      misfirePolicy: r.misfire_policy,
      overlapPolicy: r.overlap_policy,
      status: r.status,
      coveredUntil: r.covered_until,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      statusChangedAt: r.status_changed_at,
      version: r.version,
      specHash: r.spec_hash,
      syncedAt: r.synced_at,
    }),

    toClusterSettings: (r) => ({
      clusterId: r.cluster_id,
      mode: r.mode,
      transientThresholdMs: d.bigint(r.transient_threshold_ms),
      defaultJobTimeoutMs: d.bigint(r.default_job_timeout_ms),
      defaultMaxRetries: r.default_max_retries,
      maxMessageBytes: r.max_message_bytes,
      timeZone: r.time_zone,
      dataRetentionMs: nullable(r.data_retention_ms, d.bigint),
    }),

    toAgentConnectionRecord: (r) => ({
      clusterId: r.cluster_id,
      name: r.name,
      provider: r.provider,
      fingerprint: r.fingerprint,
      protect: d.bool(r.protect),
      firstSeenAt: r.first_seen_at,
      lastSeenAt: r.last_seen_at,
      deletionDeferredAt: r.deletion_deferred_at,
    }),
  }
}

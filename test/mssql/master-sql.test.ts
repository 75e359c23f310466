import { describe, expect, test } from 'vitest'
import { catalog } from './catalog.js'
import { signature } from './signature.js'

/**
 * The exact T-SQL of every master store statement, with its parameters (name, type) and how many
 * statements it executes. A change here is a change to what SQL Server receives: review the diff.
 */
const all = catalog()

describe('master T-SQL', () => {
  test('migrationStart', () => {
    const s = all.migrationStart!
    expect(s.text).toMatchInlineSnapshot(`
      "DECLARE @lockResult int;
      EXEC @lockResult = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = @lockTimeoutMs;
      IF @lockResult < 0 THROW 51000, N'timed out waiting for the schema migration lock', 1;
      IF OBJECT_ID(N'jm_schema_versions', N'U') IS NULL
        CREATE TABLE jm_schema_versions (
          component nvarchar(20) NOT NULL,
          version int NOT NULL,
          applied_at datetimeoffset(3) NOT NULL,
          CONSTRAINT jm_schema_versions_pk PRIMARY KEY (component, version)
        );
      SELECT COALESCE(MAX(version), 0) AS version,
             (SELECT compatibility_level FROM sys.databases WHERE database_id = DB_ID()) AS compatibility_level
        FROM jm_schema_versions WHERE component = @component;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 4
      @resource nvarchar(255)
      @lockTimeoutMs int
      @component nvarchar(20)"
    `)
  })
  test('initCluster', () => {
    const s = all.initCluster!
    expect(s.text).toMatchInlineSnapshot(`
      "MERGE jm_clusters WITH (HOLDLOCK) AS c
      USING (SELECT @clusterId AS cluster_id) AS s ON c.cluster_id = s.cluster_id
      WHEN NOT MATCHED THEN INSERT (cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries, max_message_bytes, time_zone, data_retention_ms, created_at, updated_at)
        VALUES (@clusterId, @mode, @transientThresholdMs, @defaultJobTimeoutMs, @defaultMaxRetries, @maxMessageBytes, @timeZone, @dataRetentionMs, @now, @now);
      SELECT cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries, max_message_bytes, time_zone, data_retention_ms FROM jm_clusters WHERE cluster_id = @clusterId;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @clusterId nvarchar(50)
      @mode nvarchar(20)
      @transientThresholdMs bigint
      @defaultJobTimeoutMs bigint
      @defaultMaxRetries int
      @maxMessageBytes int
      @timeZone nvarchar(64)
      @dataRetentionMs bigint
      @now datetimeoffset(3)"
    `)
  })
  test('initClusterOverwrite', () => {
    const s = all.initClusterOverwrite!
    expect(s.text).toMatchInlineSnapshot(`
      "MERGE jm_clusters WITH (HOLDLOCK) AS c
      USING (SELECT @clusterId AS cluster_id) AS s ON c.cluster_id = s.cluster_id
      WHEN MATCHED THEN UPDATE SET mode = @mode, transient_threshold_ms = @transientThresholdMs, default_job_timeout_ms = @defaultJobTimeoutMs,
          default_max_retries = @defaultMaxRetries, max_message_bytes = @maxMessageBytes, time_zone = @timeZone,
          data_retention_ms = @dataRetentionMs, updated_at = @now
      WHEN NOT MATCHED THEN INSERT (cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries, max_message_bytes, time_zone, data_retention_ms, created_at, updated_at)
        VALUES (@clusterId, @mode, @transientThresholdMs, @defaultJobTimeoutMs, @defaultMaxRetries, @maxMessageBytes, @timeZone, @dataRetentionMs, @now, @now);
      SELECT cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries, max_message_bytes, time_zone, data_retention_ms FROM jm_clusters WHERE cluster_id = @clusterId;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @clusterId nvarchar(50)
      @mode nvarchar(20)
      @transientThresholdMs bigint
      @defaultJobTimeoutMs bigint
      @defaultMaxRetries int
      @maxMessageBytes int
      @timeZone nvarchar(64)
      @dataRetentionMs bigint
      @now datetimeoffset(3)"
    `)
  })
  test('getCluster', () => {
    const s = all.getCluster!
    expect(s.text).toMatchInlineSnapshot(`"SELECT cluster_id, mode, transient_threshold_ms, default_job_timeout_ms, default_max_retries, max_message_bytes, time_zone, data_retention_ms FROM jm_clusters WHERE cluster_id = @clusterId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)"
    `)
  })
  test('updateCluster', () => {
    const s = all.updateCluster!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE jm_clusters SET mode = @mode, transient_threshold_ms = @transientThresholdMs, default_job_timeout_ms = @defaultJobTimeoutMs,
          default_max_retries = @defaultMaxRetries, max_message_bytes = @maxMessageBytes, time_zone = @timeZone,
          data_retention_ms = @dataRetentionMs, updated_at = @now
       WHERE cluster_id = @clusterId"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @mode nvarchar(20)
      @transientThresholdMs bigint
      @defaultJobTimeoutMs bigint
      @defaultMaxRetries int
      @maxMessageBytes int
      @timeZone nvarchar(64)
      @dataRetentionMs bigint
      @now datetimeoffset(3)"
    `)
  })
  test('insertJobs', () => {
    const s = all.insertJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_jobs (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at,
          original_scheduled_at, created_at, updated_at, max_retries, timeout_ms, agent_connection, bucket_id, idempotency_key)
      OUTPUT inserted.id
      SELECT u.id, @clusterId, u.definition, u.status, u.priority, u.lane, u.payload, u.metadata, u.scheduled_at,
          u.scheduled_at, u.created_at, @now, u.max_retries, u.timeout_ms, u.agent_connection, u.bucket_id, u.idempotency_key
        FROM OPENJSON(@jobs) WITH (
          id char(36) '$.id', definition nvarchar(100) '$.definition', status nvarchar(20) '$.status',
          priority smallint '$.priority', lane nvarchar(50) '$.lane', payload nvarchar(max) '$.payload', metadata nvarchar(max) '$.metadata',
          scheduled_at datetimeoffset(3) '$.scheduledAt', created_at datetimeoffset(3) '$.createdAt', max_retries int '$.maxRetries',
          timeout_ms bigint '$.timeoutMs', agent_connection nvarchar(50) '$.agentConnection', bucket_id nvarchar(200) '$.bucketId',
          idempotency_key nvarchar(200) '$.idempotencyKey') AS u
       WHERE NOT EXISTS (SELECT 1 FROM jm_jobs AS j WHERE j.id = u.id)"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @now datetimeoffset(3)
      @jobs nvarchar(max)"
    `)
  })
  test('markJobs', () => {
    const s = all.markJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE j
         SET status = u.status,
             attempts = CASE WHEN u.attempt > j.attempts THEN u.attempt ELSE j.attempts END,
             worker_id = u.worker_id,
             started_at = CASE WHEN u.status = N'Processing' THEN u.at ELSE j.started_at END,
             updated_at = @now
        FROM jm_jobs AS j
        JOIN OPENJSON(@marks) WITH (
          id char(36) '$.id', bucket_id nvarchar(200) '$.bucketId', status nvarchar(20) '$.status', attempt int '$.attempt',
          worker_id nvarchar(200) '$.workerId', at datetimeoffset(3) '$.at') AS u
          ON j.id = u.id AND j.bucket_id = u.bucket_id
       WHERE j.status IN (N'AssignedToBucket', N'Queued', N'Processing')"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @marks nvarchar(max)"
    `)
  })
  test('transitionJobs', () => {
    const s = all.transitionJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      UPDATE j
         SET status = u.status, bucket_id = u.bucket_id, agent_connection = u.agent_connection, scheduled_at = u.scheduled_at,
             attempts = CASE WHEN u.attempts > j.attempts THEN u.attempts ELSE j.attempts END,
             finished_at = u.finished_at, last_error = COALESCE(u.last_error, j.last_error),
             worker_id = CASE WHEN u.bucket_id IS NULL THEN NULL ELSE j.worker_id END,
             claimed_until = NULL, updated_at = @now
      OUTPUT inserted.id
        FROM jm_jobs AS j
        JOIN OPENJSON(@transitions) WITH (
          id char(36) '$.id', from_bucket nvarchar(200) '$.fromBucketId', from_statuses nvarchar(200) '$.fromStatuses',
          status nvarchar(20) '$.status', bucket_id nvarchar(200) '$.bucketId', agent_connection nvarchar(50) '$.agentConnection',
          scheduled_at datetimeoffset(3) '$.scheduledAt', attempts int '$.attempts', finished_at datetimeoffset(3) '$.finishedAt',
          last_error nvarchar(max) '$.lastError') AS u
          ON j.id = u.id
       WHERE (j.bucket_id = u.from_bucket OR (j.bucket_id IS NULL AND u.from_bucket IS NULL))
         AND CHARINDEX(N',' + j.status + N',', u.from_statuses) > 0;
      INSERT INTO jm_job_attempts (job_id, cluster_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result)
      SELECT a.job_id, j.cluster_id, a.attempt, a.worker_id, a.bucket_id, a.started_at, a.ended_at, a.outcome, a.error, a.result
        FROM OPENJSON(@attempts) WITH (
          job_id char(36) '$.jobId', attempt int '$.attempt', worker_id nvarchar(200) '$.workerId', bucket_id nvarchar(200) '$.bucketId',
          started_at datetimeoffset(3) '$.startedAt', ended_at datetimeoffset(3) '$.endedAt', outcome nvarchar(20) '$.outcome', error nvarchar(max) '$.error',
          result nvarchar(max) '$.result') AS a
        JOIN jm_jobs AS j ON j.id = a.job_id;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @now datetimeoffset(3)
      @transitions nvarchar(max)
      @attempts nvarchar(max)"
    `)
  })
  test('transitionJobsOnly', () => {
    const s = all.transitionJobsOnly!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE j
         SET status = u.status, bucket_id = u.bucket_id, agent_connection = u.agent_connection, scheduled_at = u.scheduled_at,
             attempts = CASE WHEN u.attempts > j.attempts THEN u.attempts ELSE j.attempts END,
             finished_at = u.finished_at, last_error = COALESCE(u.last_error, j.last_error),
             worker_id = CASE WHEN u.bucket_id IS NULL THEN NULL ELSE j.worker_id END,
             claimed_until = NULL, updated_at = @now
      OUTPUT inserted.id
        FROM jm_jobs AS j
        JOIN OPENJSON(@transitions) WITH (
          id char(36) '$.id', from_bucket nvarchar(200) '$.fromBucketId', from_statuses nvarchar(200) '$.fromStatuses',
          status nvarchar(20) '$.status', bucket_id nvarchar(200) '$.bucketId', agent_connection nvarchar(50) '$.agentConnection',
          scheduled_at datetimeoffset(3) '$.scheduledAt', attempts int '$.attempts', finished_at datetimeoffset(3) '$.finishedAt',
          last_error nvarchar(max) '$.lastError') AS u
          ON j.id = u.id
       WHERE (j.bucket_id = u.from_bucket OR (j.bucket_id IS NULL AND u.from_bucket IS NULL))
         AND CHARINDEX(N',' + j.status + N',', u.from_statuses) > 0"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @transitions nvarchar(max)"
    `)
  })
  test('recordAttemptsOnly', () => {
    const s = all.recordAttemptsOnly!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_job_attempts (job_id, cluster_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result)
      SELECT a.job_id, j.cluster_id, a.attempt, a.worker_id, a.bucket_id, a.started_at, a.ended_at, a.outcome, a.error, a.result
        FROM OPENJSON(@attempts) WITH (
          job_id char(36) '$.jobId', attempt int '$.attempt', worker_id nvarchar(200) '$.workerId', bucket_id nvarchar(200) '$.bucketId',
          started_at datetimeoffset(3) '$.startedAt', ended_at datetimeoffset(3) '$.endedAt', outcome nvarchar(20) '$.outcome', error nvarchar(max) '$.error',
          result nvarchar(max) '$.result') AS a
        JOIN jm_jobs AS j ON j.id = a.job_id"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @attempts nvarchar(max)"
    `)
  })
  test('claimDueHeldJobs', () => {
    const s = all.claimDueHeldJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "WITH due AS (
        SELECT TOP (@limit) id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at, created_at, updated_at, attempts, max_retries, timeout_ms, agent_connection, bucket_id, worker_id, started_at, finished_at, idempotency_key, last_error, schedule_id, occurrence_at, skip_if_overlapping, claimed_until
          FROM jm_jobs WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE cluster_id = @clusterId AND status = N'HeldOnMaster' AND scheduled_at <= @dueBefore
           AND (claimed_until IS NULL OR claimed_until < @now)
           AND (skip_if_overlapping = 0 OR scheduled_at <= @now)
         ORDER BY scheduled_at, id)
      UPDATE due SET claimed_until = @claimedUntil
      OUTPUT inserted.id, inserted.cluster_id, inserted.definition, inserted.status, inserted.priority, inserted.lane, inserted.payload, inserted.metadata, inserted.scheduled_at, inserted.original_scheduled_at, inserted.created_at, inserted.updated_at, inserted.attempts, inserted.max_retries, inserted.timeout_ms, inserted.agent_connection, inserted.bucket_id, inserted.worker_id, inserted.started_at, inserted.finished_at, inserted.idempotency_key, inserted.last_error, inserted.schedule_id, inserted.occurrence_at, inserted.skip_if_overlapping"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @clusterId nvarchar(50)
      @dueBefore datetimeoffset(3)
      @now datetimeoffset(3)
      @claimedUntil datetimeoffset(3)"
    `)
  })
  test('jobsInBucket', () => {
    const s = all.jobsInBucket!
    expect(s.text).toMatchInlineSnapshot(`"SELECT TOP (@limit) id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at, created_at, updated_at, attempts, max_retries, timeout_ms, agent_connection, bucket_id, worker_id, started_at, finished_at, idempotency_key, last_error, schedule_id, occurrence_at, skip_if_overlapping FROM jm_jobs WHERE bucket_id = @bucketId AND status IN (N'AssignedToBucket', N'Queued', N'Processing') ORDER BY scheduled_at, id"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @bucketId nvarchar(200)"
    `)
  })
  test('findStrandedJobs', () => {
    const s = all.findStrandedJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT TOP (@limit) j.id, j.cluster_id, j.definition, j.status, j.priority, j.lane, j.payload, j.metadata, j.scheduled_at, j.original_scheduled_at, j.created_at, j.updated_at, j.attempts, j.max_retries, j.timeout_ms, j.agent_connection, j.bucket_id, j.worker_id, j.started_at, j.finished_at, j.idempotency_key, j.last_error, j.schedule_id, j.occurrence_at, j.skip_if_overlapping
        FROM jm_jobs AS j LEFT JOIN jm_buckets AS b ON b.id = j.bucket_id
       WHERE j.cluster_id = @clusterId AND j.bucket_id IS NOT NULL AND j.status IN (N'AssignedToBucket', N'Queued', N'Processing')
         AND (b.id IS NULL OR b.status = N'ReadyToDelete');
      SELECT TOP (@limit) j.id, j.cluster_id, j.definition, j.status, j.priority, j.lane, j.payload, j.metadata, j.scheduled_at, j.original_scheduled_at, j.created_at, j.updated_at, j.attempts, j.max_retries, j.timeout_ms, j.agent_connection, j.bucket_id, j.worker_id, j.started_at, j.finished_at, j.idempotency_key, j.last_error, j.schedule_id, j.occurrence_at, j.skip_if_overlapping
        FROM jm_jobs AS j JOIN jm_buckets AS b ON b.id = j.bucket_id
       WHERE j.cluster_id = @clusterId AND j.status = N'AssignedToBucket' AND j.scheduled_at < @overdueBefore
         AND j.updated_at < @overdueBefore AND b.status = N'Active';"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @limit int
      @clusterId nvarchar(50)
      @overdueBefore datetimeoffset(3)"
    `)
  })
  test('cancelJob', () => {
    const s = all.cancelJob!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE jm_jobs
         SET status = N'Cancelled', bucket_id = NULL, agent_connection = NULL, finished_at = @now, updated_at = @now
      OUTPUT deleted.id, deleted.cluster_id, deleted.definition, deleted.status, deleted.priority, deleted.lane, deleted.payload, deleted.metadata, deleted.scheduled_at, deleted.original_scheduled_at, deleted.created_at, deleted.updated_at, deleted.attempts, deleted.max_retries, deleted.timeout_ms, deleted.agent_connection, deleted.bucket_id, deleted.worker_id, deleted.started_at, deleted.finished_at, deleted.idempotency_key, deleted.last_error, deleted.schedule_id, deleted.occurrence_at, deleted.skip_if_overlapping
       WHERE id = @id AND cluster_id = @clusterId AND status NOT IN (N'Succeeded', N'Failed', N'Cancelled')"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @id char(36)
      @clusterId nvarchar(50)"
    `)
  })
  test('getJob', () => {
    const s = all.getJob!
    expect(s.text).toMatchInlineSnapshot(`"SELECT id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at, created_at, updated_at, attempts, max_retries, timeout_ms, agent_connection, bucket_id, worker_id, started_at, finished_at, idempotency_key, last_error, schedule_id, occurrence_at, skip_if_overlapping FROM jm_jobs WHERE cluster_id = @clusterId AND id = @id"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @id char(36)"
    `)
  })
  test('getJobs', () => {
    const s = all.getJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at, created_at, updated_at, attempts, max_retries, timeout_ms, agent_connection, bucket_id, worker_id, started_at, finished_at, idempotency_key, last_error, schedule_id, occurrence_at, skip_if_overlapping FROM jm_jobs
       WHERE cluster_id = @clusterId AND id IN (SELECT id FROM OPENJSON(@ids) WITH (id char(36) '$'))"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @ids nvarchar(max)"
    `)
  })
  test('listAttempts', () => {
    const s = all.listAttempts!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT job_id, attempt, worker_id, bucket_id, started_at, ended_at, outcome, error, result
        FROM jm_job_attempts WHERE cluster_id = @clusterId AND job_id = @jobId ORDER BY attempt, id"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @jobId char(36)"
    `)
  })
  test('countJobs', () => {
    const s = all.countJobs!
    expect(s.text).toMatchInlineSnapshot(`"SELECT COUNT(*) AS n FROM jm_jobs AS j WHERE j.cluster_id = @clusterId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)"
    `)
  })
  test('countJobsFiltered', () => {
    const s = all.countJobsFiltered!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT COUNT(*) AS n FROM jm_jobs AS j WHERE j.cluster_id = @clusterId AND j.status = @status AND j.definition = @definition AND j.lane IS NULL AND NOT EXISTS (SELECT 1 FROM OPENJSON(@metadata) AS f
                        WHERE NOT EXISTS (SELECT 1 FROM OPENJSON(j.metadata) AS m
                                           WHERE m.[key] = f.[key] AND m.[value] = f.[value] COLLATE Latin1_General_100_BIN2))"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @status nvarchar(20)
      @definition nvarchar(100)
      @metadata nvarchar(max)"
    `)
  })
  test('listJobs', () => {
    const s = all.listJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT TOP (@limit) j.id, j.cluster_id, j.definition, j.status, j.priority, j.lane, j.payload, j.metadata, j.scheduled_at, j.original_scheduled_at, j.created_at, j.updated_at, j.attempts, j.max_retries, j.timeout_ms, j.agent_connection, j.bucket_id, j.worker_id, j.started_at, j.finished_at, j.idempotency_key, j.last_error, j.schedule_id, j.occurrence_at, j.skip_if_overlapping
        FROM jm_jobs AS j
       WHERE j.cluster_id = @clusterId
       ORDER BY j.created_at DESC, j.id DESC"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @limit int"
    `)
  })
  test('listJobsEveryFilter', () => {
    const s = all.listJobsEveryFilter!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT TOP (@limit) j.id, j.cluster_id, j.definition, j.status, j.priority, j.lane, j.payload, j.metadata, j.scheduled_at, j.original_scheduled_at, j.created_at, j.updated_at, j.attempts, j.max_retries, j.timeout_ms, j.agent_connection, j.bucket_id, j.worker_id, j.started_at, j.finished_at, j.idempotency_key, j.last_error, j.schedule_id, j.occurrence_at, j.skip_if_overlapping
        FROM jm_jobs AS j
       WHERE j.cluster_id = @clusterId AND j.status = @status AND j.definition = @definition AND j.lane = @lane AND j.bucket_id = @bucketId AND j.schedule_id = @scheduleId AND NOT EXISTS (SELECT 1 FROM OPENJSON(@metadata) AS f
                        WHERE NOT EXISTS (SELECT 1 FROM OPENJSON(j.metadata) AS m
                                           WHERE m.[key] = f.[key] AND m.[value] = f.[value] COLLATE Latin1_General_100_BIN2)) AND j.created_at >= @createdFrom AND j.created_at < @createdTo
         AND (j.created_at < @afterCreatedAt OR (j.created_at = @afterCreatedAt AND j.id < @afterId))
       ORDER BY j.created_at DESC, j.id DESC"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @status nvarchar(20)
      @definition nvarchar(100)
      @lane nvarchar(50)
      @bucketId nvarchar(200)
      @scheduleId char(36)
      @metadata nvarchar(max)
      @createdFrom datetimeoffset(3)
      @createdTo datetimeoffset(3)
      @afterCreatedAt datetimeoffset(3)
      @afterId char(36)
      @limit int"
    `)
  })
  test('countJobsByStatus', () => {
    const s = all.countJobsByStatus!
    expect(s.text).toMatchInlineSnapshot(`"SELECT status, COUNT(*) AS n FROM jm_jobs WHERE cluster_id = @clusterId GROUP BY status"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)"
    `)
  })
  test('purgeFinishedJobs', () => {
    const s = all.purgeFinishedJobs!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DECLARE @gone TABLE (id char(36) NOT NULL PRIMARY KEY);
      DELETE TOP (@limit) FROM jm_jobs
      OUTPUT deleted.id INTO @gone (id)
       WHERE cluster_id = @clusterId AND finished_at < @before AND status IN (N'Succeeded', N'Failed', N'Cancelled');
      DELETE a FROM jm_job_attempts AS a JOIN @gone AS g ON g.id = a.job_id;
      SELECT COUNT(*) AS n FROM @gone;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 3
      @limit int
      @clusterId nvarchar(50)
      @before datetimeoffset(3)"
    `)
  })
  test('registerWorker', () => {
    const s = all.registerWorker!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_workers (id, cluster_id, name, agent_connection, lane, mode, heartbeat_at, started_at, stop_requested_at, host, pid)
      VALUES (@id, @clusterId, @name, @agentConnection, @lane, @mode, @heartbeatAt, @startedAt, @stopRequestedAt, @host, @pid)"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @id nvarchar(200)
      @clusterId nvarchar(50)
      @name nvarchar(50)
      @agentConnection nvarchar(50)
      @lane nvarchar(50)
      @mode nvarchar(20)
      @heartbeatAt datetimeoffset(3)
      @startedAt datetimeoffset(3)
      @stopRequestedAt datetimeoffset(3)
      @host nvarchar(255)
      @pid int"
    `)
  })
  test('heartbeat', () => {
    const s = all.heartbeat!
    expect(s.text).toMatchInlineSnapshot(`"UPDATE jm_workers SET heartbeat_at = @now OUTPUT inserted.stop_requested_at WHERE id = @workerId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @workerId nvarchar(200)"
    `)
  })
  test('listWorkers', () => {
    const s = all.listWorkers!
    expect(s.text).toMatchInlineSnapshot(`"SELECT id, cluster_id, name, agent_connection, lane, mode, heartbeat_at, started_at, stop_requested_at, host, pid FROM jm_workers WHERE cluster_id = @clusterId ORDER BY started_at, id"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)"
    `)
  })
  test('reapDeadWorkers', () => {
    const s = all.reapDeadWorkers!
    expect(s.text).toMatchInlineSnapshot(`"DELETE FROM jm_workers OUTPUT deleted.id WHERE cluster_id = @clusterId AND heartbeat_at < @heartbeatBefore"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @heartbeatBefore datetimeoffset(3)"
    `)
  })
  test('deleteWorker', () => {
    const s = all.deleteWorker!
    expect(s.text).toMatchInlineSnapshot(`"DELETE FROM jm_workers WHERE id = @workerId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @workerId nvarchar(200)"
    `)
  })
  test('requestWorkerStop', () => {
    const s = all.requestWorkerStop!
    expect(s.text).toMatchInlineSnapshot(`"UPDATE jm_workers SET stop_requested_at = COALESCE(stop_requested_at, @now) OUTPUT inserted.id WHERE id = @workerId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @workerId nvarchar(200)"
    `)
  })
  test('createBuckets', () => {
    const s = all.createBuckets!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_buckets (id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at)
      SELECT id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at
        FROM OPENJSON(@buckets) WITH (
          id nvarchar(200) '$.id', cluster_id nvarchar(50) '$.clusterId', agent_connection nvarchar(50) '$.agentConnection',
          priority smallint '$.priority', lane nvarchar(50) '$.lane', status nvarchar(20) '$.status', owner_id nvarchar(200) '$.ownerId',
          created_at datetimeoffset(3) '$.createdAt', status_changed_at datetimeoffset(3) '$.statusChangedAt')"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @buckets nvarchar(max)"
    `)
  })
  test('listBuckets', () => {
    const s = all.listBuckets!
    expect(s.text).toMatchInlineSnapshot(`"SELECT id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at FROM jm_buckets WHERE cluster_id = @clusterId ORDER BY created_at, id"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)"
    `)
  })
  test('listBucketsFiltered', () => {
    const s = all.listBucketsFiltered!
    expect(s.text).toMatchInlineSnapshot(`"SELECT id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at FROM jm_buckets WHERE cluster_id = @clusterId AND status IN (SELECT status FROM OPENJSON(@statuses) WITH (status nvarchar(20) '$')) AND agent_connection = @agentConnection ORDER BY created_at, id"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @statuses nvarchar(max)
      @agentConnection nvarchar(50)"
    `)
  })
  test('getBucket', () => {
    const s = all.getBucket!
    expect(s.text).toMatchInlineSnapshot(`"SELECT id, cluster_id, agent_connection, priority, lane, status, owner_id, created_at, status_changed_at FROM jm_buckets WHERE id = @bucketId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @bucketId nvarchar(200)"
    `)
  })
  test('transitionBucket', () => {
    const s = all.transitionBucket!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE jm_buckets SET status = @to, owner_id = @owner, status_changed_at = @now
      OUTPUT inserted.id
       WHERE id = @bucketId AND status IN (SELECT status FROM OPENJSON(@from) WITH (status nvarchar(20) '$'))"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @to nvarchar(20)
      @now datetimeoffset(3)
      @bucketId nvarchar(200)
      @from nvarchar(max)
      @owner nvarchar(200)"
    `)
  })
  test('transitionBucketExpectOwner', () => {
    const s = all.transitionBucketExpectOwner!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE jm_buckets SET status = @to, status_changed_at = @now
      OUTPUT inserted.id
       WHERE id = @bucketId AND status IN (SELECT status FROM OPENJSON(@from) WITH (status nvarchar(20) '$')) AND owner_id = @expectOwner"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @to nvarchar(20)
      @now datetimeoffset(3)
      @bucketId nvarchar(200)
      @from nvarchar(max)
      @expectOwner nvarchar(200)"
    `)
  })
  test('transitionBucketExpectNoOwner', () => {
    const s = all.transitionBucketExpectNoOwner!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE jm_buckets SET status = @to, owner_id = @owner, status_changed_at = @now
      OUTPUT inserted.id
       WHERE id = @bucketId AND status IN (SELECT status FROM OPENJSON(@from) WITH (status nvarchar(20) '$')) AND owner_id IS NULL"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @to nvarchar(20)
      @now datetimeoffset(3)
      @bucketId nvarchar(200)
      @from nvarchar(max)
      @owner nvarchar(200)"
    `)
  })
  test('markOrphanedBucketsLost', () => {
    const s = all.markOrphanedBucketsLost!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE b SET status = N'Lost', owner_id = NULL, status_changed_at = @now
      OUTPUT inserted.id
        FROM jm_buckets AS b
       WHERE b.cluster_id = @clusterId AND (
             (b.status IN (N'Active', N'Completing') AND NOT EXISTS (SELECT 1 FROM jm_workers AS w WHERE w.id = b.owner_id))
          OR (b.status = N'Draining' AND b.status_changed_at < @drainStaleBefore))"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @clusterId nvarchar(50)
      @drainStaleBefore datetimeoffset(3)"
    `)
  })
  test('deleteBucket', () => {
    const s = all.deleteBucket!
    expect(s.text).toMatchInlineSnapshot(`"DELETE FROM jm_buckets OUTPUT deleted.id WHERE id = @bucketId AND status = @expectStatus"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @bucketId nvarchar(200)
      @expectStatus nvarchar(20)"
    `)
  })
  test('getAgentConnection', () => {
    const s = all.getAgentConnection!
    expect(s.text).toMatchInlineSnapshot(`"SELECT cluster_id, name, provider, fingerprint, protect, first_seen_at, last_seen_at, deletion_deferred_at FROM jm_agent_connections WHERE cluster_id = @clusterId AND name = @name"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @name nvarchar(50)"
    `)
  })
  test('listAgentConnections', () => {
    const s = all.listAgentConnections!
    expect(s.text).toMatchInlineSnapshot(`"SELECT cluster_id, name, provider, fingerprint, protect, first_seen_at, last_seen_at, deletion_deferred_at FROM jm_agent_connections WHERE cluster_id = @clusterId ORDER BY name"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)"
    `)
  })
  test('upsertAgentConnection', () => {
    const s = all.upsertAgentConnection!
    expect(s.text).toMatchInlineSnapshot(`
      "MERGE jm_agent_connections WITH (HOLDLOCK) AS c
      USING (SELECT @clusterId AS cluster_id, @name AS name) AS s ON c.cluster_id = s.cluster_id AND c.name = s.name
      WHEN MATCHED THEN UPDATE SET provider = @provider, fingerprint = @fingerprint, protect = @protect,
          last_seen_at = @lastSeenAt, deletion_deferred_at = @deletionDeferredAt
      WHEN NOT MATCHED THEN INSERT (cluster_id, name, provider, fingerprint, protect, first_seen_at, last_seen_at, deletion_deferred_at)
        VALUES (@clusterId, @name, @provider, @fingerprint, @protect, @firstSeenAt, @lastSeenAt, @deletionDeferredAt);"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @name nvarchar(50)
      @provider nvarchar(20)
      @fingerprint nvarchar(200)
      @protect bit
      @firstSeenAt datetimeoffset(3)
      @lastSeenAt datetimeoffset(3)
      @deletionDeferredAt datetimeoffset(3)"
    `)
  })
  test('deleteAgentConnection', () => {
    const s = all.deleteAgentConnection!
    expect(s.text).toMatchInlineSnapshot(`"DELETE FROM jm_agent_connections WHERE cluster_id = @clusterId AND name = @name"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @name nvarchar(50)"
    `)
  })
})

import { describe, expect, test } from 'vitest'
import type { Result, Row, Runner, Statement } from '../../core/providers/mssql/db.js'
import * as schedules from '../../core/providers/mssql/master/schedules.js'
import { catalog, ID, m, NOW, schedule, SCHEDULE_ID } from './catalog.js'
import { signature } from './signature.js'
import { occurrenceJob } from '../conformance/fixtures.js'

/**
 * The exact T-SQL of the schedule statements and of migration 2, with parameters and statement
 * counts (the generic checks of statements.test.ts run over them too, through the catalog).
 */
const all = catalog()

describe('schedule T-SQL', () => {
  test('migrationStepMaster2', () => {
    const s = all.migrationStepMaster2!
    expect(s.text).toMatchInlineSnapshot(`
      "IF COL_LENGTH(N'jm_jobs', N'schedule_id') IS NULL
        ALTER TABLE jm_jobs ADD schedule_id char(36) NULL, occurrence_at datetimeoffset(3) NULL,
          skip_if_overlapping bit NOT NULL CONSTRAINT jm_jobs_skip_if_overlapping_default DEFAULT 0;
      IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'jm_jobs_occurrence' AND object_id = OBJECT_ID(N'jm_jobs'))
        EXEC(N'CREATE UNIQUE INDEX jm_jobs_occurrence ON jm_jobs (schedule_id, occurrence_at) WHERE occurrence_at IS NOT NULL');
      IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'jm_jobs_schedule' AND object_id = OBJECT_ID(N'jm_jobs'))
        EXEC(N'CREATE INDEX jm_jobs_schedule ON jm_jobs (schedule_id, created_at) WHERE schedule_id IS NOT NULL');
      IF OBJECT_ID(N'jm_schedules', N'U') IS NULL
        CREATE TABLE jm_schedules (
          id char(36) NOT NULL CONSTRAINT jm_schedules_pk PRIMARY KEY,
          cluster_id nvarchar(50) NOT NULL,
          kind nvarchar(20) NOT NULL,
          name nvarchar(100) NULL,
          definition nvarchar(100) NOT NULL,
          every_ms bigint NULL,
          cron nvarchar(200) NULL,
          time_zone nvarchar(64) NULL,
          payload nvarchar(max) NULL,
          metadata nvarchar(max) NOT NULL,
          priority smallint NOT NULL,
          lane nvarchar(50) NULL,
          timeout_ms bigint NULL,
          max_retries int NULL,
          start_after datetimeoffset(3) NULL,
          end_before datetimeoffset(3) NULL,
          misfire_policy nvarchar(20) NOT NULL,
          overlap_policy nvarchar(20) NOT NULL,
          status nvarchar(20) NOT NULL,
          covered_until datetimeoffset(3) NOT NULL,
          claimed_until datetimeoffset(3) NULL,
          live_job_id char(36) NULL,
          spec_hash nvarchar(64) NULL,
          synced_at datetimeoffset(3) NULL,
          version int NOT NULL,
          created_at datetimeoffset(3) NOT NULL,
          updated_at datetimeoffset(3) NOT NULL,
          status_changed_at datetimeoffset(3) NOT NULL
        );
      IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'jm_schedules_due' AND object_id = OBJECT_ID(N'jm_schedules'))
        CREATE INDEX jm_schedules_due ON jm_schedules (cluster_id, status, covered_until);
      INSERT INTO jm_schema_versions (component, version, applied_at) VALUES (@component, @version, SYSUTCDATETIME());"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 6
      @component nvarchar(20)
      @version int"
    `)
  })
  test('insertSchedules', () => {
    const s = all.insertSchedules!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_schedules (id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane, timeout_ms, max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, created_at, updated_at, status_changed_at, version, spec_hash, synced_at)
      OUTPUT inserted.id
      SELECT u.id, u.cluster_id, u.kind, u.name, u.definition, u.every_ms, u.cron, u.time_zone, u.payload, u.metadata, u.priority, u.lane, u.timeout_ms, u.max_retries, u.start_after, u.end_before, u.misfire_policy, u.overlap_policy, u.status, u.covered_until, u.created_at, u.updated_at, u.status_changed_at, u.version, u.spec_hash, u.synced_at
        FROM OPENJSON(@schedules) WITH (
          id char(36) '$.id', cluster_id nvarchar(50) '$.clusterId', kind nvarchar(20) '$.kind', name nvarchar(100) '$.name',
          definition nvarchar(100) '$.definition', every_ms bigint '$.everyMs', cron nvarchar(200) '$.cron', time_zone nvarchar(64) '$.timeZone',
          payload nvarchar(max) '$.payload', metadata nvarchar(max) '$.metadata', priority smallint '$.priority', lane nvarchar(50) '$.lane',
          timeout_ms bigint '$.timeoutMs', max_retries int '$.maxRetries', start_after datetimeoffset(3) '$.startAfter', end_before datetimeoffset(3) '$.endBefore',
          misfire_policy nvarchar(20) '$.misfirePolicy', overlap_policy nvarchar(20) '$.overlapPolicy', status nvarchar(20) '$.status',
          covered_until datetimeoffset(3) '$.coveredUntil', created_at datetimeoffset(3) '$.createdAt', updated_at datetimeoffset(3) '$.updatedAt',
          status_changed_at datetimeoffset(3) '$.statusChangedAt', version int '$.version', spec_hash nvarchar(64) '$.specHash',
          synced_at datetimeoffset(3) '$.syncedAt') AS u
       WHERE NOT EXISTS (SELECT 1 FROM jm_schedules AS s WHERE s.id = u.id)"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @schedules nvarchar(max)"
    `)
  })
  test('getSchedule', () => {
    const s = all.getSchedule!
    expect(s.text).toMatchInlineSnapshot(`"SELECT id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane, timeout_ms, max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, created_at, updated_at, status_changed_at, version, spec_hash, synced_at FROM jm_schedules WHERE cluster_id = @clusterId AND id = @id"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @clusterId nvarchar(50)
      @id char(36)"
    `)
  })
  test('listSchedules', () => {
    const s = all.listSchedules!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT TOP (@limit) id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane, timeout_ms, max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, created_at, updated_at, status_changed_at, version, spec_hash, synced_at FROM jm_schedules
       WHERE cluster_id = @clusterId
       ORDER BY CASE WHEN name IS NULL THEN 1 ELSE 0 END, name, created_at, id"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @clusterId nvarchar(50)"
    `)
  })
  test('listSchedulesFiltered', () => {
    const s = all.listSchedulesFiltered!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT TOP (@limit) id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane, timeout_ms, max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, created_at, updated_at, status_changed_at, version, spec_hash, synced_at FROM jm_schedules
       WHERE cluster_id = @clusterId AND status = @status AND kind = @kind
       ORDER BY CASE WHEN name IS NULL THEN 1 ELSE 0 END, name, created_at, id"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @clusterId nvarchar(50)
      @status nvarchar(20)
      @kind nvarchar(20)"
    `)
  })
  test('claimDueSchedules', () => {
    const s = all.claimDueSchedules!
    expect(s.text).toMatchInlineSnapshot(`
      "WITH due AS (
        SELECT TOP (@limit) id, cluster_id, kind, name, definition, every_ms, cron, time_zone, payload, metadata, priority, lane, timeout_ms, max_retries, start_after, end_before, misfire_policy, overlap_policy, status, covered_until, created_at, updated_at, status_changed_at, version, spec_hash, synced_at, claimed_until
          FROM jm_schedules WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE cluster_id = @clusterId AND status = N'Active' AND covered_until < @coverBefore
           AND (claimed_until IS NULL OR claimed_until < @now)
         ORDER BY covered_until, id)
      UPDATE due SET claimed_until = @claimedUntil
      OUTPUT inserted.id, inserted.cluster_id, inserted.kind, inserted.name, inserted.definition, inserted.every_ms, inserted.cron, inserted.time_zone, inserted.payload, inserted.metadata, inserted.priority, inserted.lane, inserted.timeout_ms, inserted.max_retries, inserted.start_after, inserted.end_before, inserted.misfire_policy, inserted.overlap_policy, inserted.status, inserted.covered_until, inserted.created_at, inserted.updated_at, inserted.status_changed_at, inserted.version, inserted.spec_hash, inserted.synced_at"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @clusterId nvarchar(50)
      @coverBefore datetimeoffset(3)
      @now datetimeoffset(3)
      @claimedUntil datetimeoffset(3)"
    `)
  })
  test('updateSchedule', () => {
    const s = all.updateSchedule!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DECLARE @applied int;
      UPDATE jm_schedules
         SET name = @name, definition = @definition, every_ms = @everyMs, cron = @cron, time_zone = @timeZone, payload = @payload,
             metadata = @metadata, priority = @priority, lane = @lane, timeout_ms = @timeoutMs, max_retries = @maxRetries,
             start_after = @startAfter, end_before = @endBefore, misfire_policy = @misfirePolicy, overlap_policy = @overlapPolicy,
             status = @status, status_changed_at = @statusChangedAt, covered_until = @coveredUntil, spec_hash = @specHash,
             synced_at = @syncedAt, version = version + 1, claimed_until = NULL, updated_at = @now
       WHERE cluster_id = @clusterId AND id = @id AND version = @expectVersion;
      SET @applied = @@ROWCOUNT;
      SELECT @applied AS applied;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @name nvarchar(100)
      @definition nvarchar(100)
      @everyMs bigint
      @cron nvarchar(200)
      @timeZone nvarchar(64)
      @payload nvarchar(max)
      @metadata nvarchar(max)
      @priority smallint
      @lane nvarchar(50)
      @timeoutMs bigint
      @maxRetries int
      @startAfter datetimeoffset(3)
      @endBefore datetimeoffset(3)
      @misfirePolicy nvarchar(20)
      @overlapPolicy nvarchar(20)
      @status nvarchar(20)
      @statusChangedAt datetimeoffset(3)
      @coveredUntil datetimeoffset(3)
      @specHash nvarchar(64)
      @syncedAt datetimeoffset(3)
      @now datetimeoffset(3)
      @clusterId nvarchar(50)
      @id char(36)
      @expectVersion int"
    `)
  })
  test('updateScheduleWithdrawing', () => {
    const s = all.updateScheduleWithdrawing!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DECLARE @applied int;
      UPDATE jm_schedules
         SET name = @name, definition = @definition, every_ms = @everyMs, cron = @cron, time_zone = @timeZone, payload = @payload,
             metadata = @metadata, priority = @priority, lane = @lane, timeout_ms = @timeoutMs, max_retries = @maxRetries,
             start_after = @startAfter, end_before = @endBefore, misfire_policy = @misfirePolicy, overlap_policy = @overlapPolicy,
             status = @status, status_changed_at = @statusChangedAt, covered_until = @coveredUntil, spec_hash = @specHash,
             synced_at = @syncedAt, version = version + 1, claimed_until = NULL, updated_at = @now
       WHERE cluster_id = @clusterId AND id = @id AND version = @expectVersion;
      SET @applied = @@ROWCOUNT;
      SELECT @applied AS applied;
      IF @applied = 1
        DELETE FROM jm_jobs
         WHERE schedule_id = @id AND cluster_id = @clusterId AND status = N'HeldOnMaster' AND occurrence_at IS NOT NULL;
      IF @applied = 1
        UPDATE jm_jobs
           SET status = N'Cancelled', occurrence_at = NULL, bucket_id = NULL, agent_connection = NULL, finished_at = @now,
               last_error = @withdrawnError, updated_at = @now
        OUTPUT deleted.id, deleted.cluster_id, deleted.definition, deleted.status, deleted.priority, deleted.lane, deleted.payload, deleted.metadata, deleted.scheduled_at, deleted.original_scheduled_at, deleted.created_at, deleted.updated_at, deleted.attempts, deleted.max_retries, deleted.timeout_ms, deleted.agent_connection, deleted.bucket_id, deleted.worker_id, deleted.started_at, deleted.finished_at, deleted.idempotency_key, deleted.last_error, deleted.schedule_id, deleted.occurrence_at, deleted.skip_if_overlapping
         WHERE schedule_id = @id AND cluster_id = @clusterId AND status IN (N'AssignedToBucket', N'Queued') AND occurrence_at IS NOT NULL;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 4
      @name nvarchar(100)
      @definition nvarchar(100)
      @everyMs bigint
      @cron nvarchar(200)
      @timeZone nvarchar(64)
      @payload nvarchar(max)
      @metadata nvarchar(max)
      @priority smallint
      @lane nvarchar(50)
      @timeoutMs bigint
      @maxRetries int
      @startAfter datetimeoffset(3)
      @endBefore datetimeoffset(3)
      @misfirePolicy nvarchar(20)
      @overlapPolicy nvarchar(20)
      @status nvarchar(20)
      @statusChangedAt datetimeoffset(3)
      @coveredUntil datetimeoffset(3)
      @specHash nvarchar(64)
      @syncedAt datetimeoffset(3)
      @now datetimeoffset(3)
      @clusterId nvarchar(50)
      @id char(36)
      @expectVersion int
      @withdrawnError nvarchar(max)"
    `)
  })
  test('commitSchedulePlan', () => {
    const s = all.commitSchedulePlan!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DECLARE @applied int;
      UPDATE jm_schedules
         SET name = @name, definition = @definition, every_ms = @everyMs, cron = @cron, time_zone = @timeZone, payload = @payload,
             metadata = @metadata, priority = @priority, lane = @lane, timeout_ms = @timeoutMs, max_retries = @maxRetries,
             start_after = @startAfter, end_before = @endBefore, misfire_policy = @misfirePolicy, overlap_policy = @overlapPolicy,
             status = @status, status_changed_at = @statusChangedAt, covered_until = @coveredUntil, spec_hash = @specHash,
             synced_at = @syncedAt, version = version + 1, claimed_until = NULL, updated_at = @now
       WHERE cluster_id = @clusterId AND id = @id AND version = @expectVersion;
      SET @applied = @@ROWCOUNT;
      SELECT @applied AS applied;
      IF @applied = 1
        INSERT INTO jm_jobs (id, cluster_id, definition, status, priority, lane, payload, metadata, scheduled_at, original_scheduled_at,
            created_at, updated_at, max_retries, timeout_ms, schedule_id, occurrence_at, skip_if_overlapping)
        OUTPUT inserted.id
        SELECT u.id, @clusterId, u.definition, N'HeldOnMaster', u.priority, u.lane, u.payload, u.metadata, u.scheduled_at, u.scheduled_at,
            u.created_at, @now, u.max_retries, u.timeout_ms, u.schedule_id, u.occurrence_at, u.skip_if_overlapping
          FROM OPENJSON(@jobs) WITH (
            id char(36) '$.id', definition nvarchar(100) '$.definition', priority smallint '$.priority', lane nvarchar(50) '$.lane',
            payload nvarchar(max) '$.payload', metadata nvarchar(max) '$.metadata', scheduled_at datetimeoffset(3) '$.scheduledAt',
            created_at datetimeoffset(3) '$.createdAt', max_retries int '$.maxRetries', timeout_ms bigint '$.timeoutMs',
            schedule_id char(36) '$.scheduleId', occurrence_at datetimeoffset(3) '$.occurrenceAt', skip_if_overlapping bit '$.skipIfOverlapping') AS u
         WHERE NOT EXISTS (SELECT 1 FROM jm_jobs AS j WHERE j.schedule_id = u.schedule_id AND j.occurrence_at = u.occurrence_at);
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 3
      @name nvarchar(100)
      @definition nvarchar(100)
      @everyMs bigint
      @cron nvarchar(200)
      @timeZone nvarchar(64)
      @payload nvarchar(max)
      @metadata nvarchar(max)
      @priority smallint
      @lane nvarchar(50)
      @timeoutMs bigint
      @maxRetries int
      @startAfter datetimeoffset(3)
      @endBefore datetimeoffset(3)
      @misfirePolicy nvarchar(20)
      @overlapPolicy nvarchar(20)
      @status nvarchar(20)
      @statusChangedAt datetimeoffset(3)
      @coveredUntil datetimeoffset(3)
      @specHash nvarchar(64)
      @syncedAt datetimeoffset(3)
      @now datetimeoffset(3)
      @clusterId nvarchar(50)
      @id char(36)
      @expectVersion int
      @jobs nvarchar(max)"
    `)
  })
  test('commitSchedulePlanEmpty', () => {
    const s = all.commitSchedulePlanEmpty!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DECLARE @applied int;
      UPDATE jm_schedules
         SET name = @name, definition = @definition, every_ms = @everyMs, cron = @cron, time_zone = @timeZone, payload = @payload,
             metadata = @metadata, priority = @priority, lane = @lane, timeout_ms = @timeoutMs, max_retries = @maxRetries,
             start_after = @startAfter, end_before = @endBefore, misfire_policy = @misfirePolicy, overlap_policy = @overlapPolicy,
             status = @status, status_changed_at = @statusChangedAt, covered_until = @coveredUntil, spec_hash = @specHash,
             synced_at = @syncedAt, version = version + 1, claimed_until = NULL, updated_at = @now
       WHERE cluster_id = @clusterId AND id = @id AND version = @expectVersion;
      SET @applied = @@ROWCOUNT;
      SELECT @applied AS applied;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @name nvarchar(100)
      @definition nvarchar(100)
      @everyMs bigint
      @cron nvarchar(200)
      @timeZone nvarchar(64)
      @payload nvarchar(max)
      @metadata nvarchar(max)
      @priority smallint
      @lane nvarchar(50)
      @timeoutMs bigint
      @maxRetries int
      @startAfter datetimeoffset(3)
      @endBefore datetimeoffset(3)
      @misfirePolicy nvarchar(20)
      @overlapPolicy nvarchar(20)
      @status nvarchar(20)
      @statusChangedAt datetimeoffset(3)
      @coveredUntil datetimeoffset(3)
      @specHash nvarchar(64)
      @syncedAt datetimeoffset(3)
      @now datetimeoffset(3)
      @clusterId nvarchar(50)
      @id char(36)
      @expectVersion int"
    `)
  })
  test('claimOverlapSlots', () => {
    const s = all.claimOverlapSlots!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE s SET live_job_id = u.job_id
      OUTPUT inserted.live_job_id AS job_id
        FROM jm_schedules AS s
        JOIN OPENJSON(@slots) WITH (schedule_id char(36) '$.scheduleId', job_id char(36) '$.jobId') AS u ON s.id = u.schedule_id
       WHERE s.cluster_id = @clusterId
         AND (s.live_job_id IS NULL OR s.live_job_id = u.job_id
              OR NOT EXISTS (SELECT 1 FROM jm_jobs AS j WHERE j.id = s.live_job_id AND j.status NOT IN (N'Succeeded', N'Failed', N'Cancelled')))"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @slots nvarchar(max)
      @clusterId nvarchar(50)"
    `)
  })
})

/** A Runner that records what the store sends and answers with canned results. */
class FakeRunner implements Runner {
  readonly sent: Statement[] = []
  constructor(private readonly answers: Array<Partial<Result>> = []) {}
  async run<R extends Row = Row>(statement: Statement): Promise<Result<R>> {
    this.sent.push(statement)
    return { recordsets: [], rowsAffected: [], ...this.answers.shift() } as Result<R>
  }
  param(index: number, name: string): unknown {
    return this.sent[index]!.params.find((p) => p.name === name)!.value
  }
}

/** A schedule row as the driver returns it: BIGINT as text, JSON as text, times as Dates. */
function scheduleRow(overrides: Row = {}): Row {
  return {
    id: SCHEDULE_ID,
    cluster_id: 'c1',
    kind: 'dynamic',
    name: null,
    definition: 'echo',
    every_ms: '60000',
    cron: null,
    time_zone: null,
    payload: '{"n":1}',
    metadata: '{"tenant":"acme"}',
    priority: 3,
    lane: null,
    timeout_ms: '604800000',
    max_retries: 2,
    start_after: null,
    end_before: null,
    misfire_policy: 'run-once',
    overlap_policy: 'skip',
    status: 'Active',
    covered_until: NOW,
    created_at: NOW,
    updated_at: NOW,
    status_changed_at: NOW,
    version: 4,
    spec_hash: null,
    synced_at: null,
    ...overrides,
  }
}

describe('schedule store', () => {
  test('rows become records: BIGINT text as numbers, JSON text parsed', async () => {
    const db = new FakeRunner([{ recordsets: [[scheduleRow()]] }])
    expect(await schedules.getSchedule(db, m, 'c1', SCHEDULE_ID)).toMatchObject({ everyMs: 60_000, timeoutMs: 604_800_000, payload: { n: 1 }, metadata: { tenant: 'acme' }, priority: 'medium', version: 4 })
  })

  test('insertSchedules sends nothing for none, and keeps the first copy of a repeated id', async () => {
    const db = new FakeRunner([{ recordsets: [[{ id: SCHEDULE_ID }]] }])
    expect(await schedules.insertSchedules(db, m, [])).toEqual([])
    expect(db.sent).toHaveLength(0)
    expect(await schedules.insertSchedules(db, m, [schedule({ name: 'first' }), schedule({ name: 'second' })])).toEqual([SCHEDULE_ID])
    expect(JSON.parse(String(db.param(0, 'schedules'))).map((r: { name: string }) => r.name)).toEqual(['first'])
  })

  test('updateSchedule reads @applied first, then the withdrawn jobs as they were', async () => {
    const applied = new FakeRunner([{ recordsets: [[{ applied: 1 }], [{ id: ID, cluster_id: 'c1', definition: 'echo', status: 'Queued', priority: 3, payload: null, metadata: '{}', timeout_ms: '1000', bucket_id: 'b1' }]] }])
    const update = await schedules.updateSchedule(applied, m, schedule({ status: 'Paused' }), 3, { withdrawOccurrences: true }, NOW)
    expect(update.applied).toBe(true)
    expect(update.cancelled).toMatchObject([{ id: ID, status: 'Queued', bucketId: 'b1' }])
    const stale = new FakeRunner([{ recordsets: [[{ applied: 0 }]] }])
    expect(await schedules.updateSchedule(stale, m, schedule(), 3, { withdrawOccurrences: true }, NOW)).toEqual({ applied: false, cancelled: [] })
  })

  test('commitSchedulePlan: null when the version moved, else the inserted ids', async () => {
    const stale = new FakeRunner([{ recordsets: [[{ applied: 0 }]] }])
    expect(await schedules.commitSchedulePlan(stale, m, schedule(), 3, [occurrenceJob(schedule(), NOW)], NOW)).toBeNull()
    const fresh = new FakeRunner([{ recordsets: [[{ applied: 1 }], [{ id: ID }]] }])
    expect(await schedules.commitSchedulePlan(fresh, m, schedule(), 3, [occurrenceJob(schedule(), NOW)], NOW)).toEqual([ID])
    const nothing = new FakeRunner([{ recordsets: [[{ applied: 1 }]] }])
    expect(await schedules.commitSchedulePlan(nothing, m, schedule(), 3, [], NOW)).toEqual([])
  })

  test('claimOverlapSlots sends one entry per schedule, and nothing for none', async () => {
    const db = new FakeRunner([{ recordsets: [[{ job_id: ID }]] }])
    expect(await schedules.claimOverlapSlots(db, m, 'c1', [])).toEqual([])
    expect(db.sent).toHaveLength(0)
    expect(await schedules.claimOverlapSlots(db, m, 'c1', [{ scheduleId: SCHEDULE_ID, jobId: ID }, { scheduleId: SCHEDULE_ID, jobId: 'other' }])).toEqual([ID])
    expect(JSON.parse(String(db.param(0, 'slots')))).toEqual([{ scheduleId: SCHEDULE_ID, jobId: ID }])
  })
})

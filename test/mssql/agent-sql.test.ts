import { describe, expect, test } from 'vitest'
import { catalog } from './catalog.js'
import { signature } from './signature.js'

/**
 * The exact T-SQL of every agent store statement, with its parameters (name, type) and how many
 * statements it executes. A change here is a change to what SQL Server receives: review the diff.
 */
const all = catalog()

describe('agent T-SQL', () => {
  test('ensureFingerprint', () => {
    const s = all.ensureFingerprint!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_agent_info (name, value)
      SELECT N'fingerprint', @fingerprint
       WHERE NOT EXISTS (SELECT 1 FROM jm_agent_info WITH (UPDLOCK, HOLDLOCK) WHERE name = N'fingerprint')"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @fingerprint nvarchar(200)"
    `)
  })
  test('readFingerprint', () => {
    const s = all.readFingerprint!
    expect(s.text).toMatchInlineSnapshot(`"SELECT value FROM jm_agent_info WHERE name = N'fingerprint'"`)
    expect(signature(s)).toMatchInlineSnapshot(`"statements: 1"`)
  })
  test('enqueue', () => {
    const s = all.enqueue!
    expect(s.text).toMatchInlineSnapshot(`
      "INSERT INTO jm_inbox (job_id, message, enqueued_at)
      SELECT u.job_id, u.message, @now
        FROM OPENJSON(@messages) WITH (job_id char(36) '$.id', message nvarchar(max) '$.message') AS u"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @now datetimeoffset(3)
      @messages nvarchar(max)"
    `)
  })
  test('enqueueWithKeys', () => {
    const s = all.enqueueWithKeys!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DECLARE @input TABLE (ord int NOT NULL PRIMARY KEY, job_id char(36) NOT NULL, message nvarchar(max) NOT NULL,
                            idem_key varchar(200) COLLATE Latin1_General_100_BIN2 NULL);
      DECLARE @claimed TABLE (job_id char(36) NOT NULL PRIMARY KEY);
      INSERT INTO @input (ord, job_id, message, idem_key)
      SELECT ord, job_id, message, idem_key
        FROM OPENJSON(@envelopes) WITH (ord int '$.ord', job_id char(36) '$.id', message nvarchar(max) '$.message',
                                        idem_key varchar(200) '$.key');
      MERGE jm_idempotency WITH (HOLDLOCK) AS k
      USING (SELECT i.idem_key, i.job_id FROM @input AS i
              WHERE i.idem_key IS NOT NULL
                AND i.ord = (SELECT MIN(f.ord) FROM @input AS f WHERE f.idem_key = i.idem_key)) AS s
         ON k.idem_key = s.idem_key
      WHEN MATCHED AND k.expires_at <= @now THEN UPDATE SET job_id = s.job_id, expires_at = @expiresAt
      WHEN NOT MATCHED THEN INSERT (idem_key, job_id, expires_at) VALUES (s.idem_key, s.job_id, @expiresAt)
      OUTPUT inserted.job_id INTO @claimed (job_id);
      INSERT INTO jm_inbox (job_id, message, enqueued_at)
      SELECT i.job_id, i.message, @now FROM @input AS i
       WHERE i.idem_key IS NULL OR i.job_id IN (SELECT job_id FROM @claimed);
      SELECT CASE WHEN i.idem_key IS NULL THEN i.job_id ELSE k.job_id END AS job_id,
             CAST(CASE WHEN i.idem_key IS NULL OR k.job_id = i.job_id THEN 1 ELSE 0 END AS bit) AS fresh
        FROM @input AS i LEFT JOIN jm_idempotency AS k ON k.idem_key = i.idem_key
       ORDER BY i.ord;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 4
      @now datetimeoffset(3)
      @expiresAt datetimeoffset(3)
      @envelopes nvarchar(max)"
    `)
  })
  test('claimInbox', () => {
    const s = all.claimInbox!
    expect(s.text).toMatchInlineSnapshot(`
      "WITH next AS (
        SELECT TOP (@limit) job_id, message, claimed_until, claimed_by
          FROM jm_inbox WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE (claimed_until IS NULL OR claimed_until < @now)
         ORDER BY enqueued_at, job_id)
      UPDATE next SET claimed_until = @leaseUntil, claimed_by = @consumer
      OUTPUT inserted.job_id, inserted.message"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @now datetimeoffset(3)
      @leaseUntil datetimeoffset(3)
      @consumer nvarchar(200)"
    `)
  })
  test('claimInboxOlderThan', () => {
    const s = all.claimInboxOlderThan!
    expect(s.text).toMatchInlineSnapshot(`
      "WITH next AS (
        SELECT TOP (@limit) job_id, message, claimed_until, claimed_by
          FROM jm_inbox WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE (claimed_until IS NULL OR claimed_until < @now) AND enqueued_at <= @enqueuedBefore
         ORDER BY enqueued_at, job_id)
      UPDATE next SET claimed_until = @leaseUntil, claimed_by = @consumer
      OUTPUT inserted.job_id, inserted.message"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @now datetimeoffset(3)
      @leaseUntil datetimeoffset(3)
      @consumer nvarchar(200)
      @enqueuedBefore datetimeoffset(3)"
    `)
  })
  test('ackInbox', () => {
    const s = all.ackInbox!
    expect(s.text).toMatchInlineSnapshot(`"DELETE FROM jm_inbox WHERE job_id IN (SELECT job_id FROM OPENJSON(@receipts) WITH (job_id char(36) '$'))"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @receipts nvarchar(max)"
    `)
  })
  test('inboxDepth', () => {
    const s = all.inboxDepth!
    expect(s.text).toMatchInlineSnapshot(`"SELECT COUNT(*) AS n FROM jm_inbox"`)
    expect(signature(s)).toMatchInlineSnapshot(`"statements: 1"`)
  })
  test('pushToBuckets', () => {
    const s = all.pushToBuckets!
    expect(s.text).toMatchInlineSnapshot(`
      "MERGE jm_bucket_jobs AS b
      USING (SELECT job_id, bucket_id, due_at, message
               FROM OPENJSON(@jobs) WITH (job_id char(36) '$.id', bucket_id nvarchar(200) '$.bucketId',
                                          due_at datetimeoffset(3) '$.dueAt', message nvarchar(max) '$.message')) AS u
         ON b.job_id = u.job_id
      WHEN MATCHED AND b.bucket_id <> u.bucket_id THEN
        UPDATE SET bucket_id = u.bucket_id, due_at = u.due_at, message = u.message, fetched_at = NULL
      WHEN NOT MATCHED THEN
        INSERT (job_id, bucket_id, due_at, message) VALUES (u.job_id, u.bucket_id, u.due_at, u.message);"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @jobs nvarchar(max)"
    `)
  })
  test('fetchDue', () => {
    const s = all.fetchDue!
    expect(s.text).toMatchInlineSnapshot(`
      "WITH due AS (
        SELECT TOP (@limit) job_id, message, fetched_at
          FROM jm_bucket_jobs WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE bucket_id = @bucketId AND fetched_at IS NULL AND due_at <= @dueBefore
         ORDER BY due_at, job_id)
      UPDATE due SET fetched_at = @now
      OUTPUT inserted.message"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @limit int
      @bucketId nvarchar(200)
      @dueBefore datetimeoffset(3)
      @now datetimeoffset(3)"
    `)
  })
  test('settle', () => {
    const s = all.settle!
    expect(s.text).toMatchInlineSnapshot(`
      "SET XACT_ABORT ON;
      BEGIN TRANSACTION;
      DELETE b FROM jm_bucket_jobs AS b
        JOIN OPENJSON(@done) WITH (job_id char(36) '$.jobId', bucket_id nvarchar(200) '$.bucketId') AS u
          ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id;
      UPDATE b SET due_at = u.due_at, message = u.message, fetched_at = NULL
        FROM jm_bucket_jobs AS b
        JOIN OPENJSON(@retried) WITH (job_id char(36) '$.id', bucket_id nvarchar(200) '$.bucketId',
                                      due_at datetimeoffset(3) '$.dueAt', message nvarchar(max) '$.message') AS u
          ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id;
      COMMIT TRANSACTION;"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 2
      @done nvarchar(max)
      @retried nvarchar(max)"
    `)
  })
  test('settleDoneOnly', () => {
    const s = all.settleDoneOnly!
    expect(s.text).toMatchInlineSnapshot(`
      "DELETE b FROM jm_bucket_jobs AS b
        JOIN OPENJSON(@done) WITH (job_id char(36) '$.jobId', bucket_id nvarchar(200) '$.bucketId') AS u
          ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @done nvarchar(max)"
    `)
  })
  test('settleRetriedOnly', () => {
    const s = all.settleRetriedOnly!
    expect(s.text).toMatchInlineSnapshot(`
      "UPDATE b SET due_at = u.due_at, message = u.message, fetched_at = NULL
        FROM jm_bucket_jobs AS b
        JOIN OPENJSON(@retried) WITH (job_id char(36) '$.id', bucket_id nvarchar(200) '$.bucketId',
                                      due_at datetimeoffset(3) '$.dueAt', message nvarchar(max) '$.message') AS u
          ON b.job_id = u.job_id AND b.bucket_id = u.bucket_id"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @retried nvarchar(max)"
    `)
  })
  test('clearBucketSlice', () => {
    const s = all.clearBucketSlice!
    expect(s.text).toMatchInlineSnapshot(`"DELETE TOP (@slice) FROM jm_bucket_jobs WHERE bucket_id = @bucketId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @slice int
      @bucketId nvarchar(200)"
    `)
  })
  test('bucketDepth', () => {
    const s = all.bucketDepth!
    expect(s.text).toMatchInlineSnapshot(`"SELECT COUNT(*) AS n FROM jm_bucket_jobs WHERE bucket_id = @bucketId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @bucketId nvarchar(200)"
    `)
  })
  test('missingFromBuckets', () => {
    const s = all.missingFromBuckets!
    expect(s.text).toMatchInlineSnapshot(`
      "SELECT u.job_id
        FROM OPENJSON(@entries) WITH (job_id char(36) '$.jobId', bucket_id nvarchar(200) '$.bucketId') AS u
       WHERE NOT EXISTS (SELECT 1 FROM jm_bucket_jobs AS b WHERE b.job_id = u.job_id AND b.bucket_id = u.bucket_id)"
    `)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @entries nvarchar(max)"
    `)
  })
  test('signalCancel', () => {
    const s = all.signalCancel!
    expect(s.text).toMatchInlineSnapshot(`"DELETE FROM jm_bucket_jobs WHERE job_id = @jobId AND bucket_id = @bucketId"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @jobId char(36)
      @bucketId nvarchar(200)"
    `)
  })
  test('purgeExpiredSlice', () => {
    const s = all.purgeExpiredSlice!
    expect(s.text).toMatchInlineSnapshot(`"DELETE TOP (@slice) FROM jm_idempotency WHERE expires_at <= @now"`)
    expect(signature(s)).toMatchInlineSnapshot(`
      "statements: 1
      @slice int
      @now datetimeoffset(3)"
    `)
  })
})

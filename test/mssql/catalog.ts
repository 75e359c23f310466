import type { JobTransition } from '../../core/stores/master.js'
import type { Statement } from '../../core/providers/mssql/db.js'
import { buildMigrationStart, buildMigrationStep } from '../../core/providers/mssql/migrate.js'
import * as agent from '../../core/providers/mssql/agent/index.js'
import { agentMigrations } from '../../core/providers/mssql/agent/schema.js'
import * as buckets from '../../core/providers/mssql/master/buckets.js'
import * as cluster from '../../core/providers/mssql/master/cluster.js'
import * as connections from '../../core/providers/mssql/master/connections.js'
import * as jobs from '../../core/providers/mssql/master/jobs.js'
import * as schedules from '../../core/providers/mssql/master/schedules.js'
import { masterMigrations } from '../../core/providers/mssql/master/schema.js'
import { agentTables, masterTables } from '../../core/stores/sql-tables.js'
import * as workers from '../../core/providers/mssql/master/workers.js'
import { bucket, bucketJob, envelope, masterJob, occurrenceJob, scheduleRecord, settings, worker } from '../conformance/fixtures.js'

/** Fixed inputs, so statement texts and JSON parameters are reproducible. */
export const NOW = new Date('2026-01-02T03:04:05.678Z')
export const LATER = new Date('2026-01-02T03:14:05.678Z')
export const ID = '0190a5b4-0000-7000-8000-000000000001'
export const ID2 = '0190a5b4-0000-7000-8000-000000000002'
export const SCHEDULE_ID = '0190a5b4-0000-7000-8000-0000000000aa'
export const m = masterTables('jm_')
export const a = agentTables('jm_')

export function transition(overrides: Partial<JobTransition> = {}): JobTransition {
  return {
    id: ID,
    fromBucketId: 'b1',
    fromStatuses: ['AssignedToBucket', 'Queued', 'Processing'],
    status: 'Succeeded',
    bucketId: null,
    agentConnection: null,
    scheduledAt: NOW,
    attempts: 1,
    finishedAt: LATER,
    lastError: null,
    ...overrides,
  }
}

export const attemptRecord = {
  jobId: ID,
  attempt: 1,
  workerId: 'w1',
  bucketId: 'b1',
  startedAt: NOW,
  endedAt: LATER,
  outcome: 'Succeeded' as const,
  error: null,
  result: { ok: true },
}

/** A schedule with fixed times, so statement texts and JSON parameters are reproducible. */
export function schedule(overrides: Parameters<typeof scheduleRecord>[0] = {}) {
  return scheduleRecord({ id: SCHEDULE_ID, clusterId: 'c1', coveredUntil: NOW, createdAt: NOW, updatedAt: NOW, statusChangedAt: NOW, ...overrides })
}

/**
 * Every statement the SQL Server provider sends, built with `n` rows where it takes a batch.
 * The generic tests run over all of them; the per-statement tests pin their text.
 */
export function catalog(n = 3): Record<string, Statement> {
  const many = <T>(make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i))
  const keyed = many((i) => envelope({ idempotencyKey: i % 2 ? `key-${i}` : null, scheduledAt: NOW, createdAt: NOW }))
  return {
    migrationStart: buildMigrationStart('jm_', 'master'),
    migrationStepMaster: buildMigrationStep('jm_', 'master', 1, masterMigrations('jm_')[0]!),
    migrationStepAgent: buildMigrationStep('jm_', 'agent', 1, agentMigrations('jm_')[0]!),
    migrationStepMaster2: buildMigrationStep('jm_', 'master', 2, masterMigrations('jm_')[1]!),

    initCluster: cluster.buildInitCluster(m, settings(), false, NOW),
    initClusterOverwrite: cluster.buildInitCluster(m, settings(), true, NOW),
    getCluster: cluster.buildGetCluster(m, 'c1'),
    updateCluster: cluster.buildUpdateCluster(m, settings({ dataRetentionMs: null }), NOW),

    insertJobs: jobs.buildInsertJobs(m, 'c1', many(() => masterJob({ scheduledAt: NOW, createdAt: NOW })), NOW),
    markJobs: jobs.buildMarkJobs(m, many((i) => ({ id: ID, bucketId: 'b1', status: i % 2 ? 'Processing' : 'Queued', attempt: 1, workerId: 'w1', at: NOW })), NOW),
    transitionJobs: jobs.buildTransitionJobs(m, many(() => transition()), many(() => attemptRecord), NOW),
    transitionJobsOnly: jobs.buildTransitionJobs(m, many(() => transition()), [], NOW),
    recordAttemptsOnly: jobs.buildTransitionJobs(m, [], many(() => attemptRecord), NOW),
    claimDueHeldJobs: jobs.buildClaimDueHeldJobs(m, 'c1', LATER, 25, 5000, NOW),
    jobsInBucket: jobs.buildJobsInBucket(m, 'b1', 100),
    findStrandedJobs: jobs.buildFindStrandedJobs(m, 'c1', NOW, 60_000, 100),
    cancelJob: jobs.buildCancelJob(m, 'c1', ID, NOW),
    getJob: jobs.buildGetJob(m, 'c1', ID),
    getJobs: jobs.buildGetJobs(m, 'c1', many((i) => `${ID.slice(0, -1)}${i}`)),
    listAttempts: jobs.buildListAttempts(m, 'c1', ID),
    countJobs: jobs.buildCountJobs(m, 'c1', {}),
    countJobsFiltered: jobs.buildCountJobs(m, 'c1', { status: 'HeldOnMaster', definition: 'echo', lane: null, metadata: { tenant: 'acme' } }),
    listJobs: jobs.buildListJobs(m, 'c1', {}, 50),
    listJobsEveryFilter: jobs.buildListJobs(
      m,
      'c1',
      { status: 'Queued', definition: 'echo', lane: 'Payroll', bucketId: 'b1', scheduleId: SCHEDULE_ID, metadata: { tenant: 'acme', i: '3' }, createdFrom: NOW, createdTo: LATER },
      50,
      { createdAt: NOW, id: ID },
    ),
    countJobsByStatus: jobs.buildCountJobsByStatus(m, 'c1'),
    purgeFinishedJobs: jobs.buildPurgeFinishedJobs(m, 'c1', NOW, 500),

    insertSchedules: schedules.buildInsertSchedules(m, many((i) => schedule({ id: `${SCHEDULE_ID.slice(0, -1)}${i}` }))),
    getSchedule: schedules.buildGetSchedule(m, 'c1', SCHEDULE_ID),
    listSchedules: schedules.buildListSchedules(m, 'c1', {}, 500),
    listSchedulesFiltered: schedules.buildListSchedules(m, 'c1', { status: 'Active', kind: 'static' }, 500),
    claimDueSchedules: schedules.buildClaimDueSchedules(m, 'c1', LATER, 100, 60_000, NOW),
    updateSchedule: schedules.buildUpdateSchedule(m, schedule({ status: 'Paused' }), 3, false, NOW),
    updateScheduleWithdrawing: schedules.buildUpdateSchedule(m, schedule({ status: 'Paused' }), 3, true, NOW),
    commitSchedulePlan: schedules.buildCommitSchedulePlan(m, schedule(), 3, many((i) => occurrenceJob(schedule(), i === 0 ? null : new Date(LATER.getTime() + i * 1000))), NOW),
    commitSchedulePlanEmpty: schedules.buildCommitSchedulePlan(m, schedule({ status: 'Completed' }), 3, [], NOW),
    claimOverlapSlots: schedules.buildClaimOverlapSlots(m, 'c1', many((i) => ({ scheduleId: `${SCHEDULE_ID.slice(0, -1)}${i}`, jobId: ID }))),

    registerWorker: workers.buildRegisterWorker(m, worker({ heartbeatAt: NOW, startedAt: NOW })),
    heartbeat: workers.buildHeartbeat(m, 'w1', NOW),
    listWorkers: workers.buildListWorkers(m, 'c1'),
    reapDeadWorkers: workers.buildReapDeadWorkers(m, 'c1', NOW),
    deleteWorker: workers.buildDeleteWorker(m, 'w1'),
    requestWorkerStop: workers.buildRequestWorkerStop(m, 'w1', NOW),

    createBuckets: buckets.buildCreateBuckets(m, many(() => bucket('w1', { createdAt: NOW, statusChangedAt: NOW }))),
    listBuckets: buckets.buildListBuckets(m, 'c1'),
    listBucketsFiltered: buckets.buildListBuckets(m, 'c1', { statuses: ['Active', 'Completing'], agentConnection: 'a1' }),
    getBucket: buckets.buildGetBucket(m, 'b1'),
    transitionBucket: buckets.buildTransitionBucket(m, 'b1', { from: ['Lost'], to: 'Draining', owner: 'd1' }, NOW),
    transitionBucketExpectOwner: buckets.buildTransitionBucket(m, 'b1', { from: ['Active'], expectOwner: 'w1', to: 'Completing' }, NOW),
    transitionBucketExpectNoOwner: buckets.buildTransitionBucket(m, 'b1', { from: ['Lost'], expectOwner: null, to: 'ReadyToDelete', owner: null }, NOW),
    markOrphanedBucketsLost: buckets.buildMarkOrphanedBucketsLost(m, 'c1', NOW, LATER),
    deleteBucket: buckets.buildDeleteBucket(m, 'b1', 'ReadyToDelete'),

    getAgentConnection: connections.buildGetAgentConnection(m, 'c1', 'a1'),
    listAgentConnections: connections.buildListAgentConnections(m, 'c1'),
    upsertAgentConnection: connections.buildUpsertAgentConnection(m, {
      clusterId: 'c1',
      name: 'a1',
      provider: 'mssql',
      fingerprint: 'f1',
      protect: true,
      firstSeenAt: NOW,
      lastSeenAt: NOW,
      deletionDeferredAt: null,
    }),
    deleteAgentConnection: connections.buildDeleteAgentConnection(m, 'c1', 'a1'),

    ensureFingerprint: agent.buildEnsureFingerprint(a, 'f-123'),
    readFingerprint: agent.buildReadFingerprint(a),
    enqueue: agent.buildEnqueue(a, many(() => envelope({ scheduledAt: NOW, createdAt: NOW })), NOW),
    enqueueWithKeys: agent.buildEnqueueWithKeys(a, keyed, 60_000, NOW),
    claimInbox: agent.buildClaimInbox(a, 100, 30_000, 'w1', NOW),
    claimInboxOlderThan: agent.buildClaimInbox(a, 100, 30_000, 'coordinator', NOW, LATER),
    ackInbox: agent.buildAckInbox(a, many((i) => `${ID.slice(0, -1)}${i}`)),
    inboxDepth: agent.buildInboxDepth(a),
    pushToBuckets: agent.buildPushToBuckets(a, many(() => bucketJob('b1', { scheduledAt: NOW }))),
    fetchDue: agent.buildFetchDue(a, 'b1', LATER, 250, NOW),
    settle: agent.buildSettle(a, many(() => ({ bucketId: 'b1', jobId: ID })), many(() => bucketJob('b1', { scheduledAt: LATER, attempts: 1 }))),
    settleDoneOnly: agent.buildSettle(a, many(() => ({ bucketId: 'b1', jobId: ID })), []),
    settleRetriedOnly: agent.buildSettle(a, [], many(() => bucketJob('b1', { scheduledAt: LATER, attempts: 1 }))),
    clearBucketSlice: agent.buildClearBucketSlice(a, 'b1'),
    bucketDepth: agent.buildBucketDepth(a, 'b1'),
    missingFromBuckets: agent.buildMissingFromBuckets(a, many(() => ({ bucketId: 'b1', jobId: ID }))),
    signalCancel: agent.buildSignalCancel(a, 'b1', ID),
    purgeExpiredSlice: agent.buildPurgeExpiredSlice(a, NOW),
  }
}

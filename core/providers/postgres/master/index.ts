import type { AttemptRecord, BucketRecord, BucketStatus, ClusterSettings, WorkerRecord, AgentConnectionRecord, ScheduleRecord } from '../../../model.js'
import type { JobCursor, JobListFilter, JobMark, JobTransition, MasterStore, NewMasterJob, NewScheduledJob, ScheduleListFilter } from '../../../stores/master.js'
import { PgDb } from '../db.js'
import { migrate, schemaText } from '../migrate.js'
import * as buckets from './buckets.js'
import * as cluster from './cluster.js'
import * as connections from './connections.js'
import * as jobs from './jobs.js'
import * as schedules from './schedules.js'
import { masterMigrations } from './schema.js'
import { masterTables, type MasterTables } from '../../../stores/sql-tables.js'
import * as workers from './workers.js'

/** The master store on PostgreSQL. Each method is one named statement in the modules beside this file. */
export class PostgresMasterStore implements MasterStore {
  readonly provider = 'postgres'
  readonly db: PgDb
  private readonly t: MasterTables

  constructor(url: string, private readonly prefix = 'jm_', options: { max?: number } = {}) {
    this.db = new PgDb(url, 'master', options)
    this.t = masterTables(prefix)
  }

  get statementCount(): number {
    return this.db.statementCount
  }

  provision = () => migrate(this.db, this.prefix, 'master', masterMigrations(this.prefix))
  schemaSql = () => schemaText(this.prefix, masterMigrations(this.prefix))
  close = () => this.db.close()

  initCluster = (s: ClusterSettings, overwrite: boolean, now: Date) => cluster.initCluster(this.db, this.t, s, overwrite, now)
  getCluster = (clusterId: string) => cluster.getCluster(this.db, this.t, clusterId)
  updateCluster = (s: ClusterSettings, now: Date) => cluster.updateCluster(this.db, this.t, s, now)

  insertJobs = (clusterId: string, list: NewMasterJob[], now: Date) => jobs.insertJobs(this.db, this.t, clusterId, list, now)
  markJobs = (marks: JobMark[], now: Date) => jobs.markJobs(this.db, this.t, marks, now)
  transitionJobs = (transitions: JobTransition[], attempts: AttemptRecord[], now: Date) => jobs.transitionJobs(this.db, this.t, transitions, attempts, now)
  claimDueHeldJobs = (clusterId: string, dueBefore: Date, limit: number, claimMs: number, now: Date) =>
    jobs.claimDueHeldJobs(this.db, this.t, clusterId, dueBefore, limit, claimMs, now)
  jobsInBucket = (bucketId: string, limit: number) => jobs.jobsInBucket(this.db, this.t, bucketId, limit)
  findStrandedJobs = (clusterId: string, now: Date, overdueMs: number, limit: number) => jobs.findStrandedJobs(this.db, this.t, clusterId, now, overdueMs, limit)
  cancelJob = (clusterId: string, id: string, now: Date) => jobs.cancelJob(this.db, this.t, clusterId, id, now)
  getJob = async (clusterId: string, id: string) => (await jobs.getJobs(this.db, this.t, clusterId, [id]))[0] ?? null
  getJobs = (clusterId: string, ids: string[]) => jobs.getJobs(this.db, this.t, clusterId, ids)
  listAttempts = (clusterId: string, jobId: string) => jobs.listAttempts(this.db, this.t, clusterId, jobId)
  countJobs = (clusterId: string, filter: JobListFilter) => jobs.countJobs(this.db, this.t, clusterId, filter)
  listJobs = (clusterId: string, filter: JobListFilter, limit: number, after?: JobCursor) => jobs.listJobs(this.db, this.t, clusterId, filter, limit, after)
  countJobsByStatus = (clusterId: string) => jobs.countJobsByStatus(this.db, this.t, clusterId)
  purgeFinishedJobs = (clusterId: string, before: Date, limit: number) => jobs.purgeFinishedJobs(this.db, this.t, clusterId, before, limit)

  insertSchedules = (list: ScheduleRecord[]) => schedules.insertSchedules(this.db, this.t, list)
  getSchedule = (clusterId: string, id: string) => schedules.getSchedule(this.db, this.t, clusterId, id)
  listSchedules = (clusterId: string, filter: ScheduleListFilter, limit: number) => schedules.listSchedules(this.db, this.t, clusterId, filter, limit)
  claimDueSchedules = (clusterId: string, coverBefore: Date, limit: number, claimMs: number, now: Date) =>
    schedules.claimDueSchedules(this.db, this.t, clusterId, coverBefore, limit, claimMs, now)
  updateSchedule = (next: ScheduleRecord, expectVersion: number, options: { withdrawOccurrences: boolean }, now: Date) =>
    schedules.updateSchedule(this.db, this.t, next, expectVersion, options, now)
  commitSchedulePlan = (next: ScheduleRecord, expectVersion: number, jobs: NewScheduledJob[], now: Date) => schedules.commitSchedulePlan(this.db, this.t, next, expectVersion, jobs, now)
  claimOverlapSlots = (clusterId: string, entries: Array<{ scheduleId: string; jobId: string }>) => schedules.claimOverlapSlots(this.db, this.t, clusterId, entries)

  registerWorker = (w: WorkerRecord) => workers.registerWorker(this.db, this.t, w)
  heartbeat = (workerId: string, now: Date) => workers.heartbeat(this.db, this.t, workerId, now)
  listWorkers = (clusterId: string) => workers.listWorkers(this.db, this.t, clusterId)
  reapDeadWorkers = (clusterId: string, before: Date) => workers.reapDeadWorkers(this.db, this.t, clusterId, before)
  deleteWorker = (workerId: string) => workers.deleteWorker(this.db, this.t, workerId)
  requestWorkerStop = (workerId: string, now: Date) => workers.requestWorkerStop(this.db, this.t, workerId, now)

  createBuckets = (list: BucketRecord[]) => buckets.createBuckets(this.db, this.t, list)
  listBuckets = (clusterId: string, filter?: { statuses?: readonly BucketStatus[]; agentConnection?: string }) => buckets.listBuckets(this.db, this.t, clusterId, filter)
  getBucket = (bucketId: string) => buckets.getBucket(this.db, this.t, bucketId)
  transitionBucket = (bucketId: string, change: Parameters<MasterStore['transitionBucket']>[1], now: Date) => buckets.transitionBucket(this.db, this.t, bucketId, change, now)
  markOrphanedBucketsLost = (clusterId: string, drainStaleBefore: Date, now: Date) => buckets.markOrphanedBucketsLost(this.db, this.t, clusterId, drainStaleBefore, now)
  deleteBucket = (bucketId: string, expectStatus: BucketStatus) => buckets.deleteBucket(this.db, this.t, bucketId, expectStatus)

  getAgentConnection = (clusterId: string, name: string) => connections.getAgentConnection(this.db, this.t, clusterId, name)
  listAgentConnections = (clusterId: string) => connections.listAgentConnections(this.db, this.t, clusterId)
  upsertAgentConnection = (c: AgentConnectionRecord) => connections.upsertAgentConnection(this.db, this.t, c)
  deleteAgentConnection = (clusterId: string, name: string) => connections.deleteAgentConnection(this.db, this.t, clusterId, name)
}

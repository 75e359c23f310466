import { masterRowMappers } from '../../../stores/master-rows.js'

/** postgres.js parses jsonb and boolean columns itself, and int8 through the pool's type parser (db.ts). */
export const { toJobRecord, toAttemptRecord, toScheduleRecord, toClusterSettings, toAgentConnectionRecord } = masterRowMappers({
  json: (value) => value,
  bool: (value) => value as boolean,
  bigint: (value) => value as number,
})

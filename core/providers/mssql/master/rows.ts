import { masterRowMappers } from '../../../stores/master-rows.js'

/** JSON is stored as nvarchar text; bit comes back as a boolean; BIGINT as text (the driver cannot know it fits a double). */
export const { toJobRecord, toAttemptRecord, toScheduleRecord, toClusterSettings, toAgentConnectionRecord } = masterRowMappers({
  json: (value) => JSON.parse(value as string),
  bool: (value) => value as boolean,
  bigint: Number,
})

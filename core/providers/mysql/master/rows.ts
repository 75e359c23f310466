import { masterRowMappers } from '../../../stores/master-rows.js'

/**
 * JSON columns arrive as text (the pool sets jsonStrings); BOOLEAN is TINYINT(1), read as 0 or 1;
 * BIGINT goes through Number so that it stays a number whatever the driver's big-number options.
 */
export const { toJobRecord, toAttemptRecord, toScheduleRecord, toClusterSettings, toAgentConnectionRecord } = masterRowMappers({
  json: (value) => JSON.parse(value as string),
  bool: Boolean,
  bigint: Number,
})

import * as v from 'valibot'
import { defineJob } from '../core/definitions.js'

/**
 * Sample job definitions used by the local cluster, the tests and the benchmarks. A producer
 * needs only these (schemas, defaults); workers also load ./handlers.ts.
 */

/** Does nothing: measures the engine itself. */
export const noop = defineJob({ id: 'noop', schema: v.optional(v.unknown()) })

/** Returns its payload, which lands in the execution history. */
export const echo = defineJob({ id: 'echo', schema: v.unknown() })

/** Waits `ms` milliseconds, stopping early if its signal is aborted. */
export const sleep = defineJob({
  id: 'sleep',
  schema: v.object({ ms: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(24 * 3600 * 1000)) }),
})

/** Always throws `message`. */
export const fail = defineJob({
  id: 'fail',
  schema: v.object({ message: v.optional(v.pipe(v.string(), v.maxLength(1000)), 'failed on purpose') }),
})

export const sampleDefinitions = [noop, echo, sleep, fail]

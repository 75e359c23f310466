import { defineSchedule } from '../core/schedules/spec.js'
import { echo } from './definitions.js'

/**
 * Static schedules: declared in code, synced into the master at start-up by every coordinating
 * process (Full and Coordinator workers, the coordinator function). Removing one from this list
 * retires it (Inactive) at the next deploy; one an operator paused or cancelled stays so. Every
 * coordinating process of a cluster should load the same list (JM_SCHEDULES, default this module).
 */
export const schedules = [
  defineSchedule({ name: 'samples.hourly-echo', job: echo, every: '1h', payload: { from: 'the sample static schedule' } }),
]

import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../core/errors.js'
import type { StaticSchedule } from '../core/schedules/spec.js'

/**
 * Load the static schedules from the modules named in JM_SCHEDULES (comma-separated paths,
 * relative to the working directory; default: jobs/schedules.ts). Each module exports
 * `schedules`, an array built with `defineSchedule(...)`.
 */
export async function loadSchedules(spec = process.env.JM_SCHEDULES): Promise<StaticSchedule[]> {
  const paths = (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (paths.length === 0) return (await import('../jobs/schedules.js')).schedules
  const all: StaticSchedule[] = []
  for (const path of paths) {
    const url = pathToFileURL(isAbsolute(path) ? path : resolve(process.cwd(), path)).href
    let module: { schedules?: unknown }
    try {
      module = await import(url)
    } catch (error) {
      throw new ConfigError([{ path: 'JM_SCHEDULES', message: `cannot load "${path}": ${(error as Error).message}` }])
    }
    if (!Array.isArray(module.schedules)) throw new ConfigError([{ path: 'JM_SCHEDULES', message: `"${path}" does not export a "schedules" array` }])
    all.push(...(module.schedules as StaticSchedule[]))
  }
  return all
}

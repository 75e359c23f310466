import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../core/errors.js'
import type { HandlerEntry } from '../core/definitions.js'

/**
 * Load job handlers from the modules named in JM_HANDLERS (comma-separated paths, relative to the
 * working directory; default: the samples in jobs/handlers.ts). Each module exports `handlers`,
 * an array built with `handle(definition, fn)`.
 */
export async function loadHandlers(spec = process.env.JM_HANDLERS): Promise<HandlerEntry<any>[]> {
  const paths = (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (paths.length === 0) return (await import('../jobs/handlers.js')).handlers
  const all: HandlerEntry<any>[] = []
  for (const path of paths) {
    const url = pathToFileURL(isAbsolute(path) ? path : resolve(process.cwd(), path)).href
    let module: { handlers?: unknown }
    try {
      module = await import(url)
    } catch (error) {
      throw new ConfigError([{ path: 'JM_HANDLERS', message: `cannot load "${path}": ${(error as Error).message}` }])
    }
    if (!Array.isArray(module.handlers)) throw new ConfigError([{ path: 'JM_HANDLERS', message: `"${path}" does not export a "handlers" array` }])
    all.push(...(module.handlers as HandlerEntry<any>[]))
  }
  return all
}

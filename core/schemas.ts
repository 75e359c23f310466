import * as v from 'valibot'
import { formatDuration, parseDuration } from './durations.js'
import type { Issue } from './errors.js'

/**
 * A duration field: milliseconds, or text such as "30s" / "5m" / "1h", within [min, max].
 * Shared by configuration and job options so both speak the same units and messages.
 */
export function durationSchema(label: string, min: number, max: number) {
  return v.pipe(
    v.union([v.number(), v.string()], `${label} must be a duration: milliseconds or text such as "30s", "5m"`),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const ms = parseDuration(dataset.value)
      if (ms === undefined) {
        addIssue({ message: `${label} must be a duration: milliseconds or text such as "30s", "5m"` })
        return NEVER
      }
      if (ms < min || ms > max) {
        addIssue({ message: `${label} must be between ${formatDuration(min)} and ${formatDuration(max)}` })
        return NEVER
      }
      return ms
    }),
  )
}

/**
 * Issues in our shape. Valibot's default messages end with `but received <value>`; that part is
 * cut so an error never echoes the request payload back (it may hold secrets).
 */
export function issuesFrom(issues: readonly v.BaseIssue<unknown>[], prefix: string, pathName: (path: string) => string = (p) => p): Issue[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((p) => String(p.key))
    const suffix = ` but received ${issue.received}`
    const message = issue.message.endsWith(suffix) ? issue.message.slice(0, -suffix.length) : issue.message
    return { path: pathName([prefix, ...path].filter(Boolean).join('.') || '(body)'), message }
  })
}


import ms from 'ms'

/**
 * Durations in configuration and requests: a non-negative number of milliseconds, or a string
 * such as "30s", "5m", "1h", "250ms", "2d" (parsed by the `ms` library).
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (text === '') return undefined // `ms` throws on an empty string instead of saying it is no duration
  if (/^\d+$/.test(text)) return Number(text)
  const parsed = ms(text as ms.StringValue)
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? Math.floor(parsed) : undefined
}

/** Human form for messages: 600000 → "10m". */
export function formatDuration(milliseconds: number): string {
  return ms(milliseconds)
}

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

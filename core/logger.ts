import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * JSON logs (pino). Level from JM_LOG_LEVEL (default info). Connection URLs are never logged:
 * stores log their connection name only.
 */
export function createLogger(bindings: Record<string, unknown> = {}, level = process.env.JM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { ...bindings }, redact: { paths: ['url', '*.url', 'masterUrl', 'password', '*.password'], censor: '[redacted]' } })
}

/** A logger that discards everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' })

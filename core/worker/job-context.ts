import type { JobContext } from '../definitions.js'
import type { Logger } from '../logger.js'
import type { BucketJob } from '../model.js'

/** A run's context, plus what the runner needs to abort it. */
export interface RunContext {
  ctx: JobContext
  /** Fire the handler's signal (at most once; later reasons are ignored). */
  abort(reason: Error): void
}

/**
 * The context handed to a handler. Its AbortSignal and child logger are made on first use: most
 * handlers never touch them, and for short jobs they were a large part of the runner's cost per job
 * (an AbortController and a pino child each). An abort before first use is kept and applied then.
 * Both are own enumerable getters, so a spread copy of the context still carries them.
 */
export function createRunContext(job: BucketJob, attempt: number, parentLogger: Logger): RunContext {
  let controller: AbortController | null = null
  let abortedWith: Error | null = null
  let logger: Logger | null = null
  const ctx: JobContext = {
    jobId: job.id,
    definition: job.definition,
    attempt,
    maxRetries: job.maxRetries,
    scheduledAt: job.scheduledAt,
    priority: job.priority,
    lane: job.lane,
    metadata: job.metadata,
    get signal() {
      if (!controller) {
        controller = new AbortController()
        if (abortedWith) controller.abort(abortedWith)
      }
      return controller.signal
    },
    get logger() {
      return (logger ??= parentLogger.child({ jobId: job.id, definition: job.definition, attempt }))
    },
  }
  return {
    ctx,
    abort(reason) {
      if (abortedWith) return
      abortedWith = reason
      controller?.abort(reason)
    },
  }
}

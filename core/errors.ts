/**
 * Typed errors. Each names the field or resource it concerns so callers (HTTP layer, CLI,
 * start-up) can report it without parsing messages.
 */

export interface Issue {
  /** Dotted path of the offending field, e.g. `payload.email` or `JM_TRANSIENT_THRESHOLD`. */
  path: string
  message: string
}

export class JobMasterError extends Error {
  override name = 'JobMasterError'
}

/** Bad input: nothing was written. */
export class ValidationError extends JobMasterError {
  override name = 'ValidationError'
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '))
  }
  static single(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }])
  }
}

/** A configuration field (code or environment variable) is missing or invalid. */
export class ConfigError extends JobMasterError {
  override name = 'ConfigError'
  constructor(readonly issues: Issue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
  }
}

export class UnknownDefinitionError extends ValidationError {
  override name = 'UnknownDefinitionError'
  constructor(readonly definition: string, path = 'definition') {
    super([{ path, message: `unknown job definition "${definition}"` }])
  }
}

export class PayloadTooLargeError extends JobMasterError {
  override name = 'PayloadTooLargeError'
  constructor(readonly path: string, readonly bytes: number, readonly limit: number) {
    super(`${path}: serialized job is ${bytes} bytes, over the limit of ${limit} bytes (maxMessageBytes)`)
  }
}

/** No agent transport could take the write; nothing was written. */
export class TransportUnavailableError extends JobMasterError {
  override name = 'TransportUnavailableError'
  constructor(readonly connections: string[], readonly causes: unknown[]) {
    super(`no agent connection could accept the write (tried: ${connections.join(', ') || 'none'})`)
  }
}

/** The agent store behind a connection name is not the one the master recorded. */
export class ConnectionFingerprintMismatchError extends JobMasterError {
  override name = 'ConnectionFingerprintMismatchError'
  constructor(readonly connection: string, readonly recorded: string, readonly found: string) {
    super(
      `agent connection "${connection}" points at a different store than recorded in the master ` +
        `(recorded fingerprint ${recorded}, found ${found}); renaming or repointing a connection orphans its buckets. ` +
        `Restore the original URL, or set protectConnectionChanges=false to accept the change.`,
    )
  }
}

/** The cluster's mode forbids the operation (Archive is read-only). */
export class ClusterModeError extends JobMasterError {
  override name = 'ClusterModeError'
  constructor(readonly mode: string, operation: string) {
    super(`cluster is in ${mode} mode: ${operation} is not allowed`)
  }
}

export class NotFoundError extends JobMasterError {
  override name = 'NotFoundError'
  constructor(readonly resource: string, readonly id: string) {
    super(`${resource} "${id}" not found`)
  }
}

/** A store operation failed; `resource` names the connection (never its URL, which may hold secrets). */
export class StoreError extends JobMasterError {
  override name = 'StoreError'
  constructor(readonly resource: string, message: string, options?: { cause?: unknown }) {
    super(`${resource}: ${message}`, options)
  }
}

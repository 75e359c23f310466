import type { AgentConfig } from './config.js'
import { ConnectionFingerprintMismatchError } from './errors.js'
import type { Logger } from './logger.js'
import type { AgentStore } from './stores/agent.js'
import type { MasterStore } from './stores/master.js'

/**
 * Record in the master that this process reached an agent connection, checking the store's
 * fingerprint against the recorded one. At start-up a mismatch refuses to start when the
 * connection is protected (and warns, then records the new store, when it is not). While running,
 * a mismatch is a critical log and the record is left alone.
 */
export async function recordConnectionSeen(
  master: MasterStore,
  agent: AgentStore,
  config: AgentConfig,
  clusterId: string,
  now: Date,
  logger: Logger,
  phase: 'start-up' | 'running',
): Promise<void> {
  const [found, recorded] = await Promise.all([agent.fingerprint(), master.getAgentConnection(clusterId, config.name)])
  if (recorded && recorded.fingerprint !== found) {
    const error = new ConnectionFingerprintMismatchError(config.name, recorded.fingerprint, found)
    if (phase === 'running') {
      logger.fatal({ connection: config.name }, `CRITICAL: ${error.message}`)
      return
    }
    if (config.protectConnectionChanges) throw error
    logger.warn({ connection: config.name }, `${error.message} Continuing because protectConnectionChanges is false.`)
  }
  await master.upsertAgentConnection({
    clusterId,
    name: config.name,
    provider: agent.provider,
    fingerprint: found,
    protect: config.protectConnectionChanges,
    firstSeenAt: recorded?.firstSeenAt ?? now,
    lastSeenAt: now,
    deletionDeferredAt: null,
  })
}

import type { ClusterContext } from '../cluster.js'
import { ingestIsolatingRefusals } from '../ingest.js'

/**
 * Jobs accepted while no worker of a connection is alive must still reach the master: ingest
 * inbox messages older than `inboxOrphanAfter` (live workers take fresh ones within milliseconds).
 */
export async function ingestOrphanedInboxes(
  ctx: ClusterContext,
  consumer: string,
  options: { batch?: number; maxBatches?: number; connections?: readonly string[] } = {},
): Promise<{ ingested: number }> {
  let ingested = 0
  if (ctx.settings.mode === 'Archive') return { ingested } // read-only: accepted work waits in the inbox
  for (const agent of ctx.agents.values()) {
    if (options.connections && !options.connections.includes(agent.name)) continue
    for (let round = 0; round < (options.maxBatches ?? 20); round++) {
      const now = ctx.clock.now()
      const messages = await agent.claimInbox(options.batch ?? 500, 60_000, consumer, now, new Date(now.getTime() - ctx.config.inboxOrphanAfterMs))
      if (messages.length === 0) break
      await ingestIsolatingRefusals(ctx, agent, messages)
      ingested += messages.length
    }
  }
  if (ingested > 0) ctx.logger.info({ ingested }, 'ingested orphaned inbox messages')
  return { ingested }
}

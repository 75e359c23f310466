import { parseEnvelope } from '../envelope.js'
import type { InboxMessage } from './agent.js'

/** A claimed inbox row of a SQL agent store: its job id is the receipt that acknowledges it. */
export function toInboxMessage(r: { job_id: string; message: string }): InboxMessage {
  return { envelope: parseEnvelope(r.message), receipt: r.job_id }
}

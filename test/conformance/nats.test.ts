import { NatsAgentStore } from '../../core/providers/nats/index.js'
import { deleteNatsPrefix, NATS_URL, natsPrefix } from '../support/nats.js'
import { describeAgentConformance } from './agent-suite.js'

describeAgentConformance('nats', async () => {
  const prefix = natsPrefix('ca')
  const otherPrefix = natsPrefix('co')
  const store = new NatsAgentStore('a1', NATS_URL, prefix)
  const peer = new NatsAgentStore('a1', NATS_URL, prefix)
  const other = new NatsAgentStore('a1', NATS_URL, otherPrefix)
  return {
    store,
    peer,
    other,
    async cleanup() {
      await Promise.all([store.close(), peer.close(), other.close()])
      await deleteNatsPrefix(NATS_URL, prefix)
      await deleteNatsPrefix(NATS_URL, otherPrefix)
    },
  }
})

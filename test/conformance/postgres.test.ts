import { PostgresAgentStore } from '../../core/providers/postgres/agent/index.js'
import { PostgresMasterStore } from '../../core/providers/postgres/master/index.js'
import { PG_AGENT_URL, PG_MASTER_URL } from '../support/env.js'
import { dropPrefix, testPrefix } from '../support/pg.js'
import { describeAgentConformance } from './agent-suite.js'
import { describeMasterConformance } from './master-suite.js'

describeMasterConformance('postgres', async () => {
  const prefix = testPrefix('cm')
  const store = new PostgresMasterStore(PG_MASTER_URL, prefix)
  const peer = new PostgresMasterStore(PG_MASTER_URL, prefix)
  return {
    store,
    peer,
    async cleanup() {
      await Promise.all([store.close(), peer.close()])
      await dropPrefix(PG_MASTER_URL, prefix)
    },
  }
})

describeAgentConformance('postgres', async () => {
  const prefix = testPrefix('ca')
  const otherPrefix = testPrefix('co')
  const store = new PostgresAgentStore('a1', PG_AGENT_URL, prefix)
  const peer = new PostgresAgentStore('a1', PG_AGENT_URL, prefix)
  const other = new PostgresAgentStore('a1', PG_AGENT_URL, otherPrefix)
  return {
    store,
    peer,
    other,
    async cleanup() {
      await Promise.all([store.close(), peer.close(), other.close()])
      await dropPrefix(PG_AGENT_URL, prefix)
      await dropPrefix(PG_AGENT_URL, otherPrefix)
    },
  }
})

import { MySqlAgentStore } from '../../core/providers/mysql/agent/index.js'
import { MySqlMasterStore } from '../../core/providers/mysql/master/index.js'
import { dropMySqlPrefix, ensureMySqlDatabases, MYSQL_AGENT_URL, MYSQL_MASTER_URL } from '../support/mysql.js'
import { testPrefix } from '../support/pg.js'
import { describeAgentConformance } from './agent-suite.js'
import { describeMasterConformance } from './master-suite.js'

describeMasterConformance('mysql', async () => {
  await ensureMySqlDatabases()
  const prefix = testPrefix('cm')
  const store = new MySqlMasterStore(MYSQL_MASTER_URL, prefix)
  const peer = new MySqlMasterStore(MYSQL_MASTER_URL, prefix)
  return {
    store,
    peer,
    async cleanup() {
      await Promise.all([store.close(), peer.close()])
      await dropMySqlPrefix(MYSQL_MASTER_URL, prefix)
    },
  }
})

describeAgentConformance('mysql', async () => {
  await ensureMySqlDatabases()
  const prefix = testPrefix('ca')
  const otherPrefix = testPrefix('co')
  const store = new MySqlAgentStore('a1', MYSQL_AGENT_URL, prefix)
  const peer = new MySqlAgentStore('a1', MYSQL_AGENT_URL, prefix)
  const other = new MySqlAgentStore('a1', MYSQL_AGENT_URL, otherPrefix)
  return {
    store,
    peer,
    other,
    async cleanup() {
      await Promise.all([store.close(), peer.close(), other.close()])
      await dropMySqlPrefix(MYSQL_AGENT_URL, prefix)
      await dropMySqlPrefix(MYSQL_AGENT_URL, otherPrefix)
    },
  }
})

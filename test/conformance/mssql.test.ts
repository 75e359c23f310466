import { describe, test } from 'vitest'
import { MssqlAgentStore } from '../../core/providers/mssql/agent/index.js'
import { MssqlDb, param } from '../../core/providers/mssql/db.js'
import { MssqlMasterStore } from '../../core/providers/mssql/master/index.js'
import { testPrefix } from '../support/pg.js'
import { describeAgentConformance } from './agent-suite.js'
import { describeMasterConformance } from './master-suite.js'

/**
 * The shared conformance suites against a real SQL Server (2016 or later, compatibility level
 * 130+). No SQL Server can run on the development machines, so this runs only where one is
 * reachable: MSSQL_URL=mssql://sa:<password>@127.0.0.1:1433/<database>?trustServerCertificate=true
 */
const url = process.env.MSSQL_URL

/** Drop every table a test created under its prefix. */
async function dropPrefix(prefix: string): Promise<void> {
  const db = new MssqlDb(url!, 'test cleanup')
  try {
    await db.run({
      text: `DECLARE @drop nvarchar(max) = N'';
SELECT @drop = @drop + N'DROP TABLE ' + QUOTENAME(SCHEMA_NAME(schema_id)) + N'.' + QUOTENAME(name) + N';'
  FROM sys.tables WHERE name LIKE @pattern ESCAPE N'\\';
EXEC sp_executesql @drop;`,
      params: [param('pattern', 'nvarchar(50)', `${prefix.replace(/_/g, '\\_')}%`)],
      statements: 2,
    })
  } finally {
    await db.close()
  }
}

if (url) {
  describeMasterConformance('mssql', async () => {
    const prefix = testPrefix('cm')
    const store = new MssqlMasterStore(url, prefix)
    const peer = new MssqlMasterStore(url, prefix)
    return {
      store,
      peer,
      async cleanup() {
        await Promise.all([store.close(), peer.close()])
        await dropPrefix(prefix)
      },
    }
  })

  describeAgentConformance('mssql', async () => {
    const prefix = testPrefix('ca')
    const otherPrefix = testPrefix('co')
    const store = new MssqlAgentStore('a1', url, prefix)
    const peer = new MssqlAgentStore('a1', url, prefix)
    const other = new MssqlAgentStore('a1', url, otherPrefix)
    return {
      store,
      peer,
      other,
      async cleanup() {
        await Promise.all([store.close(), peer.close(), other.close()])
        await dropPrefix(prefix)
        await dropPrefix(otherPrefix)
      },
    }
  })
} else {
  describe.skip('SQL Server conformance (master and agent): set MSSQL_URL to run the SQL Server conformance suite', () => {
    test('set MSSQL_URL to run the SQL Server conformance suite', () => {})
  })
}

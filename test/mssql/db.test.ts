import sql from 'mssql'
import { describe, expect, test } from 'vitest'
import { StoreError } from '../../core/errors.js'
import { MssqlAgentStore } from '../../core/providers/mssql/agent/index.js'
import { atomic, driverType, isDeadlockVictim, isDuplicateKey, MAX_PARAMETERS, MssqlDb, param, retryDeadlockVictim, retryOnDuplicateKey, sqlErrorNumbers } from '../../core/providers/mssql/db.js'
import { MssqlMasterStore } from '../../core/providers/mssql/master/index.js'
import { openAgent, openMaster } from '../../core/stores/registry.js'

/** The driver's own error shape: RequestError with `number`, earlier errors in `precedingErrors`. */
function requestError(number: number, preceding: number[] = []): Error {
  return Object.assign(new Error(`SQL error ${number}`), { number, precedingErrors: preceding.map((n) => Object.assign(new Error(`SQL error ${n}`), { number: n })) })
}

describe('parameter types', () => {
  test('each ParamType maps to the matching driver type', () => {
    const cases = [
      ['nvarchar(50)', sql.NVarChar, { length: 50 }],
      ['nvarchar(max)', sql.NVarChar, { length: sql.MAX }],
      ['char(36)', sql.Char, { length: 36 }],
      ['datetimeoffset(3)', sql.DateTimeOffset, { scale: 3 }],
    ] as const
    for (const [type, factory, shape] of cases) {
      const made = driverType(type) as { type: unknown }
      expect(made.type, type).toBe(factory)
      expect(made, type).toMatchObject(shape)
    }
    expect(driverType('int')).toBe(sql.Int)
    expect(driverType('smallint')).toBe(sql.SmallInt)
    expect(driverType('bigint')).toBe(sql.BigInt)
    expect(driverType('bit')).toBe(sql.Bit)
  })
})

describe('atomic batches', () => {
  test('one statement is sent as it is', () => {
    expect(atomic(['DELETE FROM t'])).toBe('DELETE FROM t')
  })
  test('several run in one transaction that any error rolls back whole', () => {
    expect(atomic(['DELETE FROM t', 'INSERT INTO u SELECT 1'])).toBe('SET XACT_ABORT ON;\nBEGIN TRANSACTION;\nDELETE FROM t;\nINSERT INTO u SELECT 1;\nCOMMIT TRANSACTION;')
  })
})

describe('duplicate keys and lost races', () => {
  test('2627 (unique constraint) and 2601 (unique index) are both duplicate keys, wherever the driver puts them', () => {
    expect(isDuplicateKey(requestError(2627))).toBe(true)
    expect(isDuplicateKey(requestError(2601))).toBe(true)
    expect(isDuplicateKey(new StoreError('master', 'x', { cause: requestError(3621, [2601]) }))).toBe(true)
    expect(isDuplicateKey(requestError(547))).toBe(false)
    expect(sqlErrorNumbers(new StoreError('master', 'x', { cause: requestError(266, [2627]) }))).toEqual([266, 2627])
  })

  test.each([
    ['a duplicate key (2627)', retryOnDuplicateKey, 2627],
    ['a duplicate key (2601)', retryOnDuplicateKey, 2601],
    ['a deadlock victim (1205)', retryDeadlockVictim, 1205],
  ] as const)('%s runs the batch once more', async (_what, retry, number) => {
    let calls = 0
    const result = await retry(async () => {
      calls++
      if (calls === 1) throw new StoreError('master', 'lost', { cause: requestError(number) })
      return 'second'
    })
    expect(result).toBe('second')
    expect(calls).toBe(2)
  })

  test('other errors are thrown at once, a second loss is thrown', async () => {
    for (const [retry, other, same] of [
      [retryOnDuplicateKey, 1205, 2627],
      [retryDeadlockVictim, 2627, 1205],
    ] as const) {
      let calls = 0
      await expect(
        retry(async () => {
          calls++
          throw requestError(other)
        }),
      ).rejects.toThrow(`SQL error ${other}`)
      expect(calls).toBe(1)
      calls = 0
      await expect(
        retry(async () => {
          calls++
          throw requestError(same)
        }),
      ).rejects.toThrow(`SQL error ${same}`)
      expect(calls).toBe(2)
    }
    expect(isDeadlockVictim(requestError(1205))).toBe(true)
  })
})

describe('connection failures', () => {
  // Port 1 on the loopback is closed: the driver fails at once, no server needed.
  const url = 'mssql://sa:Unguessable-Pa55@127.0.0.1:1/jobs?encrypt=false'

  test('the master fails fast with a StoreError naming "master", never the URL or password', async () => {
    const store = await openMaster(url, { tablePrefix: 'jm_' })
    expect(store).toBeInstanceOf(MssqlMasterStore)
    const started = Date.now()
    const error = await store.provision().then(
      () => null,
      (e: unknown) => e,
    )
    expect(Date.now() - started).toBeLessThan(5000)
    expect(error).toBeInstanceOf(StoreError)
    const message = (error as Error).message
    expect(message).toMatch(/^master: cannot connect to SQL Server: /)
    expect(message).not.toContain('Unguessable-Pa55')
    expect(message).not.toContain(url)
    // The next call tries again (the server may have come up) and fails the same way.
    await expect(store.getCluster('c')).rejects.toThrow(/^master: cannot connect to SQL Server/)
    await store.close()
  })

  test('an agent names its connection; sqlserver:// works too', async () => {
    const store = await openAgent('orders', url.replace('mssql:', 'sqlserver:'), { tablePrefix: 'jm_' })
    expect(store).toBeInstanceOf(MssqlAgentStore)
    expect(store).toMatchObject({ provider: 'mssql', pushesSignals: false, maxLookAheadMs: null })
    await expect(store.ping()).rejects.toThrow(/^agent connection "orders": cannot connect to SQL Server: /)
    await expect(store.enqueue([], 1000, new Date())).resolves.toEqual({ ids: [], duplicates: 0 })
    await store.close()
  })

  test('an invalid table prefix is refused before anything is built', () => {
    expect(() => new MssqlMasterStore(url, "jm'; DROP TABLE x; --")).toThrow(/^master: table prefix .* is invalid/)
  })
})

describe('statement count and the parameter limit', () => {
  test('counts the statements a request executes, and refuses more than 2,100 parameters before any I/O', async () => {
    const db = new MssqlDb('mssql://sa:x@127.0.0.1:1/jobs', 'master')
    const tooMany = Array.from({ length: MAX_PARAMETERS + 1 }, (_, i) => param(`p${i}`, 'int', i))
    await expect(db.run({ text: 'SELECT 1', params: tooMany, statements: 1 })).rejects.toThrow(/2101 parameters; SQL Server accepts at most 2100/)
    expect(db.statementCount).toBe(0)
    await expect(db.run({ text: 'SELECT 1; SELECT 2', params: [], statements: 2 })).rejects.toThrow(StoreError)
    expect(db.statementCount).toBe(2)
    await db.close()
  })
})

describe('no push channel', () => {
  test('subscribe is a no-op that returns an unsubscribe', async () => {
    const store = new MssqlAgentStore('a1', 'mssql://sa:x@127.0.0.1:1/jobs')
    const unsubscribe = await store.subscribe(() => {
      throw new Error('never called')
    })
    await unsubscribe()
    await store.close()
  })
})

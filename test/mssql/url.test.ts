import { describe, expect, test } from 'vitest'
import { StoreError } from '../../core/errors.js'
import { parseMssqlUrl } from '../../core/providers/mssql/db.js'

describe('SQL Server connection URLs', () => {
  test('mssql:// with every part, decoded', () => {
    const { config, secrets } = parseMssqlUrl('mssql://app%40corp:p%40ss%3Aword@db.example.com:14330/jobs%2Dprod?encrypt=false&trustServerCertificate=true', 'master')
    expect(config).toMatchObject({
      server: 'db.example.com',
      port: 14330,
      user: 'app@corp',
      password: 'p@ss:word',
      database: 'jobs-prod',
      connectionTimeout: 10_000,
      requestTimeout: 60_000,
      pool: { max: 10, min: 0 },
      options: { encrypt: false, trustServerCertificate: true, appName: 'jobmaster', useUTC: true },
    })
    expect(secrets).toEqual(['p@ss:word', 'p%40ss%3Aword'])
  })

  test('sqlserver:// is the same, with the driver defaults: port 1433, encryption on, certificate checked', () => {
    const { config } = parseMssqlUrl('sqlserver://sa:x@127.0.0.1/db', 'agent connection "a1"', { poolSize: 3 })
    expect(config).toMatchObject({ server: '127.0.0.1', port: 1433, database: 'db', pool: { max: 3 }, options: { encrypt: true, trustServerCertificate: false } })
  })

  test('optional parameters: timeouts, named instance, application name, IPv6 host', () => {
    const { config } = parseMssqlUrl('mssql://u:p@[::1]:1433/db?connectTimeout=2500&requestTimeout=90000&instanceName=SQLEXPRESS&applicationName=billing&encrypt=yes', 'master')
    expect(config).toMatchObject({ server: '::1', connectionTimeout: 2500, requestTimeout: 90_000, options: { instanceName: 'SQLEXPRESS', appName: 'billing', encrypt: true } })
  })

  test('no database or credentials leaves them to the server login defaults', () => {
    const { config, secrets } = parseMssqlUrl('mssql://db-host', 'master')
    expect(config.database).toBeUndefined()
    expect(config.user).toBeUndefined()
    expect(config.password).toBeUndefined()
    expect(secrets).toEqual([])
  })

  const secretUrl = 'mssql://sa:Sup3r-S3cret@db-host:1433/jobs'
  test.each([
    [`${secretUrl}?encrypt=maybe`, /encrypt must be true or false/],
    [`${secretUrl}?requestTimeout=soon`, /requestTimeout must be a whole number of milliseconds/],
    [`${secretUrl}?password=Sup3r-S3cret&pool=9`, /unknown query parameter\(s\) "password", "pool"/],
    ['mssql://sa:Sup3r-S3cret@', /invalid SQL Server URL/],
    ['postgres://sa:Sup3r-S3cret@db-host/jobs', /scheme must be mssql:\/\/ or sqlserver:\/\//],
  ])('%s is refused naming the store, never the URL or password', (url, message) => {
    let error: unknown
    try {
      parseMssqlUrl(url, 'agent connection "orders"')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StoreError)
    const text = (error as Error).message
    expect(text).toMatch(/^agent connection "orders": /)
    expect(text).toMatch(message)
    expect(text).not.toContain('Sup3r-S3cret')
    expect(text).not.toContain('db-host')
  })
})

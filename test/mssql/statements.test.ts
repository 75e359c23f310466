import { describe, expect, test } from 'vitest'
import { driverType, MAX_PARAMETERS, type Statement } from '../../core/providers/mssql/db.js'
import { catalog } from './catalog.js'

/**
 * Checks that hold for every statement the SQL Server provider sends. With no server here, these
 * are what catches a misspelt parameter, a JSON property the OPENJSON schema does not find, or a
 * batch that would break the 2,100-parameter limit.
 */
const statements = Object.entries(catalog())

/** Variables the batch declares itself (table variables, the lock result) are not parameters. */
function declared(text: string): Set<string> {
  return new Set([...text.matchAll(/DECLARE @(\w+)/g)].map((m) => m[1]!))
}

/** `@name` references, without `@@` system functions or the argument names of an EXEC (`@Resource = …`). */
function referenced(text: string): Set<string> {
  const values = text.replace(/^(EXEC .*)$/gm, (line) => line.replace(/(?<![@\w])@\w+ = /g, ''))
  return new Set([...values.matchAll(/(?<![@\w])@(\w+)/g)].map((m) => m[1]!))
}

/** Top-level statements of a batch, other than SET / BEGIN / COMMIT / DECLARE. */
function countStatements(text: string): number {
  if (!text.includes(';\n') && !text.trim().endsWith(';')) return 1
  return text
    .split(/;\s*\n/)
    .map((part) => part.trim())
    .filter((part) => part && !/^(SET|BEGIN|COMMIT|DECLARE)\b/.test(part)).length
}

/** Every `OPENJSON(@param) WITH (col type '$.path', …)` of a statement, as param name and paths. */
function shreddings(text: string): Array<{ param: string; paths: string[] }> {
  return [...text.matchAll(/OPENJSON\(@(\w+)\) WITH \(([^)]*(?:\([^)]*\)[^)]*)*)\)/g)].map((m) => ({
    param: m[1]!,
    paths: [...m[2]!.matchAll(/'\$(?:\.(\w+))?'/g)].map((p) => p[1] ?? '$'),
  }))
}

describe.each(statements)('%s', (_name, s: Statement) => {
  test('every parameter is declared once, typed, and used; every @reference is a parameter', () => {
    const names = s.params.map((p) => p.name)
    expect(new Set(names).size).toBe(names.length)
    for (const p of s.params) expect(() => driverType(p.type)).not.toThrow()
    const own = declared(s.text)
    const used = [...referenced(s.text)].filter((n) => !own.has(n)).sort()
    expect(used).toEqual([...names].sort())
  })

  test('the declared statement count matches the text', () => {
    expect(s.statements).toBe(countStatements(s.text))
  })

  test('every OPENJSON path names a property of every row of its JSON parameter', () => {
    for (const { param, paths } of shreddings(s.text)) {
      const value = s.params.find((p) => p.name === param)
      expect(value?.type, param).toBe('nvarchar(max)')
      const rows = JSON.parse(String(value!.value)) as unknown[]
      expect(rows.length, param).toBeGreaterThan(0)
      for (const row of rows) {
        if (paths.length === 1 && paths[0] === '$') expect(typeof row, param).toBe('string')
        else for (const path of paths) expect(Object.keys(row as object), `${param}: $.${path}`).toContain(path)
      }
    }
  })

  test('a multi-statement batch is atomic', () => {
    if (!s.text.includes('BEGIN TRANSACTION')) return
    expect(s.text.startsWith('SET XACT_ABORT ON;\nBEGIN TRANSACTION;\n')).toBe(true)
    expect(s.text.endsWith('COMMIT TRANSACTION;')).toBe(true)
  })

  test('times come from the application, never from the server clock in its own zone', () => {
    expect(s.text).not.toMatch(/GETDATE|SYSDATETIME\(|CURRENT_TIMESTAMP|SYSDATETIMEOFFSET|\bdatetime\b|datetime2/i)
  })
})

describe('batches stay far under 2,100 parameters at any size', () => {
  test('the same parameter list for 1 row and for 10,000 rows', () => {
    const small = catalog(1)
    const large = catalog(10_000)
    for (const [name, s] of Object.entries(large)) {
      expect(s.params.length, name).toBeLessThan(MAX_PARAMETERS)
      expect(s.params.map((p) => `${p.name}:${p.type}`), name).toEqual(small[name]!.params.map((p) => `${p.name}:${p.type}`))
    }
    expect(JSON.parse(String(large.insertJobs!.params.find((p) => p.name === 'jobs')!.value))).toHaveLength(10_000)
  })
})

describe('claims skip locked rows and lease what they take', () => {
  test.each(['claimDueHeldJobs', 'claimDueSchedules', 'claimInbox', 'claimInboxOlderThan', 'fetchDue'])('%s', (name) => {
    const { text } = catalog()[name]!
    expect(text).toMatch(/^WITH \w+ AS \(\n {2}SELECT TOP \(@limit\) /)
    expect(text).toContain('WITH (ROWLOCK, UPDLOCK, READPAST)')
    expect(text).toMatch(/ORDER BY [\w, ]+\)\nUPDATE \w+ SET /)
    expect(text).toMatch(/\nOUTPUT inserted\.\w+/)
  })
})

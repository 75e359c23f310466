import type { Statement } from '../../core/providers/mssql/db.js'

/** What a statement-pinning test compares besides the text: statement count and typed parameter names. */
export function signature(s: Statement): string {
  return [`statements: ${s.statements}`, ...s.params.map((p) => `@${p.name} ${p.type}`)].join('\n')
}

import type { Issue } from './errors.js'

/**
 * What every master can store of a JSON value (payloads, metadata, handler results): arrays and
 * objects nested at most this deep (MariaDB's JSON columns refuse 32 levels), and strings, keys
 * included, without U+0000 or unpaired surrogates (PostgreSQL's jsonb refuses both). A job that a
 * producer accepted and its master cannot store would fail the ingest of every batch it is in, and
 * a result the master cannot store would fail every flush of its worker's results.
 */
export const MAX_JSON_DEPTH = 30

const UNSTORABLE_CHARACTER = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const UNSTORABLE_CHARACTERS = new RegExp(UNSTORABLE_CHARACTER.source, 'g')
const CHARACTER_RULE = 'contains a NUL character (U+0000) or an unpaired UTF-16 surrogate, which a master cannot store'

/**
 * The first part of `value` that some master could not store, as an issue under `root`; null when
 * all of it is storable. Iterative, so a value nested any depth (or a cyclic one) is safe to check.
 */
export function unstorableJson(value: unknown, root: string): Issue | null {
  const stack: Array<{ node: unknown; path: string; depth: number }> = [{ node: value, path: root, depth: 0 }]
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!
    if (typeof node === 'string') {
      if (UNSTORABLE_CHARACTER.test(node)) return { path, message: CHARACTER_RULE }
      continue
    }
    if (typeof node !== 'object' || node === null) continue
    if (depth >= MAX_JSON_DEPTH) return { path: root, message: `is nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects)` }
    for (const [key, child] of Object.entries(node)) {
      // The key itself is not repeated in the path: it is the part that cannot be shown as is.
      if (UNSTORABLE_CHARACTER.test(key)) return { path, message: `has a key that ${CHARACTER_RULE}` }
      stack.push({ node: child, path: `${path}.${key}`, depth: depth + 1 })
    }
  }
  return null
}

/** `text` with every character no master can store replaced by U+FFFD (for free text such as error messages). */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_CHARACTERS, '\ufffd')
}

/** Longest error text kept in the master (a handler's error, a master's refusal). */
const MAX_ERROR_CHARS = 4000

/**
 * An error as text every master can store: `Name: message`, cut at MAX_ERROR_CHARS (marked …)
 * before the characters are replaced, so a cut through a surrogate pair cannot leave half of it.
 */
export function storableErrorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return storableText(text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text)
}

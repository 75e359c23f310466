import * as v from 'valibot'

/**
 * Name rules. Cluster ids, agent connection names, lanes, worker names and metadata keys:
 * ASCII letters, digits, `-` and `_`, 1–50 characters. Restricting to ASCII keeps names safe as
 * SQL table suffixes, NATS subjects and log fields (the original accepted any Unicode letter).
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,50}$/
export const NAME_RULE = 'letters, digits, "-" and "_", 1–50 characters'

/** Job definition ids may also use "." and ":" for namespacing ("email.send"), up to 100 characters. */
export const DEFINITION_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/
export const DEFINITION_RULE = 'letters, digits, ".", ":", "-" and "_", 1–100 characters'

/** Table prefix: a SQL identifier fragment. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,19}$/
export const PREFIX_RULE = 'lower-case letters, digits and "_", starting with a letter, up to 20 characters'

export const nameSchema = v.pipe(v.string(), v.regex(NAME_PATTERN, `must be ${NAME_RULE}`))
export const definitionIdSchema = v.pipe(v.string(), v.regex(DEFINITION_PATTERN, `must be ${DEFINITION_RULE}`))
export const prefixSchema = v.pipe(v.string(), v.regex(PREFIX_PATTERN, `must be ${PREFIX_RULE}`))

export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value)
}

import { expect, test } from 'vitest'
import { resolveConfig } from './config.js'
import { ConfigError, ValidationError } from './errors.js'
import { parseDuration } from './durations.js'
import { buildEnvelope } from './envelope.js'
import { noop } from '../jobs/definitions.js'
import { systemClock } from './clock.js'

test('an empty or blank duration is no duration (not an exception from the parser)', () => {
  for (const text of ['', ' ', '\t\n']) expect(parseDuration(text)).toBeUndefined()
  expect(parseDuration('30s')).toBe(30_000)
  expect(parseDuration(' 250 ')).toBe(250)
})

test('an empty duration in a request or a configuration is refused naming the field', () => {
  const build = (options: object) => () => buildEnvelope(noop, undefined, options, { clock: systemClock, maxMessageBytes: 4096 })
  expect(build({ delay: '' })).toThrow(ValidationError)
  expect(build({ timeout: ' ' })).toThrow(/timeout must be a duration/)
  expect(() => resolveConfig({ masterUrl: 'postgres://h/db', heartbeatInterval: '' })).toThrow(ConfigError)
  expect(() => resolveConfig({ masterUrl: 'postgres://h/db', heartbeatInterval: '' })).toThrow(/heartbeatInterval/)
})

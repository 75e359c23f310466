import { expect, test } from 'vitest'
import { storableErrorText, unstorableJson } from './json-storable.js'

test('an error becomes "Name: message", with what no master stores replaced', () => {
  expect(storableErrorText(new TypeError('bad \u0000 byte'))).toBe('TypeError: bad \ufffd byte')
  expect(storableErrorText('plain')).toBe('plain')
})

test('a long error is cut and marked, and the cut never leaves half a surrogate pair', () => {
  // "TypeError: " is 11 characters: the 4,000-character cut falls between the two halves of an emoji.
  const text = storableErrorText(new TypeError(`${'x'.repeat(3988)}😀${'y'.repeat(100)}`))
  expect(text).toHaveLength(4001)
  expect(text.endsWith('\ufffd…')).toBe(true)
  expect(unstorableJson(text, 'error')).toBeNull()
})

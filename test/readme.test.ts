import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { ENV_FIELDS } from '../core/config-env.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

test('the README documents every JM_ variable the code reads', () => {
  const missing = ENV_FIELDS.map(([variable]) => variable).filter((v) => !readme.includes(`\`${v}\``))
  expect(missing).toEqual([])
})

test('the README shows the two commands', () => {
  expect(readme).toContain('npm install && npm start')
  expect(readme).toContain('npm install && npm test')
})

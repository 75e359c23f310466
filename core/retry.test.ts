import { expect, test } from 'vitest'
import { hasRetriesLeft, retryDelay } from './retry.js'

test('delay doubles per failed attempt, stays within [cap/2, cap] and respects the maximum', () => {
  expect(retryDelay(1, 1000, 60_000, () => 0)).toBe(500)
  expect(retryDelay(1, 1000, 60_000, () => 1)).toBe(1000)
  expect(retryDelay(3, 1000, 60_000, () => 0)).toBe(2000)
  expect(retryDelay(3, 1000, 60_000, () => 1)).toBe(4000)
  expect(retryDelay(20, 1000, 60_000, () => 1)).toBe(60_000)
  for (let i = 0; i < 100; i++) {
    const d = retryDelay(2, 1000, 60_000)
    expect(d).toBeGreaterThanOrEqual(1000)
    expect(d).toBeLessThanOrEqual(2000)
  }
})

test('a job gets maxRetries + 1 attempts', () => {
  expect(hasRetriesLeft(1, 0)).toBe(false)
  expect(hasRetriesLeft(3, 3)).toBe(true)
  expect(hasRetriesLeft(4, 3)).toBe(false)
})

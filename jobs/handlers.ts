import { setTimeout as delay } from 'node:timers/promises'
import { handle } from '../core/definitions.js'
import { echo, fail, noop, sleep } from './definitions.js'

export const handlers = [
  handle(noop, () => undefined),
  handle(echo, (payload) => payload),
  handle(sleep, async ({ ms }, ctx) => {
    await delay(ms, undefined, { signal: ctx.signal })
    return { slept: ms }
  }),
  handle(fail, ({ message }) => {
    throw new Error(message)
  }),
]

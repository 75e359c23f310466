import { defineConfig } from 'vitest/config'

/**
 * The chaos suite (`npm run test:chaos`): faults injected into running clusters — killed
 * processes, restarted databases, an unreachable master — each scenario reporting accepted,
 * succeeded, lost and duplicated jobs. One file at a time: the scenarios measure recovery and
 * share two cores.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default'],
  },
})

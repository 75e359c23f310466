import { Gauge, register } from 'prom-client'
import type { HandlerEntry } from '../../core/definitions.js'

/**
 * A handler module a worker child loads through JM_HANDLERS next to the real ones: it registers a
 * gauge on prom-client's default registry, so a test can see that registry served at /metrics.
 */
new Gauge({ name: 'jm_test_fixture_loaded', help: 'Set to 1 when the test fixture module is loaded', registers: [register] }).set(1)

export const handlers: HandlerEntry<any>[] = []

/**
 * A producer HTTP server as a process of its own, so a chaos scenario can SIGKILL it in the middle
 * of a batch: the producer app of functions/producer.ts over the agents in JM_AGENTS (no master),
 * accepting the test definitions, on an OS-chosen port printed as `listening <port>`.
 */
import { serve } from '@hono/node-server'
import { producerConfigFromEnv } from '../../../core/config-env.js'
import { JobRegistry } from '../../../core/definitions.js'
import { silentLogger } from '../../../core/logger.js'
import { Producer } from '../../../core/producer.js'
import { openAgent } from '../../../core/stores/registry.js'
import { createProducerApp } from '../../../functions/producer.js'
import { sampleDefinitions } from '../../../jobs/definitions.js'
import { record } from '../../support/jobs.js'

const config = producerConfigFromEnv(process.env)
const agents = await Promise.all(config.agents.map(async (agent) => ({ store: await openAgent(agent.name, agent.url, { tablePrefix: config.tablePrefix }), config: agent })))
const producer = new Producer({
  registry: new JobRegistry([...sampleDefinitions, record]),
  agents,
  maxMessageBytes: config.maxMessageBytes,
  idempotencyWindowMs: config.idempotencyWindowMs,
})
const app = createProducerApp({ producer, maxMessageBytes: config.maxMessageBytes, logger: silentLogger })
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.stdout.write(`listening ${info.port}\n`))

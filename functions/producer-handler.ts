/**
 * The producer's Lambda entry point: `functions/producer-handler.handler` (Function URL, payload
 * format 2.0; API Gateway and ALB events work too). Configured from `JM_` environment variables
 * only. Its import graph is the producer's: definitions, validation, agent drivers; no worker,
 * coordinator or master code (test/producer/bundle.test.ts checks the bundle).
 *
 * To accept your own jobs, list your definitions here (or write an entry of your own that calls
 * createLambdaProducer): bundled statically, they cost nothing at cold start beyond their code.
 */
import { sampleDefinitions } from '../jobs/definitions.js'
import { createLambdaProducer } from './producer-lambda.js'

export const { handler } = createLambdaProducer({ definitions: sampleDefinitions })

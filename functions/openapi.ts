import { toJsonSchemaDefs, type ConversionConfig, type JsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'
import type { JobDefinition } from '../core/definitions.js'
import { API_KEY_HEADER } from './auth-api-key.js'
import { acceptedBatchSchema, acceptedJobSchema, acceptedScheduleSchema, batchRequestSchema, errorBodySchema, jobRequestSchema, scheduleRequestSchema } from './producer-schemas.js'

export interface ProducerOpenApiOptions {
  definitions: readonly JobDefinition[]
  /** Whether requests need `x-api-key` (declared as the document's security requirement). */
  apiKeyRequired: boolean
  maxMessageBytes: number
}

/** What the generic schemas cannot say about a field. */
const FIELD_DESCRIPTIONS: Record<string, string> = {
  definition: 'id of a job definition known to this producer',
  payload: "the job's input, validated against its definition's schema",
  runAt: 'when to run, ISO-8601 (give runAt or delay, not both; default now)',
  delay: 'run after this long: milliseconds, or text such as "30s", "5m"',
  timeout: "abort the handler after this long (milliseconds or text); default: the definition's, else the cluster's",
  maxRetries: "retries after a failure (0–25); default: the definition's, else the cluster's",
  lane: "workload class; default: the definition's lane",
  priority: "default: the definition's priority",
  metadata: 'string map passed to the handler',
  idempotencyKey: 'a retried request with the same key returns the first job (or schedule) instead of creating another (within JM_IDEMPOTENCY_WINDOW)',
  name: 'a label for the schedule',
  every: 'schedules: run every this long, from startAfter (else creation): milliseconds ≥ 1000, or text such as "30s", "5m"',
  cron: 'schedules: a cron expression, 5 fields or 6 with seconds first (give every or cron)',
  timeZone: "schedules: IANA zone of the cron expression; default: the cluster's",
  startAfter: 'schedules: occurrences strictly after this time (ISO-8601, years 1970–9999)',
  endBefore: 'schedules: occurrences strictly before this time (ISO-8601, years 1970–9999)',
  misfire: 'schedules: occurrences missed while no coordinator ran: run-once (default: one catch-up), skip, run-all (at most 100)',
  overlap: 'schedules: allow (default), or skip an occurrence while the previous run has not finished',
}

const componentName = (definitionId: string) => `Job.${definitionId.replace(/[^A-Za-z0-9._-]/g, '_')}`

/**
 * The producer's OpenAPI 3.1 document, generated from the valibot schemas that validate the
 * requests (and from each job definition's payload schema, one request variant per definition).
 */
export function producerOpenApi({ definitions, apiKeyRequired, maxMessageBytes }: ProducerOpenApiOptions): Record<string, unknown> {
  const perDefinition = Object.fromEntries(
    definitions.map((d) => {
      // A payload schema that accepts a missing payload makes the field optional in the document too.
      const payload = v.safeParse(d.schema, undefined).success ? v.optional(d.schema) : d.schema
      return [componentName(d.id), v.strictObject({ ...jobRequestSchema.entries, definition: v.literal(d.id), payload })]
    }),
  )
  const variants = Object.values(perDefinition)
  const JobRequest = variants.length > 0 ? v.variant('definition', variants as [(typeof variants)[number], ...typeof variants]) : jobRequestSchema

  const schemas: Record<string, JsonSchema> = toJsonSchemaDefs(
    {
      ...perDefinition,
      JobRequest,
      BatchRequest: batchRequestSchema,
      ScheduleRequest: scheduleRequestSchema,
      AcceptedJob: acceptedJobSchema,
      AcceptedBatch: acceptedBatchSchema,
      AcceptedSchedule: acceptedScheduleSchema,
      Error: errorBodySchema,
    },
    CONVERSION,
  )
  for (const name of [...Object.keys(perDefinition), 'ScheduleRequest']) describeFields(schemas[name]!)
  if (variants.length > 0) {
    schemas.JobRequest = {
      ...schemas.JobRequest,
      discriminator: { propertyName: 'definition', mapping: Object.fromEntries(definitions.map((d) => [d.id, ref(componentName(d.id))])) },
    } as JsonSchema
  }
  // The batch schema validates items with the generic request shape; the document lists the variants.
  const batchJobs = (schemas.BatchRequest as { properties: { jobs: { items: JsonSchema } } }).properties.jobs
  batchJobs.items = { $ref: ref('JobRequest') }

  const json = (schema: string) => ({ 'application/json': { schema: { $ref: ref(schema) } } })
  const failure = (description: string) => ({ description, content: json('Error') })
  const failures = {
    '400': failure('bad input: each issue names the field (`payload.ms`, `jobs.3.lane`); the payload is never echoed'),
    ...(apiKeyRequired ? { '401': failure(`missing or invalid ${API_KEY_HEADER}`) } : {}),
    '409': failure('the cluster is in Archive mode'),
    '413': failure(`a job serializes to more than ${maxMessageBytes} bytes (maxMessageBytes), or the body is over the route's limit`),
    '415': failure('Content-Type is not application/json'),
    '503': failure('no agent connection could take the write; nothing was written, retry later'),
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'JobMaster producer',
      version: '1.0.0',
      description: 'Accepts jobs and writes them straight to an agent transport (never the master). Answers 202 once the job is durably in an agent inbox.',
    },
    paths: {
      '/v1/jobs': {
        post: {
          operationId: 'enqueueJob',
          summary: 'Enqueue one job',
          requestBody: { required: true, content: json('JobRequest') },
          responses: { '202': { description: 'accepted', content: json('AcceptedJob') }, ...failures },
        },
      },
      '/v1/jobs/batch': {
        post: {
          operationId: 'enqueueBatch',
          summary: 'Enqueue up to 1,000 jobs, all or nothing',
          requestBody: { required: true, content: json('BatchRequest') },
          responses: { '202': { description: 'all accepted (ids in request order)', content: json('AcceptedBatch') }, ...failures },
        },
      },
      '/v1/schedules': {
        post: {
          operationId: 'createSchedule',
          summary: 'Create a recurring schedule (validated here, created in the master by ingest)',
          requestBody: { required: true, content: json('ScheduleRequest') },
          responses: { '202': { description: 'accepted into an agent inbox', content: json('AcceptedSchedule') }, ...failures },
        },
      },
      '/v1/openapi.json': {
        get: { operationId: 'openApi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } } },
      },
    },
    components: {
      schemas,
      ...(apiKeyRequired ? { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER } } } : {}),
    },
    ...(apiKeyRequired ? { security: [{ apiKey: [] }] } : {}),
  }
}

const ref = (name: string) => `#/components/schemas/${name}`

const CONVERSION: ConversionConfig = {
  target: 'draft-2020-12', // OpenAPI 3.1 schemas are JSON Schema 2020-12
  typeMode: 'input',
  // Checks and transforms have no JSON Schema form; the document states the shape, the server the rest.
  errorMode: 'ignore',
  overrideRef: ({ referenceId }) => ref(referenceId),
  overrideSchema: ({ valibotSchema }) => {
    // `runAt` accepts a Date from library callers; over HTTP it is an ISO-8601 string.
    if (valibotSchema.type === 'union' && (valibotSchema as v.UnionSchema<v.UnionOptions, undefined>).options.some((o) => o.type === 'date')) {
      return { type: 'string', format: 'date-time' }
    }
    return undefined
  },
}

function describeFields(schema: JsonSchema): void {
  const properties = (schema as { properties?: Record<string, JsonSchema> }).properties ?? {}
  for (const [field, description] of Object.entries(FIELD_DESCRIPTIONS)) {
    const property = properties[field]
    if (property && typeof property === 'object') properties[field] = { ...property, description }
  }
}

import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda'
import type { AgentStore } from '../../core/stores/agent.js'
import { openAgent } from '../../core/stores/registry.js'
import { dropPrefix, rawQuery } from '../support/pg.js'

/** A TCP port nothing listens on (bound, then released): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  const { port } = server.address() as { port: number }
  await new Promise<void>((closed) => server.close(() => closed()))
  return port
}

/** Agent stores under `prefix`, provisioned the way a worker would before any producer writes. */
export async function provisionedAgents(prefix: string, connections: Record<string, string>): Promise<{ stores: Record<string, AgentStore>; cleanup(): Promise<void> }> {
  const stores: Record<string, AgentStore> = {}
  for (const [name, url] of Object.entries(connections)) {
    stores[name] = await openAgent(name, url, { tablePrefix: prefix, poolSize: 2 })
    await stores[name]!.provision()
  }
  return {
    stores,
    async cleanup() {
      await Promise.all(Object.values(stores).map((s) => s.close()))
      for (const url of Object.values(connections)) await dropPrefix(url, prefix)
    },
  }
}

/** The job ids and envelopes waiting in an agent's inbox table. */
export async function inboxJobs(url: string, prefix: string): Promise<Array<{ id: string; definition: string; lane: string | null; idempotencyKey: string | null; payload: unknown }>> {
  const rows = await rawQuery<{ message: string }>(url, `SELECT message FROM ${prefix}inbox ORDER BY enqueued_at, job_id`)
  return rows.map((r) => {
    const e = JSON.parse(r.message) as { id: string; definition: string; lane: string | null; idempotencyKey: string | null; payload: unknown }
    return { id: e.id, definition: e.definition, lane: e.lane, idempotencyKey: e.idempotencyKey, payload: e.payload }
  })
}

/** A pino logger that keeps every line, to check what reached the logs. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

/** Payload format 2.0 (Function URLs, HTTP APIs): the event type hono/aws-lambda accepts but does not export. */
export type FunctionUrlEvent = Extract<LambdaEvent, { rawPath: string }>

export interface FunctionUrlRequest {
  method?: string
  path: string
  body?: unknown
  headers?: Record<string, string>
  /** Send the body base64-encoded, as a Function URL does for bodies it treats as binary. */
  base64?: boolean
  /** The caller identity a Function URL with AWS_IAM auth adds after verifying the signature. */
  iam?: boolean
}

/**
 * A Lambda Function URL event, payload format 2.0, as AWS delivers it: lower-case headers, the
 * URL's domain, `$default` route and stage, a request context with the source address and time.
 */
export function functionUrlEvent(request: FunctionUrlRequest): FunctionUrlEvent {
  const urlId = 'abcdefghijklmnopqrstuvwxyz012345'
  const domainName = `${urlId}.lambda-url.eu-west-1.on.aws`
  const method = request.method ?? (request.body === undefined ? 'GET' : 'POST')
  const text = request.body === undefined ? null : typeof request.body === 'string' ? request.body : JSON.stringify(request.body)
  const now = new Date()
  const headers: Record<string, string> = {
    host: domainName,
    'user-agent': 'curl/8.5.0',
    accept: '*/*',
    'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(text === null ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }),
    ...request.headers,
  }
  const [rawPath, rawQueryString = ''] = request.path.split('?') as [string, string?]
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: request.iam ? '123456789012' : 'anonymous',
      apiId: urlId,
      authentication: null,
      authorizer: request.iam
        ? {
            iam: {
              accessKey: 'ASIAEXAMPLEKEY000000',
              accountId: '123456789012',
              callerId: 'AROAEXAMPLEROLE00000:producer-client',
              cognitoIdentity: null,
              principalOrgId: null,
              userArn: 'arn:aws:sts::123456789012:assumed-role/producer-client/session',
              userId: 'AROAEXAMPLEROLE00000:producer-client',
            },
          }
        : {},
      domainName,
      domainPrefix: urlId,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    body: text === null ? null : request.base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: Boolean(request.base64 && text !== null),
  }
}

export function lambdaContext(): LambdaContext {
  const deadline = Date.now() + 30_000
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'jobmaster-dev-Producer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:jobmaster-dev-Producer',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/jobmaster-dev-Producer',
    logStreamName: `2026/11/22/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  }
}

/** The request context's time, e.g. `22/Nov/2026:08:20:00 +0000`. */
function requestTime(at: Date): string {
  const [, day, month, year, clock] = at.toUTCString().match(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/)!
  return `${day}/${month}/${year}:${clock} +0000`
}

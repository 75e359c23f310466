import { InvokeCommand, LambdaClient, type InvocationType } from '@aws-sdk/client-lambda'

/**
 * Invoke a Lambda function with a JSON payload. `Event` is fire-and-forget (AWS answers 202 once
 * queued); `RequestResponse` waits and turns a function error into a thrown error.
 */
export function lambdaInvoker(functionName: string, invocationType: InvocationType = 'Event', client: LambdaClient = new LambdaClient({})) {
  return async (payload: unknown): Promise<unknown> => {
    const answer = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: invocationType, Payload: new TextEncoder().encode(JSON.stringify(payload)) }))
    const body = answer.Payload && answer.Payload.length > 0 ? new TextDecoder().decode(answer.Payload) : ''
    if (answer.FunctionError) throw new Error(`${functionName} failed (${answer.FunctionError}): ${body.slice(0, 500)}`)
    const expected = invocationType === 'Event' ? 202 : invocationType === 'DryRun' ? 204 : 200
    if (answer.StatusCode !== expected) throw new Error(`${functionName} answered status ${answer.StatusCode}, expected ${expected}`)
    return body ? JSON.parse(body) : null
  }
}

import { afterAll, beforeAll, expect, test } from 'vitest'
import { echo } from '../jobs/definitions.js'
import { startTestCluster, type TestCluster } from './support/cluster.js'
import { waitFor } from './support/wait.js'

let cluster: TestCluster
beforeAll(async () => {
  cluster = await startTestCluster()
  await cluster.startWorker()
})
afterAll(() => cluster.close())

test('an echo job runs and its result lands in the history', async () => {
  const { id } = await cluster.producer.enqueue(echo, { hello: 'world' })
  const job = await waitFor('Succeeded', async () => {
    const j = await cluster.ctx.master.getJob('test', id)
    return j?.status === 'Succeeded' ? j : null
  }, 5000)
  expect(job.attempts).toBe(1)
  const attempts = await cluster.ctx.master.listAttempts('test', id)
  expect(attempts).toHaveLength(1)
  expect(attempts[0]!.outcome).toBe('Succeeded')
  expect(attempts[0]!.result).toEqual({ hello: 'world' })
})

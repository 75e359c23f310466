import { expect, test } from 'vitest'
import { configFromEnv } from '../../core/config-env.js'
import { ECS_STOP_TIMEOUT_SECONDS, WORKER_GRACE_PERIOD_SECONDS, agentLanes, fleetEnvironment, fleets, type WorkerFleet } from '../../infra/fleets.js'

/** The agents a stage's JmAgents secret must list for these fleets (URLs are placeholders). */
const agentsSecret = [...new Set(fleets.map((f) => f.agent))].map((name) => `${name}=postgres://agent.internal/${name}`).join(',')

test('every fleet entry is a valid worker configuration, as the container will read it', () => {
  for (const fleet of fleets) {
    const env = { JM_MASTER_URL: 'postgres://master.internal/jm', JM_AGENTS: agentsSecret, JM_AGENT_LANES: agentLanes(), ...fleetEnvironment(fleet) }
    const worker = configFromEnv(env, { worker: true }).worker!
    expect(worker, fleet.service).toMatchObject({
      agent: fleet.agent,
      lane: fleet.lane ?? null,
      mode: fleet.mode,
      batchSize: fleet.batchSize,
      parallelismFactor: fleet.parallelismFactor,
      gracePeriodMs: WORKER_GRACE_PERIOD_SECONDS * 1000,
    })
    for (const [priority, count] of Object.entries(worker.buckets)) expect(count, `${fleet.service} ${priority}`).toBe(fleet.buckets[priority as keyof WorkerFleet['buckets']] ?? 1)
  }
})

test('fleets scale independently within sane bounds, under unique service names', () => {
  expect(new Set(fleets.map((f) => f.service)).size).toBe(fleets.length)
  for (const fleet of fleets) {
    expect(fleet.service).toMatch(/^[A-Z][A-Za-z0-9]*$/)
    expect(fleet.min).toBeGreaterThanOrEqual(0)
    expect(fleet.max).toBeGreaterThanOrEqual(Math.max(1, fleet.min))
    expect(fleet.cpuTarget).toBeGreaterThan(0)
    expect(fleet.cpuTarget).toBeLessThanOrEqual(100)
  }
})

test('ECS waits longer than the grace period before SIGKILL, within what Fargate allows', () => {
  // The rest of a graceful stop (flush results, hand jobs back, retire buckets) needs time too.
  expect(ECS_STOP_TIMEOUT_SECONDS - WORKER_GRACE_PERIOD_SECONDS).toBeGreaterThanOrEqual(20)
  expect(ECS_STOP_TIMEOUT_SECONDS).toBeLessThanOrEqual(120)
})

test('producers route each lane to the connections whose fleets serve it', () => {
  const list: WorkerFleet[] = [
    { ...fleets[0]!, agent: 'pg-1', lane: undefined },
    { ...fleets[0]!, service: 'A', agent: 'pg-1', lane: 'Payroll' },
    { ...fleets[0]!, service: 'B', agent: 'nats-1', lane: 'Payroll' },
    { ...fleets[0]!, service: 'C', agent: 'pg-1', lane: 'LongRun' },
  ]
  expect(agentLanes(list)).toBe('pg-1=Payroll|LongRun,nats-1=Payroll')
  expect(agentLanes([{ ...fleets[0]!, lane: undefined }])).toBeUndefined()
})

import { connect } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'

export const NATS_BENCH_URL = process.env.JM_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222'

async function connection() {
  const { hostname, port } = new URL(NATS_BENCH_URL)
  return connect({ servers: `${hostname}:${port || 4222}` })
}

/**
 * The transport's own limit on this machine: acknowledged JetStream publishes (file storage) with
 * 16 in flight, each waiting for its PubAck, to a plain work-queue stream.
 */
export async function natsPublishFloor(durationMs: number): Promise<number> {
  const nc = await connection()
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  const stream = `jm_bench_floor_${process.pid}`
  try {
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: 'workqueue' as never, storage: 'file' as never })
    const body = new TextEncoder().encode(JSON.stringify({ definition: 'noop', payload: null, padding: 'x'.repeat(200) }))
    const deadline = Date.now() + durationMs
    let done = 0
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < deadline) {
          await js.publish(`${stream}.m`, body)
          done++
        }
      }),
    )
    return (done * 1000) / durationMs
  } finally {
    await jsm.streams.delete(stream).catch(() => false)
    await nc.close()
  }
}

/** Streams of a bench run are named after its table prefix. */
export async function deleteNatsBenchStreams(prefix: string): Promise<void> {
  const nc = await connection()
  try {
    const jsm = await jetstreamManager(nc)
    for await (const s of jsm.streams.list()) if (s.config.name.startsWith(prefix)) await jsm.streams.delete(s.config.name)
  } finally {
    await nc.close()
  }
}

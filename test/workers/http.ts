import { createServer } from 'node:net'

/** A port nothing listens on right now (the OS picks it; the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** GET a path on 127.0.0.1; null when nothing answers (not listening yet, or gone). */
export async function get(port: number, path: string): Promise<{ status: number; type: string | null; body: string } | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) })
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() }
  } catch {
    return null
  }
}

import { connect, createServer, type Server, type Socket } from 'node:net'

interface Pair {
  client: Socket
  upstream: Socket | null
  connected: boolean
  /** Bytes held back while partitioned (or before the upstream connection is up). */
  toUpstream: Buffer[]
  toClient: Buffer[]
  /** A black hole: the client's socket stays open and is never answered again. */
  silenced: boolean
}

/**
 * A TCP proxy the scenario controls, between some processes and a database.
 * - `partition()`: nothing passes either way (bytes are held, as TCP would retransmit them during
 *   a partition shorter than its retransmission limits); new connections are accepted and held.
 * - `heal()`: everything held flows on; held connections are connected through.
 * - `silenceOpenConnections()`: every connection open now becomes half-open for good (its peer
 *   vanished without a FIN, as after a NAT or firewall timeout); new connections work.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>()
  private partitioned = false
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy!: TcpProxy
    const server = createServer((client) => proxy.accept(client))
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
    proxy = new TcpProxy(server, (server.address() as { port: number }).port, target)
    return proxy
  }

  /** `url` with its host and port replaced by the proxy's. */
  route(url: string): string {
    const routed = new URL(url)
    routed.hostname = '127.0.0.1'
    routed.port = String(this.port)
    return routed.toString()
  }

  partition(): void {
    this.partitioned = true
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((done) => this.server.close(() => done()))
    for (const pair of this.pairs) {
      pair.client.destroy()
      pair.upstream?.destroy()
    }
    await closed
  }

  async heal(): Promise<void> {
    if (!this.server.listening) await new Promise<void>((ready) => this.server.listen(this.port, '127.0.0.1', ready))
    this.partitioned = false
    for (const pair of this.pairs) {
      if (pair.silenced) continue
      if (!pair.upstream) this.connectUpstream(pair)
      else this.flush(pair)
    }
  }

  silenceOpenConnections(): number {
    let silenced = 0
    for (const pair of this.pairs) {
      if (pair.silenced) continue
      pair.silenced = true
      pair.toUpstream = []
      pair.toClient = []
      pair.upstream?.destroy()
      silenced++
    }
    return silenced
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy()
      pair.upstream?.destroy()
    }
    if (this.server.listening) await new Promise<void>((done) => this.server.close(() => done()))
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, upstream: null, connected: false, toUpstream: [], toClient: [], silenced: false }
    this.pairs.add(pair)
    client.on('error', () => {})
    client.on('data', (chunk: Buffer) => {
      if (pair.silenced) return
      if (this.partitioned || !pair.connected) pair.toUpstream.push(chunk)
      else pair.upstream!.write(chunk)
    })
    client.on('close', () => {
      if (!pair.silenced) pair.upstream?.destroy()
      this.pairs.delete(pair)
    })
    if (!this.partitioned) this.connectUpstream(pair)
  }

  private connectUpstream(pair: Pair): void {
    if (pair.client.destroyed) return
    const upstream = connect(this.target.port, this.target.host)
    pair.upstream = upstream
    upstream.on('error', () => {})
    upstream.on('data', (chunk: Buffer) => {
      if (pair.silenced) return
      if (this.partitioned) pair.toClient.push(chunk)
      else pair.client.write(chunk)
    })
    upstream.on('close', () => {
      if (!pair.silenced) pair.client.destroy()
    })
    upstream.once('connect', () => {
      pair.connected = true
      if (!this.partitioned) this.flush(pair)
    })
  }

  private flush(pair: Pair): void {
    if (pair.connected) for (const chunk of pair.toUpstream.splice(0)) pair.upstream!.write(chunk)
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk)
  }
}

// TCP stand-ins on loopback: a server for one side of a load balancer (the lab's Octavia has no
// data plane), which accepts and closes connections and can be stopped and started again on the
// same port, as a side that stops answering and comes back; and a proxy that can freeze.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class LoopbackServer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** 0 until the first start picks a free port; kept for later starts. */
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.end();
    });
    await new Promise<void>((ok) => this.server!.listen(this.port, '127.0.0.1', ok));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((ok) => this.server?.close(ok));
  }
}

export interface FreezableProxy {
  port: number;
  /**
   * What a dead peer or a stuck load balancer does to a connection: it stays open and nothing
   * flows. `freeze()` does it to the connections made so far (new ones work: a connection that
   * died); `freeze({ newConnections: true })` to those made after too (a host cut off).
   */
  freeze(opts?: { newConnections?: boolean }): void;
  close(): void;
}

/** A TCP proxy to `target` (e.g. an apiserver) that can freeze. */
export async function freezableProxy(target: URL): Promise<FreezableProxy> {
  const pairs: [Socket, Socket][] = [];
  const held: Socket[] = [];
  let frozen = false;
  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    if (frozen) {
      client.pause();
      held.push(client);
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => (client.destroy(), upstream.destroy());
    client.on('error', drop);
    upstream.on('error', drop);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: (opts = {}) => {
      frozen = opts.newConnections ?? false;
      pairs.forEach(([c, u]) => (u.unpipe(c), c.unpipe(u), u.pause(), c.pause()));
    },
    close: () => {
      server.close();
      pairs.forEach(([c, u]) => (c.destroy(), u.destroy()));
      held.forEach((c) => c.destroy());
    },
  };
}

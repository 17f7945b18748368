// A TCP server on loopback that stands in for one side of a load balancer (the lab's Octavia
// has no data plane): it accepts and closes connections, and can be stopped and started again
// on the same port, as a side that stops answering and comes back.
import { createServer, type Server, type Socket } from 'node:net';

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

// The manager's HTTP endpoints (/healthz, /readyz, /metrics) on node:http.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = () => Promise<{ status: number; body: string; contentType?: string }>;

/** Parses "host:port" (":port" means all interfaces). */
export function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bad address "${address}": want host:port`);
  return { host: address.slice(0, i) || '0.0.0.0', port };
}

export async function serve(address: string, routes: Record<string, Route>): Promise<Server> {
  const { host, port } = parseAddress(address);
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0] ?? '/'];
    if (!route || req.method !== 'GET') {
      res.writeHead(404).end('not found\n');
      return;
    }
    route().then(
      (r) => res.writeHead(r.status, { 'content-type': r.contentType ?? 'text/plain' }).end(r.body),
      (err: unknown) => res.writeHead(500).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

export function boundAddress(server: Server): string {
  const a = server.address() as AddressInfo;
  return `${a.address}:${a.port}`;
}

// For tests of the tenant router: stand-ins for a Prod's pods (the lab's member clusters run
// kwok, which starts no containers), and requests through the router's frontend with a tenant's
// Host header.
import { after } from 'node:test';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const servers: Server[] = [];
after(() => servers.forEach((s) => (s.closeAllConnections(), s.close())));

/** A loopback HTTP server standing in for a Prod's pods: it answers with its name. */
export async function standIn(name: string): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain', 'x-prod': name });
    res.end(name);
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

export interface Routed {
  status: number;
  body: string;
}

/** GET / through the router at `url` as `host`. */
export function viaRouter(url: string, host: string, agent?: Agent): Promise<Routed> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host }, agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} for ${host}`)));
    req.on('error', reject);
    req.end();
  });
}

// The manager's HTTP endpoints (/healthz, /readyz, /metrics, and the handlers controllers add,
// e.g. webhook receivers) on node:http.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

export type Route = () => Promise<Reply>;

/** A request as a handler sees it: the raw body, read whole (up to the handler's limit). */
export interface HttpRequest {
  method: string;
  /** Without the query. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Requests under a path prefix, by method; anything else under the prefix is a 405. */
export interface Handler {
  prefix: string;
  methods: readonly string[];
  /** A longer body is refused with 413 before the handler sees it. */
  maxBodyBytes: number;
  handle(req: HttpRequest): Promise<Reply>;
}

/** Parses "host:port" (":port" means all interfaces). */
export function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bad address "${address}": want host:port`);
  return { host: address.slice(0, i) || '0.0.0.0', port };
}

export async function serve(
  address: string,
  routes: Record<string, Route>,
  handlers: readonly Handler[] = [],
): Promise<Server> {
  const { host, port } = parseAddress(address);
  const server = createServer((req, res) => {
    const reply = (r: Reply) =>
      res.writeHead(r.status, { 'content-type': r.contentType ?? 'text/plain' }).end(r.body);
    const fail = (err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(`${String(err)}\n`);
    };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handler = handlers.find((h) => path.startsWith(h.prefix));
    if (handler) {
      if (!handler.methods.includes(req.method ?? '')) {
        req.resume();
        reply({ status: 405, body: 'method not allowed\n' });
        return;
      }
      readBody(req, handler.maxBodyBytes)
        .then((body) => {
          if (!body) {
            // Close the connection rather than read the rest of an oversized body.
            res.setHeader('connection', 'close');
            reply({ status: 413, body: `body larger than ${handler.maxBodyBytes} bytes\n` });
            return;
          }
          return handler
            .handle({ method: req.method ?? '', path, headers: req.headers, body })
            .then(reply);
        }, fail)
        .catch(fail);
      return;
    }
    const route = routes[path];
    if (!route || req.method !== 'GET') {
      res.writeHead(404).end('not found\n');
      return;
    }
    route().then(reply, fail);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

/** The body, or undefined once it passes `limit` bytes (what was sent is left unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export function boundAddress(server: Server): string {
  const a = server.address() as AddressInfo;
  return `${a.address}:${a.port}`;
}

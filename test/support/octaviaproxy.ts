// A fault-injecting HTTP proxy in front of the lab's real Octavia API, for half answers Octavia
// itself does not give on demand: a list that fails, a pool that 404s while its listener still
// names it, an empty member list while the pool has members. A mirror reaches Octavia through it
// with `load_balancer_endpoint_override` in its clouds.yaml; Keystone is reached directly.
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OctaviaFault =
  /** Member lists answered 500 (every attempt). */
  | { kind: 'membersFail' }
  /** Pool lists answered 500. */
  | { kind: 'poolsFail' }
  /** Member lists answered 200 with no members. */
  | { kind: 'membersEmpty' }
  /** The pool left out of pool lists (its listener still names it). */
  | { kind: 'poolGone'; poolId: string }
  /** The pool listed, but its member list answered 404. */
  | { kind: 'pool404'; poolId: string }
  /** Member lists held this long before being passed on (a timeout on the client's side). */
  | { kind: 'membersSlow'; ms: number };

export interface OctaviaProxy {
  url: string;
  /** Requests seen, by path (no query), with the time. */
  seen: { path: string; at: number }[];
  /** Applies `fault` until Date.now() reaches `until`. */
  inject(fault: OctaviaFault, until: number): void;
  close(): Promise<void>;
}

const isMembers = (path: string) => /\/lbaas\/pools\/[^/]+\/members$/.test(path);
const isPools = (path: string) => /\/lbaas\/pools$/.test(path);

async function readAll(s: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startOctaviaProxy(target: string): Promise<OctaviaProxy> {
  const upstream = new URL(target);
  const seen: OctaviaProxy['seen'] = [];
  let fault: { f: OctaviaFault; until: number } | undefined;
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const body = await readAll(req);
    const path = (req.url ?? '').split('?')[0]!.replace(/\/$/, '');
    seen.push({ path, at: Date.now() });
    const f = fault && Date.now() < fault.until ? fault.f : undefined;
    if (f?.kind === 'membersFail' && isMembers(path))
      return json(res, 500, { faultstring: 'injected: member list failed' });
    if (f?.kind === 'poolsFail' && isPools(path))
      return json(res, 500, { faultstring: 'injected: pool list failed' });
    if (f?.kind === 'membersEmpty' && isMembers(path))
      return json(res, 200, { members: [], members_links: [] });
    if (f?.kind === 'pool404' && path.endsWith(`/lbaas/pools/${f.poolId}/members`))
      return json(res, 404, { faultstring: `Pool ${f.poolId} could not be found.` });
    if (f?.kind === 'membersSlow' && isMembers(path)) await new Promise((r) => setTimeout(r, f.ms));
    const up = await new Promise<IncomingMessage>((resolve, reject) => {
      const fwd = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        resolve,
      );
      fwd.on('error', reject);
      fwd.end(body);
    }).catch(() => undefined);
    if (!up) return json(res, 502, { faultstring: 'upstream unreachable' });
    const answer = await readAll(up);
    if (f?.kind === 'poolGone' && isPools(path) && up.statusCode === 200) {
      const parsed = JSON.parse(answer.toString('utf8')) as { pools: { id: string }[] };
      parsed.pools = parsed.pools.filter((p) => p.id !== f.poolId);
      return json(res, 200, parsed);
    }
    const headers = { ...up.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    res.writeHead(up.statusCode ?? 502, headers);
    res.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    inject: (f, until) => void (fault = { f, until }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

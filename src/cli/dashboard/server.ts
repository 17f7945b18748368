// The dashboard's server: informers on the kachiku kinds (with the user's kubeconfig), the view
// model (view.ts) pushed to every open page by server-sent events on each change, the page and
// its bundle, and the actions (release pause/resume/abort, cluster drain/uncordon) behind the
// cross-site guard (guard.ts). The drain plan shown before a drain is `kachiku plan drain`'s:
// drainPlans() over the informers' objects.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { Rest, ApiError, type Gvr } from '../../runtime/rest.js';
import { Informer, keyOf } from '../../runtime/informer.js';
import { gvrOf } from '../../api/kind.js';
import { fleetKind, type Fleet } from '../../api/fleet.js';
import { prodKind, type Prod } from '../../api/prod.js';
import { tenantKind, type Tenant } from '../../api/tenant.js';
import { tenantSliceKind, type TenantSlice } from '../../api/tenantslice.js';
import { memberClusterKind, type MemberCluster } from '../../api/membercluster.js';
import { releaseKind, type Release } from '../../api/release.js';
import { routerKind, type Router } from '../../api/router.js';
import { loadBalancerMirrorKind, type LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { drainPlans, planDocument, planText } from '../../controllers/fleet/dryrun.js';
import { placer } from '../../controllers/fleet/placer.js';
import { allowedHosts, check, TOKEN_HEADER, type Guard } from './guard.js';
import { model, nextHistory, type Model, type PlacementEntry, type State } from './view.js';

export interface DashboardOptions {
  config: KubeConfig;
  /** Watch this namespace's objects; undefined: all namespaces. */
  namespace?: string;
  address: string;
  port: number;
  /** Where app.js and app.css are (default: the bundle next to the compiled package). */
  assets?: URL;
}

export interface Dashboard {
  url: string;
  token: string;
  close(): Promise<void>;
}

const ASSETS = new URL('../../../dashboard-ui/', import.meta.url);
/** Changes arriving together (a reconcile writes several objects) go out in one push. */
const PUSH_DELAY_MS = 100;

const kinds = {
  fleets: gvrOf(fleetKind),
  prods: gvrOf(prodKind),
  tenants: gvrOf(tenantKind),
  slices: gvrOf(tenantSliceKind),
  clusters: gvrOf(memberClusterKind),
  releases: gvrOf(releaseKind),
  routers: gvrOf(routerKind),
  mirrors: gvrOf(loadBalancerMirrorKind),
};

const RELEASE_ACTIONS: Record<string, Partial<Release['spec']>> = {
  pause: { paused: true },
  resume: { paused: false },
  abort: { aborted: true },
};
const CLUSTER_ACTIONS: Record<string, Partial<MemberCluster['spec']>> = {
  drain: { drain: true },
  uncordon: { drain: false, cordoned: false },
};

function page(token: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="kachiku-token" content="${token}">
<title>kachiku</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<div id="app">loading…</div>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const rest = new Rest(o.config);
  const token = randomBytes(24).toString('base64url');
  const assets = o.assets ?? ASSETS;
  const informers = {
    fleets: new Informer<Fleet>(rest, kinds.fleets, { namespace: o.namespace }),
    prods: new Informer<Prod>(rest, kinds.prods, { namespace: o.namespace }),
    tenants: new Informer<Tenant>(rest, kinds.tenants, { namespace: o.namespace }),
    // Not shown: the drain plan reads the assignment in force from them, as `kachiku plan` does.
    slices: new Informer<TenantSlice>(rest, kinds.slices, { namespace: o.namespace }),
    clusters: new Informer<MemberCluster>(rest, kinds.clusters),
    releases: new Informer<Release>(rest, kinds.releases, { namespace: o.namespace }),
    routers: new Informer<Router>(rest, kinds.routers, { namespace: o.namespace }),
    mirrors: new Informer<LoadBalancerMirror>(rest, kinds.mirrors, { namespace: o.namespace }),
  };
  // Placement history: what this server saw since it started (not kept anywhere else).
  const history = new Map<string, PlacementEntry[]>();
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;

  const state = (): State => ({
    fleets: informers.fleets.list(),
    prods: informers.prods.list(),
    tenants: informers.tenants.list(),
    clusters: informers.clusters.list(),
    releases: informers.releases.list(),
    routers: informers.routers.list(),
    mirrors: informers.mirrors.list(),
    now: Date.now(),
  });
  const current = (): Model =>
    model(state(), history, {
      namespace: o.namespace,
      syncing: Object.values(informers)
        .filter((i) => !i.hasSynced() || i.lastError)
        .map((i) => `${i.resource}${i.lastError ? `: ${i.lastError}` : ' (syncing)'}`),
    });
  const frame = () => `event: model\ndata: ${JSON.stringify(current())}\n\n`;
  const push = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      if (clients.size === 0) return;
      const f = frame();
      for (const c of clients) c.write(f);
    }, PUSH_DELAY_MS);
  };
  const record = (t: Tenant) =>
    history.set(keyOf(t), nextHistory(history.get(keyOf(t)) ?? [], t, Date.now()));
  informers.tenants.addHandler({
    add: record,
    update: (_old, t) => record(t),
    delete: (t) => history.delete(keyOf(t)),
  });
  for (const i of Object.values(informers)) {
    (i as { addHandler(h: object): void }).addHandler({ add: push, update: push, delete: push });
    i.start();
  }
  // An informer's sync state shows on the page: push once each has synced.
  for (const i of Object.values(informers)) void i.waitForSync().then(push);

  const drainPlan = (cluster: string) => {
    const world = {
      fleets: informers.fleets.list(),
      tenants: informers.tenants.list(),
      prods: informers.prods.list(),
      clusters: informers.clusters.list(),
      slices: informers.slices.list(),
      now: Date.now(),
    };
    let plans;
    try {
      plans = drainPlans(world, cluster, placer, { namespace: o.namespace });
    } catch (err) {
      throw new HttpError(404, (err as Error).message);
    }
    return {
      ...planDocument('drain', cluster, plans),
      text: plans.length
        ? plans.map((p) => planText(p)).join('\n\n')
        : `no Fleet has Prods in cluster ${cluster}: draining it moves no tenant`,
    };
  };

  const patch = async (gvr: Gvr, namespace: string | undefined, name: string, spec: object) => {
    try {
      await rest.patch(gvr, namespace, name, { spec }, 'merge');
    } catch (err) {
      if (err instanceof ApiError) throw new HttpError(err.code, err.message);
      throw err;
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse, guard: Guard) => {
    const verdict = check(req.method ?? 'GET', req.headers, guard);
    if (!verdict.ok) throw new HttpError(403, verdict.why);
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (url.pathname === '/' || ['map', 'releases', 'tenants', 'mirrors'].includes(parts[0]!)) {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy':
            "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
          'x-frame-options': 'DENY',
          'referrer-policy': 'no-referrer',
        });
        res.end(page(token));
        return;
      }
      if (url.pathname === '/app.js' || url.pathname === '/app.css') {
        const body = await readFile(new URL(url.pathname.slice(1), assets));
        res.writeHead(200, {
          'content-type': url.pathname.endsWith('.js')
            ? 'text/javascript; charset=utf-8'
            : 'text/css; charset=utf-8',
          'cache-control': 'no-cache',
        });
        res.end(body);
        return;
      }
      if (url.pathname === '/events') {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        res.write(`retry: 2000\n\n${frame()}`);
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      if (url.pathname === '/api/model') return send(res, 200, current());
      if (parts[0] === 'api' && parts[1] === 'plan' && parts[2] === 'drain' && parts[3])
        return send(res, 200, drainPlan(parts[3]));
      throw new HttpError(404, `no ${url.pathname}`);
    }
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} not allowed`);
    // POST /api/releases/<ns>/<name>/<action>, POST /api/clusters/<name>/<action>
    if (parts[0] === 'api' && parts[1] === 'releases' && parts.length === 5) {
      const [, , namespace, name, action] = parts as [string, string, string, string, string];
      const spec = RELEASE_ACTIONS[action];
      if (!spec) throw new HttpError(404, `no release action ${action}`);
      if (o.namespace && namespace !== o.namespace)
        throw new HttpError(403, `this dashboard watches namespace ${o.namespace} only`);
      await patch(kinds.releases, namespace, name, spec);
      return send(res, 200, { release: `${namespace}/${name}`, action });
    }
    if (parts[0] === 'api' && parts[1] === 'clusters' && parts.length === 4) {
      const [, , name, action] = parts as [string, string, string, string];
      const spec = CLUSTER_ACTIONS[action];
      if (!spec) throw new HttpError(404, `no cluster action ${action}`);
      await patch(kinds.clusters, undefined, name, spec);
      return send(res, 200, { cluster: name, action });
    }
    throw new HttpError(404, `no ${url.pathname}`);
  };

  let guard: Guard = { token };
  const server = createServer((req, res) => {
    route(req, res, guard).catch((err: unknown) => {
      const code = err instanceof HttpError ? err.code : 500;
      if (!res.headersSent) send(res, code, { error: (err as Error).message });
      else res.end();
    });
  });
  // Requests carry no body the server reads; the token is a header.
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  guard = { token, hosts: allowedHosts(o.address, port) };
  const host = o.address.includes(':') ? `[${o.address}]` : o.address;
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);

  return {
    url: `http://${host}:${port}/`,
    token,
    async close() {
      clearInterval(heartbeat);
      clearTimeout(timer);
      for (const c of clients) c.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.all(Object.values(informers).map((i) => i.stop()));
      await rest.close();
    },
  };
}

export { TOKEN_HEADER };

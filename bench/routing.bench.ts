// Benchmark of the Router controller (issue 13): how long from a Tenant's assignment changing to
// the lab's HAProxy serving the new backend, and what a whole-cluster drain of N tenants costs in
// routing work. The Router controller runs in this process (a Manager as kachiku's ServiceAccount,
// that controller alone); this process plays the Fleet controller — it writes Tenant statuses as
// the Fleet controller does (PUT on the status subresource, 16 at a time) — so that what is timed
// is the routing, not the placement. Prods are objects with status.endpoints written here, each
// pointing at a loopback HTTP server (a stand-in for the app's pods, answering its Prod's name);
// HAProxy, the runtime API and the requests are real.
//   node dist/bench/routing.bench.js [tenants=10000] [prods=30] [moves=40]
// Needs a running lab with a router (KACHIKU_LAB_DIR); see bench/README.md for method and figures.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'node:http';
import { Manager } from '../src/runtime/manager.js';
import { newLogger } from '../src/runtime/log.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { Rest } from '../src/runtime/rest.js';
import { applyCrds } from '../src/cli/crds.js';
import { gvrOf, CONTROLLER_NAME } from '../src/api/kind.js';
import { fleetKind, type Fleet } from '../src/api/fleet.js';
import { tenantKind, type Tenant } from '../src/api/tenant.js';
import { prodKind, type Prod } from '../src/api/prod.js';
import { routerKind, type Router } from '../src/api/router.js';
import { registerRouterController } from '../src/controllers/router/reconciler.js';
import { namespaceGvr } from '../src/runtime/core.js';
import { runtimeClient, showMap } from '../src/clouds/haproxy/index.js';
import { controlPlaneIdentity } from '../lab/src/identities.js';
import { labState } from '../test/support/lab.js';
import { controlPlaneConfig, kachikuConfig } from '../test/support/kube.js';
import { until } from '../test/support/wait.js';
import { Traffic, failed, percentile } from '../test/support/traffic.js';
import { freeLoopbackPort } from '../test/support/loadbalancers.js';
import { createServer, type Server } from 'node:http';
import { labHAProxy } from '../lab/src/router.js';

const N = Number(process.argv[2] ?? 10_000);
const P = Number(process.argv[3] ?? 30);
const MOVES = Number(process.argv[4] ?? 40);
const lab = labState();
const haproxy = lab.router!;
if (P + 1 > haproxy.slots) throw new Error(`${P} Prods need more than the ${haproxy.slots} slots`);
const config = controlPlaneConfig();
const rest = new Rest(config);
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const prodGvr = gvrOf(prodKind);
const routerGvr = gvrOf(routerKind);
const id = randomUUID().slice(0, 6);
const ns = `bench-routing-${id}`;
const FLEET = 'shop';
const ms = (x: number) => `${Math.round(x)} ms`;
const summary = (xs: number[]) =>
  `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}, max ${ms(Math.max(...xs))} (n=${xs.length})`;

/** Three domains; Prods i = 0..P-1 in domain i % 3; domain a is drained. */
const prodName = (i: number) => `${FLEET}-${'abc'[i % 3]}-${Math.floor(i / 3) + 1}`;
const domainOf = (p: string) => p.split('-')[1]!;
const prods = Array.from({ length: P }, (_, i) => prodName(i));
const ipOf = (i: number) => `127.0.1.${10 + i}`;

type Assignment = { primary: string; secondary?: string };

async function main(): Promise<void> {
  console.log(
    `routing bench: ${N} tenants (30 % Dual), ${P} Prods over 3 domains, ${MOVES} single moves; HAProxy ${haproxy.version}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  await applyCrds(config);
  await controlPlaneIdentity(rest);
  await rest.create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (const gvr of [fleetGvr, tenantGvr, routerGvr])
    await until(`${gvr.resource} served`, () => rest.list(gvr, ns).then(() => true));
  const servers: Server[] = [];
  const port = await freeLoopbackPort([ipOf(0), ipOf(P - 1)]);
  let mgrStop: (() => Promise<void>) | undefined;
  try {
    // Stand-ins and Prods.
    for (let i = 0; i < P; i++) {
      const name = prods[i]!;
      const srv = createServer((_q, res) => {
        res.writeHead(200, { 'x-prod': name });
        res.end(name);
      });
      srv.keepAliveTimeout = 2000;
      await new Promise<void>((ok) => srv.listen(port, ipOf(i), ok));
      servers.push(srv);
    }
    await rest.create<Fleet>(fleetGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Fleet',
      metadata: { name: FLEET, namespace: ns },
      spec: {
        app: 'shop',
        version: '1.0.0',
        template: { components: [{ name: 'web', image: 'x/shop:{{version}}' }], capacity: N },
        prods: { perDomain: 0 },
        routing: { router: 'edge' },
      },
    });
    await mapLimit(
      prods.map((name, i) => ({ name, i })),
      8,
      async ({ name, i }) => {
        const p = await rest.create<Prod>(prodGvr, {
          apiVersion: 'kachiku.io/v1alpha1',
          kind: 'Prod',
          metadata: { name, namespace: ns, labels: { 'kachiku.io/fleet': FLEET } },
          spec: {
            app: 'shop',
            version: '1.0.0',
            components: [{ name: 'web', image: 'x/s:{{version}}' }],
          },
        });
        await rest.replace(
          prodGvr,
          { ...p, status: { endpoints: [{ component: 'web', address: `${ipOf(i)}:${port}` }] } },
          'status',
        );
      },
    );

    // Tenants, and their assignment as a spread placement would make it.
    const assignment = new Map<string, Assignment>();
    const names = Array.from({ length: N }, (_, i) => `t-${String(i).padStart(5, '0')}`);
    names.forEach((t, i) => {
      const primary = prods[i % P]!;
      const dual = i % 10 < 3;
      // The secondary in the next domain.
      const secondary = dual ? prods[(i + 1) % P]! : undefined;
      assignment.set(t, secondary ? { primary, secondary } : { primary });
    });
    const hostOf = (t: string) => `${t}.shop.example`;
    const created = performance.now();
    await mapLimit(names, 16, async (t) => {
      const obj = await rest.create<Tenant>(tenantGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'Tenant',
        metadata: { name: t, namespace: ns },
        spec: {
          fleet: FLEET,
          redundancy: assignment.get(t)!.secondary ? 'Dual' : 'Single',
          hosts: [hostOf(t)],
        },
      });
      await rest.replace(tenantGvr, { ...obj, status: { prods: assignment.get(t) } }, 'status');
    });
    console.log(`${N} Tenants created and assigned in ${ms(performance.now() - created)}`);

    // The Router controller, as kachiku's ServiceAccount.
    await rest.create<Router>(routerGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Router',
      metadata: { name: 'edge', namespace: ns },
      spec: {
        haproxy: labHAProxy(haproxy, '1s'),
      },
    });
    const mgr = new Manager({
      name: CONTROLLER_NAME,
      config: kachikuConfig(),
      namespace: ns,
      log: newLogger(process.env.BENCH_LOG === 'debug' ? 'debug' : 'warn'),
    });
    registerRouterController(mgr);
    const commands = async () => {
      const m = await mgr.metrics.registry.getSingleMetric('kachiku_router_commands_total')?.get();
      const by: Record<string, number> = {};
      for (const v of m?.values ?? []) by[String(v.labels.kind)] = v.value;
      return by;
    };
    const abort = new AbortController();
    const running = mgr.run(abort.signal);
    mgrStop = () => (abort.abort(), running);
    const started = performance.now();
    const client = runtimeClient(haproxy.adminAddress, { timeoutMs: 10_000 });
    /** The map the router should hold: host → the slots of its primary and secondary. */
    const expected = () =>
      new Map(
        names.map((t) => {
          const a = assignment.get(t)!;
          const backends = [a.primary, a.secondary].filter((p): p is string => p !== undefined);
          return [hostOf(t), backends.map((p) => `be_slot_${slots.get(p)}`).join(' ')];
        }),
      );
    let slots = new Map<string, number>();
    const router = await until(
      'the Router serving all hosts',
      async () => {
        const r = await rest.get<Router>(routerGvr, ns, 'edge');
        const v = r.status?.table?.version;
        return r.status?.table?.hosts === N && r.status.instances?.[0]?.tableVersion === v
          ? r
          : undefined;
      },
      120_000,
      100,
    );
    slots = new Map((router.status?.slots ?? []).map((s) => [s.prod, s.slot]));
    console.log(
      `first table (${N} hosts, ${P} slots) programmed ${ms(performance.now() - started)} after the controller started; commands ${JSON.stringify(await commands())}`,
    );

    // 1. One tenant at a time: its status written, then its host polled through HAProxy until
    // the new Prod answers.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let resets = 0;
    const once = (host: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request(haproxy.url, { headers: { host }, agent, timeout: 5000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    // A kept-alive connection HAProxy closes just as a request goes out (its keep-alive
    // timeout) is the client's transport, not routing: asked again on a new connection.
    const ask = (host: string) =>
      once(host).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET') throw err;
        resets++;
        return once(host);
      });
    const write = async (t: string, a: Assignment) => {
      const cur = await rest.get<Tenant>(tenantGvr, ns, t);
      await rest.replace(tenantGvr, { ...cur, status: { ...cur.status, prods: a } }, 'status');
      assignment.set(t, a);
    };
    const lat: number[] = [];
    const afterWrite: number[] = [];
    for (let k = 0; k < MOVES; k++) {
      const t = names[(k * 7919) % N]!;
      const a = assignment.get(t)!;
      const to = prods[(prods.indexOf(a.primary) + 3 + (k % (P - 3))) % P]!;
      const next: Assignment =
        a.secondary && to === a.secondary
          ? { primary: to, secondary: a.primary }
          : { ...a, primary: to };
      const t0 = performance.now();
      await write(t, next);
      const t1 = performance.now();
      for (;;) {
        if ((await ask(hostOf(t))) === to) break;
        if (performance.now() - t0 > 30_000) throw new Error(`${t} not on ${to} after 30 s`);
      }
      const t2 = performance.now();
      lat.push(t2 - t0);
      afterWrite.push(t2 - t1);
      await sleep(100);
    }
    agent.destroy();
    console.log(`single move, status write → HAProxy serving the new Prod: ${summary(lat)}`);
    console.log(
      `  from the write's answer: ${summary(afterWrite)}; kept-alive connections reset and asked again: ${resets}`,
    );

    // 2. Domain a drained: every tenant with a copy there moves (Dual: the other copy promoted
    // if the primary was there, a new secondary elsewhere), written 16 at a time, as the Fleet
    // controller writes a drain step, under traffic.
    const outside = prods.filter((p) => domainOf(p) !== 'a');
    const moved: [string, Assignment][] = [];
    names.forEach((t, i) => {
      const a = assignment.get(t)!;
      const inA = (p?: string) => p !== undefined && domainOf(p) === 'a';
      if (!inA(a.primary) && !inA(a.secondary)) return;
      const pick = (avoid: string[]) => {
        const cands = outside.filter(
          (p) => !avoid.includes(p) && !avoid.some((x) => domainOf(x) === domainOf(p)),
        );
        return cands[i % cands.length]!;
      };
      if (!a.secondary) moved.push([t, { primary: pick([]) }]);
      else if (inA(a.primary))
        moved.push([t, { primary: a.secondary, secondary: pick([a.secondary]) }]);
      else moved.push([t, { primary: a.primary, secondary: pick([a.primary]) }]);
    });
    const before = await commands();
    const cpu0 = process.cpuUsage();
    const traffic = new Traffic(haproxy.url, names.map(hostOf), { rate: 300 });
    traffic.start();
    await sleep(1000);
    const d0 = performance.now();
    await mapLimit(moved, 16, ([t, a]) => write(t, a));
    const d1 = performance.now();
    // Served: HAProxy's own map is the expected table (read back), then every moved host answers.
    const want = expected();
    await until(
      'HAProxy serving the drained table',
      async () => {
        const m = await showMap(client, haproxy.mapFile);
        return m.length === want.size && m.every((e) => want.get(e.key) === e.value)
          ? true
          : undefined;
      },
      120_000,
      50,
    );
    const d2 = performance.now();
    await sleep(1000);
    const samples = await traffic.stop();
    const cpu = process.cpuUsage(cpu0);
    const after = await commands();
    const sweepAgent = new Agent({ keepAlive: true, maxSockets: 8 });
    let wrong = 0;
    await mapLimit(moved, 8, async ([t, a]) => {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          haproxy.url,
          { headers: { host: hostOf(t) }, agent: sweepAgent },
          (res) => {
            let b = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (b += c));
            res.on('end', () => resolve(b));
          },
        );
        req.on('error', reject);
        req.end();
      });
      if (body !== a.primary) wrong++;
    });
    sweepAgent.destroy();
    const diff = Object.fromEntries(
      Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]),
    );
    console.log(
      `drain of domain a: ${moved.length} tenants moved; status writes took ${ms(d1 - d0)}; HAProxy serving every move ${ms(d2 - d0)} after the first write (${ms(d2 - d1)} after the last); runtime-API commands ${JSON.stringify(diff)}; this process's CPU (controller, writer, traffic) ${ms((cpu.user + cpu.system) / 1000)}`,
    );
    console.log(
      `  traffic: ${samples.length} requests, ${samples.filter(failed).length} failed; moved hosts answered by another Prod than their new primary after it: ${wrong}`,
    );
  } finally {
    await mgrStop?.();
    await rest.delete(namespaceGvr, undefined, ns).catch(() => undefined);
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  }
}

await main();
process.exit(0);

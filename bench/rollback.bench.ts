// Benchmark of a release rollback's Fleet and router side (issue 14): from the Release
// controller's `kachiku.io/avoid` annotation written on the failed Prods to every tenant of theirs
// answered through the lab's HAProxy by another Prod. It must not grow with the number of Prods.
//   node dist/bench/rollback.bench.js [prods=10] [tenants per Prod=200] [runs=5]
// The Fleet and Router controllers run in this process (a Manager as kachiku's ServiceAccount,
// those two alone). The bench plays the rest: MemberClusters whose status it writes (Ready,
// Reachable), Prods it writes as Ready with status.endpoints pointing at loopback HTTP servers
// answering their Prod's name (stand-ins for the app's pods; kwok starts none), and the Release
// controller's annotation. The Fleet places the tenants itself (30 % Dual); HAProxy, its runtime
// API and the requests are real. Each run avoids the two Prods with the most copies in domains a
// and b (a failed wave of two), sweeps the affected hosts through HAProxy until each is answered
// by another Prod, then lifts the annotation and lets the Fleet rebalance before the next run.
// Needs a running lab whose router has more slots than Prods (`lab up --router-slots 64`).
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'node:http';
import { Manager } from '../src/runtime/manager.js';
import { newLogger } from '../src/runtime/log.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { Informer } from '../src/runtime/informer.js';
import { Rest } from '../src/runtime/rest.js';
import { gvrOf, CONTROLLER_NAME } from '../src/api/kind.js';
import { fleetKind } from '../src/api/fleet.js';
import { tenantKind, type Tenant } from '../src/api/tenant.js';
import { prodKind } from '../src/api/prod.js';
import { routerKind, type Router } from '../src/api/router.js';
import { AVOID_ANNOTATION } from '../src/api/release.js';
import { registerRouterController } from '../src/controllers/router/reconciler.js';
import { registerFleetController } from '../src/controllers/fleet/reconciler.js';
import { placer } from '../src/controllers/fleet/placer.js';
import { labState } from '../test/support/lab.js';
import { controlPlaneConfig, kachikuConfig } from '../test/support/kube.js';
import { until } from '../test/support/wait.js';
import { percentile } from '../test/support/traffic.js';
import { freeLoopbackPort } from '../test/support/loadbalancers.js';
import { benchFleet, type BenchFleet } from '../test/support/standins.js';

const P = Number(process.argv[2] ?? 10);
const PER_PROD = Number(process.argv[3] ?? 200);
const RUNS = Number(process.argv[4] ?? 5);
const N = P * PER_PROD;
const lab = labState();
const haproxy = lab.router!;
if (P + 2 > haproxy.slots)
  throw new Error(`${P} Prods need more than the router's ${haproxy.slots} slots (--router-slots)`);
const rest = new Rest(controlPlaneConfig());
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const prodGvr = gvrOf(prodKind);
const routerGvr = gvrOf(routerKind);
const id = randomUUID().slice(0, 6);
const ns = `bench-rollback-${id}`;
const FLEET = 'herd';
// Room for two Prods' copies on the others, with margin (1.3 copies per tenant).
const CAPACITY = Math.ceil((2.5 * N * 1.3) / P);
const ms = (x: number) => `${Math.round(x)} ms`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const summary = (xs: number[]) =>
  `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}, max ${ms(Math.max(...xs))}`;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

const ipOf = (i: number) => `127.0.1.${10 + i}`;
const hostOf = (t: string) => `${t}.herd.example`;
const copiesOf = (t: Tenant) =>
  [t.status?.prods?.primary, t.status?.prods?.secondary].filter((p): p is string => Boolean(p));

async function main(): Promise<void> {
  console.log(
    `rollback bench: ${P} Prods over 3 domains, ${N} tenants (30 % Dual), capacity ${CAPACITY}, ${RUNS} runs; HAProxy ${haproxy.version}, ${haproxy.slots} slots; load ${load()}`,
  );
  const port = await freeLoopbackPort([ipOf(0), ipOf(P - 1)]);
  let stop: (() => Promise<void>) | undefined;
  const tenants = new Informer<Tenant>(rest, tenantGvr, { namespace: ns });
  /** When each Tenant's assignment last changed, as this process saw it. */
  const changedAt = new Map<string, number>();
  tenants.addHandler({
    update: (old, t) => {
      if (JSON.stringify(old.status?.prods) !== JSON.stringify(t.status?.prods))
        changedAt.set(t.metadata.name, performance.now());
    },
  });
  let stood: BenchFleet | undefined;
  try {
    stood = await benchFleet(rest, {
      namespace: ns,
      id,
      clusterPrefix: 'rb',
      fleet: FLEET,
      prods: P,
      capacity: CAPACITY,
      haproxy,
      ipOf,
      port,
      answer: (p) => p,
      who: 'the rollback bench',
    });
    const mgr = new Manager({
      name: CONTROLLER_NAME,
      config: kachikuConfig(),
      namespace: ns,
      log: newLogger(process.env.BENCH_LOG === 'debug' ? 'debug' : 'warn'),
    });
    registerFleetController(mgr, { placer });
    registerRouterController(mgr);
    const abort = new AbortController();
    const running = mgr.run(abort.signal);
    stop = () => (abort.abort(), running);
    tenants.start();
    await tenants.waitForSync();

    const names = Array.from({ length: N }, (_, i) => `t-${String(i).padStart(5, '0')}`);
    const created = performance.now();
    await mapLimit(
      names.map((t, i) => ({ t, i })),
      16,
      ({ t, i }) =>
        rest.create<Tenant>(tenantGvr, {
          apiVersion: 'kachiku.io/v1alpha1',
          kind: 'Tenant',
          metadata: { name: t, namespace: ns },
          spec: { fleet: FLEET, redundancy: i % 10 < 3 ? 'Dual' : 'Single', hosts: [hostOf(t)] },
        }),
    );
    log(`${N} Tenants created in ${ms(performance.now() - created)}`);
    const placed = () =>
      tenants
        .list(ns)
        .filter((t) =>
          t.status?.conditions?.some((c) => c.type === 'Placed' && c.status === 'True'),
        );
    await until(
      'every tenant Placed',
      () => (placed().length === N ? true : undefined),
      600_000,
      500,
    );
    await until(
      'the Router serving every host',
      async () => {
        const r = await rest.get<Router>(routerGvr, ns, 'edge');
        return r.status?.table?.hosts === N &&
          r.status.instances?.[0]?.tableVersion === r.status.table.version
          ? true
          : undefined;
      },
      120_000,
      200,
    );
    log(`placed and routed ${ms(performance.now() - created)} after the first Tenant was created`);

    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const ask = (host: string) =>
      new Promise<string>((resolve) => {
        const req = request(haproxy.url, { headers: { host }, agent, timeout: 5000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(res.statusCode === 200 ? body : `${res.statusCode}`));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve(`error ${e.message}`));
        req.end();
      });
    const setRate = (perMinute: number) =>
      rest.patch(
        fleetGvr,
        ns,
        FLEET,
        { spec: { drain: { rebalanceMovesPerMinute: perMinute } } },
        'merge',
      );
    const annotate = (p: string, value: string | null) =>
      rest.patch(
        prodGvr,
        ns,
        p,
        { metadata: { annotations: { [AVOID_ANNOTATION]: value } } },
        'merge',
      );

    const totals: number[] = [];
    const written: number[] = [];
    const perTenant: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // The failed wave: the Prods with the most copies in domains a and b.
      const count = new Map<string, number>();
      for (const t of tenants.list(ns))
        for (const p of copiesOf(t)) count.set(p, (count.get(p) ?? 0) + 1);
      const busiest = (d: string) =>
        [...count]
          .filter(([p]) => p.startsWith(`${FLEET}-${d}-`))
          .sort((x, y) => y[1] - x[1])[0]![0];
      const avoided = [busiest('a'), busiest('b')];
      const affected = tenants
        .list(ns)
        .filter((t) => copiesOf(t).some((p) => avoided.includes(p)))
        .map((t) => t.metadata.name);
      const loadBefore = load();
      const t0 = performance.now();
      await Promise.all(avoided.map((p) => annotate(p, 'web-2.0.0')));
      const annotated = performance.now() - t0;
      // Sweep the hosts not yet answered by another Prod until none is left.
      const pending = new Set(affected);
      const answeredAt: number[] = [];
      while (pending.size > 0) {
        if (performance.now() - t0 > 120_000)
          throw new Error(
            `run ${run}: ${pending.size} hosts still on ${avoided.join(', ')} after 120 s`,
          );
        const sweep = [...pending];
        await mapLimit(sweep, 16, async (t) => {
          const body = await ask(hostOf(t));
          if (body.startsWith(`${FLEET}-`) && !avoided.includes(body)) {
            pending.delete(t);
            answeredAt.push(performance.now() - t0);
          }
        });
      }
      const total = Math.max(...answeredAt);
      const statuses = Math.max(...affected.map((t) => (changedAt.get(t) ?? Infinity) - t0));
      totals.push(total);
      written.push(statuses);
      perTenant.push(...answeredAt);
      const stuck = tenants
        .list(ns)
        .filter((t) => copiesOf(t).some((p) => avoided.includes(p))).length;
      console.log(
        `run ${run + 1}: avoided ${avoided.join(', ')} (${affected.length} tenants, the annotation writes took ${ms(annotated)}); every Tenant status written ${ms(statuses)}, every host answered by another Prod ${ms(total)} (per tenant ${summary(answeredAt)}); copies left on them: ${stuck}; load ${loadBefore} → ${load()}`,
      );
      // Lifted, and even again before the next run.
      await Promise.all(avoided.map((p) => annotate(p, null)));
      await setRate(100_000);
      const share = (N * 1.3) / P;
      await until(
        'the avoided Prods filled again',
        () => {
          const c = new Map<string, number>();
          for (const t of tenants.list(ns))
            for (const p of copiesOf(t)) c.set(p, (c.get(p) ?? 0) + 1);
          return avoided.every((p) => (c.get(p) ?? 0) >= 0.8 * share) ? true : undefined;
        },
        180_000,
        500,
      );
      await setRate(0);
      // Quiet: no assignment changed for 3 s.
      await until(
        'no tenant moving',
        () => (performance.now() - Math.max(0, ...changedAt.values()) > 3000 ? true : undefined),
        120_000,
        500,
      );
    }
    agent.destroy();
    console.log(
      `${P} Prods, ${N} tenants, ${RUNS} runs: annotation → every affected host answered by another Prod ${summary(totals)}; → every Tenant status written ${summary(written)}; per tenant ${summary(perTenant)} (n=${perTenant.length}); load ${load()}`,
    );
  } finally {
    await tenants.stop();
    await stop?.();
    await stood?.close();
  }
}

await main();
process.exit(0);

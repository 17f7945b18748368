// The tenant router against the lab (issue 13): `kachiku controller` runs as one process, as
// kachiku's ServiceAccount, with every controller — the Fleet controller places the tenants, the
// Prod controller runs the Prods in the three lab members, the Router controller programs the
// lab's real HAProxy 2.6 through its runtime API (TCP, as a router on another host is reached).
// Requests are real HTTP requests through HAProxy's frontend with each tenant's Host header.
//
// The one stand-in: the lab's members run kwok, which starts no containers and has no cloud, so
// test/support/loadbalancers.ts plays the members' LoadBalancer controller and the app's pods —
// each Prod's LoadBalancer Service gets a loopback address 127.0.0.N (written into the Service's
// status as a cloud's controller does; the Prod controller reports it in status.endpoints) and an
// HTTP server there answering with the Prod's name. HAProxy, its health checks, the runtime API,
// the map updates and the requests are real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, Rest, type KubeObject } from '../../src/runtime/rest.js';
import { Informer } from '../../src/runtime/informer.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { tenantKind, type Tenant, type TenantSpec } from '../../src/api/tenant.js';
import { routerKind, type Router } from '../../src/api/router.js';
import type { Prod } from '../../src/api/prod.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import { memberClusterGvr } from '../../src/controllers/membercluster/reconciler.js';
import { prodGvr } from '../../src/controllers/prod/reconciler.js';
import { eventGvr } from '../../src/runtime/events.js';
import { client } from '../../lab/src/parts/kube.js';
import { routerConfig } from '../../lab/src/parts/haproxy.js';
import { labHAProxy, restartRouter } from '../../lab/src/router.js';
import { startLabProcess, stopLabProcess } from '../../lab/src/lab.js';
import { HOLD_ANNOTATION } from '../../src/api/release.js';
import { runtimeClient, showInfo } from '../../src/clouds/haproxy/index.js';
import { namespaceGvr } from '../support/kube.js';
import { until } from '../support/wait.js';
import { FleetLab } from '../support/fleetlab.js';
import { viaRouter } from '../support/router.js';
import { Traffic, failed, percentile, type Sample } from '../support/traffic.js';
import { freePort } from '../../lab/src/ports.js';

const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const routerGvr = gvrOf(routerKind);
const fl = new FleetLab({
  who: 'the router tests',
  prefix: 'router',
  clusterPrefix: 'r',
  kinds: [tenantGvr, fleetGvr, routerGvr],
});
const { lab, rest, id, clusters, lbs } = fl;
const haproxy = lab.router!;
const members = lab.kube!.clusters.filter((c) => c.role === 'member');
const ROUTER = 'edge';
const FLEET = `shop-${id}`;
const POLL = '1s';
/** Failover bound for Dual tenants when their primary Prod dies (HAProxy's checks, no kachiku). */
const FAILOVER_BOUND_MS = 2000;
/** A restarted HAProxy serves the current table again within this of answering. */
const RESTART_BOUND_MS = 5000;
/** MemberCluster probes: every second, unreachable after 3 failures (as in fleet.test.ts). */
const PROBE_INTERVAL_MS = 1000;
const FAILURES_TO_UNREACHABLE = 3;
/**
 * A hold (or its lifting) is in status.held within this: one reconcile brought by the Prod's
 * watch — the Router's poll is set far longer than this for that test.
 */
const HOLD_BOUND_MS = 1500;

let ns = '';
let port = 0;
const alive = () => fl.alive();

before(async () => {
  ns = await fl.prepare();
  port = await fl.standIns(['127.0.0.10', '127.0.0.20', '127.0.0.40']);
  fl.startController([
    '--cluster-probe-interval',
    `${PROBE_INTERVAL_MS}ms`,
    '--cluster-probe-timeout',
    '1s',
    '--cluster-unreachable-after',
    String(FAILURES_TO_UNREACHABLE),
  ]);
  await fl.membersReady();
});

/**
 * Traffic and watches a test started: stopped here too, so that a test failing before its own
 * stop does not keep this file's event loop alive (the file would never end).
 */
const leftOpen = new Set<{ stop(): Promise<unknown> }>();
function opened<T extends { stop(): Promise<unknown> }>(x: T): T {
  leftOpen.add(x);
  return x;
}
after(async () => {
  await Promise.all([...leftOpen].map((x) => x.stop()));
  await fl.down();
});

// ---------------------------------------------------------------------------------------------
// Reading

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: { status?: { conditions?: unknown[] } }, type: string) =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const getRouter = () => rest.get<Router>(routerGvr, ns, ROUTER);
const tenantsNow = async () =>
  (await rest.list<Tenant>(tenantGvr, ns)).items.filter((t) => t.spec.fleet === FLEET);
const placed = (t: Tenant) => condition(t, 'Placed')?.status === 'True';
const primaryOf = (t: Tenant) => t.status?.prods?.primary;
const hostOf = (t: Tenant) => t.spec.hosts![0]!;

/** The Router serves its current table on every instance it lists (or those named). */
function serving(r: Router, instances?: string[]): boolean {
  const v = r.status?.table?.version;
  const list = (r.status?.instances ?? []).filter((i) => !instances || instances.includes(i.name));
  return (
    v !== undefined &&
    r.status?.observedGeneration === r.metadata.generation &&
    list.length === (instances?.length ?? r.spec.haproxy!.instances.length) &&
    list.every((i) => i.reachable && i.tableVersion === v)
  );
}

/**
 * One request per tenant through `url`, sequentially; the tenants whose answer is not from
 * their primary Prod (as their status names it), with what answered.
 */
async function misrouted(url: string, tenants: Tenant[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const t of tenants) {
    const r = await viaRouter(url, hostOf(t)).catch((e: Error) => ({
      status: 0,
      body: e.message,
    }));
    if (r.status !== 200 || r.body !== primaryOf(t))
      wrong.push(`${t.metadata.name}: ${r.status} ${r.body.trim()} (primary ${primaryOf(t)})`);
  }
  return wrong;
}

/**
 * misrouted() for every tenant of the Fleet as its status says at that moment: read, sweep, read
 * again, and sweep again if any Tenant changed in between (the Fleet may be moving some).
 */
async function misroutedNow(url: string): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const before = await tenantsNow();
    const wrong = await misrouted(url, before);
    if (sameTenants(before, await tenantsNow()) || attempt >= 20) return wrong;
  }
}

/** The same Tenants at the same resourceVersions. */
function sameTenants(a: Tenant[], b: Tenant[]): boolean {
  return (
    a.length === b.length &&
    a.every((t, i) => t.metadata.resourceVersion === b[i]?.metadata.resourceVersion)
  );
}

/** Every placed tenant's Prods have a stand-in answering and an endpoint in their status. */
async function prodsAnswering(tenants: Tenant[]): Promise<boolean> {
  const named = new Set(
    tenants.flatMap((t) => [t.status?.prods?.primary, t.status?.prods?.secondary]),
  );
  named.delete(undefined);
  const prods = new Map(
    (await rest.list<Prod>(prodGvr, ns)).items.map((p) => [p.metadata.name, p]),
  );
  return [...named].every(
    (p) =>
      lbs.of(p!).some((s) => s.running) &&
      (prods.get(p!)?.status?.endpoints ?? []).some((e) => e.address.endsWith(`:${port}`)),
  );
}

/** Tenant status changes as the test's watch sees them, with when. */
interface Change {
  at: number;
  tenant: string;
  primary?: string;
  secondary?: string;
}
async function watchTenants(): Promise<{ changes: Change[]; stop: () => Promise<void> }> {
  const changes: Change[] = [];
  const inf = new Informer<Tenant>(rest, tenantGvr, { namespace: ns });
  const record = (t: Tenant) =>
    changes.push({
      at: Date.now(),
      tenant: t.metadata.name,
      primary: t.status?.prods?.primary,
      secondary: t.status?.prods?.secondary,
    });
  inf.addHandler({
    add: record,
    update: (old, t) =>
      JSON.stringify(old.status?.prods) !== JSON.stringify(t.status?.prods) && record(t),
  });
  inf.start();
  await inf.waitForSync();
  return opened({ changes, stop: () => inf.stop() });
}

const ms = (n: number) => `${Math.round(n)} ms`;

/** The reasons of the Events about the Router. */
async function routerEvents(): Promise<string[]> {
  const events = await rest.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
    eventGvr,
    ns,
  );
  return events.items.filter((e) => e.regarding?.name === ROUTER).map((e) => e.reason ?? '');
}

/** What the test sees, for a failure message. */
async function diagnose(): Promise<string> {
  const ts = await tenantsNow();
  const prods = (await rest.list<Prod>(prodGvr, ns)).items;
  const r = await getRouter().catch(() => undefined);
  return [
    `tenants: ${ts.map((t) => `${t.metadata.name}=${primaryOf(t) ?? '-'}/${t.status?.prods?.secondary ?? '-'}:${condition(t, 'Placed')?.reason ?? '?'}`).join(' ')}`,
    `prods: ${prods.map((p) => `${p.metadata.name} ${p.status?.phase} Ready=${condition(p, 'Ready')?.status} (${condition(p, 'Ready')?.message}) ${JSON.stringify(p.status?.endpoints)}`).join('; ')}`,
    `the Fleet's view: ${((await rest.get<Fleet>(fleetGvr, ns, FLEET)).status?.prods ?? []).map((p) => `${p.name} ${p.state} ${p.used}/${p.capacity}`).join(', ')}`,
    `clusters: ${(await rest.list<MemberCluster>(memberClusterGvr, undefined)).items
      .filter((c) => clusters.some((x) => x.name === c.metadata.name))
      .map(
        (c) =>
          `${c.metadata.name} ${(c.status?.conditions as Cond[] | undefined)?.map((x) => `${x.type}=${x.status}`).join(',')}`,
      )
      .join('; ')}`,
    `stand-ins: ${lbs
      .all()
      .map((s) => `${s.prod}@${s.ip}:${s.port}${s.running ? '' : ' (stopped)'}`)
      .join(' ')}`,
    `router: ${JSON.stringify(r?.status)}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Writing

const tenantOf = (name: string, spec: Partial<TenantSpec>): Tenant => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Tenant',
  metadata: { name, namespace: ns },
  spec: { fleet: FLEET, hosts: [`${name}.shop.example`], ...spec },
});

/** 40 tenants: 20 Dual, 20 Single, one host each. */
const tenants40 = () =>
  Array.from({ length: 40 }, (_, i) =>
    tenantOf(`t-${String(i).padStart(2, '0')}`, { redundancy: i % 2 ? 'Dual' : 'Single' }),
  );

// ---------------------------------------------------------------------------------------------

test(
  '40 tenants over 6 Prods: each host through HAProxy reaches the Prod its Tenant status names',
  { timeout: 180_000 },
  async () => {
    const t0 = Date.now();
    await rest.create<Router>(routerGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Router',
      metadata: { name: ROUTER, namespace: ns },
      spec: {
        haproxy: labHAProxy(haproxy, POLL),
      },
    });
    await rest.create<Fleet>(fleetGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Fleet',
      metadata: { name: FLEET, namespace: ns },
      spec: {
        app: 'shop',
        version: '1.0.0',
        template: {
          components: [
            {
              name: 'web',
              image: 'registry.example/shop:{{version}}',
              ports: [{ name: 'http', port }],
              expose: 'LoadBalancer',
            },
          ],
          capacity: 20,
        },
        prods: { perDomain: 2 },
        clusterSelector: { matchLabels: { run: id } },
        routing: { router: ROUTER },
      },
    });
    const all = tenants40();
    for (let i = 0; i < all.length; i += 10)
      await Promise.all(all.slice(i, i + 10).map((t) => rest.create(tenantGvr, t)));

    await until(
      'all 40 tenants Placed on Prods that answer',
      async () => {
        alive();
        const ts = await tenantsNow();
        return ts.length === 40 && ts.every(placed) && (await prodsAnswering(ts)) ? ts : undefined;
      },
      150_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnose()}`);
    });
    const placedAt = Date.now();
    await until(
      'the Router serving its table',
      async () => {
        alive();
        const r = await getRouter();
        return serving(r) && r.status?.table?.hosts === 40 ? r : undefined;
      },
      20_000,
    );
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow(haproxy.url)).length === 0 ? true : undefined),
      10_000,
      200,
    );
    const routedAt = Date.now();
    // The Fleet evens the placement out as its Prods turn Ready: once all six are, once more,
    // every tenant, no retry.
    await until('the Fleet with six Prods ready', async () =>
      (await rest.get<Fleet>(fleetGvr, ns, FLEET)).status?.readyProds === 6 ? true : undefined,
    );
    await sleep(2000);
    assert.deepEqual(await misroutedNow(haproxy.url), []);
    const tenants = await tenantsNow();
    // Dual tenants' secondaries are real: each answers through its own slot too.
    const r = await getRouter();
    assert.equal(condition(r, 'Ready')?.status, 'True', JSON.stringify(r.status?.conditions));
    assert.equal(condition(r, 'Degraded')?.status, 'False', JSON.stringify(r.status?.conditions));
    const allProds = (await rest.list<Prod>(prodGvr, ns)).items.filter(
      (p) => p.metadata.labels?.['kachiku.io/fleet'] === FLEET,
    );
    assert.equal(allProds.length, 6);
    // One slot per Prod a tenant names (placement decides which; with 60 copies on 6 Prods of
    // 20, all of them).
    const named = [
      ...new Set(tenants.flatMap((t) => [t.status?.prods?.primary, t.status?.prods?.secondary])),
    ]
      .filter((p): p is string => Boolean(p))
      .sort();
    const slots = r.status?.slots ?? [];
    assert.deepEqual(slots.map((s) => s.prod).sort(), named, 'one slot per Prod named');
    assert.ok(slots.every((s) => s.state === 'Active'));
    assert.equal(new Set(slots.map((s) => s.slot)).size, slots.length, 'distinct slots');
    console.log(
      `40 tenants placed ${ms(placedAt - t0)} after the Fleet was created, all routed ${ms(routedAt - placedAt)} later; table ${r.status?.table?.version}, slots ${slots.map((s) => `${s.slot}:${s.prod}`).join(' ')}`,
    );
  },
);

test(
  'Prods whose tenants the Router routes are InService; routed nowhere, Ready again; routed again, InService',
  { timeout: 60_000 },
  async () => {
    const phases = async () =>
      (await rest.list<Prod>(prodGvr, ns)).items
        .filter((p) => p.metadata.labels?.['kachiku.io/fleet'] === FLEET)
        .map((p) => `${p.metadata.name}: ${p.status?.phase}`)
        .sort();
    const all = (phase: string) => async () => {
      alive();
      const ps = await phases();
      return ps.length === 6 && ps.every((p) => p.endsWith(`: ${phase}`)) ? ps : undefined;
    };
    await until('every Prod InService', all('InService'), 10_000, 100);
    await rest.patch(fleetGvr, ns, FLEET, { spec: { routing: null } }, 'merge');
    const off = Date.now();
    await until('every Prod Ready', all('Ready'), 10_000, 100);
    const readyAt = Date.now();
    const r = await getRouter();
    assert.equal(r.status?.table?.hosts, 0);
    assert.ok((r.status?.slots ?? []).every((s) => s.state === 'Releasing'));
    await rest.patch(fleetGvr, ns, FLEET, { spec: { routing: { router: ROUTER } } }, 'merge');
    const on = Date.now();
    await until('every Prod InService again', all('InService'), 10_000, 100);
    const inServiceAt = Date.now();
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow(haproxy.url)).length === 0 ? true : undefined),
      10_000,
      200,
    );
    console.log(
      `routed nowhere: every Prod Ready ${ms(readyAt - off)} later; routed again: InService ${ms(inServiceAt - on)} later`,
    );
  },
);

test(
  'a second Tenant claiming a host: the host stays with its first tenant, the Router says why',
  { timeout: 60_000 },
  async () => {
    const first = (await tenantsNow()).find((t) => t.metadata.name === 't-00')!;
    const host = hostOf(first);
    await rest.create(tenantGvr, tenantOf('dup', { hosts: [host] }));
    const r = await until(
      'the Router reporting the claim',
      async () => {
        alive();
        const r = await getRouter();
        return r.status?.table?.unrouted?.some((u) => u.startsWith(`${host} (tenant dup)`))
          ? r
          : undefined;
      },
      20_000,
    );
    assert.equal(condition(r, 'Degraded')?.status, 'True');
    assert.equal(condition(r, 'Degraded')?.reason, 'Unrouted');
    assert.equal(condition(r, 'Ready')?.status, 'True', 'the rest is served');
    assert.equal(r.status?.table?.hosts, 40);
    for (let i = 0; i < 5; i++) assert.deepEqual(await misrouted(haproxy.url, [first]), []);
    console.log(`unrouted: ${r.status?.table?.unrouted?.join('; ')}`);
    await rest.delete(tenantGvr, ns, 'dup');
    await until(
      'Degraded False again',
      async () => (condition(await getRouter(), 'Degraded')?.status === 'False' ? true : undefined),
      20_000,
    );
  },
);

test('bad input is refused by the CRDs, naming the field', { timeout: 30_000 }, async () => {
  const refused = async (gvr: typeof routerGvr, obj: KubeObject, field: RegExp) =>
    assert.rejects(
      rest.create(gvr, obj),
      (e: unknown) => e instanceof ApiError && e.code === 422 && field.test(e.message),
    );
  const router = (haproxySpec: Record<string, unknown>): KubeObject =>
    ({
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Router',
      metadata: { name: 'bad', namespace: ns },
      spec: {
        haproxy: {
          instances: [{ name: 'a', runtimeAPI: '127.0.0.1:9999' }],
          map: '/m.map',
          slots: 4,
          serversPerSlot: 2,
          ...haproxySpec,
        },
      },
    }) as KubeObject;
  await refused(routerGvr, router({ instances: [] }), /spec\.haproxy\.instances/);
  await refused(
    routerGvr,
    router({ instances: [{ name: 'a', runtimeAPI: 'not an address' }] }),
    /spec\.haproxy\.instances\[0\]\.runtimeAPI/,
  );
  await refused(routerGvr, router({ slots: 0 }), /spec\.haproxy\.slots/);
  await refused(routerGvr, router({ pollInterval: '10ms' }), /spec\.haproxy\.pollInterval/);
  await refused(
    tenantGvr,
    tenantOf('bad-host', { hosts: ['Not_A.Host'] }) as KubeObject,
    /spec\.hosts\[0\]/,
  );
  await refused(
    fleetGvr,
    {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Fleet',
      metadata: { name: 'bad', namespace: ns },
      spec: {
        app: 'shop',
        version: '1',
        template: { components: [{ name: 'web', image: 'x:{{version}}' }], capacity: 1 },
        prods: { perDomain: 1 },
        routing: { router: 'Not_A_Name' },
      },
    } as KubeObject,
    /spec\.routing\.router/,
  );
});

test(
  `a Prod held: its Dual tenants go to their secondary, its Single ones stay, status.held lists it within ${HOLD_BOUND_MS} ms; lifted: back`,
  { timeout: 60_000 },
  async () => {
    const tenants = await tenantsNow();
    const dual = (t: Tenant) => t.spec.redundancy === 'Dual';
    const on = (p: string) => tenants.filter((t) => primaryOf(t) === p);
    // The Prod that is the primary of the most Dual tenants, among those with a Single one too.
    const held = [...new Set(tenants.map(primaryOf))]
      .filter((p): p is string => p !== undefined && on(p).some((t) => !dual(t)))
      .sort((a, b) => on(b).filter(dual).length - on(a).filter(dual).length)[0]!;
    const moved = on(held).filter(dual);
    const singles = on(held).filter((t) => !dual(t));
    assert.ok(moved.length >= 1, `${held} is the primary of ${moved.length} Dual tenants`);
    const secondaryOf = new Map(moved.map((t) => [t.metadata.name, t.status!.prods!.secondary!]));
    const answers = async (ts: Tenant[], expect: (t: Tenant) => string | undefined) => {
      const wrong: string[] = [];
      for (const t of ts)
        for (let i = 0; i < 3; i++) {
          const r = await viaRouter(haproxy.url, hostOf(t));
          if (r.status !== 200 || r.body !== expect(t))
            wrong.push(`${t.metadata.name}: ${r.status} ${r.body} (expected ${expect(t)})`);
        }
      return wrong;
    };
    assert.deepEqual(await answers(tenants, primaryOf), []);

    // Only the Prod's watch may bring the Router back in time: its poll is 30 s meanwhile.
    const poll = async (pollInterval: string) => {
      await rest.patch(routerGvr, ns, ROUTER, { spec: { haproxy: { pollInterval } } }, 'merge');
      await until('the Router at its new generation', async () => {
        const r = await getRouter();
        return r.status?.observedGeneration === r.metadata.generation || undefined;
      });
    };
    await poll('30s');
    const heldNow = async () => (await getRouter()).status?.held ?? [];
    try {
      // Whatever reconcile the 1 s poll had queued comes before the hold.
      await sleep(1500);
      const hold = async (value: string | null, prod = held) => {
        const at = Date.now();
        await rest.patch(
          prodGvr,
          ns,
          prod,
          { metadata: { annotations: { [HOLD_ANNOTATION]: value } } },
          'merge',
        );
        return at;
      };
      const heldAt = await hold('shop-2.0.0');
      const listed = await until(
        `${held} in status.held`,
        async () => ((await heldNow()).includes(held) ? Date.now() : undefined),
        HOLD_BOUND_MS + 5000,
        50,
      );
      assert.deepEqual(await heldNow(), [held]);
      assert.ok(listed - heldAt <= HOLD_BOUND_MS, `held listed ${listed - heldAt} ms after`);
      // Listed: every instance already serves the table that sends them away.
      assert.deepEqual(await answers(moved, (t) => secondaryOf.get(t.metadata.name)), []);
      assert.deepEqual(await answers(singles, primaryOf), [], 'Single tenants stay');
      const others = tenants.filter((t) => primaryOf(t) !== held);
      assert.deepEqual(await answers(others, primaryOf), [], 'other tenants unchanged');
      // The assignment is not changed by a hold.
      const now = new Map((await tenantsNow()).map((t) => [t.metadata.name, t.status?.prods]));
      for (const t of on(held)) assert.deepEqual(now.get(t.metadata.name), t.status?.prods);

      const liftedAt = await hold(null);
      const unlisted = await until(
        `${held} out of status.held`,
        async () => (!(await heldNow()).includes(held) ? Date.now() : undefined),
        HOLD_BOUND_MS + 5000,
        50,
      );
      assert.ok(unlisted - liftedAt <= HOLD_BOUND_MS, `unlisted ${unlisted - liftedAt} ms after`);
      await until(
        'every host routed to its primary again',
        async () => ((await misroutedNow(haproxy.url)).length === 0 ? true : undefined),
        HOLD_BOUND_MS,
        100,
      );

      // Both Prods of a Dual tenant held (a Release never does it): its order is kept, the
      // primary is not listed, and an Event says why.
      const other = secondaryOf.get(moved[0]!.metadata.name)!;
      await hold('shop-2.0.0', other);
      await hold('shop-2.0.0');
      await until('an Event saying why the hold is blocked', async () =>
        (await routerEvents()).includes('HoldBlocked') ? true : undefined,
      );
      const blocked = await until('the Router serving the table with both held', async () => {
        const r = await getRouter();
        return serving(r) ? r : undefined;
      });
      assert.ok(!(blocked.status?.held ?? []).includes(held), JSON.stringify(blocked.status));
      assert.deepEqual(await answers([moved[0]!], primaryOf), [], 'its order is kept');
      await hold(null, other);
      await hold(null);
      await until(
        'every host routed to its primary again',
        async () => ((await misroutedNow(haproxy.url)).length === 0 ? true : undefined),
        5000,
        100,
      );
      console.log(
        `${held} held: listed ${ms(listed - heldAt)} after the annotation (${moved.length} Dual tenants to their secondary, ${singles.length} Single ones stay); lifted: unlisted ${ms(unlisted - liftedAt)} after`,
      );
    } finally {
      await poll(POLL);
    }
  },
);

test(
  `a Prod's server stops: its Dual tenants are answered by their secondary within ${FAILOVER_BOUND_MS} ms, then back`,
  { timeout: 120_000 },
  async () => {
    const tenants = await tenantsNow();
    const dual = tenants.filter((t) => t.spec.redundancy === 'Dual');
    const byPrimary = new Map<string, Tenant[]>();
    for (const t of dual)
      byPrimary.set(primaryOf(t)!, [...(byPrimary.get(primaryOf(t)!) ?? []), t]);
    const singlesOn = (p: string) =>
      tenants.filter((t) => t.spec.redundancy !== 'Dual' && primaryOf(t) === p);
    // The Prod that is the primary of the most Dual tenants, among those with a Single one too.
    const [victim, onIt] = [...byPrimary]
      .filter(([p]) => singlesOn(p).length > 0)
      .sort((a, b) => b[1].length - a[1].length)[0]!;
    assert.ok(onIt.length >= 2, `${victim} is the primary of ${onIt.length} Dual tenants`);
    const secondary = new Map(onIt.map((t) => [hostOf(t), t.status!.prods!.secondary!]));
    const traffic = opened(new Traffic(haproxy.url, onIt.map(hostOf), { rate: 200 }));
    // Its Single tenants have nowhere else to go: the slot's own 503, never another Prod.
    const singles = opened(new Traffic(haproxy.url, singlesOn(victim).map(hostOf), { rate: 50 }));
    traffic.start();
    singles.start();
    await sleep(1500);
    const stoppedAt = Date.now();
    await Promise.all(lbs.of(victim).map((s) => s.stop()));
    await sleep(FAILOVER_BOUND_MS + 3000);
    alive();
    const restartedAt = Date.now();
    await Promise.all(lbs.of(victim).map((s) => s.start()));
    const back = await until(
      `requests back on ${victim}`,
      () => {
        const recent = traffic.samples.filter((s) => s.sentAt > Date.now() - 300);
        return recent.length > 10 && recent.every((s) => s.prod === victim)
          ? Date.now()
          : undefined;
      },
      15_000,
      50,
    );
    await sleep(500);
    const samples = await traffic.stop();
    const singleSamples = await singles.stop();

    const beforeStop = samples.filter((s) => s.doneAt < stoppedAt);
    assert.ok(beforeStop.length > 100, `${beforeStop.length} requests before the stop`);
    assert.deepEqual(
      beforeStop.filter((s) => failed(s) || s.prod !== victim).map(show),
      [],
      `all answered by ${victim} before`,
    );
    const during = samples.filter((s) => s.sentAt >= stoppedAt && s.sentAt < restartedAt);
    const failures = during.filter(failed);
    const afterBound = during.filter((s) => s.sentAt >= stoppedAt + FAILOVER_BOUND_MS);
    assert.ok(afterBound.length > 200, `${afterBound.length} requests after the bound`);
    assert.deepEqual(
      afterBound.filter((s) => failed(s) || s.prod !== secondary.get(s.host)).map(show),
      [],
      `after ${FAILOVER_BOUND_MS} ms every request is answered by the tenant's secondary`,
    );
    const lastFailure = failures.length ? Math.max(...failures.map((s) => s.doneAt)) : stoppedAt;
    const firstSecondary = Math.min(
      ...during.filter((s) => s.prod === secondary.get(s.host)).map((s) => s.doneAt),
    );
    const singlesDown = singleSamples.filter(
      (s) => s.sentAt >= stoppedAt + FAILOVER_BOUND_MS && s.doneAt < restartedAt,
    );
    assert.ok(singlesDown.length > 50, `${singlesDown.length} Single requests while it is down`);
    assert.deepEqual(
      singlesDown.filter((s) => s.status !== 503 || s.prod !== undefined).map(show),
      [],
      'Single tenants of a dead Prod get 503 from its slot',
    );
    assert.deepEqual(
      singleSamples.filter((s) => s.doneAt < stoppedAt && s.prod !== victim).map(show),
      [],
    );
    // Fail-back loses nothing: the primary's checks pass before it takes traffic again.
    const failback = samples.filter((s) => s.sentAt >= restartedAt);
    assert.deepEqual(failback.filter(failed).map(show), [], 'no failure while failing back');
    const lastFailedSent = failures.length ? Math.max(...failures.map((s) => s.sentAt)) : stoppedAt;
    console.log(
      `${victim} stopped: ${failures.length} of ${during.length} requests of its ${onIt.length} Dual tenants failed (sent at most ${ms(lastFailedSent - stoppedAt)} after the stop, answered 503 at most ${ms(lastFailure - stoppedAt)} after it); first answer from a secondary ${ms(firstSecondary - stoppedAt)} after the stop; back on ${victim} ${ms(back - restartedAt)} after it listened again`,
    );
  },
);

test(
  `HAProxy killed and started again: the current table is served again within ${RESTART_BOUND_MS} ms, with no Fleet or Tenant change`,
  { timeout: 120_000 },
  async () => {
    const tenants = await tenantsNow();
    const before = await getRouter();
    const versions = new Map(tenants.map((t) => [t.metadata.name, t.metadata.resourceVersion]));
    const fleetVersion = (await rest.get<Fleet>(fleetGvr, ns, FLEET)).metadata.resourceVersion;
    assert.deepEqual(await misrouted(haproxy.url, tenants), []);

    const killedAt = Date.now();
    const info = await restartRouter(lab.dir, { kill: true });
    const upAt = Date.now();
    // What the new process serves before kachiku sees it: its files, not the table.
    const first = await misrouted(haproxy.url, tenants);
    await until(
      'every host routed to its primary again',
      async () => ((await misrouted(haproxy.url, tenants)).length === 0 ? true : undefined),
      RESTART_BOUND_MS + 10_000,
      50,
    );
    const routedAt = Date.now();
    alive();
    assert.ok(
      routedAt - upAt <= RESTART_BOUND_MS,
      `routed again ${routedAt - upAt} ms after HAProxy answered`,
    );
    const r = await until(
      'the Router status naming the new process',
      async () => {
        const r = await getRouter();
        return r.status?.instances?.[0]?.instance === info.instance && serving(r) ? r : undefined;
      },
      10_000,
    );
    assert.notEqual(r.status?.instances?.[0]?.instance, before.status?.instances?.[0]?.instance);
    await until('an Event saying it was programmed again', async () =>
      (await routerEvents()).includes('Reprogrammed') ? true : undefined,
    );
    assert.equal(r.status?.table?.version, before.status?.table?.version, 'the same table');
    const after = await tenantsNow();
    assert.deepEqual(
      after
        .filter((t) => versions.get(t.metadata.name) !== t.metadata.resourceVersion)
        .map((t) => t.metadata.name),
      [],
      'no Tenant written',
    );
    assert.equal(
      (await rest.get<Fleet>(fleetGvr, ns, FLEET)).metadata.resourceVersion,
      fleetVersion,
      'no Fleet written',
    );
    console.log(
      `HAProxy killed: answering again ${ms(upAt - killedAt)} later, serving ${tenants.length - first.length} of ${tenants.length} hosts right (its files), the whole table ${ms(routedAt - upAt)} after it answered`,
    );
  },
);

test(
  'an HA pair: both instances get the table; one away is reported and keeps its last table, then is brought up to date',
  { timeout: 150_000 },
  async () => {
    const dir = `${lab.dir}/router-test-b`;
    mkdirSync(dir, { recursive: true });
    const b = {
      port: await freePort(),
      adminPort: await freePort(),
      socket: `${dir}/admin.sock`,
      // The pair shares its configuration: the same map file (read at start, never written).
      mapFile: haproxy.mapFile,
      serverStateFile: `${dir}/server-state`,
      pidFile: `${dir}/haproxy.pid`,
      slots: haproxy.slots,
      serversPerSlot: haproxy.serversPerSlot,
    };
    writeFileSync(`${dir}/haproxy.cfg`, routerConfig(b));
    if (!existsSync(b.serverStateFile)) writeFileSync(b.serverStateFile, '1\n');
    const urlB = `http://127.0.0.1:${b.port}`;
    let proc: ChildProcess | undefined;
    const startB = async () => {
      proc = spawn('/usr/sbin/haproxy', ['-W', '-db', '-f', `${dir}/haproxy.cfg`], {
        stdio: 'ignore',
      });
      return until('the second HAProxy answering', () =>
        showInfo(runtimeClient({ socket: b.socket }, { timeoutMs: 1000 })),
      );
    };
    const killB = async () => {
      const p = proc!;
      const exited = new Promise((ok) => p.once('exit', ok));
      p.kill('SIGKILL');
      await exited;
    };
    try {
      await startB();
      const spec = (await getRouter()).spec;
      await rest.patch(
        routerGvr,
        ns,
        ROUTER,
        {
          spec: {
            haproxy: {
              ...spec.haproxy,
              instances: [
                ...spec.haproxy!.instances,
                { name: 'b', runtimeAPI: `127.0.0.1:${b.adminPort}` },
              ],
            },
          },
        },
        'merge',
      );
      await until('both instances serving the table', async () => {
        alive();
        return serving(await getRouter(), ['lab', 'b']) || undefined;
      });
      assert.deepEqual(await misroutedNow(urlB), [], 'instance b routes every host');
      assert.deepEqual(await misroutedNow(haproxy.url), [], 'instance lab too');

      await killB();
      const away = await until('b reported unreachable', async () => {
        const r = await getRouter();
        const st = r.status?.instances?.find((i) => i.name === 'b');
        return st && !st.reachable ? r : undefined;
      });
      assert.equal(condition(away, 'Degraded')?.reason, 'RouterUnreachable');
      await until('a Warning Event about b', async () =>
        (await routerEvents()).includes('RouterUnreachable') ? true : undefined,
      );
      assert.equal(condition(away, 'Ready')?.status, 'True', 'lab still serves');
      const lastTable = away.status!.table!.version;
      assert.equal(away.status?.instances?.find((i) => i.name === 'b')?.tableVersion, lastTable);

      // The table changes while b is away: a new tenant.
      await rest.create(tenantGvr, tenantOf('late', { redundancy: 'Dual' }));
      const late = await until('late placed and routed on lab', async () => {
        const t = (await tenantsNow()).find((x) => x.metadata.name === 'late');
        return t && placed(t) && (await misrouted(haproxy.url, [t])).length === 0 ? t : undefined;
      });
      const changed = await until('the new table in status', async () => {
        const r = await getRouter();
        return r.status?.table?.version !== lastTable && serving(r, ['lab']) ? r : undefined;
      });
      assert.equal(
        changed.status?.instances?.find((i) => i.name === 'b')?.tableVersion,
        lastTable,
        'b: the last table it was given',
      );

      // b starts again (from its files: the map file as the lab started it) and is brought up to date.
      await startB();
      const upAt = Date.now();
      await until(
        'b routing every host again',
        async () => ((await misroutedNow(urlB)).length === 0 ? true : undefined),
        RESTART_BOUND_MS + 10_000,
        100,
      );
      const routedAt = Date.now();
      assert.ok(routedAt - upAt <= RESTART_BOUND_MS, `b routed ${routedAt - upAt} ms after start`);
      // Read again: the Fleet may have moved it since (a rebalance after the previous test).
      const lateNow = (await tenantsNow()).find((x) => x.metadata.name === late.metadata.name)!;
      assert.deepEqual(
        await misrouted(urlB, [lateNow]),
        [],
        'b routes the tenant added while away',
      );
      await until(
        'both serving again',
        async () => serving(await getRouter(), ['lab', 'b']) || undefined,
      );
      console.log(`instance b back: whole table ${ms(routedAt - upAt)} after it answered`);
    } finally {
      if (proc && proc.exitCode === null && proc.signalCode === null) await killB();
      const spec = (await getRouter()).spec;
      await rest.patch(
        routerGvr,
        ns,
        ROUTER,
        {
          spec: {
            haproxy: {
              ...spec.haproxy!,
              instances: spec.haproxy!.instances.filter((i) => i.name !== 'b'),
            },
          },
        },
        'merge',
      );
    }
  },
);

test(
  `the apiserver and the app's pods of a Dual tenants' primary cluster stopped: their requests are answered by their secondary within ${FAILOVER_BOUND_MS} ms; the Fleet promotes it and the table follows`,
  { timeout: 150_000 },
  async () => {
    const tenants = await tenantsNow();
    const prods = (await rest.list<Prod>(prodGvr, ns)).items;
    const clusterOfProd = new Map(
      prods.map((p) => [p.metadata.name, p.spec.cluster ?? p.status?.cluster]),
    );
    const dual = tenants.filter((t) => t.spec.redundancy === 'Dual');
    // Not onprem-a: the drain test below drains it. The one with the most Dual primaries.
    const down = [clusters[1], clusters[2]]
      .map((c) => ({
        c,
        n: dual.filter((t) => clusterOfProd.get(primaryOf(t)!) === c.name).length,
      }))
      .sort((a, b) => b.n - a.n)[0]!.c;
    const there = new Set(
      prods
        .filter((p) => clusterOfProd.get(p.metadata.name) === down.name)
        .map((p) => p.metadata.name),
    );
    const flip = dual.filter((t) => there.has(primaryOf(t)!));
    const keep = dual.filter((t) => there.has(t.status?.prods?.secondary ?? ''));
    assert.ok(flip.length >= 2, `${flip.length} Dual tenants with their primary on ${down.name}`);
    const survivor = new Map(flip.map((t) => [hostOf(t), t.status!.prods!.secondary!]));
    const primary = new Map(keep.map((t) => [hostOf(t), primaryOf(t)!]));
    const traffic = opened(
      new Traffic(haproxy.url, [...survivor.keys(), ...primary.keys()], {
        rate: 200,
      }),
    );
    traffic.start();
    await sleep(1500);

    // The cluster fails as a whole: its apiserver (as fleet.test.ts stops it) and the app's pods
    // there (the stand-ins of its Prods; kwok runs none).
    const apiserver = `${down.lab}-apiserver`;
    await lbs.pause(down.lab);
    const standIns = [...there].flatMap((p) => lbs.of(p));
    const stoppedAt = Date.now();
    let restartedAt = 0;
    let flippedAt = 0;
    try {
      await Promise.all([stopLabProcess(lab.dir, apiserver), ...standIns.map((s) => s.stop())]);
      // The Fleet judges the cluster down and promotes the secondaries; the Router publishes it.
      flippedAt = await until(
        'every such Dual tenant with its secondary as primary, and routed so',
        async () => {
          alive();
          const ts = new Map((await tenantsNow()).map((t) => [hostOf(t), t]));
          const done = [...survivor].every(([h, p]) => primaryOf(ts.get(h)!) === p);
          return done && serving(await getRouter()) ? Date.now() : undefined;
        },
        60_000,
        100,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await diagnose()}`);
      });
      await sleep(2000);
    } finally {
      restartedAt = Date.now();
      await startLabProcess(lab.dir, apiserver);
      await Promise.all(standIns.map((s) => s.start()));
      const member = new Rest(client(members.find((m) => m.name === down.lab)!));
      await until(
        `${apiserver} answering`,
        () => member.list(namespaceGvr, undefined).then(() => true),
        30_000,
      );
      lbs.resume(down.lab);
    }
    const samples = await traffic.stop();

    const byHost = (hosts: Map<string, string>) => samples.filter((s) => hosts.has(s.host));
    const afterBound = byHost(survivor).filter(
      (s) => s.sentAt >= stoppedAt + FAILOVER_BOUND_MS && s.sentAt < restartedAt,
    );
    assert.ok(afterBound.length > 200, `${afterBound.length} requests after the bound`);
    assert.deepEqual(
      afterBound.filter((s) => failed(s) || s.prod !== survivor.get(s.host)).map(show),
      [],
      `after ${FAILOVER_BOUND_MS} ms every request is answered by the tenant's secondary, through the promotion`,
    );
    const failures = byHost(survivor).filter((s) => s.sentAt >= stoppedAt && failed(s));
    // Those whose secondary was there: their primary answers throughout.
    assert.deepEqual(
      byHost(primary)
        .filter((s) => s.sentAt < restartedAt && (failed(s) || s.prod !== primary.get(s.host)))
        .map(show),
      [],
      'tenants with only their secondary there are not disturbed',
    );
    await until(
      `${down.name} Reachable again`,
      async () => {
        const mc = await rest.get<MemberCluster>(memberClusterGvr, undefined, down.name);
        return condition(mc, 'Reachable')?.status === 'True' || undefined;
      },
      30_000,
    );
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow(haproxy.url)).length === 0 ? true : undefined),
      30_000,
      250,
    );
    alive();
    const lastFailure = failures.length ? Math.max(...failures.map((s) => s.sentAt)) : stoppedAt;
    console.log(
      `${down.lab} stopped with its stand-ins: ${failures.length} requests of its ${flip.length} Dual primaries failed (the last sent ${ms(lastFailure - stoppedAt)} after the stop); promoted and routed ${ms(flippedAt - stoppedAt)} after it`,
    );
  },
);

test(
  'a cluster drained under traffic: no Dual tenant request fails, Single ones only inside their move, everyone ends on the new Prod',
  { timeout: 180_000 },
  async () => {
    const drained = clusters[0];
    // Room for the drained cluster's tenants: every Prod back in service after the previous
    // tests' outages (a failure here is the fleet before the drain, not the drain).
    await until(
      'every Prod Ready before the drain',
      async () => {
        const ps = (await rest.list<Prod>(prodGvr, ns)).items;
        return (
          (ps.length > 0 && ps.every((p) => condition(p, 'Ready')?.status === 'True')) || undefined
        );
      },
      60_000,
      500,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnose()}`);
    });
    // The previous test's cluster came back: the Fleet may still be rebalancing onto it, and
    // HAProxy serves a move a few ms after the Tenant says it. Start from a read that the
    // router agrees with, read again unchanged.
    const before = await routingSettled();
    const prods = (await rest.list<Prod>(prodGvr, ns)).items;
    const clusterOf = (p: Prod) => p.spec.cluster ?? p.status?.cluster;
    const there = new Set(
      prods.filter((p) => clusterOf(p) === drained.name).map((p) => p.metadata.name),
    );
    const leaving = before.filter((t) =>
      [t.status?.prods?.primary, t.status?.prods?.secondary].some((p) => p && there.has(p)),
    );
    assert.ok(leaving.length >= 10, `${leaving.length} tenants on ${drained.name}`);

    const watch = await watchTenants();
    const hostTenant = new Map(before.map((t) => [hostOf(t), t]));
    const traffic = opened(new Traffic(haproxy.url, [...hostTenant.keys()], { rate: 300 }));
    traffic.start();
    await sleep(1000);
    const drainAt = Date.now();
    await rest.patch(memberClusterGvr, undefined, drained.name, { spec: { drain: true } }, 'merge');
    const after = await until(
      `every tenant off ${drained.name} and routed to its new primary`,
      async () => {
        alive();
        const f = await rest.get<Fleet>(fleetGvr, ns, FLEET);
        if (f.status?.drains?.find((d) => d.cluster === drained.name)?.phase !== 'Drained')
          return undefined;
        const ts = await tenantsNow();
        if (
          ts.some((t) =>
            [t.status?.prods?.primary, t.status?.prods?.secondary].some((p) => p && there.has(p)),
          )
        )
          return undefined;
        return (await misrouted(haproxy.url, ts)).length === 0 ? ts : undefined;
      },
      150_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnose()}`);
    });
    const doneAt = Date.now();
    // Traffic a little longer: the drained Prods are retired and their servers go.
    await until(
      `the Prods of ${drained.name} retired and their servers gone`,
      () => ([...there].every((p) => lbs.of(p).every((s) => !s.running)) ? true : undefined),
      60_000,
      250,
    );
    await sleep(1000);
    const samples = await traffic.stop();
    await watch.stop();
    const end = Date.now();

    // The assignment history of each tenant (from the test's watch).
    const history = new Map<string, Change[]>();
    for (const c of watch.changes) history.set(c.tenant, [...(history.get(c.tenant) ?? []), c]);
    const everOn = (name: string) =>
      new Set((history.get(name) ?? []).flatMap((c) => [c.primary, c.secondary]).filter(Boolean));
    const byTenant = new Map<string, Sample[]>();
    for (const s of samples) {
      const t = hostTenant.get(s.host)!.metadata.name;
      byTenant.set(t, [...(byTenant.get(t) ?? []), s]);
    }
    assert.ok(
      samples.length > (20 * (end - drainAt)) / 1000,
      `${samples.length} requests in ${end - drainAt} ms`,
    );

    const problems: string[] = [];
    const windows: number[] = [];
    const moveLatency: number[] = [];
    let singleFailures = 0;
    for (const t of before) {
      const name = t.metadata.name;
      const ss = byTenant.get(name) ?? [];
      const dual = t.spec.redundancy === 'Dual';
      // Every answer came from a Prod the tenant was on at some point: since the watch began, or
      // when the test read it (the rebalancing after the previous test may move a tenant in
      // between, and HAProxy serves the move a few ms after the watch sees it).
      const on = everOn(name);
      for (const p of [t.status?.prods?.primary, t.status?.prods?.secondary]) if (p) on.add(p);
      for (const s of ss)
        if (!failed(s) && !on.has(s.prod))
          problems.push(
            `${name} answered by ${s.prod}, never its Prod (sent ${s.sentAt - drainAt} ms after the drain; it was on ${[...on].join(', ')})`,
          );
      const fails = ss.filter(failed);
      // When its primary changed, and when the new primary first answered.
      const changes = (history.get(name) ?? []).filter((c) => c.at >= drainAt);
      let prev = t.status?.prods?.primary;
      const moves: { at: number; to: string; servedAt?: number }[] = [];
      for (const c of changes) {
        if (c.primary && c.primary !== prev) {
          const servedAt = ss.find((s) => s.sentAt >= c.at && s.prod === c.primary)?.doneAt;
          moves.push({ at: c.at, to: c.primary, servedAt });
          if (servedAt !== undefined) moveLatency.push(servedAt - c.at);
        }
        prev = c.primary ?? prev;
      }
      if (dual) {
        if (fails.length)
          problems.push(`Dual ${name}: ${fails.length} failed, e.g. ${show(fails[0]!)}`);
        continue;
      }
      singleFailures += fails.length;
      for (const f of fails) {
        const m = moves.find((m) => f.sentAt >= m.at - 0 && f.sentAt <= (m.servedAt ?? Infinity));
        if (!m)
          problems.push(
            `Single ${name}: a failure outside its move: ${show(f)}; moves ${JSON.stringify(moves)}`,
          );
      }
      for (const m of moves) if (m.servedAt !== undefined) windows.push(m.servedAt - m.at);
    }
    assert.deepEqual(problems, []);
    // Everyone on its new Prod, none on the drained cluster, read now: the Fleet may rebalance
    // after the drain (the retired Prods' room), so the Tenants of \`after\` can be out of date.
    const settled = await routingSettled();
    assert.deepEqual(
      settled.filter((t) =>
        [t.status?.prods?.primary, t.status?.prods?.secondary].some((p) => p && there.has(p)),
      ),
      [],
      `no tenant on ${drained.name}`,
    );
    const r = await getRouter();
    assert.ok(serving(r), 'the Router serves its table');
    const movedTenants = after.filter((t) =>
      leaving.some((l) => l.metadata.name === t.metadata.name),
    ).length;
    console.log(
      `drain of ${drained.name}: ${movedTenants} tenants moved in ${ms(doneAt - drainAt)}; ${samples.length} requests (${Math.round(samples.length / ((end - drainAt) / 1000 + 1))}/s), Dual failures 0, Single failures ${singleFailures}; primary change → served by the new Prod: p50 ${ms(percentile(moveLatency, 50))}, p99 ${ms(percentile(moveLatency, 99))}, max ${ms(Math.max(...moveLatency))} over ${moveLatency.length} moves; slots now ${(r.status?.slots ?? []).map((s) => `${s.slot}:${s.prod}:${s.state}`).join(' ')}`,
    );
    if (windows.length)
      console.log(
        `Single move windows: p50 ${ms(percentile(windows, 50))}, max ${ms(Math.max(...windows))}`,
      );
  },
);

/**
 * The Tenants once HAProxy routes every host to its primary, by Tenants read unchanged across
 * the sweep (a rebalance may be moving some: HAProxy serves a move a few ms after the Tenant
 * says it).
 */
async function routingSettled(): Promise<Tenant[]> {
  return until(
    'every host routed to its primary, by Tenants unchanged across the sweep',
    async () => {
      const ts = await tenantsNow();
      if ((await misrouted(haproxy.url, ts)).length) return undefined;
      return sameTenants(ts, await tenantsNow()) ? ts : undefined;
    },
    30_000,
    250,
  );
}

function show(s: Sample): string {
  return `${s.host} sent +${s.sentAt % 100000} ${s.status} ${s.prod ?? s.error ?? ''}`;
}

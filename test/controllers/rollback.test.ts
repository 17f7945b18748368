// The Fleet side of a release rollback, against the lab (issue 14): `kachiku controller` runs as
// one process, as kachiku's ServiceAccount, with every controller — the Fleet places tenants on
// Prods in the three lab members, the Router programs the lab's real HAProxy 2.6. The test plays
// the Release controller's part in a rollback: it annotates two Prods `kachiku.io/avoid` (their
// version failed a gate) and lifts the annotation later; every tenant of theirs must be answered
// through HAProxy by another Prod within ROLLBACK_BOUND_MS, and come back only at the rebalance
// rate. A Release (paused, so that no Release controller moves anything) asks for a standby Prod:
// closed to tenants until the rollback, retired once the Release is gone.
//
// The one stand-in: the lab's members run kwok, which starts no containers and has no cloud, so
// test/support/loadbalancers.ts plays the members' LoadBalancer controller and the app's pods —
// each Prod's LoadBalancer Service gets a loopback address and an HTTP server there answering
// with the Prod's name. HAProxy, the runtime API, the map updates and the requests are real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer } from '../../src/runtime/informer.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { tenantKind, type Tenant, type TenantSpec } from '../../src/api/tenant.js';
import { routerKind, type Router } from '../../src/api/router.js';
import { AVOID_ANNOTATION, releaseKind, type Release } from '../../src/api/release.js';
import {
  SLICE_COUNT,
  sliceAssignment,
  sliceName,
  tenantSliceKind,
  type TenantSlice,
} from '../../src/api/tenantslice.js';
import type { Prod } from '../../src/api/prod.js';
import { prodGvr } from '../../src/controllers/prod/reconciler.js';
import { STANDBY_LABEL } from '../../src/controllers/fleet/prods.js';
import { until } from '../support/wait.js';
import { FleetLab } from '../support/fleetlab.js';
import { viaRouter } from '../support/router.js';
import { labHAProxy } from '../../lab/src/router.js';

const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const routerGvr = gvrOf(routerKind);
const releaseGvr = gvrOf(releaseKind);
const fl = new FleetLab({
  who: 'the rollback test',
  prefix: 'rollback',
  clusterPrefix: 'l',
  kinds: [releaseGvr, tenantGvr, fleetGvr, routerGvr],
});
const { lab, rest, id, lbs } = fl;
const haproxy = lab.router!;
const ROUTER = 'edge';
const FLEET = `shop-${id}`;
const RELEASE = `${FLEET}-2.0.0`;
/** Annotation written → every affected host answered by another Prod through HAProxy. */
const ROLLBACK_BOUND_MS = 5000;
/** The Fleet's rebalance rate: after the rollback, tenants come back at most this fast. */
const REBALANCE_PER_MINUTE = 6;
const TENANTS = 30;

let ns = '';
let port = 0;
const alive = () => fl.alive();

before(async () => {
  ns = await fl.prepare();
  port = await fl.standIns(['127.0.0.10', '127.0.0.20', '127.0.0.40']);
  fl.startController();
  await fl.membersReady();
});

after(() => fl.down());

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: { status?: { conditions?: unknown[] } }, type: string) =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const tenantsNow = async () =>
  (await rest.list<Tenant>(tenantGvr, ns)).items.filter((t) => t.spec.fleet === FLEET);
const fleetNow = () => rest.get<Fleet>(fleetGvr, ns, FLEET);
const prodsNow = async () =>
  (await rest.list<Prod>(prodGvr, ns)).items.filter(
    (p) => p.metadata.labels?.['kachiku.io/fleet'] === FLEET,
  );
const copiesOf = (t: Tenant) =>
  [t.status?.prods?.primary, t.status?.prods?.secondary].filter((p): p is string => Boolean(p));
const hostOf = (t: Tenant) => t.spec.hosts![0]!;
const ms = (n: number) => `${Math.round(n)} ms`;

/** Every placed tenant's Prods have a stand-in answering and an endpoint in their status. */
async function prodsAnswering(tenants: Tenant[]): Promise<boolean> {
  const named = new Set(tenants.flatMap(copiesOf));
  const prods = new Map((await prodsNow()).map((p) => [p.metadata.name, p]));
  return [...named].every(
    (p) =>
      lbs.of(p).some((s) => s.running) &&
      (prods.get(p)?.status?.endpoints ?? []).some((e) => e.address.endsWith(`:${port}`)),
  );
}

/** Each host's answer through HAProxy now (the Prod's name, or the error). */
async function answers(tenants: Tenant[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    tenants.map(async (t) => {
      const r = await viaRouter(haproxy.url, hostOf(t)).catch((e: Error) => ({
        status: 0,
        body: e.message,
      }));
      out.set(t.metadata.name, r.status === 200 ? r.body : `${r.status} ${r.body.trim()}`);
    }),
  );
  return out;
}

/** Every host answered by its primary, as the Tenants say at that moment (read, sweep, re-read). */
async function misroutedNow(): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const before = await tenantsNow();
    const got = await answers(before);
    const wrong = before
      .filter((t) => got.get(t.metadata.name) !== t.status?.prods?.primary)
      .map(
        (t) =>
          `${t.metadata.name}: ${got.get(t.metadata.name)} (primary ${t.status?.prods?.primary})`,
      );
    const after = await tenantsNow();
    const same =
      before.length === after.length &&
      before.every((t, i) => t.metadata.resourceVersion === after[i]?.metadata.resourceVersion);
    if (same || attempt >= 20) return wrong;
  }
}

/** Tenant status changes as a watch sees them, with when. */
interface Change {
  at: number;
  tenant: string;
  copies: string[];
}
async function watchTenants(): Promise<{ changes: Change[]; stop: () => Promise<void> }> {
  const changes: Change[] = [];
  const inf = new Informer<Tenant>(rest, tenantGvr, { namespace: ns });
  inf.addHandler({
    update: (old, t) =>
      JSON.stringify(old.status?.prods) !== JSON.stringify(t.status?.prods) &&
      changes.push({ at: Date.now(), tenant: t.metadata.name, copies: copiesOf(t) }),
  });
  inf.start();
  await inf.waitForSync();
  return { changes, stop: () => inf.stop() };
}

const annotate = (prod: string, value: string | null) =>
  rest.patch(
    prodGvr,
    ns,
    prod,
    { metadata: { annotations: { [AVOID_ANNOTATION]: value } } },
    'merge',
  );

const tenantOf = (name: string, spec: Partial<TenantSpec>): Tenant => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Tenant',
  metadata: { name, namespace: ns },
  spec: { fleet: FLEET, hosts: [`${name}.shop.example`], ...spec },
});

let standby = '';
/** The Prods the rollback avoids, and the tenants that had a copy there. */
let avoided: string[] = [];
let affected: Tenant[] = [];

test(
  'a Fleet, its Router and a paused Release asking for a standby Prod: tenants routed, the standby Prod empty',
  { timeout: 200_000 },
  async () => {
    await rest.create<Router>(routerGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Router',
      metadata: { name: ROUTER, namespace: ns },
      spec: {
        haproxy: labHAProxy(haproxy, '1s'),
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
        drain: { rebalanceMovesPerMinute: REBALANCE_PER_MINUTE },
      },
    });
    // Paused: a Release controller, where there is one, moves nothing; the Release is active all
    // the same (not Succeeded, Failed, RolledBack, Aborted or Superseded).
    await rest.create<Release>(releaseGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Release',
      metadata: { name: RELEASE, namespace: ns },
      spec: { fleet: FLEET, version: '2.0.0', paused: true, strategy: { standbyProds: 1 } },
    });
    const all = Array.from({ length: TENANTS }, (_, i) =>
      tenantOf(`t-${String(i).padStart(2, '0')}`, { redundancy: i % 2 ? 'Dual' : 'Single' }),
    );
    for (let i = 0; i < all.length; i += 10)
      await Promise.all(all.slice(i, i + 10).map((t) => rest.create(tenantGvr, t)));

    const fleet = await until(
      `all ${TENANTS} tenants Placed on Prods that answer, 6 standard Prods and 1 standby Ready`,
      async () => {
        alive();
        const ts = await tenantsNow();
        const f = await fleetNow();
        const ready = (f.status?.prods ?? []).filter(
          (p) => p.phase === 'Ready' || p.phase === 'InService',
        );
        return ts.length === TENANTS &&
          ts.every((t) => condition(t, 'Placed')?.status === 'True') &&
          f.status?.readyProds === 6 &&
          ready.length === 7 &&
          (await prodsAnswering(ts))
          ? f
          : undefined;
      },
      180_000,
      250,
    );
    const prods = await prodsNow();
    const standbys = prods.filter((p) => p.metadata.labels?.[STANDBY_LABEL] === 'true');
    assert.equal(standbys.length, 1, 'one standby Prod');
    standby = standbys[0]!.metadata.name;
    assert.equal(standbys[0]!.spec.version, '1.0.0', 'on the Fleet version');
    const entry = fleet.status?.prods?.find((p) => p.name === standby);
    assert.deepEqual([entry?.state, entry?.tenants], ['closed', 0], 'closed, no tenant');
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow()).length === 0 ? true : undefined),
      20_000,
      200,
    );
    // The assignment the routers read: the Fleet's TenantSlices, owned by it, each tenant in the
    // slice of its name, saying what its status says.
    const slices = (await rest.list<TenantSlice>(gvrOf(tenantSliceKind), ns)).items;
    assert.ok(slices.length > 0 && slices.length <= SLICE_COUNT, `${slices.length} slices`);
    for (const sl of slices) {
      assert.equal(sl.metadata.ownerReferences?.[0]?.uid, fleet.metadata.uid, sl.metadata.name);
      assert.equal(sl.metadata.name, sliceName(FLEET, sl.spec.slice));
    }
    const inSlices = sliceAssignment(FLEET, slices);
    const ts = await tenantsNow();
    assert.equal(inSlices.size, TENANTS);
    for (const t of ts)
      assert.deepEqual(inSlices.get(t.metadata.name), t.status?.prods, t.metadata.name);
  },
);

test(
  `two Prods avoided: every tenant of theirs is answered by another Prod within ${ROLLBACK_BOUND_MS} ms`,
  { timeout: 60_000 },
  async () => {
    const tenants = await tenantsNow();
    // The Prods with the most copies in domains a and b (a rollback of a wave of two).
    const load = new Map<string, number>();
    for (const t of tenants) for (const p of copiesOf(t)) load.set(p, (load.get(p) ?? 0) + 1);
    const busiest = (d: string) =>
      [...load].filter(([p]) => p.startsWith(`${FLEET}-${d}-`)).sort((a, b) => b[1] - a[1])[0]![0];
    avoided = [busiest('a'), busiest('b')];
    affected = tenants.filter((t) => copiesOf(t).some((p) => avoided.includes(p)));
    assert.ok(affected.length >= 8, `${affected.length} tenants affected`);
    const watch = await watchTenants();
    const t0 = Date.now();
    // As the Release controller does (its value: the Release; none of that name exists here).
    await Promise.all(avoided.map((p) => annotate(p, 'rollback-test')));
    let routedAt = 0;
    let last = new Map<string, string>();
    await until(
      'every affected host answered by a Prod that is not avoided',
      async () => {
        alive();
        const start = Date.now();
        last = await answers(affected);
        const ok = [...last.values()].every(
          (body) => body.startsWith(`${FLEET}-`) && !avoided.includes(body),
        );
        if (ok) routedAt = start;
        return ok || undefined;
      },
      20_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(Object.fromEntries(last))}`);
    });
    const routed = routedAt - t0;
    // The Tenants' statuses: every affected one rewritten, none left on an avoided Prod.
    const now = await tenantsNow();
    await watch.stop();
    const stuck = now.filter((t) => copiesOf(t).some((p) => avoided.includes(p)));
    assert.deepEqual(
      stuck.map((t) => t.metadata.name),
      [],
      'no copy left on an avoided Prod',
    );
    const written = Math.max(
      ...affected.map(
        (t) => watch.changes.filter((c) => c.tenant === t.metadata.name).at(-1)?.at ?? Infinity,
      ),
    );
    // Dual tenants kept their good copy: it is one of their two now.
    for (const t of affected.filter((t) => t.spec.redundancy === 'Dual')) {
      const kept = copiesOf(t).find((p) => !avoided.includes(p));
      const after = now.find((x) => x.metadata.name === t.metadata.name)!;
      if (kept) assert.ok(copiesOf(after).includes(kept), `${t.metadata.name} kept ${kept}`);
      assert.equal(copiesOf(after).length, 2, `${t.metadata.name} has two copies again`);
    }
    const f = await fleetNow();
    const state = new Map((f.status?.prods ?? []).map((p) => [p.name, p]));
    for (const p of avoided)
      assert.deepEqual([state.get(p)?.state, state.get(p)?.tenants], ['down', 0], p);
    assert.equal(state.get(standby)?.state, 'open', 'the standby Prod is open during the rollback');
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow()).length === 0 ? true : undefined),
      5_000,
      200,
    );
    console.log(
      `rollback: ${affected.length} tenants on ${avoided.join(', ')}; statuses written ${ms(written - t0)}, every host answered by another Prod ${ms(routed)} after the annotation; the standby Prod hosts ${state.get(standby)?.tenants}`,
    );
    assert.ok(routed <= ROLLBACK_BOUND_MS, `routed in ${ms(routed)}`);
  },
);

test(
  `avoid lifted: tenants come back at the rebalance rate (${REBALANCE_PER_MINUTE}/min), no burst`,
  { timeout: 60_000 },
  async () => {
    const watch = await watchTenants();
    const t0 = Date.now();
    await Promise.all(avoided.map((p) => annotate(p, null)));
    const WINDOW_MS = 25_000;
    const back = () =>
      watch.changes.filter((c) => c.at >= t0 && c.copies.some((p) => avoided.includes(p)));
    await until(
      'a tenant back on a formerly avoided Prod',
      () => (back().length > 0 ? true : undefined),
      WINDOW_MS,
      200,
    );
    await sleep(Math.max(0, t0 + WINDOW_MS - Date.now()));
    await watch.stop();
    alive();
    // The budget: up to perMinute at once (what accumulated), then one per 60/perMinute s.
    const allowed = REBALANCE_PER_MINUTE + Math.ceil((REBALANCE_PER_MINUTE * WINDOW_MS) / 60_000);
    const moved = back();
    console.log(
      `after the avoid was lifted: ${moved.length} tenant moves back onto ${avoided.join(', ')} in ${WINDOW_MS / 1000} s (at most ${allowed} allowed), at ${moved.map((c) => ms(c.at - t0)).join(', ')}`,
    );
    assert.ok(moved.length <= allowed, `${moved.length} moves back: a burst`);
    assert.ok(moved.length < affected.length, 'not everyone at once');
    const f = await fleetNow();
    for (const p of avoided)
      assert.equal(f.status?.prods?.find((x) => x.name === p)?.state, 'open', `${p} open again`);
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow()).length === 0 ? true : undefined),
      5_000,
      200,
    );
  },
);

test(
  'the Release gone: the standby Prod is emptied (make before break) and retired',
  { timeout: 90_000 },
  async () => {
    await rest.delete(releaseGvr, ns, RELEASE);
    await until(
      'the standby Prod retired, no tenant on it',
      async () => {
        alive();
        const p = (await prodsNow()).find((x) => x.metadata.name === standby);
        const ts = await tenantsNow();
        return (!p || p.spec.retired) && ts.every((t) => !copiesOf(t).includes(standby))
          ? true
          : undefined;
      },
      60_000,
      250,
    );
    const f = await fleetNow();
    assert.equal(f.status?.tenants?.placed, TENANTS);
    assert.equal(f.status?.readyProds, 6);
    // The Router follows the moves off it (a reconcile and a map replacement behind).
    await until(
      'every host routed to its primary',
      async () => ((await misroutedNow()).length === 0 ? true : undefined),
      10_000,
      200,
    );
  },
);

// Releases against the lab (issue 14): `kachiku controller` runs as one process, as kachiku's
// ServiceAccount, with every controller — the Fleet controller places the tenants, the Prod
// controller runs the Prods in the three lab members, the Router controller programs the lab's
// real HAProxy, the Release controller rolls versions out in waves and asks the lab's real
// Alertmanager (API v2) for the gates.
//
// The one stand-in: the lab's members run kwok, which starts no containers, so
// test/support/loadbalancers.ts plays the members' LoadBalancer controller and the app's pods:
// each Prod's LoadBalancer Service gets a loopback address and an HTTP server there that answers
// "<prod> <version>", the version being the Prod's status.version as the test's watch of the Prods
// shows it at the moment of the request (what its pods would run once warmed up). HAProxy, the
// requests through it, Alertmanager and every kachiku object are real.
//
// Until the router's hold (helper routerrest) is merged, Router status.held never lists a Prod:
// the controller runs with --release-hold-timeout 3s, so a held Prod with Dual tenants is updated
// 3 s after its hold. The rollback needs placement to treat an avoided Prod as down (helper
// avoid's prodState change).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type KubeObject } from '../../src/runtime/rest.js';
import { Informer } from '../../src/runtime/informer.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { tenantKind, type Tenant, type TenantSpec } from '../../src/api/tenant.js';
import { routerKind, type Router } from '../../src/api/router.js';
import {
  AVOID_ANNOTATION,
  HOLD_ANNOTATION,
  releaseKind,
  type Release,
  type ReleaseSpec,
} from '../../src/api/release.js';
import type { Prod } from '../../src/api/prod.js';
import { prodGvr } from '../../src/controllers/prod/reconciler.js';
import { FLEET_LABEL, roleOf, serving } from '../../src/controllers/fleet/prods.js';
import { assignmentOf } from '../../src/controllers/release/plan.js';
import { planWaves } from '../../src/fleet/waves.js';
import { eventGvr } from '../../src/runtime/events.js';
import { until } from '../support/wait.js';
import { FleetLab } from '../support/fleetlab.js';
import { type Controller } from '../support/process.js';
import { viaRouter } from '../support/router.js';
import { History, type Snapshot } from '../support/history.js';
import { labHAProxy } from '../../lab/src/router.js';

const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const routerGvr = gvrOf(routerKind);
const releaseGvr = gvrOf(releaseKind);
const fl = new FleetLab({
  who: 'the release tests',
  prefix: 'release',
  clusterPrefix: 'l',
  kinds: [releaseGvr, tenantGvr, fleetGvr, routerGvr],
  standIns: { firstIp: 60, answer: (prod) => `${prod} ${versionOf(prod)}` },
});
const { lab, rest, id } = fl;
if (!lab.alertmanager) throw new Error('the lab has no Alertmanager: lab up again');
const haproxy = lab.router!;
const alertmanagerUrl = process.env.KACHIKU_ALERTMANAGER_URL ?? lab.alertmanager.url;
const ROUTER = 'edge';
const FLEET = `shop-${id}`;
/** Alert posted → every affected tenant answered by an old-version Prod through HAProxy (measured
 * about 1 s with a 500 ms gate interval on a loaded 2-core machine; the issue's target, interval +
 * 2 s, is for bench/). */
const ROLLBACK_BOUND_MS = 5000;

let ns = '';
let controller: Controller;
let port = 0;
let prodWatch: Informer<Prod>;
const versionOf = (prod: string) => prodWatch?.get(`${ns}/${prod}`)?.status?.version ?? '?';

function startController(): Controller {
  return fl.startController([
    '--alertmanager-url',
    alertmanagerUrl,
    '--release-hold-timeout',
    '3s',
  ]);
}

const alive = () => fl.alive();

const tenantOf = (name: string, spec: Partial<TenantSpec>): Tenant => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Tenant',
  metadata: { name, namespace: ns },
  spec: { fleet: FLEET, hosts: [`${name}.shop.example`], ...spec },
});

before(async () => {
  ns = await fl.prepare();
  prodWatch = new Informer<Prod>(rest, prodGvr, { namespace: ns });
  prodWatch.start();
  await prodWatch.waitForSync();
  port = await fl.standIns(['127.0.0.60', '127.0.0.65', '127.0.0.70']);
  controller = startController();
  await fl.membersReady();
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
      prods: { perDomain: 2, testProds: 1 },
      clusterSelector: { matchLabels: { run: id } },
      routing: { router: ROUTER },
    },
  });
  const tenants = [
    tenantOf('qa', { test: true }),
    ...Array.from({ length: 6 }, (_, i) => tenantOf(`single-${i}`, {})),
    ...Array.from({ length: 6 }, (_, i) => tenantOf(`dual-${i}`, { redundancy: 'Dual' })),
  ];
  await Promise.all(tenants.map((t) => rest.create(tenantGvr, t)));
  let why = '';
  await until(
    'every tenant placed, every Prod Ready, each host answered by its primary on 1.0.0',
    async () => {
      alive();
      const f = await rest.get<Fleet>(fleetGvr, ns, FLEET);
      why = `readyProds ${f.status?.readyProds}`;
      if (f.status?.readyProds !== 6) return undefined; // standard Prods
      const ts = await tenantsNow();
      why = `tenants ${ts.length}`;
      if (ts.length !== 13 || !ts.every((t) => condition(t, 'Placed')?.status === 'True'))
        return undefined;
      const wrong = await wrongAnswers(ts, '1.0.0');
      why = `wrong answers: ${wrong.join(', ')}`;
      return wrong.length === 0 ? true : undefined;
    },
    // The lab's members are slow to run new Prods when the machine is loaded.
    360_000,
    500,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message} (${why})\n${await diagnose()}`);
  });
});

after(async () => {
  try {
    await fl.down();
  } finally {
    await prodWatch?.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Reading

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: { status?: { conditions?: unknown[] } }, type: string) =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const tenantsNow = async () =>
  (await rest.list<Tenant>(tenantGvr, ns)).items.filter((t) => t.spec.fleet === FLEET);
const prodsNow = async () =>
  (await rest.list<Prod>(prodGvr, ns)).items.filter(
    (p) => p.metadata.labels?.[FLEET_LABEL] === FLEET,
  );
const getRelease = (name: string) => rest.get<Release>(releaseGvr, ns, name);
const hostOf = (t: Tenant) => t.spec.hosts![0]!;
const ms = (n: number) => `${Math.round(n)} ms`;

/** One request per tenant through HAProxy; those not answered by a Prod on `version`. */
async function wrongAnswers(tenants: Tenant[], version: string): Promise<string[]> {
  const wrong: string[] = [];
  await Promise.all(
    tenants.map(async (t) => {
      const r = await viaRouter(haproxy.url, hostOf(t)).catch((e: Error) => ({
        status: 0,
        body: e.message,
      }));
      if (r.status !== 200 || r.body.split(' ')[1] !== version)
        wrong.push(`${t.metadata.name}: ${r.status} ${r.body.trim()}`);
    }),
  );
  return wrong.sort();
}

async function diagnose(): Promise<string> {
  const ts = await tenantsNow();
  const prods = await prodsNow();
  const releases = (await rest.list<Release>(releaseGvr, ns)).items;
  return [
    `tenants: ${ts.map((t) => `${t.metadata.name}=${t.status?.prods?.primary ?? '-'}/${t.status?.prods?.secondary ?? '-'}`).join(' ')}`,
    `prods: ${prods.map((p) => `${p.metadata.name} ${p.spec.version}/${p.status?.version} ${p.status?.phase} ${JSON.stringify(p.metadata.annotations ?? {})}`).join('; ')}`,
    ...releases.map(
      (r) =>
        `release ${r.metadata.name}: ${r.status?.phase} ${r.status?.message} waves ${JSON.stringify(r.status?.waves?.map((w) => [w.state, w.prods.map((p) => p.name)]))}`,
    ),
    `controller: ${controller.lines.slice(-15).join('\n')}`,
  ].join('\n');
}

/** The waves planWaves gives for the Prods not on `version`, as the test sees the Fleet now. */
async function expectedWaves(version: string, maxProdsPerWave?: number): Promise<string[][]> {
  const prods = (await prodsNow()).filter((p) => p.spec.version !== version);
  const tenants = await tenantsNow();
  return planWaves({
    prods: prods.map((p) => ({ name: p.metadata.name, role: roleOf(p) })),
    tenants: tenants.map((t) => ({
      name: t.metadata.name,
      redundancy: t.spec.redundancy ?? 'Single',
    })),
    assignment: assignmentOf(tenants),
    maxProdsPerWave,
  }).map((w) => w.prods.map((m) => m.prod));
}

/** Waits until no Tenant changed for `quietMs` (the Fleet done rebalancing for now). */
async function settled(quietMs = 3000): Promise<void> {
  let last = '';
  let since = Date.now();
  await until(
    'the tenants settled',
    async () => {
      const now = JSON.stringify((await tenantsNow()).map((t) => t.status?.prods));
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs ? true : undefined;
    },
    60_000,
    250,
  );
}

const watchAll = () =>
  History.start(rest, [
    { kind: 'Prod', gvr: prodGvr, namespace: ns },
    { kind: 'Tenant', gvr: tenantGvr, namespace: ns },
  ]);

/** At every moment of the history: no Dual tenant with both its Prods held or not serving. */
function dualBothBusy(h: History): string[] {
  const bad: string[] = [];
  const busy = (state: Snapshot, name: string | undefined) => {
    const p = name ? (state.get('Prod')!.get(name) as Prod | undefined) : undefined;
    return !!p && (p.metadata.annotations?.[HOLD_ANNOTATION] !== undefined || !serving(p));
  };
  const why = (state: Snapshot, name: string) => {
    const p = state.get('Prod')!.get(name) as Prod;
    return `${name} (hold ${p.metadata.annotations?.[HOLD_ANNOTATION] ?? '-'}, ${p.spec.version}/${p.status?.version} ${p.status?.phase} Ready=${condition(p, 'Ready')?.status})`;
  };
  h.replay((state, change) => {
    for (const o of state.get('Tenant')!.values()) {
      const t = o as Tenant;
      const pl = t.status?.prods;
      if (t.spec.redundancy !== 'Dual' || !pl?.primary || !pl.secondary) continue;
      if (busy(state, pl.primary) && busy(state, pl.secondary))
        bad.push(
          `rv ${change.rv} (${change.kind} ${change.object.metadata.name}): ${t.metadata.name} on ${why(state, pl.primary)} + ${why(state, pl.secondary)}`,
        );
    }
  });
  return bad;
}

/** Writes of each Prod's spec.version, by `<prod>=<version>`. */
function versionWrites(h: History): Map<string, number> {
  const n = new Map<string, number>();
  for (const { before, after } of h.transitions<Prod>('Prod')) {
    if (!before || !after || before.spec.version === after.spec.version) continue;
    const k = `${after.metadata.name}=${after.spec.version}`;
    n.set(k, (n.get(k) ?? 0) + 1);
  }
  return n;
}

async function createRelease(name: string, spec: Omit<ReleaseSpec, 'fleet'>): Promise<void> {
  await rest.create<Release>(releaseGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: ns },
    spec: { fleet: FLEET, ...spec },
  });
}

async function finished(name: string, phase: string, timeoutMs: number): Promise<Release> {
  return until(
    `Release ${name} ${phase}`,
    async () => {
      alive();
      const r = await getRelease(name);
      if (r.status?.phase && r.status.phase !== phase && isEnd(r.status.phase))
        throw new Error(`Release ${name} ended ${r.status.phase}: ${r.status.message}`);
      return r.status?.phase === phase ? r : undefined;
    },
    timeoutMs,
    200,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await diagnose()}`);
  });
}
const isEnd = (p: string) =>
  ['Succeeded', 'Failed', 'RolledBack', 'Aborted', 'Superseded'].includes(p);

async function patchRelease(name: string, spec: Partial<ReleaseSpec>): Promise<void> {
  await rest.patch(releaseGvr, ns, name, { spec }, 'merge');
}

/** Posts an alert to the lab's Alertmanager (endsAt in the past resolves it). */
async function postAlert(labels: Record<string, string>, resolve = false): Promise<void> {
  const res = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      {
        labels,
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        ...(resolve && { endsAt: new Date(Date.now() - 1000).toISOString() }),
      },
    ]),
  });
  assert.equal(res.status, 200, await res.text());
}

const gate = { name: 'errors', matchers: [`run="${id}"`, 'prod="{{prod}}"'] };

// ---------------------------------------------------------------------------------------------

test(
  'a Release by hand: waves in the seed order, never both Prods of a Dual tenant out, the Fleet and every host on the new version',
  { timeout: 400_000 },
  async () => {
    await settled();
    const expected = await expectedWaves('2.0.0');
    const h = await watchAll();
    const t0 = Date.now();
    await createRelease('v2', {
      version: '2.0.0',
      strategy: { bakeTime: '1s', gateInterval: '500ms', gates: [gate] },
    });
    const r = await finished('v2', 'Succeeded', 380_000);
    const took = Date.now() - t0;
    await h.caughtUp();
    await h.close();
    assert.deepEqual(
      r.status!.waves!.map((w) => w.prods.map((p) => p.name)),
      expected,
      'the waves planWaves gives on the start state',
    );
    assert.deepEqual(
      r.status!.waves!.map((w) => w.step),
      r.status!.waves!.map((w) => w.step).sort((a, b) => order(a) - order(b)),
      'test, canary, redundant, single',
    );
    assert.equal(r.status!.waves![0]!.step, 'test');
    assert.ok(r.status!.waves!.every((w) => w.state === 'Passed' && w.bakeStart));
    assert.ok(
      r.status!.gates!.length === r.status!.waves!.length &&
        r.status!.gates!.every((g) => g.result === 'Passed'),
      JSON.stringify(r.status!.gates),
    );
    assert.equal(r.status!.fromVersion, '1.0.0');
    assert.equal(condition(r, 'Complete')?.status, 'True');
    assert.equal((await rest.get<Fleet>(fleetGvr, ns, FLEET)).spec.version, '2.0.0');
    const prods = await prodsNow();
    assert.ok(
      prods.every((p) => p.spec.version === '2.0.0' && p.status?.version === '2.0.0'),
      prods.map((p) => `${p.metadata.name} ${p.spec.version}/${p.status?.version}`).join(' '),
    );
    assert.ok(
      prods.every((p) => !p.metadata.annotations?.[HOLD_ANNOTATION]),
      'holds lifted',
    );
    assert.deepEqual(dualBothBusy(h), []);
    const writes = versionWrites(h);
    assert.deepEqual(
      [...writes.entries()].filter(([, n]) => n > 1),
      [],
      'no Prod set to the version twice',
    );
    assert.equal(writes.size, prods.length, 'every Prod updated once');
    await until(
      'every host answered by a Prod on 2.0.0 through HAProxy',
      async () => ((await wrongAnswers(await tenantsNow(), '2.0.0')).length ? undefined : true),
      10_000,
      250,
    );
    const reasons = await releaseEvents('v2');
    assert.ok(reasons.includes('WaveStarted') && reasons.includes('WavePassed'), reasons.join());
    console.log(
      `release of ${prods.length} Prods in ${r.status!.waves!.length} waves (${r.status!.waves!.map((w) => w.prods.map((p) => p.name).join('+')).join(' | ')}): ${ms(took)}`,
    );
  },
);

const order = (step: string) => ['test', 'canary', 'redundant', 'single', 'rest'].indexOf(step);

async function releaseEvents(name: string): Promise<string[]> {
  const events = await rest.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
    eventGvr,
    ns,
  );
  return events.items.filter((e) => e.regarding?.name === name).map((e) => e.reason ?? '');
}

test(
  'an alert during wave 2: the wave fails naming it, the tenants are answered by old-version Prods within the bound, the failed Prods go back',
  { timeout: 400_000 },
  async () => {
    await settled();
    await createRelease('v3', {
      version: '3.0.0',
      strategy: { bakeTime: '6s', gateInterval: '500ms', gates: [gate] },
    });
    const baking = await until(
      'wave 2 of v3 baking',
      async () => {
        alive();
        const r = await getRelease('v3');
        if (r.status?.phase && r.status.phase !== 'Progressing')
          throw new Error(`v3 ${r.status.phase}: ${r.status.message}`);
        return r.status?.waves?.[2]?.state === 'Baking' ? r : undefined;
      },
      380_000,
      100,
    );
    const target = baking.status!.waves![2]!.prods[0]!.name;
    const labels = { alertname: 'ReleaseGateTest', run: id, prod: target, severity: 'critical' };
    const posted = Date.now();
    await postAlert(labels);
    try {
      await rolledBack(posted);
    } finally {
      await postAlert(labels, true);
    }
  },
);

/** The rest of the rollback test, with the alert posted at `posted`. */
async function rolledBack(posted: number): Promise<void> {
  // Every tenant with a copy on a Prod running 3.0.0 at that moment.
  const bad = new Set(
    (await prodsNow()).filter((p) => p.spec.version === '3.0.0').map((p) => p.metadata.name),
  );
  const affected = (await tenantsNow()).filter(
    (t) => bad.has(t.status?.prods?.primary ?? '') || bad.has(t.status?.prods?.secondary ?? ''),
  );
  assert.ok(affected.length > 0, 'some tenants on the new version');
  await until(
    'every affected tenant answered by a Prod on 2.0.0 through HAProxy',
    async () => ((await wrongAnswers(affected, '2.0.0')).length ? undefined : true),
    30_000,
    100,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await diagnose()}`);
  });
  const rolledBackIn = Date.now() - posted;
  const r = await finished('v3', 'RolledBack', 300_000);
  assert.equal(r.status!.waves![2]!.state, 'Failed');
  assert.deepEqual(
    r.status!.gates!.find((g) => g.wave === 2)?.alerts,
    ['ReleaseGateTest'],
    JSON.stringify(r.status!.gates),
  );
  assert.equal(condition(r, 'Failed')?.status, 'True');
  assert.equal(condition(r, 'RolledBack')?.status, 'True');
  assert.ok(r.status!.rollback?.routedTime, 'routedTime set');
  const prods = await prodsNow();
  assert.ok(
    prods.every((p) => p.spec.version === '2.0.0' && p.status?.version === '2.0.0'),
    prods.map((p) => `${p.metadata.name} ${p.spec.version}/${p.status?.version}`).join(' '),
  );
  assert.ok(
    prods.every((p) => !p.metadata.annotations?.[AVOID_ANNOTATION]),
    'avoid lifted',
  );
  assert.equal((await rest.get<Fleet>(fleetGvr, ns, FLEET)).spec.version, '2.0.0');
  console.log(
    `alert → ${affected.length} affected tenants answered by 2.0.0 Prods through HAProxy: ${ms(rolledBackIn)} (bound ${ROLLBACK_BOUND_MS} ms; status: routed ${ms(Date.parse(r.status!.rollback!.routedTime!) - Date.parse(r.status!.rollback!.startTime))} after the rollback began, ${bad.size} Prods avoided)`,
  );
  assert.ok(rolledBackIn <= ROLLBACK_BOUND_MS, `${ms(rolledBackIn)} > ${ROLLBACK_BOUND_MS} ms`);
}

test(
  'pause stops before the next step and resume goes on; abort rolls back what was updated',
  { timeout: 400_000 },
  async () => {
    await settled();
    await createRelease('v4', { version: '4.0.0', strategy: { bakeTime: '1s' } });
    await until(
      'wave 1 of v4 started',
      async () => {
        alive();
        const r = await getRelease('v4');
        return r.status?.waves?.[1]?.state && r.status.waves[1].state !== 'Pending' ? r : undefined;
      },
      300_000,
      100,
    );
    await patchRelease('v4', { paused: true });
    await finished('v4', 'Paused', 60_000);
    const versions = async () =>
      (await prodsNow())
        .map((x) => `${x.metadata.name}=${x.spec.version}`)
        .sort()
        .join(' ');
    const atPause = await versions();
    await sleep(5000);
    assert.equal(await versions(), atPause, 'no Prod updated while paused');
    let r = await getRelease('v4');
    assert.equal(r.status?.phase, 'Paused');
    assert.equal(condition(r, 'Paused')?.status, 'True');
    const waveAtPause = r.status!.currentWave!;
    await patchRelease('v4', { paused: false });
    r = await until(
      'v4 going on after the resume',
      async () => {
        alive();
        const x = await getRelease('v4');
        const w = x.status?.waves?.[x.status.currentWave ?? 0];
        return x.status?.phase === 'Progressing' &&
          (x.status.currentWave ?? 0) >= waveAtPause &&
          w &&
          w.state !== 'Pending'
          ? x
          : undefined;
      },
      300_000,
      100,
    );
    assert.equal(r.status?.phase, 'Progressing');
    await patchRelease('v4', { aborted: true });
    r = await finished('v4', 'Aborted', 300_000);
    assert.equal(r.status!.rollback?.reason, 'Aborted');
    assert.equal(condition(r, 'Failed')?.reason, 'Aborted');
    const prods = await prodsNow();
    assert.ok(
      prods.every((x) => x.spec.version === '2.0.0' && x.status?.version === '2.0.0'),
      prods.map((x) => `${x.metadata.name} ${x.spec.version}/${x.status?.version}`).join(' '),
    );
    assert.ok(
      prods.every(
        (x) =>
          !x.metadata.annotations?.[AVOID_ANNOTATION] && !x.metadata.annotations?.[HOLD_ANNOTATION],
      ),
    );
    assert.equal((await rest.get<Fleet>(fleetGvr, ns, FLEET)).spec.version, '2.0.0');
  },
);

test(
  'a controller killed during a bake: the new one updates no Prod twice and asks the gates before the bake passes',
  { timeout: 400_000 },
  async () => {
    await settled();
    const active = (await rest.list<Release>(releaseGvr, ns)).items.filter(
      (x) => !isEnd(x.status?.phase ?? 'Pending') && x.metadata.name !== 'nowhere',
    );
    assert.deepEqual(
      active.map((x) => x.metadata.name),
      [],
      'no other Release active',
    );
    const h = await watchAll();
    await createRelease('v5', {
      version: '5.0.0',
      strategy: { bakeTime: '4s', gateInterval: '1s', gates: [gate] },
    });
    const baking = await until(
      'wave 1 of v5 baking',
      async () => {
        alive();
        const r = await getRelease('v5');
        return r.status?.waves?.[1]?.state === 'Baking' ? r : undefined;
      },
      300_000,
      100,
    );
    assert.ok(baking.status!.waves![1]!.bakeStart);
    controller.kill('SIGKILL');
    await controller.exited;
    const restarted = Date.now();
    controller = startController();
    const r = await finished('v5', 'Succeeded', 380_000);
    await h.caughtUp();
    await h.close();
    const wave1 = r.status!.gates!.find((g) => g.wave === 1);
    assert.equal(wave1?.result, 'Passed');
    assert.ok(
      Date.parse(wave1!.checkedAt!) >= restarted,
      `wave 1's gates asked after the restart (${wave1!.checkedAt} vs ${new Date(restarted).toISOString()})`,
    );
    assert.equal(r.status!.waves![1]!.bakeStart, baking.status!.waves![1]!.bakeStart, 'bake kept');
    const writes = versionWrites(h);
    assert.deepEqual(
      [...writes.entries()].filter(([, n]) => n > 1),
      [],
      'no Prod set twice',
    );
    assert.deepEqual(
      [...writes.keys()].sort(),
      (await prodsNow()).map((p) => `${p.metadata.name}=5.0.0`).sort(),
      'every Prod set to 5.0.0 once, nothing else written',
    );
    assert.deepEqual(dualBothBusy(h), []);
  },
);

test(
  'a Release for a missing Fleet: a condition, Pending, nothing touched',
  { timeout: 30_000 },
  async () => {
    const before = JSON.stringify(
      (await prodsNow()).map((p) => [p.metadata.name, p.metadata.resourceVersion]),
    );
    await rest.create<Release>(releaseGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Release',
      metadata: { name: 'nowhere', namespace: ns },
      spec: { fleet: 'no-such-fleet', version: '9.9.9' },
    });
    const r = await until(
      'the condition',
      async () => {
        alive();
        const x = await getRelease('nowhere');
        return condition(x, 'Progressing')?.reason === 'FleetNotFound' ? x : undefined;
      },
      20_000,
    );
    assert.equal(r.status?.phase, 'Pending');
    assert.match(condition(r, 'Progressing')!.message, /no-such-fleet not found/);
    assert.equal(
      JSON.stringify((await prodsNow()).map((p) => [p.metadata.name, p.metadata.resourceVersion])),
      before,
    );
  },
);

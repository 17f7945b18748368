// Fleets and Tenants against the lab (issue 12): `kachiku controller` runs as one process, as
// kachiku's ServiceAccount, watching this file's namespace; three MemberClusters, one per lab
// member (onprem-a, eks-b, onprem-c) in failure domains a, b and c, are probed every second.
// What the tests read is what the controller wrote: the Tenants' status, the Fleets' status, the
// Prods it made. Checks "at every moment" replay every write in the apiserver's order
// (test/support/history.ts), not a few polls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, Rest, isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { applyCrds } from '../../src/cli/crds.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet, type FleetSpec } from '../../src/api/fleet.js';
import { tenantKind, type Tenant, type TenantSpec } from '../../src/api/tenant.js';
import type { Prod } from '../../src/api/prod.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import { memberClusterGvr } from '../../src/controllers/membercluster/reconciler.js';
import { prodGvr } from '../../src/controllers/prod/reconciler.js';
import { startLabProcess, stopLabProcess } from '../../lab/src/lab.js';
import { labState } from '../support/lab.js';
import {
  controlPlaneConfig,
  grantSecrets,
  deleteProds,
  registerMembers,
  namespaceGvr,
  testNamespace,
} from '../support/kube.js';
import { until } from '../support/wait.js';
import { kachikuController, type Controller } from '../support/process.js';
import { History, type Snapshot } from '../support/history.js';

const lab = labState();
const memberNames = lab
  .kube!.clusters.filter((c) => c.role === 'member')
  .map((c) => c.name)
  .join(', ');
for (const needed of ['onprem-a', 'eks-b', 'onprem-c'])
  if (!memberNames.split(', ').includes(needed))
    throw new Error(
      `the Fleet tests need the lab's three members (lab up --members 3); this lab has ${memberNames}`,
    );
const cp = lab.kube!.clusters.find((c) => c.role === 'control-plane')!;
const config = controlPlaneConfig();
const rest = new Rest(config);
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const id = randomUUID().slice(0, 6);
/** This run's MemberClusters (cluster-scoped: names and a label of the run's own). */
const clusters = [
  { lab: 'onprem-a', name: `fa-${id}`, domain: 'a', provider: 'onprem' },
  { lab: 'eks-b', name: `fb-${id}`, domain: 'b', provider: 'eks' },
  { lab: 'onprem-c', name: `fc-${id}`, domain: 'c', provider: 'onprem' },
] as const;
const [A, B, C] = clusters;
const domainOfCluster = new Map<string, string>(clusters.map((c) => [c.name, c.domain]));

/** MemberCluster probes: every second, unreachable after 3 failures, back after 2 successes. */
const PROBE_INTERVAL_MS = 1000;
const FAILURES_TO_UNREACHABLE = 3;
/** How long kachiku takes to judge a stopped member down: probe interval × failure threshold. */
const DETECTION_MS = PROBE_INTERVAL_MS * FAILURES_TO_UNREACHABLE;
/** The main Fleet's spec.drain.rebalanceMovesPerMinute. */
const RATE = 6;
/**
 * The most rebalance moves the controller grants at once: a minute's worth
 * (src/controllers/fleet/drain.ts, rebalanceBudget), so "rate × elapsed + one batch".
 */
const BATCH = RATE;
const CAPACITY = 50;

let ns = '';
let controller: Controller;
/** The controller's output, kept whatever happens (its path is printed at the end). */
const logFile = join(tmpdir(), `kachiku-fleet-test-${id}.log`);

/** The controller is still running (its last lines if not). */
function alive(): void {
  if (controller.exitCode !== null || controller.signalCode !== null)
    throw new Error(
      `kachiku controller exited (${controller.exitCode ?? controller.signalCode}):\n${controller.lines.slice(-30).join('\n')}`,
    );
}

before(async () => {
  await applyCrds(config);
  ns = await testNamespace(rest, 'fleet');
  await grantSecrets(rest, ns);
  // onprem-c alone also carries solo: the one-domain Fleet of the bad-input test.
  await registerMembers(rest, ns, clusters, (c) => ({ run: id, ...(c === C && { solo: 'yes' }) }));
  controller = kachikuController(
    [
      '--kubeconfig',
      cp.kachikuKubeconfig!,
      '--namespace',
      ns,
      '--secret-namespaces',
      ns,
      '--no-leader-elect',
      '--metrics-bind-address',
      '0',
      '--health-probe-bind-address',
      '0',
      '--log-level',
      process.env.TEST_LOG === 'debug' ? 'debug' : 'info',
      '--cluster-probe-interval',
      `${PROBE_INTERVAL_MS}ms`,
      '--cluster-probe-timeout',
      '1s',
      '--cluster-unreachable-after',
      String(FAILURES_TO_UNREACHABLE),
      '--cluster-reachable-after',
      '2',
    ],
    {},
    // Stopped in this file's after hook, once the Prods are gone.
    { own: true },
  );
  let seen = '';
  await until(
    'the three MemberClusters Ready',
    async () => {
      alive();
      const all = await Promise.all(clusters.map((c) => getCluster(c.name)));
      seen = all
        .map((mc) => `${mc.metadata.name}: ${JSON.stringify(condition(mc, 'Ready'))}`)
        .join('; ');
      return all.every((mc) => condition(mc, 'Ready')?.status === 'True') || undefined;
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${seen}`);
  });
});

after(async () => {
  // Fleets first (nothing recreates their Prods), then every Prod while the controller runs, so
  // that what they made in the members goes too.
  try {
    for (const kind of [tenantGvr, fleetGvr]) {
      const left = await rest.list(kind, ns);
      await Promise.all(left.items.map((o) => rest.delete(kind, ns, o.metadata.name)));
    }
    await deleteProds(rest, ns, 90_000);
  } finally {
    controller?.kill('SIGTERM');
    await controller?.exited;
    writeFileSync(logFile, `${controller?.lines.join('\n')}\n`);
    console.log(`the controller's log: ${logFile}`);
    for (const c of clusters)
      await rest.delete(memberClusterGvr, undefined, c.name).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    await rest.delete(namespaceGvr, undefined, ns);
  }
});

// ---------------------------------------------------------------------------------------------
// Reading what the controller wrote

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: { status?: { conditions?: unknown[] } }, type: string) =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const getCluster = (name: string) => rest.get<MemberCluster>(memberClusterGvr, undefined, name);
const getTenant = (name: string) => rest.get<Tenant>(tenantGvr, ns, name);
const getFleet = (name: string) => rest.get<Fleet>(fleetGvr, ns, name);
const FLEET_LABEL = 'kachiku.io/fleet';

async function tenantsOf(fleet: string): Promise<Tenant[]> {
  const all = await rest.list<Tenant>(tenantGvr, ns);
  return all.items.filter((t) => t.spec.fleet === fleet);
}
async function prodsOf(fleet: string): Promise<Prod[]> {
  const all = await rest.list<Prod>(prodGvr, ns, { labelSelector: `${FLEET_LABEL}=${fleet}` });
  return all.items;
}

const clusterOf = (p: Prod) => p.spec.cluster ?? p.status?.cluster ?? '';
const domainOf = (p: Prod) => domainOfCluster.get(clusterOf(p)) ?? '?';
/** Serving tenants: warmed (Ready or InService), not retired, not being deleted. */
const serving = (p: Prod | undefined) =>
  p !== undefined &&
  (p.status?.phase === 'Ready' || p.status?.phase === 'InService') &&
  !p.spec.retired &&
  !p.metadata.deletionTimestamp;
const prodsNamed = (t: Tenant) =>
  [t.status?.prods?.primary, t.status?.prods?.secondary].filter((p): p is string => Boolean(p));
const placed = (t: Tenant) => condition(t, 'Placed')?.status === 'True';

/** tenant → the set of its Prods (a promotion, primary ↔ secondary, moves no copy). */
type Assignment = Map<string, { primary?: string; secondary?: string }>;
const assignmentOf = (tenants: Iterable<Tenant>): Assignment =>
  new Map([...tenants].map((t) => [t.metadata.name, { ...t.status?.prods }]));
const copiesOf = (a?: { primary?: string; secondary?: string }) =>
  new Set([a?.primary, a?.secondary].filter((p): p is string => Boolean(p)));
/** Copies that changed Prod between two placements of one tenant. */
const copyMoves = (from?: { primary?: string; secondary?: string }, to?: typeof from) => {
  const before = copiesOf(from);
  return [...copiesOf(to)].filter((p) => !before.has(p)).length;
};

/**
 * Waits until `problems()` finds nothing; on timeout the error lists what it found last.
 */
async function untilNone(
  what: string,
  problems: () => string[] | Promise<string[]>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  let last: string[] = [];
  await until(
    what,
    async () => {
      alive();
      last = await problems();
      return last.length === 0 ? true : undefined;
    },
    timeoutMs,
    intervalMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${last.slice(0, 20).join('; ')}`);
  });
}

/**
 * What must hold of a placement at rest, read back from the Tenants' status: every tenant
 * Placed; its Prods exist and are the Fleet's; sizes within each Prod's capacity; Dual tenants
 * on two Prods in two failure domains; standard tenants never on test Prods; test tenants on a
 * test Prod whenever one had room. Returns what is wrong.
 */
function placementProblems(
  tenants: Tenant[],
  prods: Prod[],
  fleet: string,
  opts: { testFirst?: boolean } = {},
): string[] {
  const problems: string[] = [];
  const byName = new Map(prods.map((p) => [p.metadata.name, p]));
  const used = new Map<string, number>();
  for (const t of tenants) {
    const name = t.metadata.name;
    const a = t.status?.prods;
    if (!placed(t)) problems.push(`${name} not Placed: ${JSON.stringify(condition(t, 'Placed'))}`);
    if (!a?.primary) {
      problems.push(`${name} has no primary`);
      continue;
    }
    const dual = t.spec.redundancy === 'Dual';
    if (dual && !a.secondary) problems.push(`${name} (Dual) has no secondary`);
    if (!dual && a.secondary) problems.push(`${name} (Single) has a secondary ${a.secondary}`);
    if (a.secondary && a.secondary === a.primary) problems.push(`${name}: both copies on one Prod`);
    for (const p of prodsNamed(t)) {
      const prod = byName.get(p);
      if (!prod) {
        problems.push(`${name} on ${p}, not a Prod of ${fleet}`);
        continue;
      }
      used.set(p, (used.get(p) ?? 0) + (t.spec.size ?? 1));
      if (prod.spec.role === 'test' && !t.spec.test)
        problems.push(`standard tenant ${name} on test Prod ${p}`);
    }
    if (dual && a.secondary) {
      const [d1, d2] = [byName.get(a.primary), byName.get(a.secondary)].map((p) =>
        p ? domainOf(p) : '?',
      );
      if (d1 === d2) problems.push(`${name} (Dual): both copies in domain ${d1}`);
    }
  }
  for (const [p, units] of used) {
    const capacity = byName.get(p)?.spec.capacity ?? 0;
    if (units > capacity) problems.push(`${p} hosts ${units} units, capacity ${capacity}`);
  }
  // Only for a placement made with every Prod open: after a drain or a failure, test tenants
  // come back to the test Prods at the rebalance rate.
  const testProds = opts.testFirst ? prods.filter((p) => p.spec.role === 'test' && serving(p)) : [];
  for (const t of tenants.filter((t) => t.spec.test)) {
    const onTest = prodsNamed(t).some((p) => byName.get(p)?.spec.role === 'test');
    const room = testProds.filter(
      (p) => (used.get(p.metadata.name) ?? 0) + (t.spec.size ?? 1) <= (p.spec.capacity ?? 0),
    );
    if (!onTest && room.length)
      problems.push(
        `test tenant ${t.metadata.name} on no test Prod while ${room.map((p) => p.metadata.name).join(', ')} had room`,
      );
  }
  return problems;
}

/**
 * Dual tenants (of `fleet`) with no assigned Prod serving in `state`, and tenants that were
 * placed and lost every Prod: what must never be seen during a drain.
 */
function exposedAt(state: Snapshot, fleet: string, wasPlaced: Set<string>): string[] {
  const prods = state.get('Prod')! as Map<string, Prod>;
  const out: string[] = [];
  for (const t of state.get('Tenant')!.values() as Iterable<Tenant>) {
    if (t.spec.fleet !== fleet) continue;
    const names = prodsNamed(t);
    if (wasPlaced.has(t.metadata.name) && names.length === 0)
      out.push(`${t.metadata.name} lost its placement`);
    if (t.spec.redundancy === 'Dual' && wasPlaced.has(t.metadata.name))
      if (!names.some((p) => serving(prods.get(p))))
        out.push(
          `${t.metadata.name} (Dual) on ${names.join(' + ') || 'nothing'}, none serving (${names
            .map((p) => `${p}: ${prods.get(p)?.status?.phase ?? 'gone'}`)
            .join(', ')})`,
        );
  }
  return out;
}

/**
 * Tenant copies that changed Prod in the recorded history, among the writes the watch delivered
 * between `from` and `to` (Date.now() times), and how many went to each Prod.
 */
function copyMovesIn(
  history: History,
  from: number,
  to: number,
): { moves: number; to: Map<string, number>; tenants: Set<string>; log: string[] } {
  let moves = 0;
  const where = new Map<string, number>();
  const tenants = new Set<string>();
  const log: string[] = [];
  for (const { before, after, change } of history.transitions<Tenant>('Tenant')) {
    if (change.at < from || change.at > to || !before || !after) continue;
    const old = copiesOf(before.status?.prods);
    const moved = [...copiesOf(after.status?.prods)].filter((p) => !old.has(p));
    for (const p of moved) {
      moves++;
      tenants.add(after.metadata.name);
      where.set(p, (where.get(p) ?? 0) + 1);
    }
    if (moved.length)
      log.push(
        `+${change.at - from} ms ${after.metadata.name} ${JSON.stringify(before.status?.prods)} → ${JSON.stringify(after.status?.prods)}`,
      );
  }
  return { moves, to: where, tenants, log };
}

/**
 * What the Prods and MemberClusters said between `from` and `to` (changes of phase, Ready,
 * Reachable): the cause of forced moves, should moves exceed a bound.
 */
function statesIn(history: History, from: number, to: number): string[] {
  const out: string[] = [];
  const ready = (o?: KubeObject) =>
    o
      ? `${(o as Prod).status?.phase ?? ''}/${condition(o as Prod, 'Ready')?.status ?? ''}/${condition(o as Prod, 'Reachable')?.status ?? ''}`
      : 'gone';
  for (const kind of ['Prod', 'MemberCluster'])
    for (const { before, after, change } of history.transitions(kind)) {
      if (change.at < from || change.at > to) continue;
      if (ready(before) !== ready(after))
        out.push(
          `+${change.at - from} ms ${kind} ${change.object.metadata.name}: ${ready(before)} → ${ready(after)}`,
        );
    }
  return out;
}

function watchAll(): Promise<History> {
  return History.start(rest, [
    { kind: 'Tenant', gvr: tenantGvr, namespace: ns },
    { kind: 'Prod', gvr: prodGvr, namespace: ns },
    { kind: 'Fleet', gvr: fleetGvr, namespace: ns },
    { kind: 'MemberCluster', gvr: memberClusterGvr },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Writing

const TEMPLATE = {
  components: [{ name: 'web', image: 'registry.example/shop:{{version}}' }],
  capacity: CAPACITY,
};

function fleetOf(name: string, spec: Partial<FleetSpec> & Pick<FleetSpec, 'prods'>): Fleet {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name, namespace: ns },
    spec: {
      app: 'shop',
      version: '1.0.0',
      template: TEMPLATE,
      clusterSelector: { matchLabels: { run: id } },
      ...spec,
    },
  };
}

function tenantOf(name: string, spec: Partial<TenantSpec> & Pick<TenantSpec, 'fleet'>): Tenant {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name, namespace: ns },
    spec,
  };
}

async function createAll(objects: KubeObject[], gvr = tenantGvr): Promise<void> {
  for (let i = 0; i < objects.length; i += 10)
    await Promise.all(objects.slice(i, i + 10).map((o) => rest.create(gvr, o)));
}

const setDrain = (cluster: string, drain: boolean) =>
  rest.patch(memberClusterGvr, undefined, cluster, { spec: { drain } }, 'merge');

/** `kachiku <args>` as a child process; its stdout, or an error with its output. */
function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [main, ...args],
      { timeout: 30_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`kachiku ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`))
          : resolve(stdout),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// The main Fleet: 2 standard Prods per domain and 1 test Prod; 60 tenants

const MAIN = 'main';
/**
 * 12 test tenants (size 1, half Dual), 24 Dual and 24 Single standard tenants of sizes 1–3:
 * 144 standard units + 18 test copies, on 6 + 1 Prods of 50 units: about half full, so that one
 * domain drained or down still leaves room for everyone on the other two.
 */
const mainTenants = (): Tenant[] =>
  Array.from({ length: 60 }, (_, i) => {
    const name = `m-${String(i).padStart(2, '0')}`;
    if (i < 12)
      return tenantOf(name, {
        fleet: MAIN,
        test: true,
        redundancy: i % 2 ? 'Dual' : 'Single',
        size: 1,
      });
    return tenantOf(name, {
      fleet: MAIN,
      redundancy: i < 36 ? 'Dual' : 'Single',
      size: 1 + (i % 3),
      hosts: [`${name}.shop.example`],
    });
  });

test(
  'a Fleet of 6 Prods (+1 test) over three domains places 60 Tenants; the invariants hold',
  { timeout: 100_000 },
  async () => {
    const f0 = Date.now();
    await rest.create(
      fleetGvr,
      fleetOf(MAIN, {
        prods: { perDomain: 2, testProds: 1 },
        drain: { prods: 'Keep', rebalanceMovesPerMinute: RATE },
      }),
    );
    // The Prods first: tenants placed while only some are Ready crowd those (and leave the test
    // Prod to test tenants created later), and even out only at the rebalance rate.
    await until(
      "the Fleet's 7 Prods serving",
      async () => {
        alive();
        const ps = await prodsOf(MAIN);
        return ps.length === 7 && ps.every(serving) ? true : undefined;
      },
      45_000,
      250,
    );
    const prodsMs = Date.now() - f0;
    const history = await watchAll();
    const t0 = Date.now();
    await createAll(mainTenants());
    const tenants = await until(
      'all 60 main tenants Placed',
      async () => {
        alive();
        const ts = await tenantsOf(MAIN);
        return ts.length === 60 && ts.every(placed) ? ts : undefined;
      },
      45_000,
      250,
    );
    const tookMs = Date.now() - t0;
    await history.caughtUp();
    await history.close();

    const prods = await prodsOf(MAIN);
    const live = prods.filter((p) => !p.spec.retired);
    assert.equal(live.length, 7, `Prods: ${live.map((p) => p.metadata.name).join(', ')}`);
    const standard = live.filter((p) => p.spec.role !== 'test');
    const perDomain = new Map<string, number>();
    for (const p of standard) perDomain.set(domainOf(p), (perDomain.get(domainOf(p)) ?? 0) + 1);
    assert.deepEqual(
      Object.fromEntries(perDomain),
      { a: 2, b: 2, c: 2 },
      'two standard per domain',
    );
    for (const p of standard)
      assert.match(p.metadata.name, new RegExp(`^${MAIN}-${domainOf(p)}-\\d+$`));
    for (const p of live) {
      assert.equal(p.metadata.labels?.[FLEET_LABEL], MAIN);
      assert.equal(p.metadata.labels?.['kachiku.io/role'], p.spec.role ?? 'standard');
      assert.equal(p.spec.capacity, CAPACITY);
    }
    assert.equal(live.filter((p) => p.spec.role === 'test').length, 1, 'one test Prod');

    assert.deepEqual(placementProblems(tenants, live, MAIN, { testFirst: true }), []);
    // Spread: no standard Prod more than twice as full as the emptiest.
    const used = new Map<string, number>();
    for (const t of tenants)
      for (const p of prodsNamed(t)) used.set(p, (used.get(p) ?? 0) + (t.spec.size ?? 1));
    const fills = standard.map((p) => used.get(p.metadata.name) ?? 0);
    assert.ok(Math.max(...fills) <= 2 * Math.min(...fills), `standard Prods' units: ${fills}`);
    // Every test tenant that could be is on the test Prod (it has room for all 18 copies).
    for (const t of tenants.filter((t) => t.spec.test))
      assert.ok(
        prodsNamed(t).some((p) => live.find((x) => x.metadata.name === p)?.spec.role === 'test'),
        `${t.metadata.name} on a test Prod`,
      );

    // No tenant was ever placed on a Prod that was not serving at that moment.
    const wrong: string[] = [];
    history.replay((state) => {
      const prodsNow = state.get('Prod')! as Map<string, Prod>;
      for (const t of state.get('Tenant')!.values() as Iterable<Tenant>)
        for (const p of prodsNamed(t))
          if (!serving(prodsNow.get(p)))
            wrong.push(`${t.metadata.name} on ${p} (${prodsNow.get(p)?.status?.phase ?? 'gone'})`);
    });
    assert.deepEqual([...new Set(wrong)], []);

    const fleet = await until(
      'the Fleet status counts them',
      async () => {
        const f = await getFleet(MAIN);
        return f.status?.tenants?.placed === 60 ? f : undefined;
      },
      10_000,
    );
    assert.deepEqual(fleet.status?.tenants, {
      ...fleet.status?.tenants,
      total: 60,
      placed: 60,
      unplaced: 0,
    });
    assert.equal(condition(fleet, 'TenantsPlaced')?.status, 'True');
    console.log(
      `7 Prods serving ${prodsMs} ms after the Fleet was created; 60 tenants placed ${tookMs} ms after their creation began`,
    );
  },
);

interface PrintedPlan {
  tenantsMoved: number;
  copiesMoved: number;
  lowerBound: number;
  lowerBoundReachable: boolean;
  dualExposed?: string[];
  unplaceable?: string[];
  /** The tenants it moves, when the CLI lists them. */
  tenants?: string[];
}

/** The main Fleet's part of `kachiku plan drain <cluster> -o json`. */
async function planDrain(cluster: string): Promise<{ plan: PrintedPlan; printed: string }> {
  const printed = await cli([
    'plan',
    'drain',
    cluster,
    '--kubeconfig',
    cp.kachikuKubeconfig!,
    '--namespace',
    ns,
    '--output',
    'json',
  ]);
  const doc = JSON.parse(printed) as {
    fleets?: { namespace?: string; fleet: string; plan: PrintedPlan }[];
  };
  const mine = doc.fleets?.find((f) => f.fleet === MAIN && (f.namespace ?? ns) === ns);
  assert.ok(mine, `the plan names Fleet ${MAIN}: ${printed}`);
  return { plan: mine.plan, printed };
}

type DrainEntry = NonNullable<NonNullable<Fleet['status']>['drains']>[number];
const drainOf = (f: Fleet, cluster: string): DrainEntry | undefined =>
  f.status?.drains?.find((d) => d.cluster === cluster);

test(
  'draining a cluster moves every tenant off it as planned, never leaving a Dual tenant without a serving Prod',
  { timeout: 60_000 },
  async () => {
    const drained = A;
    const before = await tenantsOf(MAIN);
    const prodsBefore = await prodsOf(MAIN);
    const there = new Set(
      prodsBefore.filter((p) => clusterOf(p) === drained.name).map((p) => p.metadata.name),
    );
    assert.ok(there.size >= 2, `${drained.name} hosts Prods of ${MAIN}`);
    const leaving = before.filter((t) => prodsNamed(t).some((p) => there.has(p)));
    const copiesThere = before.reduce(
      (n, t) => n + prodsNamed(t).filter((p) => there.has(p)).length,
      0,
    );
    assert.ok(leaving.length >= 10, `${leaving.length} tenants on ${drained.name}`);

    // The plan first, as an operator asks for it: nothing acts on it.
    const { plan, printed } = await planDrain(drained.name);
    console.log(
      `kachiku plan drain ${drained.name} (${printed.length} bytes of JSON), Fleet ${MAIN}: ${JSON.stringify({ ...plan, tenants: plan.tenants?.length })}`,
    );
    assert.equal(plan.lowerBound, copiesThere, 'lower bound: the copies on the drained cluster');
    assert.equal(plan.lowerBoundReachable, true);
    assert.deepEqual(plan.unplaceable ?? [], []);
    const untouched = await tenantsOf(MAIN);
    assert.deepEqual(
      untouched.map((t) => t.metadata.resourceVersion),
      before.map((t) => t.metadata.resourceVersion),
      'a plan moves nothing',
    );

    const history = await watchAll();
    const wasPlaced = new Set(before.filter(placed).map((t) => t.metadata.name));
    const started = Date.now();
    await setDrain(drained.name, true);
    await until(
      `the drain of ${drained.name} Drained`,
      () => {
        alive();
        const f = history.objects<Fleet>('Fleet').find((x) => x.metadata.name === MAIN);
        return f && drainOf(f, drained.name)?.phase === 'Drained' ? true : undefined;
      },
      30_000,
    );
    const tookMs = Date.now() - started;
    await history.caughtUp();
    const after = await tenantsOf(MAIN);
    await history.close();

    // Nobody is left on the drained cluster, and the placement is sound.
    assert.deepEqual(
      after.filter((t) => prodsNamed(t).some((p) => there.has(p))).map((t) => t.metadata.name),
      [],
    );
    const prods = await prodsOf(MAIN);
    assert.deepEqual(placementProblems(after, prods, MAIN), []);
    // Keep: the drained cluster's Prods stay, idle.
    for (const p of there)
      assert.ok(serving(prods.find((x) => x.metadata.name === p)), `${p} kept`);

    // At every write in between, every Dual tenant had a serving Prod and nobody lost placement.
    const exposed = new Set<string>();
    let samples = 0;
    history.replay((state) => {
      samples++;
      for (const e of exposedAt(state, MAIN, wasPlaced)) exposed.add(e);
    });
    assert.deepEqual([...exposed], []);
    assert.ok(samples > leaving.length, `${samples} writes replayed`);

    // What happened is what was planned: exactly the tenants on the drained cluster moved, one
    // copy per copy there.
    const a0 = assignmentOf(before);
    const a1 = assignmentOf(after);
    const moved = after.filter(
      (t) => copyMoves(a0.get(t.metadata.name), a1.get(t.metadata.name)) > 0,
    );
    const copies = after.reduce(
      (n, t) => n + copyMoves(a0.get(t.metadata.name), a1.get(t.metadata.name)),
      0,
    );
    assert.deepEqual(
      moved.map((t) => t.metadata.name).sort(),
      leaving.map((t) => t.metadata.name).sort(),
      'only the tenants on the drained cluster moved',
    );
    assert.equal(copies, copiesThere);
    assert.equal(plan.tenantsMoved, moved.length, 'printed plan: tenants moved');
    assert.equal(plan.copiesMoved, copies, 'printed plan: copies moved');
    if (plan.tenants)
      assert.deepEqual([...plan.tenants].sort(), moved.map((t) => t.metadata.name).sort());

    // The Fleet said so: Planned or Moving first, then Drained, with the same plan.
    const phases: string[] = [];
    for (const c of history.changes)
      if (c.kind === 'Fleet' && c.object.metadata.name === MAIN) {
        const e = drainOf(c.object as Fleet, drained.name);
        if (e && phases.at(-1) !== e.phase) phases.push(e.phase);
      }
    assert.ok(['Planned', 'Moving'].includes(phases[0] ?? ''), `phases seen: ${phases}`);
    assert.equal(phases.at(-1), 'Drained');
    assert.ok(!phases.includes('Blocked'), `phases seen: ${phases}`);
    const entry = drainOf(await getFleet(MAIN), drained.name)!;
    assert.equal(entry.tenantsLeft ?? 0, 0);
    assert.deepEqual(
      {
        tenantsMoved: entry.plan?.tenantsMoved,
        copiesMoved: entry.plan?.copiesMoved,
        lowerBound: entry.plan?.lowerBound,
      },
      {
        tenantsMoved: plan.tenantsMoved,
        copiesMoved: plan.copiesMoved,
        lowerBound: plan.lowerBound,
      },
      'the plan in status is the printed one',
    );
    console.log(
      `drain of ${drained.name}: ${moved.length} tenants, ${copies} copies moved in ${tookMs} ms; phases ${phases.join(' → ')}`,
    );
  },
);

test(
  `un-draining rebalances gradually: at most ${RATE} copies a minute, plus one batch`,
  { timeout: 60_000 },
  async () => {
    const back = A;
    const prods = await prodsOf(MAIN);
    const there = new Set(
      prods.filter((p) => clusterOf(p) === back.name).map((p) => p.metadata.name),
    );
    const history = await watchAll();
    const start = Date.now();
    await setDrain(back.name, false);
    const WINDOW_MS = 40_000;
    await sleep(WINDOW_MS);
    alive();
    await history.caughtUp();
    const end = Date.now();
    await history.close();

    const { moves, to, log } = copyMovesIn(history, start, end);
    const toThere = [...to].filter(([p]) => there.has(p)).reduce((n, [, k]) => n + k, 0);
    const elapsedMin = (end - start) / 60_000;
    const bound = RATE * elapsedMin + BATCH;
    console.log(
      `un-drain: ${moves} copies moved (${toThere} to ${back.name}) in ${(end - start) / 1000} s; bound ${bound.toFixed(1)}`,
    );
    assert.ok(
      moves <= bound,
      `${moves} copies moved in ${end - start} ms: more than ${bound.toFixed(1)}:\n${log.join('\n')}\n${statesIn(history, start, end).join('\n')}`,
    );
    assert.ok(toThere >= 1, 'the un-drained cluster gets tenants back');
    const f = await getFleet(MAIN);
    assert.equal(drainOf(f, back.name), undefined, 'the drain entry is gone');
  },
);

test(
  `a member's apiserver stopped: Dual tenants flip to their secondary within ${DETECTION_MS} + 5000 ms, Single tenants re-placed; back: no burst of moves`,
  { timeout: 110_000 },
  async () => {
    const down = B;
    const apiserver = `${down.lab}-apiserver`;
    const prods = await prodsOf(MAIN);
    const there = new Set(
      prods.filter((p) => clusterOf(p) === down.name).map((p) => p.metadata.name),
    );
    const prodByName = new Map(prods.map((p) => [p.metadata.name, p]));
    const dual = (t: Tenant) => t.spec.redundancy === 'Dual';

    const history = await watchAll();
    const now = () => new Map(history.objects<Tenant>('Tenant').map((t) => [t.metadata.name, t]));
    const BOUND = DETECTION_MS + 5000;
    const stoppedAt = Date.now();
    const stopping = stopLabProcess(lab.dir, apiserver);
    let restartedAt = 0;
    try {
      // Who is where when kachiku judges the cluster down: the Tenants as of the write that
      // turned it Reachable=False (the un-drain's rebalancing may still move a few until then).
      const unreachable = await until(
        `${down.name} Reachable=False`,
        () => {
          alive();
          return history.changes.find(
            (c) =>
              c.kind === 'MemberCluster' &&
              c.object.metadata.name === down.name &&
              condition(c.object as MemberCluster, 'Reachable')?.status === 'False',
          );
        },
        BOUND + 15_000,
        50,
      );
      await history.caughtUp();
      let before: Tenant[] = [];
      history.replay((state, c) => {
        if (c === unreachable)
          before = ([...state.get('Tenant')!.values()] as Tenant[]).filter(
            (t) => t.spec.fleet === MAIN,
          );
      });
      const flip = before.filter((t) => dual(t) && there.has(t.status?.prods?.primary ?? ''));
      const secondaryThere = before.filter(
        (t) => dual(t) && there.has(t.status?.prods?.secondary ?? ''),
      );
      const singles = before.filter((t) => !dual(t) && there.has(t.status?.prods?.primary ?? ''));
      assert.ok(
        flip.length >= 3 && singles.length >= 3,
        `on ${down.name}: ${flip.length} Dual primaries, ${singles.length} Single tenants`,
      );
      const oldPrimary = new Map(before.map((t) => [t.metadata.name, t.status?.prods?.primary]));
      const oldSecondary = new Map(
        before.map((t) => [t.metadata.name, t.status?.prods?.secondary]),
      );
      const show = (t?: Tenant) => {
        const c = t && condition(t, 'Placed');
        return `${JSON.stringify(t?.status?.prods ?? {})}${c && c.status !== 'True' ? ` (${c.reason}: ${c.message})` : ''}`;
      };
      await untilNone(
        `every Dual tenant with its primary on ${down.name} served by its secondary`,
        () => {
          const ts = now();
          return flip
            .filter(
              (t) =>
                ts.get(t.metadata.name)?.status?.prods?.primary !==
                oldSecondary.get(t.metadata.name),
            )
            .map((t) => `${t.metadata.name}: was ${show(t)}, now ${show(ts.get(t.metadata.name))}`);
        },
        BOUND + 15_000,
        50,
      );
      await untilNone(
        `every Single tenant of ${down.name} placed elsewhere`,
        () => {
          const ts = now();
          return singles
            .filter((t) => {
              const p = ts.get(t.metadata.name)?.status?.prods?.primary;
              return p === undefined || there.has(p);
            })
            .map((t) => `${t.metadata.name}: now ${show(ts.get(t.metadata.name))}`);
        },
        30_000,
        50,
      );
      await untilNone(
        `every Dual tenant with a copy on ${down.name} has its other copy elsewhere again`,
        () => {
          const ts = now();
          return [...flip, ...secondaryThere]
            .filter((t) => {
              const s = ts.get(t.metadata.name)?.status?.prods?.secondary;
              return s === undefined || there.has(s);
            })
            .map((t) => `${t.metadata.name}: was ${show(t)}, now ${show(ts.get(t.metadata.name))}`);
        },
        30_000,
        50,
      );
      await history.caughtUp();
      // When each change arrived, from the recorded writes.
      const firstAt = (ok: (t: Tenant) => boolean, who: Tenant[]) => {
        const names = new Set(who.map((t) => t.metadata.name));
        const at = new Map<string, number>();
        for (const { after, change } of history.transitions<Tenant>('Tenant'))
          if (
            change.rv > unreachable.rv &&
            after &&
            names.has(after.metadata.name) &&
            !at.has(after.metadata.name) &&
            ok(after)
          )
            at.set(after.metadata.name, change.at);
        assert.equal(at.size, names.size);
        return Math.max(...at.values()) - stoppedAt;
      };
      const flippedMs = firstAt(
        (t) => t.status?.prods?.primary === oldSecondary.get(t.metadata.name),
        flip,
      );
      const singlesMs = firstAt((t) => !there.has(t.status?.prods?.primary ?? ''), singles);
      console.log(
        `${down.lab} stopped: Reachable=False after ${unreachable.at - stoppedAt} ms; ${flip.length} Dual tenants flipped after ${flippedMs} ms; ${singles.length} Single tenants re-placed after ${singlesMs} ms`,
      );
      assert.ok(
        flippedMs <= BOUND,
        `Dual tenants flipped ${flippedMs} ms after the stop (bound ${BOUND} ms)`,
      );

      // A flip is a promotion: the surviving copy is not moved, and no Dual tenant ends with both
      // copies in one domain or on the stopped cluster.
      const ts = now();
      const nowProds = new Map((await prodsOf(MAIN)).map((p) => [p.metadata.name, p]));
      for (const t of [...flip, ...secondaryThere]) {
        const got = ts.get(t.metadata.name)!.status!.prods!;
        const survivor = flip.includes(t)
          ? oldSecondary.get(t.metadata.name)
          : oldPrimary.get(t.metadata.name);
        assert.equal(
          got.primary,
          survivor,
          `${t.metadata.name} keeps its surviving copy as primary`,
        );
        // Read the Prods again: a copy may have gone to a Prod made during the test.
        const d = [got.primary, got.secondary].map((p) => {
          const prod = prodByName.get(p ?? '') ?? nowProds.get(p ?? '');
          assert.ok(prod, `${t.metadata.name}: ${JSON.stringify(got)} names a Prod not found`);
          return domainOf(prod);
        });
        assert.notEqual(d[0], d[1], `${t.metadata.name}: copies in ${d}`);
        assert.ok(!d.includes(down.domain));
      }
      for (const t of ts.values())
        if (t.spec.fleet === MAIN)
          assert.ok(
            placed(t),
            `${t.metadata.name} Placed: ${JSON.stringify(condition(t, 'Placed'))}`,
          );
    } finally {
      // Started again whatever happened above (once the stop is complete).
      await stopping;
      restartedAt = Date.now();
      await startLabProcess(lab.dir, apiserver);
    }

    // Back: tenants return only as the rebalance rate allows.
    await until(
      `${down.name} Reachable again`,
      async () =>
        condition(await getCluster(down.name), 'Reachable')?.status === 'True' ? true : undefined,
      30_000,
    );
    const backMs = Date.now() - restartedAt;
    await sleep(30_000);
    alive();
    await history.caughtUp();
    const end = Date.now();
    await history.close();
    const { moves, to, log } = copyMovesIn(history, restartedAt, end);
    const toThere = [...to].filter(([p]) => there.has(p)).reduce((n, [, k]) => n + k, 0);
    const bound = (RATE * (end - restartedAt)) / 60_000 + BATCH;
    console.log(
      `${down.lab} back (Reachable after ${backMs} ms): ${moves} copies moved (${toThere} to ${down.name}) in ${end - restartedAt} ms; bound ${bound.toFixed(1)}`,
    );
    assert.ok(
      moves <= bound,
      `${moves} copies moved in ${end - restartedAt} ms after the restart: more than ${bound.toFixed(1)}:\n${log.join('\n')}\n${statesIn(history, restartedAt, end).join('\n')}`,
    );
    assert.deepEqual(placementProblems(await tenantsOf(MAIN), await prodsOf(MAIN), MAIN), []);
  },
);

test(
  'autoscale: past the high watermark a Prod is added and warmed before it takes tenants; below the low one a Prod is emptied and retired',
  { timeout: 120_000 },
  async () => {
    const AUTO = 'auto';
    const live = (ps: Prod[]) => ps.filter((p) => !p.spec.retired && !p.metadata.deletionTimestamp);
    await rest.create(
      fleetGvr,
      fleetOf(AUTO, {
        template: { ...TEMPLATE, capacity: 10, warmup: { minimumTime: '3s' } },
        prods: { total: 2, minDomains: 2 },
        autoscale: { minProds: 2, maxProds: 3, highWatermark: 75, lowWatermark: 25, window: '2s' },
        drain: { rebalanceMovesPerMinute: 60 },
      }),
    );
    const first = await until(
      'the two Prods Ready',
      async () => {
        alive();
        const ps = live(await prodsOf(AUTO));
        return ps.length === 2 && ps.every(serving) ? ps : undefined;
      },
      45_000,
    );
    const history = await watchAll();
    // 16 of 20 units: 80 %, above the high watermark.
    const auto = (i: number) =>
      tenantOf(`a-${String(i).padStart(2, '0')}`, { fleet: AUTO, size: 1 });
    await createAll(Array.from({ length: 16 }, (_, i) => auto(i)));
    const added = await until(
      'a third Prod',
      async () => {
        alive();
        return live(await prodsOf(AUTO)).find(
          (p) => !first.some((f) => f.metadata.name === p.metadata.name),
        );
      },
      45_000,
    );
    const name = added.metadata.name;
    // More tenants while it warms up: 20 of 20 units on the first two, 20 of 30 in all.
    await createAll(Array.from({ length: 4 }, (_, i) => auto(16 + i)));
    await until(
      `tenants on ${name}`,
      async () => {
        alive();
        return (await tenantsOf(AUTO)).some((t) => prodsNamed(t).includes(name)) || undefined;
      },
      45_000,
    );
    const all = await until(
      'all 20 Placed',
      async () => {
        const ts = await tenantsOf(AUTO);
        return ts.length === 20 && ts.every(placed) ? ts : undefined;
      },
      30_000,
    );
    assert.equal(live(await prodsOf(AUTO)).length, 3, 'maxProds 3');

    // Remove 14: 6 of 30 units, 20 %, below the low watermark. Keep two on each Prod, so the one
    // retired had tenants to move.
    const byProd = new Map<string, Tenant[]>();
    for (const t of all)
      byProd.set(t.status!.prods!.primary!, [...(byProd.get(t.status!.prods!.primary!) ?? []), t]);
    assert.equal(byProd.size, 3, `tenants on ${[...byProd.keys()]}`);
    const kept = [...byProd.values()].flatMap((ts) => ts.slice(0, 2));
    for (const t of all.filter((t) => !kept.includes(t)))
      await rest.delete(tenantGvr, ns, t.metadata.name);
    const remaining = await until(
      'one Prod retired, two left',
      async () => {
        alive();
        const ps = await prodsOf(AUTO);
        return live(ps).length === 2 && ps.length === live(ps).length + 0
          ? live(ps)
          : live(ps).length === 2
            ? live(ps)
            : undefined;
      },
      45_000,
    );
    const retired = [...byProd.keys()].find((p) => !remaining.some((r) => r.metadata.name === p))!;
    assert.ok(retired, 'one of the three is retired');
    const moved = byProd.get(retired)!.filter((t) => kept.includes(t));
    const after = await until(
      'the kept tenants placed on the two left',
      async () => {
        const ts = await tenantsOf(AUTO);
        return ts.length === 6 && ts.every((t) => placed(t) && !prodsNamed(t).includes(retired))
          ? ts
          : undefined;
      },
      30_000,
    );
    await until(
      `${retired} gone or Retired`,
      async () => {
        const p = await rest.get<Prod>(prodGvr, ns, retired).catch((err) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        return !p || p.status?.phase === 'Retired' ? true : undefined;
      },
      45_000,
    );
    // Stays at two (minProds), not below.
    await sleep(5000);
    assert.equal(live(await prodsOf(AUTO)).length, 2);
    await history.caughtUp();
    await history.close();
    assert.deepEqual(placementProblems(after, remaining, AUTO), []);
    assert.equal(moved.length, 2);

    // At no write did a tenant name a Prod that was not serving: the new one was warmed first, the
    // retired one emptied first.
    const wrong: string[] = [];
    history.replay((state) => {
      const prodsNow = state.get('Prod')! as Map<string, Prod>;
      for (const t of state.get('Tenant')!.values() as Iterable<Tenant>)
        if (t.spec.fleet === AUTO)
          for (const p of prodsNamed(t))
            if (!serving(prodsNow.get(p)))
              wrong.push(
                `${t.metadata.name} on ${p} (${prodsNow.get(p)?.status?.phase ?? 'gone'})`,
              );
    });
    assert.deepEqual([...new Set(wrong)], []);
    // And the new Prod did warm up (the check above had something to catch).
    const phases = history
      .transitions<Prod>('Prod')
      .filter((x) => x.after?.metadata.name === name)
      .map((x) => x.after!.status?.phase);
    assert.ok(phases.includes('WarmingUp'), `${name}'s phases: ${phases}`);
  },
);

/** The apiserver's refusal of a write: its 422 message. */
async function refusal(write: Promise<unknown>): Promise<string> {
  const err = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `refused (got ${String(err)})`);
  assert.equal(err.code, 422, err.message);
  return err.message;
}

test(
  'bad input: FleetNotFound, SingleDomain, HostConflict (the older keeps its place), NoCapacity; nothing else written',
  { timeout: 60_000 },
  async () => {
    const SOLO = 'solo';
    const reason = async (name: string, want: string) =>
      until(
        `${name} Placed=False ${want}`,
        async () => {
          alive();
          const t = await getTenant(name);
          const c = condition(t, 'Placed');
          return c?.status === 'False' && c.reason === want ? t : undefined;
        },
        30_000,
      );

    await rest.create(tenantGvr, tenantOf('lost', { fleet: 'nowhere' }));
    // A one-domain Fleet: only onprem-c carries solo.
    await rest.create(
      fleetGvr,
      fleetOf(SOLO, {
        clusterSelector: { matchLabels: { run: id, solo: 'yes' } },
        prods: { perDomain: 1 },
        template: { ...TEMPLATE, capacity: 6 },
      }),
    );
    await until(
      'the solo Prod serving',
      async () => {
        const ps = await prodsOf(SOLO);
        return ps.length === 1 && serving(ps[0]) ? true : undefined;
      },
      30_000,
    );
    await rest.create(tenantGvr, tenantOf('old', { fleet: SOLO, hosts: ['shop.example.com'] }));
    const old = await until(
      'old Placed',
      async () => {
        const t = await getTenant('old');
        return placed(t) ? t : undefined;
      },
      30_000,
    );
    await rest.create(tenantGvr, tenantOf('dual', { fleet: SOLO, redundancy: 'Dual' }));
    await rest.create(
      tenantGvr,
      tenantOf('new', { fleet: SOLO, hosts: ['new.example.com', 'shop.example.com'] }),
    );

    const lost = await reason('lost', 'FleetNotFound');
    assert.match(condition(lost, 'Placed')!.message, /nowhere/);
    const dual = await reason('dual', 'SingleDomain');
    assert.match(condition(dual, 'Placed')!.message, /domain/i);
    const conflict = await reason('new', 'HostConflict');
    assert.match(condition(conflict, 'Placed')!.message, /shop\.example\.com/);
    assert.match(
      condition(conflict, 'Placed')!.message,
      /\bold\b/,
      'names the Tenant holding the host',
    );
    assert.equal(conflict.status?.prods?.primary, undefined);
    const oldNow = await getTenant('old');
    assert.equal(
      oldNow.metadata.resourceVersion,
      old.metadata.resourceVersion,
      'the older keeps its placement, untouched',
    );

    // Capacity: 6 units; old 1 (+ dual's one copy if placed) + big 4 fit, then nothing of size 2.
    await rest.create(tenantGvr, tenantOf('big', { fleet: SOLO, size: 4 }));
    await until(
      'big Placed',
      async () => (placed(await getTenant('big')) ? true : undefined),
      30_000,
    );
    const soloBefore = await tenantsOf(SOLO);
    await rest.create(tenantGvr, tenantOf('over', { fleet: SOLO, size: 2 }));
    const over = await reason('over', 'NoCapacity');
    assert.equal(over.status?.prods?.primary, undefined);
    await sleep(2000);
    const soloAfter = await tenantsOf(SOLO);
    assert.deepEqual(
      soloAfter
        .filter((t) => t.metadata.name !== 'over')
        .map((t) => [t.metadata.name, t.metadata.resourceVersion]),
      soloBefore.map((t) => [t.metadata.name, t.metadata.resourceVersion]),
      'no other tenant written',
    );
    const f = await until(
      'the solo Fleet counts the unplaced',
      async () => {
        const x = await getFleet(SOLO);
        return x.status?.tenants?.total === 5 ? x : undefined;
      },
      10_000,
    );
    assert.equal(f.status?.tenants?.unplaced, soloAfter.filter((t) => !placed(t)).length);
    assert.equal(condition(f, 'TenantsPlaced')?.status, 'False');
  },
);

test(
  'invalid specs are refused by the CRDs, with the field named',
  { timeout: 10_000 },
  async () => {
    await rest.create(tenantGvr, tenantOf('fixed', { fleet: 'any' }));
    const bad = (name: string, spec: Record<string, unknown>) =>
      rest.create(fleetGvr, {
        ...fleetOf(name, { prods: { perDomain: 1 } }),
        spec: { ...fleetOf(name, { prods: { perDomain: 1 } }).spec, ...spec },
      } as Fleet);
    assert.match(
      await refusal(bad('both', { prods: { perDomain: 1, total: 3 } })),
      /spec\.prods.*exactly one of perDomain and total/,
    );
    assert.match(
      await refusal(
        bad('marks', {
          autoscale: { minProds: 1, maxProds: 3, highWatermark: 50, lowWatermark: 50 },
        }),
      ),
      /spec\.autoscale.*lowWatermark must be below highWatermark/,
    );
    assert.match(
      await refusal(rest.create(tenantGvr, tenantOf('zero', { fleet: 'any', size: 0 }))),
      /spec\.size/,
    );
    assert.match(
      await refusal(
        rest.create(tenantGvr, tenantOf('host', { fleet: 'any', hosts: ['Bad_Host!'] })),
      ),
      /spec\.hosts\[0\]/,
    );
    assert.match(
      await refusal(rest.patch(tenantGvr, ns, 'fixed', { spec: { fleet: 'elsewhere' } }, 'merge')),
      /spec\.fleet.*cannot change/,
    );
  },
);

// A Fleet against the lab, end to end: three member clusters in failure domains a, b, c; the
// MemberCluster, Prod and Fleet controllers in this process as kachiku's ServiceAccount; a Fleet
// of two Prods per domain and twelve tenants; then one cluster drained. What is checked is read
// back from the objects (the Tenants' statuses, the Fleet's), as a user or the router would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Manager } from '../../src/runtime/manager.js';
import { Rest, isNotFound } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { ClusterRegistry } from '../../src/runtime/clusters.js';
import { applyCrds } from '../../src/cli/crds.js';
import { CONTROLLER_NAME } from '../../src/api/kind.js';
import type { Fleet } from '../../src/api/fleet.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import type { Prod } from '../../src/api/prod.js';
import type { Tenant } from '../../src/api/tenant.js';
import {
  memberClusterGvr,
  registerMemberClusterController,
} from '../../src/controllers/membercluster/reconciler.js';
import { prodGvr, registerProdController } from '../../src/controllers/prod/reconciler.js';
import {
  fleetGvr,
  registerFleetController,
  tenantGvr,
} from '../../src/controllers/fleet/reconciler.js';
import { placer } from '../../src/controllers/fleet/placer.js';
import { FLEET_LABEL } from '../../src/controllers/fleet/prods.js';
import type { PlanDocument } from '../../src/controllers/fleet/dryrun.js';
import { labState } from '../support/lab.js';
import {
  controlPlaneConfig,
  grantSecrets,
  kachikuConfig,
  deleteProds,
  registerMembers,
  namespaceGvr,
  testNamespace,
} from '../support/kube.js';
import { until } from '../support/wait.js';

const lab = labState();
const members = ['onprem-a', 'eks-b', 'onprem-c'].map((name) => {
  const c = lab.kube!.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`the lab has no member ${name}: lab up --members 3`);
  return c;
});
const adminKubeconfig = lab.kube!.clusters.find((c) => c.role === 'control-plane')!.kubeconfig;
const config = controlPlaneConfig();
const rest = new Rest(config);
const id = randomUUID().slice(0, 6);
// MemberClusters are cluster-scoped: names and a label of this run's own, which the Fleet selects.
const names = ['a', 'b', 'c'].map((d) => `fs${d}-${id}`);
const domainOf = new Map(names.map((n, i) => [n, ['a', 'b', 'c'][i]!]));
// A Fleet name of the run's own: its Prods' namespaces in the members (prod-<name>) must not meet
// those of an earlier run still being deleted there.
const FLEET = `shop-${id}`;

let ns = '';
let stop: (() => Promise<void>) | undefined;

before(async () => {
  await applyCrds(config);
  ns = await testNamespace(rest, 'fleet');
  await grantSecrets(rest, ns);
  await registerMembers(
    rest,
    ns,
    names.map((name, i) => ({
      lab: members[i]!.name,
      name,
      domain: domainOf.get(name)!,
      provider: i === 1 ? 'eks' : 'onprem',
    })),
    { smoke: id },
  );
  const mgr = new Manager({
    name: CONTROLLER_NAME,
    config: kachikuConfig(),
    namespace: ns,
    log: newLogger(
      process.env.TEST_LOG === 'debug' ? 'debug' : process.env.TEST_LOG ? 'warn' : 'silent',
    ),
  });
  const registry = new ClusterRegistry({ log: mgr.log });
  const prods = registerProdController(mgr, { registry });
  registerMemberClusterController(mgr, {
    registry,
    probeIntervalMs: 1000,
    probeTimeoutMs: 1000,
    failuresToUnreachable: 2,
    successesToReachable: 1,
    prodsHosted: prods.prodsHosted,
  });
  registerFleetController(mgr, { placer });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
  await until('the three MemberClusters Ready', async () => {
    const all = await Promise.all(
      names.map((n) => rest.get<MemberCluster>(memberClusterGvr, undefined, n)),
    );
    return (
      all.every((mc) =>
        mc.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ) || undefined
    );
  });
});

after(async () => {
  // The Fleet's Prods first, while the controllers run, so that their member namespaces go too.
  try {
    await rest.delete(fleetGvr, ns, FLEET).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    await deleteProds(rest, ns, 120_000);
  } finally {
    await stop?.();
  }
  for (const name of names) await rest.delete(memberClusterGvr, undefined, name).catch(() => {});
  await rest.delete(namespaceGvr, undefined, ns);
});

const listTenants = async () => (await rest.list<Tenant>(tenantGvr, ns)).items;
const listProds = async () => (await rest.list<Prod>(prodGvr, ns)).items;
const getFleet = () => rest.get<Fleet>(fleetGvr, ns, FLEET);
const placedTrue = (t: Tenant) =>
  t.status?.conditions?.some((c) => c.type === 'Placed' && c.status === 'True') ?? false;
const copies = (t: Tenant) =>
  [t.status?.prods?.primary, t.status?.prods?.secondary].filter((p): p is string => !!p);

const tenants = Array.from({ length: 12 }, (_, k) => ({
  name: `t${String(k).padStart(2, '0')}`,
  dual: k % 2 === 1,
}));

test('a Fleet of two Prods per domain: six Prods Ready, twelve tenants placed, Dual copies in two domains', async () => {
  await rest.create<Fleet>(fleetGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name: FLEET, namespace: ns },
    spec: {
      app: 'shop',
      version: '1.0.0',
      template: {
        capacity: 10,
        components: [{ name: 'web', image: 'registry.example/shop-web:{{version}}' }],
      },
      clusterSelector: { matchLabels: { smoke: id } },
      prods: { perDomain: 2 },
      drain: { prods: 'Retire' },
    },
  });
  for (const t of tenants)
    await rest.create<Tenant>(tenantGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Tenant',
      metadata: { name: t.name, namespace: ns },
      spec: {
        fleet: FLEET,
        redundancy: t.dual ? 'Dual' : 'Single',
        hosts: [`${t.name}.shop.example`],
      },
    });

  const prods = await until(
    'six Prods Ready',
    async () => {
      const ps = await listProds();
      return ps.length === 6 && ps.every((p) => p.status?.phase === 'Ready') ? ps : undefined;
    },
    150_000,
    500,
  );
  const clusterOfProd = new Map(prods.map((p) => [p.metadata.name, p.spec.cluster ?? '']));
  // Named <fleet>-<domain>-<n>, two per cluster, labelled and owned by the Fleet.
  assert.deepEqual(prods.map((p) => p.metadata.name).sort(), [
    `${FLEET}-a-1`,
    `${FLEET}-a-2`,
    `${FLEET}-b-1`,
    `${FLEET}-b-2`,
    `${FLEET}-c-1`,
    `${FLEET}-c-2`,
  ]);
  for (const p of prods) {
    assert.equal(domainOf.get(clusterOfProd.get(p.metadata.name)!), p.metadata.name.split('-')[2]);
    assert.equal(p.metadata.labels?.[FLEET_LABEL], FLEET);
    assert.equal(p.metadata.labels?.['kachiku.io/role'], 'standard');
    assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'Fleet');
    assert.equal(p.metadata.ownerReferences?.[0]?.controller, true);
  }

  const placed = await until(
    'every tenant Placed',
    async () => {
      const ts = await listTenants();
      return ts.length === 12 && ts.every(placedTrue) ? ts : undefined;
    },
    60_000,
    250,
  );
  for (const t of placed) {
    const dual = t.spec.redundancy === 'Dual';
    const cs = copies(t);
    assert.equal(cs.length, dual ? 2 : 1, `${t.metadata.name}: ${cs.join(', ')}`);
    for (const p of cs) assert.ok(clusterOfProd.has(p), `${t.metadata.name} on unknown Prod ${p}`);
    if (dual)
      assert.notEqual(
        domainOf.get(clusterOfProd.get(cs[0]!)!),
        domainOf.get(clusterOfProd.get(cs[1]!)!),
        `${t.metadata.name}: both copies in one domain`,
      );
    assert.ok(t.status?.placedSince);
  }
  const fleet = await until('the Fleet’s status counts them', async () => {
    const f = await getFleet();
    return f.status?.tenants?.placed === 12 && f.status.readyProds === 6 ? f : undefined;
  });
  assert.deepEqual(fleet.status?.tenants, { total: 12, placed: 12, unplaced: 0, exposed: 0 });
  assert.equal(fleet.status?.desiredProds, 6);
  const used = (fleet.status?.prods ?? []).reduce((s, p) => s + (p.used ?? 0), 0);
  assert.equal(used, 18, 'six Single and six Dual tenants: 18 copies of one unit');
  assert.equal(
    fleet.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    'True',
    JSON.stringify(fleet.status?.conditions),
  );
});

test('draining one cluster: planned first (as `kachiku plan drain` says), then no tenant is left there', async () => {
  const drained = names[0]!;
  const before = await listTenants();
  const prodsThere = new Set(
    (await listProds()).filter((p) => p.spec.cluster === drained).map((p) => p.metadata.name),
  );
  const onDrained = before.filter((t) => copies(t).some((p) => prodsThere.has(p)));
  assert.ok(onDrained.length > 0, 'some tenants are on the drained cluster');

  // The CLI's dry runs, as a user runs them, before anything changes: retiring one Prod (text),
  // then draining the cluster (json).
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const retired = [...prodsThere][0]!;
  const onRetired = before.filter((t) => copies(t).includes(retired)).map((t) => t.metadata.name);
  const text = (
    await promisify(execFile)(process.execPath, [
      main,
      'plan',
      'retire',
      retired,
      '-n',
      ns,
      '--kubeconfig',
      adminKubeconfig,
    ])
  ).stdout;
  assert.match(text, new RegExp(`^Fleet ${ns}/${FLEET}: retire Prod ${retired}$`, 'm'));
  assert.match(text, new RegExp(`tenants moved: ${onRetired.length} \\(`));
  for (const t of onRetired)
    assert.match(text, new RegExp(`^    ${t} \\((primary|secondary)\\): ${retired} → `, 'm'));
  assert.match(text, /cannot be placed: none/);
  const { stdout } = await promisify(execFile)(process.execPath, [
    main,
    'plan',
    'drain',
    drained,
    '-n',
    ns,
    '-o',
    'json',
    '--kubeconfig',
    adminKubeconfig,
  ]);
  const doc = JSON.parse(stdout) as PlanDocument;
  assert.deepEqual([doc.operation, doc.target, doc.fleets.length], ['drain', drained, 1]);
  const plan = doc.fleets[0]!.plan;
  assert.equal(doc.fleets[0]!.fleet, FLEET);
  assert.equal(plan.tenantsMoved, onDrained.length);
  assert.equal(plan.unplaceable, undefined);
  assert.deepEqual(plan.tenants, onDrained.map((t) => t.metadata.name).sort());

  // Sample the assignment throughout: every tenant keeps a serving copy.
  let sampling = true;
  const problems: string[] = [];
  const sampler = (async () => {
    while (sampling) {
      for (const t of await listTenants())
        if (!t.status?.prods?.primary) problems.push(`${t.metadata.name} without a primary`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const mc = await rest.get<MemberCluster>(memberClusterGvr, undefined, drained);
  await rest.replace<MemberCluster>(memberClusterGvr, { ...mc, spec: { ...mc.spec, drain: true } });
  try {
    const fleet = await until(
      `the drain of ${drained} Drained`,
      async () => {
        const f = await getFleet();
        return f.status?.drains?.find((d) => d.cluster === drained)?.phase === 'Drained'
          ? f
          : undefined;
      },
      90_000,
      250,
    );
    const entry = fleet.status!.drains!.find((d) => d.cluster === drained)!;
    assert.equal(entry.plan?.tenantsMoved, plan.tenantsMoved, 'the plan in status is the CLI’s');
    assert.equal(entry.tenantsLeft, 0);
    const after = await listTenants();
    for (const t of after) {
      assert.ok(placedTrue(t), `${t.metadata.name} placed`);
      for (const p of copies(t)) assert.ok(!prodsThere.has(p), `${t.metadata.name} still on ${p}`);
      if (t.spec.redundancy === 'Dual') assert.equal(copies(t).length, 2);
    }
    // Tenants that were elsewhere did not move.
    const was = new Map(before.map((t) => [t.metadata.name, copies(t).join(',')]));
    for (const t of after)
      if (!onDrained.some((o) => o.metadata.name === t.metadata.name))
        assert.equal(copies(t).join(','), was.get(t.metadata.name), `${t.metadata.name} moved`);
    // Retire: the Prods there are retired (and then removed).
    await until(
      'the drained cluster’s Prods retired or gone',
      async () => {
        const ps = (await listProds()).filter((p) => prodsThere.has(p.metadata.name));
        return ps.every((p) => p.spec.retired) ? true : undefined;
      },
      60_000,
      250,
    );
  } finally {
    sampling = false;
    await sampler;
  }
  assert.deepEqual(problems, []);
});

// Benchmark of the Prod controller (issue 6): N Prods over the lab's member clusters (three with
// `lab up --members 3`), the MemberCluster and Prod controllers in this process.
//   node --expose-gc dist/bench/prods.bench.js [prods] [steady seconds]
// Reported:
// - create → Ready, split into the controller's own parts: create → first Deployment seen in the
//   member cluster (placement, render, apply) and last Deployment Available → Prod Ready (the
//   reaction to the rollout finishing); what lies between is the member cluster's scheduler,
//   controller manager and kwok making pods Ready;
// - heap and RSS per member-cluster connection, empty and with the Prods' objects cached;
// - API requests per steady-state minute, by cluster and by what they are (counted at the REST
//   client and at watch starts), and CPU over that minute.
// It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { until } from '../src/runtime/wait.js';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { Manager } from '../src/runtime/manager.js';
import { ClusterRegistry } from '../src/runtime/clusters.js';
import { Informer } from '../src/runtime/informer.js';
import { Rest, isAlreadyExists, isNotFound, type KubeObject } from '../src/runtime/rest.js';
import { newLogger } from '../src/runtime/log.js';
import { applyCrds } from '../src/cli/crds.js';
import type { MemberCluster } from '../src/api/membercluster.js';
import type { Prod } from '../src/api/prod.js';
import { registerMemberClusterController } from '../src/controllers/membercluster/reconciler.js';
import { memberClusterGvr } from '../src/controllers/membercluster/reconciler.js';
import { prodGvr, registerProdController } from '../src/controllers/prod/reconciler.js';
import { PROD_LABEL, ownerOf } from '../src/controllers/prod/render.js';
import type { Deployment } from '../src/controllers/prod/observe.js';
import { labState } from '../test/support/lab.js';
import { controlPlaneConfig, namespaceGvr } from '../test/support/kube.js';
import { deploymentGvr, secretGvr } from '../src/runtime/core.js';
import { CONTROLLER_NAME } from '../src/api/kind.js';

const N = Number(process.argv[2] ?? 50);
const STEADY_S = Number(process.argv[3] ?? 60);
const NS = 'bench-prods';
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

// Every request, by server and by what it is: REST calls at Rest.request, watches at their start.
const servers = new Map<string, string>();
const calls = new Map<string, number>();
const count = (server: string, what: string) => {
  const key = `${servers.get(server) ?? server}\t${what}`;
  calls.set(key, (calls.get(key) ?? 0) + 1);
};
const shape = (path: string) =>
  path
    .replace(/\/namespaces\/[^/]+/, '/namespaces/*')
    .replace(/^(\/apis?\/.*?\/(?:namespaces\/\*\/)?[a-z.]+)\/[^/]+/, '$1/*');
const request = Rest.prototype.request;
Rest.prototype.request = function (this: Rest, method, path, opts) {
  count(this.server, `${method} ${shape(path)}`);
  return request.call(this, method, path, opts) as never;
};
const watch = Watch.prototype.watch;
Watch.prototype.watch = function (this: Watch, path, query, cb, done) {
  count(this.config.getCurrentCluster()?.server ?? '?', `WATCH ${shape(path)}`);
  return watch.call(this, path, query, cb, done);
};

function memory(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const summary = (xs: number[]) =>
  `p50 ${(pct(xs, 50) / 1000).toFixed(2)} s, p95 ${(pct(xs, 95) / 1000).toFixed(2)} s, max ${(Math.max(...xs) / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const lab = labState();
  const members = lab.kube!.clusters.filter((c) => c.role === 'member');
  if (members.length < 3)
    console.error(`note: ${members.length} member clusters; the issue's run has 3 (--members 3)`);
  const config = controlPlaneConfig();
  servers.set(config.getCurrentCluster()!.server, 'control-plane');
  for (const c of members) servers.set(c.server, c.name);
  const rest = new Rest(config);
  await applyCrds(config);
  await rest
    .create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });

  // The controllers, alone in this process.
  const mgr = new Manager({ name: CONTROLLER_NAME, config, namespace: NS, log: newLogger('warn') });
  const registry = new ClusterRegistry({ log: mgr.log });
  const prods = registerProdController(mgr, { registry });
  registerMemberClusterController(mgr, { registry, prodsHosted: prods.prodsHosted });
  const stop = new AbortController();
  const running = mgr.run(stop.signal);
  await sleep(2000);
  const m0 = memory();

  // The bench's own view: when each Prod's Deployments appear and become Available in the
  // member clusters (its own informers, not the controller's), and when each Prod is Ready.
  const created = new Map<string, number>();
  const firstDeployment = new Map<string, number>();
  const available = new Map<string, number>();
  const ready = new Map<string, number>();
  const deployments = new Map<string, Map<string, Deployment>>();
  const watchers = members.map((c) => {
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const inf = new Informer<Deployment>(new Rest(kc), deploymentGvr, {
      labelSelector: PROD_LABEL,
    });
    const seen = (d: Deployment) => {
      const owner = ownerOf(d);
      if (!owner || owner.namespace !== NS) return;
      const t = performance.now();
      if (!firstDeployment.has(owner.name)) firstDeployment.set(owner.name, t);
      const mine = deployments.get(owner.name) ?? new Map<string, Deployment>();
      deployments.set(owner.name, mine.set(d.metadata.name, d));
      const all = [...mine.values()];
      const done = (x: Deployment) =>
        (x.status?.availableReplicas ?? 0) >= (x.spec?.replicas ?? 1) &&
        (x.status?.observedGeneration ?? 0) >= (x.metadata.generation ?? 0);
      if (all.length === 2 && all.every(done) && !available.has(owner.name))
        available.set(owner.name, t);
    };
    inf.addHandler({ add: seen, update: (_, d) => seen(d) });
    inf.start();
    return inf;
  });
  const prodWatch = new Informer<Prod>(rest, prodGvr, { namespace: NS });
  const onProd = (p: Prod) => {
    if (p.status?.phase === 'Ready' && !ready.has(p.metadata.name))
      ready.set(p.metadata.name, performance.now());
  };
  prodWatch.addHandler({ add: onProd, update: (_, p) => onProd(p) });
  prodWatch.start();
  await Promise.all([...watchers, prodWatch].map((i) => i.waitForSync()));

  // Member clusters, connected and synced with nothing of ours in them yet.
  for (const c of members) {
    const name = `bench-${c.name}`;
    await rest
      .create(secretGvr, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: NS },
        data: { kubeconfig: readFileSync(c.kubeconfig).toString('base64') },
      } as KubeObject)
      .catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
    await rest
      .create<MemberCluster>(memberClusterGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'MemberCluster',
        metadata: { name },
        spec: {
          kubeconfigSecretRef: { name, namespace: NS },
          provider: c.provider === 'eks' ? 'eks' : 'onprem',
          failureDomain: c.region,
        },
      })
      .catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
  }
  const mcReady = async () =>
    (await rest.list<MemberCluster>(memberClusterGvr, undefined)).items.filter(
      (mc) =>
        mc.metadata.name.startsWith('bench-') &&
        mc.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
    ).length;
  for (let i = 0; (await mcReady()) < members.length; i++) {
    if (i > 300) throw new Error('MemberClusters not Ready');
    await sleep(100);
  }
  // The Prod controller starts its informers on a connection as it is made; let them list.
  await sleep(3000);
  const m1 = memory();

  const create = (name: string, app: string) => {
    const prod: Prod = {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Prod',
      metadata: { name, namespace: NS },
      spec: {
        app,
        version: '1.0.0',
        components: [
          {
            name: 'web',
            image: 'registry.example/web:{{version}}',
            replicas: 2,
            ports: [{ name: 'http', port: 8080 }],
            resources: { requests: { cpu: '100m', memory: '64Mi' } },
          },
          { name: 'worker', image: 'registry.example/worker:{{version}}' },
        ],
      },
    };
    return rest.create(prodGvr, prod).then(() => created.set(name, performance.now()));
  };
  const phases = (n: string) => ({
    toApply: (firstDeployment.get(n) ?? NaN) - created.get(n)!,
    pods: (available.get(n) ?? NaN) - (firstDeployment.get(n) ?? NaN),
    react: ready.get(n)! - (available.get(n) ?? NaN),
    total: ready.get(n)! - created.get(n)!,
  });

  // One Prod alone: the controller's latency without a queue in front of it.
  await create('solo', 'solo');
  await until('the lone Prod Ready', () => ready.has('solo') || undefined, 120_000);
  const solo = phases('solo');
  created.delete('solo');

  console.error(`creating ${N} Prods …`);
  calls.clear();
  const t0 = performance.now();
  for (let i = 0; i < N; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, N - i) }, (_, j) =>
        create(`p-${String(i + j).padStart(3, '0')}`, `app-${(i + j) % 5}`),
      ),
    );
  await until(`${N} Prods Ready`, () => ready.size >= N + 1 || undefined, 600_000);
  const allReady = performance.now() - t0;
  const burst = [...calls];
  const byProd = (cluster: (c: string) => boolean) =>
    (
      burst
        .filter(([k]) => cluster(k.split('\t')[0]!) && !/memberclusters|\/version|\/nodes/.test(k))
        .reduce((s, [, n]) => s + n, 0) / N
    ).toFixed(1);
  const names = [...created.keys()];
  const toApply = names.map((n) => phases(n).toApply);
  const react = names.map((n) => phases(n).react);
  const total = names.map((n) => phases(n).total);
  const pods = names.map((n) => phases(n).pods);
  const placed = new Map<string, number>();
  for (const p of prodWatch.list()) {
    const c = p.status?.cluster ?? '?';
    placed.set(c, (placed.get(c) ?? 0) + 1);
  }

  await sleep(10_000);
  const m2 = memory();
  calls.clear();
  const cpu0 = process.cpuUsage();
  console.error(`steady state: counting requests for ${STEADY_S} s …`);
  await sleep(STEADY_S * 1000);
  const cpu = process.cpuUsage(cpu0);
  const steady = [...calls].sort((a, b) => b[1] - a[1]);
  const perMinute = (n: number) => Math.round((n * 600) / STEADY_S) / 10;

  const out = [
    `Prods: ${N} over ${members.length} member clusters (${[...placed].map(([c, n]) => `${c} ${n}`).join(', ')})`,
    `one Prod alone: create → first Deployment ${(solo.toApply / 1000).toFixed(2)} s, pods ${(solo.pods / 1000).toFixed(2)} s, Available → Ready ${(solo.react / 1000).toFixed(2)} s, create → Ready ${(solo.total / 1000).toFixed(2)} s`,
    `all Ready: ${(allReady / 1000).toFixed(1)} s after the first create`,
    `requests per Prod while provisioning (probes left out): control plane ${byProd((c) => c === 'control-plane')}, member cluster ${byProd((c) => c !== 'control-plane')}`,
    `create → Ready: ${summary(total)}`,
    `  controller: create → first Deployment in the member cluster: ${summary(toApply)}`,
    `  member cluster: first Deployment → both Available: ${summary(pods)}`,
    `  controller: both Available → Prod Ready: ${summary(react)}`,
    `memory: before connections heap ${mb(m0.heap)} MB, RSS ${mb(m0.rss)} MB; ` +
      `${members.length} connections, empty: +${mb((m1.heap - m0.heap) / members.length)} MB heap, +${mb((m1.rss - m0.rss) / members.length)} MB RSS each; ` +
      `with ${N} Prods cached: +${mb((m2.heap - m0.heap) / members.length)} MB heap, +${mb((m2.rss - m0.rss) / members.length)} MB RSS each`,
    `steady state: ${perMinute(steady.reduce((s, [, n]) => s + n, 0))} requests/min, CPU ${(((cpu.user + cpu.system) / 1e6 / STEADY_S) * 100).toFixed(1)} % of a core`,
    ...steady.map(([k, n]) => `  ${perMinute(n)}/min\t${k}`),
  ];
  console.log(out.join('\n'));

  // Clean up while the controllers still run: deleting the Prods drains their namespaces.
  console.error('cleaning up …');
  await Promise.all([...names, 'solo'].map((n) => rest.delete(prodGvr, NS, n).catch(() => {})));
  const gone = async () => (await rest.list(prodGvr, NS)).items.length === 0;
  for (let i = 0; i < 600 && !(await gone()); i++) await sleep(500);
  for (const c of members)
    await rest.delete(memberClusterGvr, undefined, `bench-${c.name}`).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  stop.abort();
  await running;
  await Promise.all([...watchers, prodWatch].map((i) => i.stop()));
  await rest.delete(namespaceGvr, undefined, NS).catch(() => {});
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

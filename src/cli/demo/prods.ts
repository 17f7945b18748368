// The demo of the second pillar: the lab's member clusters registered as MemberClusters (their
// kubeconfigs in Secrets), then a Fleet of a sample app — one Prod per failure domain, which
// kachiku names, places, provisions and warms up (requests to a tiny local server) — and a few
// dozen Tenants placed on them and routed by the lab's HAProxy (a few requests per tenant show
// which Prod answers); then one cluster drained, its plan printed first, showing where the
// tenants went and who answers them now.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Manager } from '../../runtime/manager.js';
import { Rest, isAlreadyExists, type KubeObject } from '../../runtime/rest.js';
import { newLogger } from '../../runtime/log.js';
import { CONTROLLER_NAMESPACE } from '../../api/rbac.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Fleet } from '../../api/fleet.js';
import type { Tenant } from '../../api/tenant.js';
import { fleetGvr, tenantGvr } from '../../controllers/fleet/context.js';
import { drainPlans, planText } from '../../controllers/fleet/dryrun.js';
import { placer } from '../../controllers/fleet/placer.js';
import { readWorld } from '../world.js';
import { memberClusterGvr } from '../../controllers/membercluster/reconciler.js';
import { prodGvr } from '../../controllers/prod/reconciler.js';
import { controllers } from '../../controllers/index.js';
import { applyCrds } from '../crds.js';
import type { LabState } from '../../../lab/src/state.js';
import { until } from '../../runtime/wait.js';
import { namespaceGvr, secretGvr } from '../../runtime/core.js';
import { CONTROLLER_NAME } from '../../api/kind.js';
import { ROUTER, startRouting } from './routing.js';
import { releaseDemo } from './release.js';
import { Informer } from '../../runtime/informer.js';

const NAMESPACE = 'demo';
const APP = 'shop';
const CAPACITY = 20;
const TENANTS = 24;

const ignoreExists = (e: unknown) => {
  if (!isAlreadyExists(e)) throw e;
};
/** Per Prod: where it runs and the tenants it serves (P: as primary, S: as secondary). */
function byProd(tenants: readonly Tenant[], prods: readonly Prod[]): string[] {
  return [...prods]
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .map((p) => {
      const name = p.metadata.name;
      const primary = tenants.filter((t) => t.status?.prods?.primary === name);
      const secondary = tenants.filter((t) => t.status?.prods?.secondary === name);
      return `  ${name} (${p.status?.cluster}): ${primary.length} P + ${secondary.length} S${primary.length + secondary.length ? ` — ${[...primary.map((t) => t.metadata.name), ...secondary.map((t) => `${t.metadata.name}(S)`)].join(' ')}` : ''}`;
    });
}

const isTrue = (o: { status?: { conditions?: { type: string; status: string }[] } }, t: string) =>
  o.status?.conditions?.some((c) => c.type === t && c.status === 'True') ?? false;

/**
 * Runs the scenario. With `mgr`, that (running) manager must already run the MemberCluster,
 * Prod and Fleet controllers; without, the demo runs its own. Returns what to stop at the end.
 */
export async function prodsDemo(
  state: LabState,
  say: (line: string) => void,
  mgr?: Manager,
): Promise<() => Promise<void>> {
  const cp = state.kube!.clusters.find((c) => c.role === 'control-plane')!;
  const members = state.kube!.clusters.filter((c) => c.role === 'member');
  const config = new KubeConfig();
  config.loadFromFile(cp.kubeconfig);
  const rest = new Rest(config);

  say('\n— Attack: production environments as cattle —');
  await applyCrds(config);
  // Warm-up traffic goes to this server: ClusterIPs of the lab's member clusters are not
  // reachable from here (no kube-proxy), so each Prod names it as its warm-up target.
  let hits = 0;
  const server = createServer((_, res) => (hits++, res.end('ok')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopOwn: (() => Promise<void>) | undefined;
  if (!mgr) {
    const identity = new KubeConfig();
    identity.loadFromFile(cp.kachikuKubeconfig ?? cp.kubeconfig);
    const own = new Manager({ name: CONTROLLER_NAME, config: identity, log: newLogger('warn') });
    // Every controller but the mirror's: the MemberCluster, Prod and Fleet controllers.
    for (const c of controllers.filter((x) => x.name !== 'loadbalancermirror'))
      c.register(own, { secretNamespaces: [CONTROLLER_NAMESPACE] });
    const stop = new AbortController();
    const running = own.run(stop.signal);
    stopOwn = async () => {
      stop.abort();
      await running;
    };
  }

  for (const c of members) {
    await rest
      .create(secretGvr, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${c.name}-kubeconfig`, namespace: CONTROLLER_NAMESPACE },
        // kachiku's own identity there, as EKS kubeconfigs are: an exec credential plugin.
        data: { kubeconfig: readFileSync(c.kachikuKubeconfig ?? c.kubeconfig).toString('base64') },
      } as KubeObject)
      .catch(ignoreExists);
    await rest
      .create<MemberCluster>(memberClusterGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'MemberCluster',
        metadata: { name: c.name },
        spec: {
          kubeconfigSecretRef: { name: `${c.name}-kubeconfig`, namespace: CONTROLLER_NAMESPACE },
          provider: c.provider === 'eks' ? 'eks' : 'onprem',
          region: c.region,
          failureDomain: c.region,
        },
      })
      .catch(ignoreExists);
  }
  for (const c of members) {
    const mc = await until(
      `MemberCluster ${c.name} Ready`,
      async () => {
        const m = await rest.get<MemberCluster>(memberClusterGvr, undefined, c.name);
        return isTrue(m, 'Ready') ? m : undefined;
      },
      60_000,
      250,
    );
    say(
      `MemberCluster ${c.name}: ${mc.spec.provider}, failure domain ${mc.spec.failureDomain}, Kubernetes ${mc.status?.kubernetesVersion}, ${mc.status?.nodes?.ready}/${mc.status?.nodes?.total} nodes Ready`,
    );
  }

  await rest
    .create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } })
    .catch(ignoreExists);
  // The stand-ins answer with their Prod's name and the version its pods run (status.version:
  // what it runs warmed up), read from an informer at each request.
  const prodInformer = new Informer<Prod>(rest, prodGvr, { namespace: NAMESPACE });
  prodInformer.start();
  await prodInformer.waitForSync();
  const routing = await startRouting(
    state,
    say,
    (prod) => `${prod} ${prodInformer.get(`${NAMESPACE}/${prod}`)?.status?.version ?? '?'}`,
  );
  await routing.createRouter(rest, NAMESPACE);
  const t0 = Date.now();
  const fleet: Fleet = {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name: APP, namespace: NAMESPACE },
    spec: {
      app: APP,
      version: '1.0.0',
      prods: { perDomain: 1 },
      // The demo keeps a drained cluster's Prod (idle) rather than retiring it.
      drain: { prods: 'Keep', rebalanceMovesPerMinute: 30 },
      routing: { router: ROUTER },
      template: {
        capacity: CAPACITY,
        components: [
          {
            name: 'web',
            image: 'registry.example/shop-web:{{version}}',
            replicas: 2,
            ports: [{ name: 'http', port: routing.port }],
            // Its tenants' requests come in through a LoadBalancer (the stand-in's, here).
            expose: 'LoadBalancer',
            resources: { requests: { cpu: '250m', memory: '256Mi' } },
          },
          {
            name: 'worker',
            image: 'registry.example/shop-worker:{{version}}',
            env: [{ name: 'PROD', value: '{{name}} in {{cluster}}' }],
            resources: { requests: { cpu: '500m', memory: '512Mi' } },
          },
        ],
        warmup: { requests: { target, path: '/', count: 20, concurrency: 4 }, minimumTime: '2s' },
      },
    },
  };
  await rest.create(fleetGvr, fleet).catch(ignoreExists);
  say(
    `Fleet ${APP}: one Prod per failure domain (${members.length}), ${CAPACITY} tenant units each; kachiku names, places, provisions and warms them up`,
  );
  const prods = await until(
    `the Prods of Fleet ${APP} Ready`,
    async () => {
      const list = (await rest.list<Prod>(prodGvr, NAMESPACE)).items.filter(
        (p) => p.metadata.labels?.['kachiku.io/fleet'] === APP,
      );
      return list.length === members.length &&
        list.every((p) => p.status?.phase === 'Ready' && isTrue(p, 'Ready'))
        ? list
        : undefined;
    },
    120_000,
    250,
  );
  for (const p of prods.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const st = p.status!;
    say(
      `  ${p.metadata.name}: Ready in ${st.cluster} (namespace ${st.namespace}), version ${st.version}; ${(st.components ?? []).map((c) => `${c.name} ${c.ready}/${c.desired}`).join(', ')}`,
    );
  }
  say(
    `  ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the Fleet; warm-up requests answered: ${hits}`,
  );

  // A few dozen tenants: every third one Dual (two Prods in two failure domains).
  const t1 = Date.now();
  for (let i = 1; i <= TENANTS; i++) {
    const name = `t${String(i).padStart(2, '0')}`;
    await rest
      .create<Tenant>(tenantGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'Tenant',
        metadata: { name, namespace: NAMESPACE },
        spec: {
          fleet: APP,
          redundancy: i % 3 === 0 ? 'Dual' : 'Single',
          hosts: [`${name}.${APP}.demo.kachiku.test`],
        },
      })
      .catch(ignoreExists);
  }
  const placed = await until(
    `${TENANTS} Tenants Placed`,
    async () => {
      const list = (await rest.list<Tenant>(tenantGvr, NAMESPACE)).items;
      return list.length === TENANTS && list.every((t) => isTrue(t, 'Placed')) ? list : undefined;
    },
    60_000,
    250,
  );
  say(
    `${TENANTS} Tenants (${placed.filter((t) => t.spec.redundancy === 'Dual').length} Dual) placed in ${((Date.now() - t1) / 1000).toFixed(1)} s:`,
  );
  for (const line of byProd(placed, prods)) say(line);
  const tenantsNow = async () => (await rest.list<Tenant>(tenantGvr, NAMESPACE)).items;
  await routing.show(rest, NAMESPACE, tenantsNow);

  // A cluster drained for an upgrade: the plan first, then the drain.
  const drained = members[0]!.name;
  const world = await readWorld(rest, NAMESPACE);
  say(`\nkachiku plan drain ${drained} (a dry run: nothing changes):`);
  for (const plan of drainPlans(world, drained, placer)) say(planText(plan, 8));
  const before = new Map(placed.map((t) => [t.metadata.name, t.status?.prods]));
  const t2 = Date.now();
  const mc = await rest.get<MemberCluster>(memberClusterGvr, undefined, drained);
  await rest.replace<MemberCluster>(memberClusterGvr, {
    ...mc,
    spec: { ...mc.spec, drain: true },
  });
  say(`MemberCluster ${drained}: spec.drain = true`);
  const inDrained = new Set(
    prods.filter((p) => p.status?.cluster === drained).map((p) => p.metadata.name),
  );
  const after = await until(
    `no tenant left in ${drained}`,
    async () => {
      const f = await rest.get<Fleet>(fleetGvr, NAMESPACE, APP);
      if (f.status?.drains?.find((d) => d.cluster === drained)?.phase !== 'Drained')
        return undefined;
      const list = (await rest.list<Tenant>(tenantGvr, NAMESPACE)).items;
      const left = list.filter(
        (t) =>
          inDrained.has(t.status?.prods?.primary ?? '') ||
          inDrained.has(t.status?.prods?.secondary ?? ''),
      );
      return left.length === 0 ? list : undefined;
    },
    60_000,
    250,
  );
  const moved = after.filter(
    (t) => JSON.stringify(t.status?.prods) !== JSON.stringify(before.get(t.metadata.name)),
  );
  say(
    `Drained in ${((Date.now() - t2) / 1000).toFixed(1)} s: no tenant left in ${drained}; ${moved.length} tenants moved, the others untouched:`,
  );
  for (const line of byProd(after, prods)) say(line);
  await routing.show(rest, NAMESPACE, tenantsNow);

  await releaseDemo(state, say, {
    rest,
    namespace: NAMESPACE,
    fleet: APP,
    versions: async () => {
      const answers = await routing.ask(await tenantsNow());
      return new Map(
        [...answers].map(([t, a]) => [t, a.startsWith('(') ? a : (a.split(' ')[1] ?? a)]),
      );
    },
  });
  say(
    `See it yourself: KUBECONFIG=${cp.kubeconfig} kubectl get mc; kubectl get fleets,prods,tenants,routers,releases -n ${NAMESPACE} -o wide`,
  );
  return async () => {
    await stopOwn?.();
    await routing.stop();
    await prodInformer.stop();
    server.close();
  };
}

// The demo of the second pillar: the lab's member clusters registered as MemberClusters (their
// kubeconfigs in Secrets), then three Prods of a sample app created without naming a cluster;
// kachiku spreads them, provisions, warms up (requests to a tiny local server) and reports
// where each runs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Manager } from '../../runtime/manager.js';
import { ClusterRegistry } from '../../runtime/clusters.js';
import { Rest, isAlreadyExists, type KubeObject } from '../../runtime/rest.js';
import { newLogger } from '../../runtime/log.js';
import { CONTROLLER_NAMESPACE } from '../../api/rbac.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import { registerMemberClusters } from '../../controllers/membercluster/index.js';
import { memberClusterGvr } from '../../controllers/membercluster/reconciler.js';
import { prodGvr, registerProdController } from '../../controllers/prod/reconciler.js';
import { applyCrds } from '../crds.js';
import type { LabState } from '../../../lab/src/state.js';
import { until } from '../../runtime/wait.js';
import { namespaceGvr, secretGvr } from '../../runtime/core.js';
import { CONTROLLER_NAME } from '../../api/kind.js';

const NAMESPACE = 'demo';
const APP = 'shop';

const ignoreExists = (e: unknown) => {
  if (!isAlreadyExists(e)) throw e;
};
const isTrue = (o: { status?: { conditions?: { type: string; status: string }[] } }, t: string) =>
  o.status?.conditions?.some((c) => c.type === t && c.status === 'True') ?? false;

/**
 * Runs the scenario. With `mgr`, that (running) manager must already run the MemberCluster and
 * Prod controllers; without, the demo runs its own. Returns what to stop at the end.
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
    const registry = new ClusterRegistry({ log: own.log });
    const prods = registerProdController(own, { registry });
    registerMemberClusters(own, registry, {
      prodsHosted: prods.prodsHosted,
      secretNamespaces: [CONTROLLER_NAMESPACE],
    });
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
  const names = [1, 2, 3].map((i) => `${APP}-${i}`);
  const t0 = Date.now();
  for (const name of names) {
    const prod: Prod = {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Prod',
      metadata: { name, namespace: NAMESPACE },
      spec: {
        app: APP,
        version: '1.0.0',
        capacity: 50,
        components: [
          {
            name: 'web',
            image: 'registry.example/shop-web:{{version}}',
            replicas: 2,
            ports: [{ name: 'http', port: 8080 }],
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
    };
    await rest.create(prodGvr, prod).catch(ignoreExists);
  }
  say(
    `Prods ${names.join(', ')} of app ${APP} created in namespace ${NAMESPACE}, no cluster named: kachiku places them`,
  );
  for (const name of names) {
    const p = await until(
      `Prod ${name} Ready`,
      async () => {
        const x = await rest.get<Prod>(prodGvr, NAMESPACE, name);
        return x.status?.phase === 'Ready' && isTrue(x, 'Ready') ? x : undefined;
      },
      120_000,
      250,
    );
    const st = p.status!;
    say(
      `  ${name}: Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s in ${st.cluster} (namespace ${st.namespace}), version ${st.version}; ${(st.components ?? []).map((c) => `${c.name} ${c.ready}/${c.desired}`).join(', ')}; requests ${st.requests?.cpu} CPU, ${st.requests?.memory}`,
    );
  }
  say(`Warm-up requests answered: ${hits}`);
  say(
    `See it yourself: KUBECONFIG=${cp.kubeconfig} kubectl get mc; kubectl get prods -n ${NAMESPACE} -o wide`,
  );
  return async () => {
    await stopOwn?.();
    server.close();
  };
}

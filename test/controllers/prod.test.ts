// Prods against the lab: the control-plane apiserver holds Prods, MemberClusters and kubeconfig
// Secrets; the MemberCluster and Prod controllers run in this process; the lab's member clusters
// (real apiservers, scheduler and controller manager, kwok Nodes) run the stacks; warm-up
// requests reach an HTTP server this test runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Manager } from '../../src/runtime/manager.js';
import { ApiError, Rest, isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { ClusterRegistry } from '../../src/runtime/clusters.js';
import { applyCrds } from '../../src/cli/crds.js';
import { client } from '../../lab/src/parts/kube.js';
import { startLabProcess, stopLabProcess } from '../../lab/src/lab.js';
import type { Prod, ProdSpec } from '../../src/api/prod.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import {
  memberClusterGvr,
  registerMemberClusterController,
} from '../../src/controllers/membercluster/reconciler.js';
import {
  FINALIZER,
  prodGvr,
  registerProdController,
} from '../../src/controllers/prod/reconciler.js';

import type { Deployment, Service } from '../../src/controllers/prod/observe.js';
import { labState } from '../support/lab.js';
import {
  controlPlaneConfig,
  grantSecrets,
  kachikuConfig,
  memberKubeconfig,
  namespaceGvr,
  testNamespace,
} from '../support/kube.js';
import { until } from '../support/wait.js';
import { deploymentGvr, secretGvr, serviceGvr } from '../../src/runtime/core.js';
import { CONTROLLER_NAME } from '../../src/api/kind.js';

const lab = labState();
const members = lab.kube!.clusters.filter((c) => c.role === 'member');
const onprem = members.find((c) => c.name === 'onprem-a')!;
const eks = members.find((c) => c.name === 'eks-b')!;
const config = controlPlaneConfig();
const rest = new Rest(config);
const memberRest = { onprem: new Rest(client(onprem)), eks: new Rest(client(eks)) };
const id = randomUUID().slice(0, 6);
// MemberClusters are cluster-scoped: names of this run's own.
const clusterA = `pa-${id}`;
const clusterB = `pb-${id}`;
const restOf = (cluster: string) => (cluster === clusterA ? memberRest.onprem : memberRest.eks);

let ns = '';
let stop: (() => Promise<void>) | undefined;
let server: Server;
let base = '';
/** Warm-up requests received, by path; paths in `failing` answer 503. */
const received = new Map<string, number>();
const failing = new Set<string>();

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    received.set(path, (received.get(path) ?? 0) + 1);
    res.statusCode = failing.has(path) ? 503 : 200;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  await applyCrds(config);
  ns = await testNamespace(rest, 'prod');
  await grantSecrets(rest, ns);
  for (const [name, cluster, domain, provider] of [
    [clusterA, onprem, 'dc-a', 'onprem'],
    [clusterB, eks, 'us-east-1', 'eks'],
  ] as const) {
    await rest.create(secretGvr, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-kubeconfig`, namespace: ns },
      data: { kubeconfig: Buffer.from(memberKubeconfig(cluster.name)).toString('base64') },
    } as KubeObject);
    await rest.create<MemberCluster>(memberClusterGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'MemberCluster',
      metadata: { name },
      spec: {
        kubeconfigSecretRef: { name: `${name}-kubeconfig`, namespace: ns },
        provider,
        failureDomain: domain,
      },
    });
  }

  const mgr = new Manager({
    name: CONTROLLER_NAME,
    config: kachikuConfig(),
    namespace: ns,
    log: newLogger(
      process.env.TEST_LOG === 'debug' ? 'debug' : process.env.TEST_LOG ? 'warn' : 'silent',
    ),
  });
  const registry = new ClusterRegistry({ log: mgr.log });
  const prods = registerProdController(mgr, { registry, warmupRetryMs: 500 });
  registerMemberClusterController(mgr, {
    registry,
    probeIntervalMs: 1000,
    probeTimeoutMs: 1000,
    failuresToUnreachable: 2,
    successesToReachable: 1,
    prodsHosted: prods.prodsHosted,
  });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
  await until('both MemberClusters Ready', async () => {
    const all = await Promise.all([clusterA, clusterB].map(getCluster));
    return all.every((mc) => condition(mc, 'Ready')?.status === 'True') || undefined;
  });
});

after(async () => {
  // Prods first, while the controller runs, so that their member namespaces go too.
  const left = await rest.list<Prod>(prodGvr, ns);
  await Promise.all(left.items.map((p) => rest.delete(prodGvr, ns, p.metadata.name)));
  // A Prod left behind fails the suite (after the controller and server are stopped).
  try {
    await until(
      'every Prod gone',
      async () => ((await rest.list<Prod>(prodGvr, ns)).items.length === 0 ? true : undefined),
      90_000,
      250,
    );
  } finally {
    await stop?.();
    server.close();
  }
  for (const name of [clusterA, clusterB])
    await rest.delete(memberClusterGvr, undefined, name).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  await rest.delete(namespaceGvr, undefined, ns);
});

const getCluster = (name: string) => rest.get<MemberCluster>(memberClusterGvr, undefined, name);
const getProd = (name: string) => rest.get<Prod>(prodGvr, ns, name);
const condition = (o: { status?: { conditions?: { type: string }[] } }, type: string) =>
  o.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason: string; message: string } | undefined;

function prodOf(name: string, spec: Partial<ProdSpec> & { app: string }): Prod {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Prod',
    metadata: { name, namespace: ns },
    spec: {
      version: '1.0.0',
      components: [{ name: 'web', image: 'registry.example/web:{{version}}' }],
      ...spec,
    },
  };
}

async function waitFor(
  name: string,
  what: string,
  test: (p: Prod) => boolean,
  timeoutMs = 90_000,
): Promise<Prod> {
  return until(
    `Prod ${name}: ${what}`,
    async () => {
      const p = await getProd(name);
      return test(p) ? p : undefined;
    },
    timeoutMs,
    200,
  );
}
/** Every version of one Prod written from now until it is deleted (at most 90 s). */
async function versionsUntilDeleted(name: string): Promise<Prod[]> {
  const list = await rest.list<Prod>(prodGvr, ns, { fieldSelector: `metadata.name=${name}` });
  const stop = AbortSignal.timeout(90_000);
  const versions: Prod[] = [];
  for await (const ev of rest.watch(
    prodGvr,
    ns,
    { fieldSelector: `metadata.name=${name}`, resourceVersion: list.metadata.resourceVersion },
    stop,
  )) {
    if (ev.type === 'DELETED') return versions;
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') versions.push(ev.object as Prod);
  }
  throw new Error(`Prod ${name} not deleted within 90 s (watch ended)`);
}

const isReady = (version?: string) => (p: Prod) =>
  p.status?.phase === 'Ready' &&
  condition(p, 'Ready')?.status === 'True' &&
  (version === undefined || p.status?.version === version);

const two = `two-${id}`;

test('a Prod with two components is provisioned, warmed up and Ready in its cluster', async () => {
  const t0 = Date.now();
  await rest.create(
    prodGvr,
    prodOf(two, {
      app: 'shop',
      cluster: clusterA,
      capacity: 10,
      components: [
        {
          name: 'web',
          image: 'registry.example/shop-web:{{version}}',
          replicas: 2,
          ports: [{ name: 'http', port: 8080 }],
          env: [{ name: 'WHERE', value: '{{app}} {{name}} in {{cluster}}' }],
          resources: { requests: { cpu: '250m', memory: '128Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        },
        {
          name: 'worker',
          image: 'registry.example/shop-worker:{{version}}',
          resources: { requests: { cpu: '1', memory: '1Gi' } },
        },
      ],
      manifests: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings' },
          data: { version: '{{version}}' },
        },
      ],
      warmup: {
        requests: { target: base, path: `/warm/${two}`, count: 20, concurrency: 4 },
        minimumTime: '2s',
      },
    }),
  );
  const seen = new Set<string>();
  const ready = await until(
    'Ready',
    async () => {
      const p = await getProd(two);
      if (p.status?.phase) seen.add(p.status.phase);
      return isReady('1.0.0')(p) ? p : undefined;
    },
    90_000,
    100,
  );
  const took = Date.now() - t0;
  assert.ok(ready.metadata.finalizers?.includes(FINALIZER));
  assert.ok(seen.has('WarmingUp'), `phases seen: ${[...seen].join(', ')}`);
  assert.equal(received.get(`/warm/${two}`), 20, 'every warm-up request arrived, once');
  assert.ok(took >= 2000, 'the minimum warm-up time was spent');
  const st = ready.status!;
  assert.equal(st.cluster, clusterA);
  assert.equal(st.namespace, `prod-${two}`);
  assert.deepEqual(st.components, [
    { name: 'web', image: 'registry.example/shop-web:1.0.0', desired: 2, ready: 2 },
    { name: 'worker', image: 'registry.example/shop-worker:1.0.0', desired: 1, ready: 1 },
  ]);
  assert.deepEqual(st.requests, { cpu: '1500m', memory: '1280Mi' });
  assert.deepEqual(st.endpoints, [{ component: 'web', address: `web.prod-${two}.svc:8080` }]);
  assert.ok(!('usage' in st), 'no usage where the member cluster serves no metrics API');
  assert.equal(condition(ready, 'ClusterUnreachable')?.status, 'False');
  assert.equal(condition(ready, 'Degraded')?.status, 'False');

  const member = memberRest.onprem;
  const nsObj = await member.get(namespaceGvr, undefined, `prod-${two}`);
  assert.equal(nsObj.metadata.labels?.['kachiku.io/prod'], two);
  assert.equal(nsObj.metadata.labels?.['kachiku.io/prod-namespace'], ns);
  assert.equal(nsObj.metadata.labels?.['app.kubernetes.io/managed-by'], 'kachiku');
  const web = await member.get<Deployment>(deploymentGvr, `prod-${two}`, 'web');
  assert.equal(web.status?.readyReplicas, 2, 'pods Ready through scheduler, KCM and kwok');
  assert.equal(web.metadata.labels?.['kachiku.io/app'], 'shop');
  const svc = await member.get<Service>(serviceGvr, `prod-${two}`, 'web');
  assert.equal(svc.spec?.type, 'ClusterIP');
  const cm = await member.get<KubeObject & { data?: Record<string, string> }>(
    { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
    `prod-${two}`,
    'settings',
  );
  assert.deepEqual(cm.data, { version: '1.0.0' });
  // Nothing of it landed in the other cluster.
  await assert.rejects(memberRest.eks.get(namespaceGvr, undefined, `prod-${two}`), isNotFound);
  const mc = await until('MemberCluster counts its Prod', async () => {
    const c = await getCluster(clusterA);
    return (c.status?.prods ?? 0) >= 1 ? c : undefined;
  });
  assert.ok(mc.status!.prods! >= 1);
});

test('automatic placement spreads three Prods over both member clusters', async () => {
  const names = [0, 1, 2].map((i) => `spread-${i}-${id}`);
  await Promise.all(names.map((n) => rest.create(prodGvr, prodOf(n, { app: 'spread' }))));
  const placed = await Promise.all(names.map((n) => waitFor(n, 'Ready', isReady('1.0.0'))));
  const where = placed.map((p) => p.status!.cluster!);
  assert.deepEqual(new Set(where), new Set([clusterA, clusterB]), `placed in ${where.join(', ')}`);
  for (const p of placed) {
    assert.equal(p.spec.cluster, undefined, 'the choice is recorded in status, not spec');
    const d = await restOf(p.status!.cluster!).get<Deployment>(
      deploymentGvr,
      `prod-${p.metadata.name}`,
      'web',
    );
    assert.equal(d.status?.readyReplicas, 1);
  }
});

test('a version change rolls the components and warms up again', async () => {
  const before = received.get(`/warm/${two}`) ?? 0;
  await rest.patch(prodGvr, ns, two, { spec: { version: '1.1.0' } }, 'merge');
  const left = await waitFor(two, 'leaves Ready', (p) => p.status?.phase !== 'Ready', 30_000);
  assert.equal(left.status?.version, '1.0.0', 'status.version stays the warmed one until warm');
  const ready = await waitFor(two, 'Ready at 1.1.0', isReady('1.1.0'));
  assert.equal(received.get(`/warm/${two}`), before + 20, 'warmed up again');
  const web = await memberRest.onprem.get<Deployment>(deploymentGvr, `prod-${two}`, 'web');
  assert.equal(web.spec?.template?.spec?.containers?.[0]?.image, 'registry.example/shop-web:1.1.0');
  assert.deepEqual(
    ready.status?.components?.map((c) => c.image),
    ['registry.example/shop-web:1.1.0', 'registry.example/shop-worker:1.1.0'],
  );
});

test('drift made by hand in the member cluster is put back', async () => {
  const member = memberRest.onprem;
  const nsName = `prod-${two}`;
  await member.patch(deploymentGvr, nsName, 'web', { spec: { replicas: 0 } }, 'merge');
  await until('web scaled back to 2', async () => {
    const d = await member.get<Deployment>(deploymentGvr, nsName, 'web');
    return d.spec?.replicas === 2 && d.status?.readyReplicas === 2 ? true : undefined;
  });
  await member.delete(serviceGvr, nsName, 'web');
  await until('Service web back', () => member.get(serviceGvr, nsName, 'web'));
  await member.delete(deploymentGvr, nsName, 'worker');
  await until('Deployment worker back', () => member.get(deploymentGvr, nsName, 'worker'));
  const p = await waitFor(
    two,
    'Ready again',
    (p) =>
      isReady('1.1.0')(p) && p.status?.components?.every((c) => c.ready === c.desired) === true,
  );
  assert.equal(p.status?.version, '1.1.0', 'drift does not re-warm');
});

test('bad input: clear conditions and nothing applied', async () => {
  // Negative capacity: refused by the CRD's validation.
  await assert.rejects(
    rest.create(prodGvr, prodOf(`neg-${id}`, { app: 'bad', cluster: clusterA, capacity: -1 })),
    (e: unknown) => e instanceof ApiError && e.code === 422 && /capacity/.test(e.message),
  );

  const unknownCluster = `nocluster-${id}`;
  await rest.create(prodGvr, prodOf(unknownCluster, { app: 'bad', cluster: `nowhere-${id}` }));
  const nf = await waitFor(
    unknownCluster,
    'ClusterNotFound',
    (p) => condition(p, 'Ready')?.reason === 'ClusterNotFound',
  );
  assert.equal(nf.status?.phase, 'Pending');
  assert.match(condition(nf, 'Ready')!.message, new RegExp(`nowhere-${id}`));

  const badTemplate = `tpl-${id}`;
  await rest.create(
    prodGvr,
    prodOf(badTemplate, {
      app: 'bad',
      cluster: clusterB,
      components: [
        {
          name: 'web',
          image: 'registry.example/web:{{version}}',
          env: [{ name: 'X', value: '{{flavour}}' }],
        },
      ],
    }),
  );
  const te = await waitFor(
    badTemplate,
    'TemplateError',
    (p) => condition(p, 'Ready')?.reason === 'TemplateError',
  );
  assert.match(condition(te, 'Ready')!.message, /\{\{flavour\}\}/);
  assert.match(condition(te, 'Ready')!.message, /spec\.components\[web\]\.env\[X\]/);

  // A MemberCluster whose kubeconfig Secret is missing: the Prod waits, saying why.
  const noSecret = `nosecret-${id}`;
  await rest.create<MemberCluster>(memberClusterGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MemberCluster',
    metadata: { name: noSecret },
    spec: {
      kubeconfigSecretRef: { name: 'missing', namespace: ns },
      provider: 'other',
      failureDomain: 'nowhere',
    },
  });
  try {
    await until('KubeconfigMissing', async () => {
      const mc = await getCluster(noSecret);
      return condition(mc, 'Ready')?.reason === 'KubeconfigMissing' ? mc : undefined;
    });
    const orphan = `orphan-${id}`;
    await rest.create(prodGvr, prodOf(orphan, { app: 'bad', cluster: noSecret }));
    const o = await waitFor(
      orphan,
      'ClusterUnreachable',
      (p) => condition(p, 'ClusterUnreachable')?.status === 'True',
    );
    assert.match(condition(o, 'ClusterUnreachable')!.message, /kubeconfig/);
    await rest.delete(prodGvr, ns, orphan);
    await until('the orphan Prod deleted (nothing was made)', () =>
      getProd(orphan).then(
        () => undefined,
        (e) => (isNotFound(e) ? true : undefined),
      ),
    );
  } finally {
    await rest.delete(memberClusterGvr, undefined, noSecret);
  }

  // Nothing of any of them reached a member cluster.
  for (const name of [unknownCluster, badTemplate])
    for (const member of [memberRest.onprem, memberRest.eks])
      await assert.rejects(member.get(namespaceGvr, undefined, `prod-${name}`), isNotFound);
  // Fixed, the template Prod goes on.
  await rest.patch(
    prodGvr,
    ns,
    badTemplate,
    {
      spec: {
        components: [
          {
            name: 'web',
            image: 'registry.example/web:{{version}}',
            env: [{ name: 'X', value: '{{cluster}}' }],
          },
        ],
      },
    },
    'merge',
  );
  await waitFor(badTemplate, 'Ready once fixed', isReady('1.0.0'));
});

test('failed warm-up requests: WarmupFailed, retried until they succeed', async () => {
  const name = `flaky-${id}`;
  const path = `/warm/${name}`;
  failing.add(path);
  await rest.create(
    prodGvr,
    prodOf(name, {
      app: 'flaky',
      cluster: clusterB,
      warmup: { requests: { target: base, path, count: 3, concurrency: 1 } },
    }),
  );
  const failed = await waitFor(
    name,
    'WarmupFailed',
    (p) => condition(p, 'Ready')?.reason === 'WarmupFailed',
  );
  assert.equal(failed.status?.phase, 'WarmingUp');
  assert.match(
    condition(failed, 'Ready')!.message,
    /3\/3 warm-up requests .* failed \(first: HTTP 503\)/,
  );
  failing.delete(path);
  await waitFor(name, 'Ready', isReady('1.0.0'));
});

test('a member cluster down: its Prods say ClusterUnreachable and keep their finalizer; back, they recover', async () => {
  const inA = (await rest.list<Prod>(prodGvr, ns)).items.filter(
    (p) => p.status?.cluster === clusterA && p.status?.phase === 'Ready',
  );
  assert.ok(inA.length >= 2, 'the two-component Prod and at least one spread Prod');
  const doomed = inA.find((p) => p.metadata.name.startsWith('spread-'))!.metadata.name;
  const apiserver = `${onprem.name}-apiserver`;
  await stopLabProcess(lab.dir, apiserver);
  try {
    await until('MemberCluster unreachable', async () => {
      const mc = await getCluster(clusterA);
      return condition(mc, 'Reachable')?.status === 'False' ? mc : undefined;
    });
    for (const p of inA)
      await waitFor(
        p.metadata.name,
        'ClusterUnreachable',
        (x) => condition(x, 'ClusterUnreachable')?.status === 'True',
      );
    // Deleted meanwhile: it waits for the cluster, saying so, rather than forgetting.
    await rest.delete(prodGvr, ns, doomed);
    const waiting = await waitFor(
      doomed,
      'Draining, unreachable',
      (x) =>
        x.status?.phase === 'Draining' && condition(x, 'ClusterUnreachable')?.status === 'True',
    );
    assert.ok(waiting.metadata.finalizers?.includes(FINALIZER));
    const other = await getProd(two);
    assert.equal(other.status?.phase, 'Ready', 'the phase is left as it was');
    assert.equal(condition(other, 'Ready')?.status, 'Unknown');
  } finally {
    await startLabProcess(lab.dir, apiserver);
  }
  await waitFor(
    two,
    'recovered',
    (p) => isReady('1.1.0')(p) && condition(p, 'ClusterUnreachable')?.status === 'False',
  );
  await until(
    'the deleted Prod gone, and its namespace',
    async () => {
      const gone = await getProd(doomed).then(
        () => false,
        (e) => isNotFound(e),
      );
      const nsGone = await memberRest.onprem.get(namespaceGvr, undefined, `prod-${doomed}`).then(
        () => false,
        (e) => isNotFound(e),
      );
      return gone && nsGone ? true : undefined;
    },
    90_000,
    250,
  );
});

test('deleting a Prod removes its namespace from the member cluster; spec.retired too', async () => {
  // Every version of the Prod from here on, through a watch: a short Draining phase that a
  // poll could miss is still seen.
  const seen = versionsUntilDeleted(two);
  await rest.delete(prodGvr, ns, two);
  const draining = (await seen).find((p) => p.status?.phase === 'Draining');
  assert.ok(draining, 'the Prod went through Draining');
  assert.equal(condition(draining, 'Ready')?.reason, 'Draining');
  await until(
    'Prod and namespace gone',
    async () => {
      const prodGone = await getProd(two).then(() => false, isNotFound);
      const nsGone = await memberRest.onprem
        .get(namespaceGvr, undefined, `prod-${two}`)
        .then(() => false, isNotFound);
      return prodGone && nsGone ? true : undefined;
    },
    90_000,
    250,
  );

  const retiring = (await rest.list<Prod>(prodGvr, ns)).items.find((p) =>
    p.metadata.name.startsWith('spread-'),
  )!;
  const where = retiring.status!.cluster!;
  await rest.patch(prodGvr, ns, retiring.metadata.name, { spec: { retired: true } }, 'merge');
  const retired = await waitFor(
    retiring.metadata.name,
    'Retired',
    (p) => p.status?.phase === 'Retired',
  );
  assert.equal(retired.metadata.finalizers?.includes(FINALIZER) ?? false, false);
  assert.equal(condition(retired, 'Ready')?.reason, 'Retired');
  await assert.rejects(
    restOf(where).get(namespaceGvr, undefined, `prod-${retiring.metadata.name}`),
    isNotFound,
  );
});

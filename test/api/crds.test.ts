// The kachiku.io CRDs against the lab's real control-plane apiserver: they install, default,
// reject bad objects with a message naming the field, and have a status subresource.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { labState } from '../support/lab.js';
import { applyCrds } from '../../src/cli/crds.js';
import { allKinds } from '../../src/api/crds.js';
import type { KindInfo } from '../../src/api/kind.js';
import type { Condition } from '../../src/api/conditions.js';
import {
  loadBalancerMirrorKind,
  type LoadBalancerMirror,
} from '../../src/api/loadbalancermirror.js';
import { memberClusterKind, type MemberCluster } from '../../src/api/membercluster.js';
import { prodKind, type Prod } from '../../src/api/prod.js';
import { timestamp } from '../../src/runtime/time.js';

const controlPlane = labState().kube!.clusters.find((c) => c.role === 'control-plane')!;
const kc = new KubeConfig();
kc.loadFromFile(controlPlane.kubeconfig);
const api = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);

const run = randomUUID().slice(0, 8);
const ns = `api-test-${run}`;
const labels = { 'kachiku.io/test-run': run };

type Obj = { metadata: { name?: string; generation?: number; resourceVersion?: string } } & object;

/** Create, read, replace and write the status of objects of one kind (in `ns` if namespaced). */
function client(k: KindInfo) {
  const base = { group: k.group, version: k.version, plural: k.plural };
  const at = (name: string) => ({
    ...base,
    name,
    ...(k.scope === 'Namespaced' ? { namespace: ns } : {}),
  });
  const nameOf = (o: Obj) => o.metadata.name!;
  if (k.scope === 'Cluster')
    return {
      create: (body: Obj) => api.createClusterCustomObject({ ...base, body }) as Promise<Obj>,
      get: (name: string) => api.getClusterCustomObject(at(name)) as Promise<Obj>,
      replace: (body: Obj) =>
        api.replaceClusterCustomObject({ ...at(nameOf(body)), body }) as Promise<Obj>,
      replaceStatus: (body: Obj) =>
        api.replaceClusterCustomObjectStatus({ ...at(nameOf(body)), body }) as Promise<Obj>,
    };
  return {
    create: (body: Obj) =>
      api.createNamespacedCustomObject({ ...base, namespace: ns, body }) as Promise<Obj>,
    get: (name: string) =>
      api.getNamespacedCustomObject({ ...at(name), namespace: ns }) as Promise<Obj>,
    replace: (body: Obj) =>
      api.replaceNamespacedCustomObject({
        ...at(nameOf(body)),
        namespace: ns,
        body,
      }) as Promise<Obj>,
    replaceStatus: (body: Obj) =>
      api.replaceNamespacedCustomObjectStatus({
        ...at(nameOf(body)),
        namespace: ns,
        body,
      }) as Promise<Obj>,
  };
}

/** The apiserver's message for a request it must refuse as invalid (422). */
async function rejection(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as {
      message: string;
    };
    assert.equal(err.code, 422, body.message);
    return body.message;
  }
  return assert.fail('the apiserver accepted an invalid object');
}

/** A copy of `obj` with fields set (or removed, for undefined) at dotted paths; [n] indexes. */
function withFields<T extends object>(obj: T, fields: Record<string, unknown>): T {
  const copy = structuredClone(obj);
  for (const [path, value] of Object.entries(fields)) {
    const keys = path.split('.');
    let node = copy as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    if (value === undefined) delete node[keys.at(-1)!];
    else node[keys.at(-1)!] = value;
  }
  return copy;
}

const meta = (name: string) => ({ name: `${name}-${run}`, labels });

const mirror = (name: string): LoadBalancerMirror => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'LoadBalancerMirror',
  metadata: meta(name),
  spec: {
    octavia: { loadBalancerID: randomUUID(), cloud: 'kachiku-lab' },
    aws: {
      region: 'us-east-1',
      vpcID: 'vpc-0123456789abcdef0',
      subnetIDs: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
      tags: { team: 'edge' },
    },
    dns: {
      hostedZone: { name: 'example.com' },
      recordNames: ['app.example.com'],
      healthChecks: { octavia: { type: 'HTTP', port: 80, path: '/healthz' } },
    },
  },
});

const cluster = (name: string): MemberCluster => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'MemberCluster',
  metadata: meta(name),
  spec: {
    kubeconfigSecretRef: { name: 'onprem-a-kubeconfig', namespace: 'kachiku-system' },
    provider: 'onprem',
    region: 'lab',
    failureDomain: 'rack-a',
  },
});

const prod = (name: string): Prod => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Prod',
  metadata: meta(name),
  spec: {
    app: 'shop',
    version: '1.0.0',
    capacity: 20,
    components: [
      {
        name: 'web',
        image: 'registry.example.com/shop/web:{{version}}',
        ports: [{ name: 'http', port: 8080 }],
        readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
      },
    ],
    warmup: { requests: { path: '/warm', count: 10 }, minimumTime: '30s' },
  },
});

const lbms = client(loadBalancerMirrorKind);
const mcs = client(memberClusterKind);
const prods = client(prodKind);

before(async () => {
  assert.deepEqual(
    await applyCrds(kc),
    allKinds.map((k) => `${k.plural}.${k.group}`),
  );
  await core.createNamespace({ body: { metadata: { name: ns, labels } } });
});

after(async () => {
  const selector = { labelSelector: `kachiku.io/test-run=${run}` };
  for (const k of allKinds) {
    const base = { group: k.group, version: k.version, plural: k.plural, ...selector };
    if (k.scope === 'Cluster') await api.deleteCollectionClusterCustomObject(base);
    else await api.deleteCollectionNamespacedCustomObject({ ...base, namespace: ns });
  }
  await core.deleteNamespace({ name: ns });
});

test('applying the CRDs again is harmless (server-side apply is idempotent)', async () => {
  assert.equal((await applyCrds(kc)).length, allKinds.length);
});

test('a valid object of each kind is accepted, and defaulted from the schema', async () => {
  const m = (await lbms.create(mirror('valid'))) as LoadBalancerMirror;
  assert.equal(m.spec.syncInterval, '60s');
  assert.equal(m.spec.deletionPolicy, 'Delete');
  assert.equal(m.spec.aws.scheme, 'internal');
  assert.deepEqual(m.spec.dns?.weights, { octavia: 90, nlb: 10 });
  assert.equal(m.spec.dns?.failoverMode, 'route53');
  assert.equal(m.spec.dns?.ttl, 60);
  assert.deepEqual(m.spec.dns?.healthChecks?.octavia, {
    type: 'HTTP',
    port: 80,
    path: '/healthz',
    interval: 30,
    failureThreshold: 3,
  });

  const c = (await mcs.create(cluster('valid'))) as MemberCluster;
  assert.equal(c.spec.cordoned, false);
  assert.equal(c.spec.kubeconfigSecretRef.key, 'kubeconfig');
  assert.equal((c.metadata as { namespace?: string }).namespace, undefined, 'cluster-scoped');

  const p = (await prods.create(prod('valid'))) as Prod;
  assert.equal(p.spec.role, 'standard');
  assert.equal(p.spec.retired, false);
  const web = p.spec.components![0]!;
  assert.deepEqual([web.replicas, web.expose, web.ports![0]!.protocol], [1, 'ClusterIP', 'TCP']);
  assert.deepEqual(p.spec.warmup, {
    requests: { path: '/warm', count: 10, concurrency: 4 },
    minimumTime: '30s',
  });

  // A maintenance shift: all traffic to the NLB, no health checks needed.
  const shifted = withFields(mirror('maintenance'), {
    'spec.dns.weights': { octavia: 0, nlb: 100 },
    'spec.dns.failoverMode': 'maintenance',
    'spec.dns.healthChecks': undefined,
  });
  await lbms.create(shifted);
});

test('invalid objects are rejected with a message naming the field', async () => {
  const lbm = mirror('bad');
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      'non-UUID loadBalancerID',
      () => lbms.create(withFields(lbm, { 'spec.octavia.loadBalancerID': 'lb-1' })),
      /spec\.octavia\.loadBalancerID: Invalid value: "lb-1": .*should match/,
    ],
    [
      'both cloud and credentialsSecretRef',
      () => lbms.create(withFields(lbm, { 'spec.octavia.credentialsSecretRef': { name: 'os' } })),
      /spec\.octavia: Invalid value: "object": exactly one of spec\.octavia\.cloud and spec\.octavia\.credentialsSecretRef must be set/,
    ],
    [
      'neither cloud nor credentialsSecretRef',
      () => lbms.create(withFields(lbm, { 'spec.octavia.cloud': undefined })),
      /spec\.octavia: .*exactly one of spec\.octavia\.cloud and spec\.octavia\.credentialsSecretRef/,
    ],
    [
      'DNS weights both 0',
      () => lbms.create(withFields(lbm, { 'spec.dns.weights': { octavia: 0, nlb: 0 } })),
      /spec\.dns\.weights: .*spec\.dns\.weights\.octavia and spec\.dns\.weights\.nlb must not both be 0/,
    ],
    [
      'health check interval 15',
      () => lbms.create(withFields(lbm, { 'spec.dns.healthChecks.octavia.interval': 15 })),
      /spec\.dns\.healthChecks\.octavia\.interval: Unsupported value: 15: supported values: "10", "30"/,
    ],
    [
      'a path on a TCP health check',
      () => lbms.create(withFields(lbm, { 'spec.dns.healthChecks.octavia.type': 'TCP' })),
      /spec\.dns\.healthChecks\.octavia\.path: .*path is only for HTTP and HTTPS health checks/,
    ],
    [
      'route53 failover without an Octavia health check',
      () => lbms.create(withFields(lbm, { 'spec.dns.healthChecks': undefined })),
      /spec\.dns: .*spec\.dns\.healthChecks\.octavia is required unless failoverMode is maintenance/,
    ],
    [
      'unknown enum value (aws.scheme)',
      () => lbms.create(withFields(lbm, { 'spec.aws.scheme': 'public' })),
      /spec\.aws\.scheme: Unsupported value: "public": supported values: "internal", "internet-facing"/,
    ],
    [
      'no subnets',
      () => lbms.create(withFields(lbm, { 'spec.aws.subnetIDs': [] })),
      /spec\.aws\.subnetIDs: Invalid value: 0: .*should have at least 1 items/,
    ],
    [
      'a kachiku.io/ tag',
      () => lbms.create(withFields(lbm, { 'spec.aws.tags': { 'kachiku.io/owner': 'me' } })),
      /spec\.aws\.tags: .*must not start with aws: or kachiku\.io\//,
    ],
    [
      'syncInterval below the minimum',
      () => lbms.create(withFields(lbm, { 'spec.syncInterval': '2s' })),
      /spec\.syncInterval: .*must be at least 5s/,
    ],
    [
      'syncInterval that is not a duration',
      () => lbms.create(withFields(lbm, { 'spec.syncInterval': '1d' })),
      /^[^[]*spec\.syncInterval: Invalid value: "1d": .*should match '[^']*'$/,
    ],
    [
      'negative capacity',
      () => prods.create(withFields(prod('bad'), { 'spec.capacity': -1 })),
      /spec\.capacity: Invalid value: -1: spec\.capacity in body should be greater than or equal to 0/,
    ],
    [
      'unknown enum value (prod role)',
      () => prods.create(withFields(prod('bad'), { 'spec.role': 'canary' })),
      /spec\.role: Unsupported value: "canary": supported values: "test", "standard"/,
    ],
    [
      'an image without {{version}}',
      () => prods.create(withFields(prod('bad'), { 'spec.components.0.image': 'shop/web:1.0.0' })),
      /spec\.components\[0\]\.image: .*image must contain \{\{version\}\}/,
    ],
    [
      'a Prod with nothing to run',
      () => prods.create(withFields(prod('bad'), { 'spec.components': undefined })),
      /spec: .*a Prod needs at least one of spec\.components and spec\.manifests/,
    ],
    [
      'unknown enum value (cluster provider)',
      () => mcs.create(withFields(cluster('bad'), { 'spec.provider': 'gke' })),
      /spec\.provider: Unsupported value: "gke": supported values: "onprem", "eks", "other"/,
    ],
    [
      'a MemberCluster without failure domain',
      () => mcs.create(withFields(cluster('bad'), { 'spec.failureDomain': undefined })),
      /spec\.failureDomain: Required value/,
    ],
  ];
  for (const [what, request, message] of cases)
    assert.match(await rejection(request()), message, what);
});

test('immutable and one-way fields are enforced on update', async () => {
  const m = await lbms.create(mirror('immutable'));
  assert.match(
    await rejection(lbms.replace(withFields(m, { 'spec.octavia.loadBalancerID': randomUUID() }))),
    /spec\.octavia\.loadBalancerID: .*loadBalancerID is immutable/,
  );
  assert.match(
    await rejection(lbms.replace(withFields(m, { 'spec.aws.vpcID': 'vpc-00000000000000001' }))),
    /spec\.aws\.vpcID: .*vpcID is immutable/,
  );
  // Mutable fields still change.
  await lbms.replace(withFields(m, { 'spec.aws.subnetIDs': ['subnet-0123456789abcdef2'] }));

  const p = await prods.create(withFields(prod('one-way'), { 'spec.cluster': 'onprem-a' }));
  assert.match(
    await rejection(prods.replace(withFields(p, { 'spec.cluster': 'eks-b' }))),
    /spec\.cluster: .*spec\.cluster cannot change once set/,
  );
  const retired = await prods.replace(withFields(p, { 'spec.retired': true }));
  assert.match(
    await rejection(prods.replace(withFields(retired, { 'spec.retired': false }))),
    /spec\.retired: .*spec\.retired cannot go back to false/,
  );
});

const now = timestamp();
const ready = (reason: string): Condition => ({
  type: 'Ready',
  status: 'True',
  reason,
  message: 'all good',
  lastTransitionTime: now,
  observedGeneration: 1,
});

test('status is a subresource: /status writes status only, the main endpoint spec only', async () => {
  // Per kind: its client, an object, a valid status, and a spec edit.
  const cases: [ReturnType<typeof client>, Obj, object, Record<string, unknown>][] = [
    [
      lbms,
      mirror('status'),
      {
        observedGeneration: 1,
        conditions: [ready('InSync')],
        loadBalancer: { arn: 'arn:aws:elasticloadbalancing:x', dnsName: 'k-1.elb.amazonaws.com' },
      } satisfies LoadBalancerMirror['status'],
      { 'spec.syncInterval': '90s' },
    ],
    [
      mcs,
      cluster('status'),
      {
        conditions: [ready('ProbeSucceeded')],
        kubernetesVersion: 'v1.33.13',
        nodes: { ready: 3, total: 3 },
        allocatable: { cpu: '6', memory: '12Gi' },
        prods: 0,
      } satisfies MemberCluster['status'],
      { 'spec.cordoned': true },
    ],
    [
      prods,
      prod('status'),
      {
        phase: 'Ready',
        cluster: 'onprem-a',
        conditions: [ready('ComponentsAvailable')],
      } satisfies Prod['status'],
      { 'spec.version': '1.0.1' },
    ],
  ];
  for (const [c, obj, status, specEdit] of cases) {
    const created = await c.create(withFields(obj, { status }));
    assert.equal('status' in created, false, 'create ignores status');
    const written = await c.replaceStatus(withFields(created, { status }));
    assert.deepEqual((written as { status?: object }).status, status);
    assert.equal(
      written.metadata.generation,
      created.metadata.generation,
      'status writes keep generation',
    );

    const edited = await c.replace(
      withFields(written, { ...specEdit, status: { conditions: [] } }),
    );
    assert.deepEqual((edited as { status?: object }).status, status, 'spec writes keep status');
    assert.equal(edited.metadata.generation, created.metadata.generation! + 1);
  }
});

/** GET as a meta.k8s.io Table: what `kubectl get` prints, by column name. */
async function printed(path: string): Promise<Record<string, unknown>> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: https.RequestOptions = {
    hostname: server.hostname,
    port: server.port,
    path,
    headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
  };
  await kc.applyToHTTPSOptions(opts);
  const body = await new Promise<string>((resolve, reject) =>
    https
      .get(opts, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(text))));
      })
      .on('error', reject),
  );
  const table = JSON.parse(body) as {
    columnDefinitions: { name: string }[];
    rows: { cells: unknown[] }[];
  };
  return Object.fromEntries(
    table.columnDefinitions.map((col, i) => [col.name, table.rows[0]!.cells[i]]),
  );
}

test('printer columns show the spec and status fields kubectl get needs', async () => {
  const p = await prods.create(prod('columns'));
  await prods.replaceStatus(
    withFields(p, {
      status: { phase: 'WarmingUp', cluster: 'eks-b', conditions: [ready('WarmingUp')] },
    }),
  );
  const row = await printed(`/apis/kachiku.io/v1alpha1/namespaces/${ns}/prods/${p.metadata.name}`);
  assert.deepEqual(
    { ...row, Age: undefined },
    {
      Name: p.metadata.name,
      App: 'shop',
      Version: '1.0.0',
      Cluster: 'eks-b',
      Phase: 'WarmingUp',
      Ready: 'True',
      Role: 'standard',
      Capacity: 20,
      Running: null,
      Age: undefined,
    },
  );
});

// deploy/chart against the lab's control plane, with helm v3 built from the Go module proxy
// (lab/scripts/build-helm.sh): it lints and renders; the rendered objects pass the apiserver's
// server-side dry run; a real `helm install` puts in Established CRDs and a ServiceAccount
// allowed exactly what deploy/rbac allows; `helm uninstall` leaves nothing of the release.
// kwok plays no kubelet in the control plane: the Deployment's pods are created and stay
// Pending (no image is pulled); the controller itself is tested elsewhere as this same identity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  Rest,
  isNotFound,
  resourcePath,
  type Gvr,
  type KubeObject,
} from '../../src/runtime/rest.js';
import { namespaceGvr } from '../../src/runtime/core.js';
import { allKinds, crdName } from '../../src/api/crds.js';
import {
  clusterRules,
  namespaceRules,
  rbacObjects,
  secretReaderRules,
} from '../../src/api/rbac.js';
import { repoRoot } from '../../lab/src/paths.js';
import { labState } from '../support/lab.js';
import { controlPlaneConfig, testNamespace } from '../support/kube.js';
import { until } from '../support/wait.js';

const run = promisify(execFile);
const chart = join(repoRoot, 'deploy', 'chart');
const controlPlane = labState().kube!.clusters.find((c) => c.role === 'control-plane')!;
let helmBin = '';
// helm's own config, cache and data in a throwaway place, not the user's home.
const helmHome = mkdtempSync(join(tmpdir(), 'kachiku-helm-'));
const helmEnv = {
  ...process.env,
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_DATA_HOME: join(helmHome, 'data'),
};
const helm = async (...args: string[]): Promise<string> => {
  try {
    return (await run(helmBin, args, { env: helmEnv, maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`helm ${args.join(' ')}: ${e.stderr || e.message}`);
  }
};
const docs = (yaml: string): KubeObject[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);

const gvrs: Record<string, Gvr> = {
  ServiceAccount: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  Secret: { group: '', version: 'v1', resource: 'secrets', namespaced: true },
  Service: { group: '', version: 'v1', resource: 'services', namespaced: true },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  PodDisruptionBudget: {
    group: 'policy',
    version: 'v1',
    resource: 'poddisruptionbudgets',
    namespaced: true,
  },
  ClusterRole: rbac('clusterroles', false),
  ClusterRoleBinding: rbac('clusterrolebindings', false),
  Role: rbac('roles', true),
  RoleBinding: rbac('rolebindings', true),
  CustomResourceDefinition: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    namespaced: false,
  },
};
function rbac(resource: string, namespaced: boolean): Gvr {
  return { group: 'rbac.authorization.k8s.io', version: 'v1', resource, namespaced };
}
const gvrOfObject = (o: KubeObject): Gvr => {
  const g = gvrs[o.kind!];
  assert.ok(g, `the test knows where ${o.kind} objects live`);
  return g;
};

interface RenderedDeployment {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        volumes: { name: string; secret?: { secretName: string } }[];
        securityContext: { runAsNonRoot?: boolean };
        containers: {
          image: string;
          args: string[];
          env: { name: string; value?: string; valueFrom?: unknown }[];
          securityContext: { readOnlyRootFilesystem?: boolean };
          livenessProbe: { httpGet: { path: string } };
          readinessProbe: { httpGet: { path: string } };
        }[];
      };
    };
  };
}

const rest = new Rest(controlPlaneConfig());
let ns = '';
let release = '';
let installed = false;
// Values that render every optional object the lab can hold (the ServiceMonitor needs the
// prometheus-operator CRD, which the lab has not: it is checked rendered only).
const values = () => [
  '--set',
  'credentials.openstack.cloudsYaml=clouds: {lab: {auth: {auth_url: "http://127.0.0.1:1/v3"}}}',
  '--set',
  'credentials.aws.accessKeyId=AKIDLAB',
  '--set',
  'credentials.aws.secretAccessKey=lab-secret',
  '--set',
  'credentials.aws.region=eu-west-1',
  '--set',
  `rbac.secretNamespaces={${ns}-tenants}`,
];

before(async () => {
  const built = await run('bash', [join(repoRoot, 'lab', 'scripts', 'build-helm.sh')]);
  helmBin = join(built.stdout.trim(), 'helm');
  ns = await testNamespace(rest, 'chart');
  release = ns; // chart-<8 hex>: its objects are chart-<8 hex>-kachiku…
  await rest.create(namespaceGvr, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: `${ns}-tenants` },
  });
});

after(async () => {
  if (installed)
    await helm('uninstall', release, '-n', ns, '--kubeconfig', controlPlane.kubeconfig);
  for (const name of [ns, `${ns}-tenants`]) await rest.delete(namespaceGvr, undefined, name);
  await rest.close();
  rmSync(helmHome, { recursive: true, force: true });
});

test('helm lint --strict passes, with the default values and with every option on', async () => {
  await helm('lint', '--strict', chart);
  await helm(
    'lint',
    '--strict',
    chart,
    '--set',
    'metrics.serviceMonitor.enabled=true',
    ...values(),
  );
});

test('release kachiku renders exactly the RBAC of deploy/rbac, and the controller as asked', async () => {
  const objects = docs(
    await helm('template', 'kachiku', chart, '-n', 'kachiku-system', ...values()),
  );
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(o, `${kind} ${name} is rendered`);
    return o as KubeObject & Record<string, unknown>;
  };
  // deploy/rbac's objects, labels aside (helm's are added): the same names, rules, bindings.
  const o = rbacObjects();
  const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding']);
  for (const want of [
    o.serviceAccount,
    o.clusterRole,
    o.clusterRoleBinding,
    o.role,
    o.roleBinding,
    o.secretReader,
    o.secretReaderBinding,
  ]) {
    const got = find(want.kind, want.metadata.name);
    const strip = (x: Record<string, unknown>) => {
      const { metadata, ...rest } = x as { metadata: KubeObject['metadata'] };
      return { ...rest, name: metadata.name, namespace: metadata.namespace };
    };
    assert.deepEqual(strip(got), strip(want as Record<string, unknown>), want.kind);
    if (!clusterScoped.has(want.kind)) assert.equal(got.metadata.namespace, 'kachiku-system');
  }
  const deployment = find('Deployment', 'kachiku') as unknown as RenderedDeployment;
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  const c = pod.containers[0]!;
  assert.equal(pod.serviceAccountName, 'kachiku');
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.image, 'ghcr.io/kachiku/kachiku:0.1.0');
  assert.deepEqual(
    [c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path],
    ['/healthz', '/readyz'],
  );
  assert.ok(!c.args.includes('--no-leader-elect'), 'leader election is on');
  assert.ok(c.args.includes('--health-probe-bind-address=:8081'));
  assert.ok(c.args.includes(`--secret-namespaces=kachiku-system,${ns}-tenants`));
  // The credentials: the AWS Secret's keys in the environment, clouds.yaml as a file; the values are
  // in the Secrets only, never in the Deployment.
  assert.deepEqual(
    c.env.filter((e) => e.name.startsWith('AWS_') && e.valueFrom).map((e) => e.valueFrom),
    ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'].map((key) => ({
      secretKeyRef: {
        name: 'kachiku-aws',
        key,
        ...(key === 'AWS_SESSION_TOKEN' && { optional: true }),
      },
    })),
  );
  assert.ok(
    c.env.some((e) => e.name === 'OS_CLIENT_CONFIG_FILE') &&
      pod.volumes.some((v) => v.secret?.secretName === 'kachiku-openstack'),
  );
  assert.ok(!JSON.stringify(deployment).includes('lab-secret'));
  assert.equal(
    Buffer.from(
      (find('Secret', 'kachiku-aws').data as Record<string, string>).AWS_SECRET_ACCESS_KEY!,
      'base64',
    ).toString(),
    'lab-secret',
  );
  assert.equal(find('Service', 'kachiku-metrics').kind, 'Service');
  assert.ok(!objects.some((x) => x.kind === 'ServiceMonitor'), 'no ServiceMonitor by default');
  const monitored = docs(
    await helm('template', 'kachiku', chart, '--set', 'metrics.serviceMonitor.enabled=true'),
  );
  assert.ok(monitored.some((x) => x.kind === 'ServiceMonitor'));
  // EKS's IAM roles for service accounts: an annotation on the ServiceAccount from values.
  const role = 'arn:aws:iam::111122223333:role/kachiku';
  const irsa = docs(
    await helm(
      'template',
      'kachiku',
      chart,
      '--set-string',
      `serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${role}`,
    ),
  );
  const sa = irsa.find((x) => x.kind === 'ServiceAccount');
  assert.equal(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn'], role);
  assert.equal(find('ServiceAccount', 'kachiku').metadata.annotations, undefined);
});

test("the rendered objects pass the control plane's server-side dry run, and none is created", async () => {
  const objects = docs(
    await helm('template', release, chart, '-n', ns, '--include-crds', ...values()),
  );
  assert.deepEqual(
    [...new Set(objects.map((o) => o.kind))].sort(),
    Object.keys(gvrs).sort(),
    'every kind the chart makes is tried',
  );
  for (const obj of objects) {
    const gvr = gvrOfObject(obj);
    const namespace = gvr.namespaced ? (obj.metadata.namespace ?? ns) : undefined;
    // Server-side apply with dryRun=All: admission, schema and (for CRDs) structural checks
    // run in full, whether or not the object exists already, and nothing is stored.
    await rest.request('PATCH', resourcePath(gvr, namespace, obj.metadata.name), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'chart-test', force: true, dryRun: 'All' },
    });
  }
  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  await assert.rejects(
    rest.get(gvrs.Deployment!, ns, deployment.metadata.name),
    isNotFound,
    'the dry run stored nothing',
  );
});

test('helm install: CRDs Established, the ServiceAccount may do what deploy/rbac allows and nothing else; uninstall leaves nothing', async () => {
  await helm(
    'install',
    release,
    chart,
    '-n',
    ns,
    '--kubeconfig',
    controlPlane.kubeconfig,
    ...values(),
  );
  installed = true;
  const manifest = docs(
    await helm('get', 'manifest', release, '-n', ns, '--kubeconfig', controlPlane.kubeconfig),
  );
  for (const obj of manifest) {
    const gvr = gvrOfObject(obj);
    await rest.get(
      gvr,
      gvr.namespaced ? (obj.metadata.namespace ?? ns) : undefined,
      obj.metadata.name,
    );
  }
  // The CRDs: installed from crds/ (or there already), each Established.
  for (const k of allKinds) {
    const crd = await rest.get<
      KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
    >(gvrs.CustomResourceDefinition!, undefined, crdName(k));
    assert.ok(
      crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
      `${crdName(k)} is Established`,
    );
  }
  // The installed roles hold deploy/rbac's rules, as the apiserver stored them.
  const fullname = `${release}-kachiku`;
  const rulesOf = async (gvr: Gvr, namespace: string | undefined, name: string) =>
    (await rest.get<KubeObject & { rules: unknown }>(gvr, namespace, name)).rules;
  assert.deepEqual(
    await rulesOf(gvrs.ClusterRole!, undefined, `${fullname}-controller`),
    clusterRules,
  );
  assert.deepEqual(
    await rulesOf(gvrs.ClusterRole!, undefined, `${fullname}-secret-reader`),
    secretReaderRules,
  );
  assert.deepEqual(await rulesOf(gvrs.Role!, ns, `${fullname}-leader-election`), namespaceRules);

  // What the apiserver's authorizer answers for the release's ServiceAccount.
  const user = `system:serviceaccount:${ns}:${fullname}`;
  const may = async (a: {
    verb: string;
    resource: string;
    group?: string;
    subresource?: string;
    namespace?: string;
  }): Promise<boolean> => {
    const review = await rest.create<KubeObject & { status?: { allowed?: boolean } }>(
      {
        group: 'authorization.k8s.io',
        version: 'v1',
        resource: 'subjectaccessreviews',
        namespaced: false,
      },
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        metadata: { name: '' },
        spec: { user, resourceAttributes: { group: 'kachiku.io', ...a } },
      } as KubeObject,
    );
    return review.status?.allowed === true;
  };
  const allowed = [
    { verb: 'list', resource: 'prods' },
    { verb: 'watch', resource: 'memberclusters' },
    { verb: 'update', resource: 'releases', subresource: 'status', namespace: 'default' },
    { verb: 'update', resource: 'fleets', subresource: 'finalizers', namespace: 'default' },
    { verb: 'create', resource: 'prods', namespace: 'default' },
    // A Release's hold and avoid annotations: merge patches.
    { verb: 'patch', resource: 'prods', namespace: 'default' },
    { verb: 'create', resource: 'events', group: 'events.k8s.io', namespace: 'default' },
    { verb: 'get', resource: 'secrets', group: '', namespace: ns },
    { verb: 'list', resource: 'secrets', group: '', namespace: `${ns}-tenants` },
    { verb: 'update', resource: 'leases', group: 'coordination.k8s.io', namespace: ns },
    // A mirror's claim on its Octavia load balancer: a Lease made and removed in its namespace.
    { verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: 'default' },
    { verb: 'delete', resource: 'leases', group: 'coordination.k8s.io', namespace: 'default' },
    { verb: 'create', resource: 'tenantslices', namespace: 'default' },
    { verb: 'create', resource: 'loadbalancermirrors', namespace: 'default' },
  ];
  const denied = [
    { verb: 'create', resource: 'fleets', namespace: 'default' },
    { verb: 'delete', resource: 'tenants', namespace: 'default' },
    { verb: 'patch', resource: 'fleets', namespace: 'default' },
    { verb: 'get', resource: 'secrets', group: '', namespace: 'default' },
    { verb: 'list', resource: 'secrets', group: '' },
    { verb: 'create', resource: 'secrets', group: '', namespace: ns },
    // Claims are never updated: only the leader-election Lease, in kachiku's own namespace.
    { verb: 'update', resource: 'leases', group: 'coordination.k8s.io', namespace: 'default' },
    { verb: 'delete', resource: 'tenantslices', namespace: 'default' },
    { verb: 'create', resource: 'pods', group: '', namespace: ns },
    { verb: 'update', resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io' },
  ];
  for (const a of allowed) assert.equal(await may(a), true, `allowed: ${JSON.stringify(a)}`);
  for (const a of denied) assert.equal(await may(a), false, `denied: ${JSON.stringify(a)}`);

  await helm('uninstall', release, '-n', ns, '--kubeconfig', controlPlane.kubeconfig, '--wait');
  installed = false;
  for (const obj of manifest) {
    const gvr = gvrOfObject(obj);
    const namespace = gvr.namespaced ? (obj.metadata.namespace ?? ns) : undefined;
    await assert.rejects(
      rest.get(gvr, namespace, obj.metadata.name),
      isNotFound,
      `${obj.kind} ${obj.metadata.name} is gone`,
    );
  }
  // What the Deployment made goes with it (the garbage collector, in the background).
  const pods: Gvr = { group: '', version: 'v1', resource: 'pods', namespaced: true };
  const replicasets: Gvr = {
    group: 'apps',
    version: 'v1',
    resource: 'replicasets',
    namespaced: true,
  };
  for (const gvr of [replicasets, pods])
    await until(
      `no ${gvr.resource} of the release left`,
      async () => ((await rest.list(gvr, ns)).items.length === 0 ? true : undefined),
      30_000,
    );
  // helm's release records (Secrets of type helm.sh/release.v1) are gone too.
  const secrets = await rest.list<KubeObject & { type?: string }>(gvrs.Secret!, ns);
  assert.deepEqual(
    secrets.items.filter((s) => s.type === 'helm.sh/release.v1').map((s) => s.metadata.name),
    [],
  );
});

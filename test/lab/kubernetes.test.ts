// The lab's Kubernetes is real: the control plane serves CRDs, watches and status subresources;
// a member cluster's scheduler, controller manager and kwok turn a Deployment Available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Watch,
  type V1Deployment,
} from '@kubernetes/client-node';
import { labState } from '../support/lab.js';
import { until, within } from '../support/wait.js';

const lab = labState();
const kube = lab.kube!;

function config(name: string): KubeConfig {
  const cluster = kube.clusters.find((c) => c.name === name);
  assert.ok(cluster, `cluster ${name} in the lab`);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc;
}

test('the test lab has a control-plane cluster and three member clusters, on-prem, EKS, on-prem', () => {
  const roles = kube.clusters.map((c) => `${c.name}:${c.role}:${c.provider}`);
  assert.deepEqual(
    roles,
    [
      'kachiku:control-plane:none',
      'onprem-a:member:onprem',
      'eks-b:member:eks',
      'onprem-c:member:onprem',
    ],
    'scripts/test.sh starts the lab with --members 3 (a reused lab must have been started so too)',
  );
  assert.equal(kube.version, 'v1.33.13');
});

test("the control plane has kachiku's namespace, where its leader election Lease lives", async () => {
  const ns = await config('kachiku')
    .makeApiClient(CoreV1Api)
    .readNamespace({ name: 'kachiku-system' });
  assert.equal(ns.status?.phase, 'Active');
});

test('control plane: apply a CRD, create an object, watch it, update its status subresource', async () => {
  const kc = config('kachiku');
  const group = 'labtest.kachiku.io';
  const plural = `widgets${randomUUID().slice(0, 6)}`;
  const crdName = `${plural}.${group}`;
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: crdName },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural, singular: plural.slice(0, -1), kind: `W${plural}` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: { type: 'object', properties: { phase: { type: 'string' } } },
                },
              },
            },
          },
        ],
      },
    },
  });
  try {
    await until('CRD Established', async () => {
      const crd = await ext.readCustomResourceDefinition({ name: crdName });
      return (
        crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ||
        undefined
      );
    });
    const objects = kc.makeApiClient(CustomObjectsApi);
    const base = { group, version: 'v1', namespace: 'default', plural };
    // A new resource's watch cache answers 429 while it initializes; a list at
    // resourceVersion 0 is served from that cache, so once it works a watch will too.
    await until('watch cache ready', () =>
      objects.listNamespacedCustomObject({ ...base, resourceVersion: '0' }),
    );

    const events: { type: string; phase?: string }[] = [];
    const watch = new Watch(kc);
    const seenStatus = new Promise<void>((resolve, reject) => {
      void watch
        .watch(
          `/apis/${group}/v1/namespaces/default/${plural}`,
          {},
          (type, obj: { status?: { phase?: string } }) => {
            events.push({ type, phase: obj.status?.phase });
            if (obj.status?.phase === 'Ready') resolve();
          },
          (err) => err && reject(err),
        )
        .then((req) => seenStatus.finally(() => req.abort()));
    });
    await new Promise((r) => setTimeout(r, 300)); // let the watch start before the create

    await objects.createNamespacedCustomObject({
      ...base,
      body: {
        apiVersion: `${group}/v1`,
        kind: `W${plural}`,
        metadata: { name: 'one' },
        spec: { size: 3 },
      },
    });
    await objects.patchNamespacedCustomObjectStatus({
      ...base,
      name: 'one',
      body: [{ op: 'add', path: '/status', value: { phase: 'Ready' } }],
    });
    await within(seenStatus, 10_000, 'the status event').catch((err: Error) => {
      throw new Error(`${err.message}; saw ${JSON.stringify(events)}`);
    });
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'MODIFIED'],
    );

    const got = (await objects.getNamespacedCustomObject({ ...base, name: 'one' })) as {
      spec: { size: number };
      status: { phase: string };
    };
    assert.equal(got.spec.size, 3);
    assert.equal(got.status.phase, 'Ready');
    // The status subresource ignores spec changes and the main resource ignores status changes.
    await objects.replaceNamespacedCustomObject({
      ...base,
      name: 'one',
      body: { ...got, status: { phase: 'Ignored' } },
    });
    const again = (await objects.getNamespacedCustomObject({ ...base, name: 'one' })) as {
      status: { phase: string };
    };
    assert.equal(again.status.phase, 'Ready');
  } finally {
    await ext.deleteCustomResourceDefinition({ name: crdName });
  }
});

for (const member of ['onprem-a', 'eks-b', 'onprem-c']) {
  test(`member cluster ${member}: a Deployment with 2 replicas becomes Available on kwok nodes`, async () => {
    const kc = config(member);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = `labtest-${randomUUID().slice(0, 8)}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    try {
      const deployment: V1Deployment = {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                {
                  name: 'web',
                  image: 'registry.example/web:1.0',
                  ports: [{ containerPort: 8080 }],
                },
              ],
            },
          },
        },
      };
      await apps.createNamespacedDeployment({ namespace, body: deployment });
      const available = await until(
        'Deployment Available',
        async () => {
          const d = await apps.readNamespacedDeployment({ name: 'web', namespace });
          const ok = d.status?.conditions?.some(
            (c) => c.type === 'Available' && c.status === 'True',
          );
          return ok && d.status?.availableReplicas === 2 ? d : undefined;
        },
        90_000,
      );
      assert.equal(available.status?.readyReplicas, 2);
      const pods = await core.listNamespacedPod({ namespace });
      assert.equal(pods.items.length, 2);
      for (const pod of pods.items) {
        assert.match(
          pod.spec?.nodeName ?? '',
          new RegExp(`^${member}-node-`),
          'bound by the scheduler to a kwok node',
        );
        assert.equal(pod.status?.phase, 'Running');
      }
    } finally {
      await core.deleteNamespace({ name: namespace });
    }
  });
}

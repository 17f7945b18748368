import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProdSpec } from '../../api/prod.js';
import { covers, endpoints, observeComponents, requested, type Deployment } from './observe.js';

const spec: ProdSpec = {
  app: 'shop',
  version: '2',
  components: [
    {
      name: 'web',
      image: 'web:{{version}}',
      replicas: 3,
      ports: [{ name: 'http', port: 8080 }],
      resources: { requests: { cpu: '250m', memory: '256Mi' } },
    },
    {
      name: 'api',
      image: 'api:{{version}}',
      ports: [{ name: 'grpc', port: 9000 }],
      expose: 'LoadBalancer',
      resources: { requests: { cpu: 1, memory: '1Gi' } },
    },
  ],
};
const images = new Map([
  ['web', 'web:2'],
  ['api', 'api:2'],
]);

function deployment(name: string, image: string, replicas: number, st: Deployment['status']) {
  return {
    metadata: { name, generation: 2 },
    spec: { replicas, template: { spec: { containers: [{ name, image }] } } },
    status: { observedGeneration: 2, ...st },
  } satisfies Deployment;
}

test('rolled out only when every Deployment runs the image with all replicas available', () => {
  const done = new Map([
    [
      'web',
      deployment('web', 'web:2', 3, {
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
      }),
    ],
    [
      'api',
      deployment('api', 'api:2', 1, {
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      }),
    ],
  ]);
  const o = observeComponents(spec, images, done);
  assert.equal(o.rolledOut, true);
  assert.deepEqual(o.components, [
    { name: 'web', image: 'web:2', desired: 3, ready: 3 },
    { name: 'api', image: 'api:2', desired: 1, ready: 1 },
  ]);
  assert.deepEqual([o.short, o.down], [[], []]);

  const rolling = new Map(done);
  rolling.set(
    'web',
    deployment('web', 'web:2', 3, {
      replicas: 4,
      updatedReplicas: 2,
      readyReplicas: 3,
      availableReplicas: 3,
    }),
  );
  assert.equal(observeComponents(spec, images, rolling).rolledOut, false, 'old pods still there');

  const oldImage = new Map(done);
  oldImage.set(
    'api',
    deployment('api', 'api:1', 1, { replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
  );
  assert.equal(observeComponents(spec, images, oldImage).rolledOut, false, 'not yet the new image');

  const stale = new Map(done);
  stale.set('api', {
    ...done.get('api')!,
    status: { ...done.get('api')!.status, observedGeneration: 1 },
  });
  assert.equal(observeComponents(spec, images, stale).rolledOut, false, 'status of an older spec');

  const missing = new Map([['web', done.get('web')!]]);
  const m = observeComponents(spec, images, missing);
  assert.equal(m.rolledOut, false);
  assert.deepEqual(
    m.down.map((c) => c.name),
    ['api'],
  );
});

test('short and down components after pods are lost', () => {
  const lost = new Map([
    [
      'web',
      deployment('web', 'web:2', 3, {
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 1,
        availableReplicas: 1,
      }),
    ],
    ['api', deployment('api', 'api:2', 1, { replicas: 1, updatedReplicas: 1, readyReplicas: 0 })],
  ]);
  const o = observeComponents(spec, images, lost);
  assert.deepEqual(
    o.short.map((c) => `${c.name} ${c.ready}/${c.desired}`),
    ['web 1/3', 'api 0/1'],
  );
  assert.deepEqual(
    o.down.map((c) => c.name),
    ['api'],
  );
});

test('requests add up over replicas and components', () => {
  assert.deepEqual(requested(spec), { cpu: '1750m', memory: '1792Mi' });
  assert.deepEqual(requested({ app: 'a', version: '1', manifests: [{}] }), {
    cpu: '0',
    memory: '0',
  });
});

test('endpoints: in-cluster names for ClusterIP, the ingress for a LoadBalancer once it has one', () => {
  const services = new Map([
    ['web', { metadata: { name: 'web' }, spec: { type: 'ClusterIP' } }],
    ['api', { metadata: { name: 'api' }, spec: { type: 'LoadBalancer' } }],
  ]);
  assert.deepEqual(endpoints(spec, 'prod-x', services), [
    { component: 'web', address: 'web.prod-x.svc:8080' },
  ]);
  services.set('api', {
    metadata: { name: 'api' },
    spec: { type: 'LoadBalancer' },
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } },
  } as never);
  assert.deepEqual(endpoints(spec, 'prod-x', services)[1], {
    component: 'api',
    address: '203.0.113.7:9000',
  });
});

test('covers: server defaults do not count, changes by hand do', () => {
  const desired = { spec: { replicas: 2, ports: [{ port: 80 }], cpu: 1 } };
  const observed = {
    metadata: { uid: 'x' },
    spec: { replicas: 2, ports: [{ port: 80, protocol: 'TCP' }], cpu: '1', strategy: {} },
  };
  assert.equal(covers(observed, desired), true);
  assert.equal(covers({ spec: { ...observed.spec, replicas: 0 } }, desired), false);
  assert.equal(covers({ spec: { ...observed.spec, ports: [] } }, desired), false);
  assert.equal(covers(undefined, desired), false);
  assert.equal(covers({ spec: { replicas: 2, ports: [{ port: 80 }] } }, desired), false);
});

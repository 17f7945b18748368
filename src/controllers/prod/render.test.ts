import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProdSpec } from '../../api/prod.js';
import type { Gvr } from '../../runtime/rest.js';
import {
  OWNER_ANNOTATION,
  RenderError,
  labelValue,
  ownerOf,
  prodNamespace,
  renderProd,
  substitute,
  type ResolveKind,
  type TemplateVars,
} from './render.js';

// The parts of the rendered objects the tests look at.
interface Shape {
  metadata: { namespace?: string };
  spec: {
    type?: string;
    replicas?: number;
    selector: { matchLabels?: Record<string, string> } & Record<string, string>;
    ports?: unknown[];
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Record<string, unknown>[] };
    };
  };
}

const prod = { namespace: 'shop', name: 'eu-1' };
const resolve: ResolveKind = (apiVersion, kind) =>
  (
    ({
      'v1/ConfigMap': { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
      'v1/Service': { group: '', version: 'v1', resource: 'services', namespaced: true },
      'rbac.authorization.k8s.io/v1/ClusterRole': {
        group: 'rbac.authorization.k8s.io',
        version: 'v1',
        resource: 'clusterroles',
        namespaced: false,
      },
    }) as Record<string, Gvr>
  )[`${apiVersion}/${kind}`];

const spec: ProdSpec = {
  app: 'shop',
  version: '1.4.2',
  components: [
    {
      name: 'web',
      image: 'registry.example/shop-web:{{version}}',
      replicas: 2,
      ports: [{ name: 'http', port: 8080 }],
      env: [{ name: 'WHERE', value: '{{ app }}/{{name}} in {{cluster}}:{{namespace}}' }],
      resources: { requests: { cpu: '250m', memory: '256Mi' } },
      readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
      expose: 'LoadBalancer',
    },
    { name: 'worker', image: 'registry.example/shop-worker:{{version}}' },
  ],
  manifests: [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'elsewhere', labels: { team: 'a' } },
      data: { version: '{{version}}', list: ['{{cluster}}'] },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: '{{namespace}}-reader' },
      rules: [],
    },
  ],
};

test('renders the namespace first, then manifests, Deployments and Services', () => {
  const r = renderProd(prod, spec, 'onprem-a', resolve);
  assert.equal(r.namespace, 'prod-eu-1');
  assert.deepEqual(
    r.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`),
    [
      'Namespace/prod-eu-1',
      'ConfigMap/settings',
      'ClusterRole/prod-eu-1-reader',
      'Deployment/web',
      'Service/web',
      'Deployment/worker',
    ],
  );
  for (const { object } of r.objects) {
    assert.equal(object.metadata.labels?.['kachiku.io/prod'], 'eu-1');
    assert.equal(object.metadata.labels?.['kachiku.io/prod-namespace'], 'shop');
    assert.equal(object.metadata.labels?.['kachiku.io/app'], 'shop');
    assert.equal(object.metadata.labels?.['app.kubernetes.io/managed-by'], 'kachiku');
    assert.equal(object.metadata.annotations?.[OWNER_ANNOTATION], 'shop/eu-1');
    assert.deepEqual(ownerOf(object), prod);
  }
});

test('a Deployment carries the templated image, env, ports, resources and probe', () => {
  const r = renderProd(prod, spec, 'onprem-a', resolve);
  const web = r.objects.find((o) => o.object.kind === 'Deployment')!.object as unknown as Shape;
  assert.equal(web.metadata.namespace, 'prod-eu-1');
  assert.equal(web.spec.replicas, 2);
  assert.deepEqual(web.spec.selector.matchLabels, {
    'kachiku.io/prod': 'eu-1',
    'kachiku.io/component': 'web',
  });
  assert.equal(web.spec.template.metadata.labels['kachiku.io/component'], 'web');
  const c = web.spec.template.spec.containers[0]!;
  assert.equal(c.image, 'registry.example/shop-web:1.4.2');
  assert.deepEqual(c.env, [{ name: 'WHERE', value: 'shop/eu-1 in onprem-a:prod-eu-1' }]);
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  assert.deepEqual(c.resources, { requests: { cpu: '250m', memory: '256Mi' } });
  assert.deepEqual(c.readinessProbe, {
    httpGet: { path: '/healthz', port: 8080 },
    periodSeconds: 5,
  });
  const worker = r.objects.find((o) => o.object.metadata.name === 'worker')!
    .object as unknown as Shape;
  assert.equal(worker.spec.replicas, 1, 'replicas default to 1');
  assert.equal('ports' in worker.spec.template.spec.containers[0]!, false);
});

test('a component with ports gets a Service of its expose type', () => {
  const r = renderProd(prod, spec, 'onprem-a', resolve);
  const svc = r.objects.find((o) => o.object.kind === 'Service')!.object as unknown as Shape;
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.deepEqual(svc.spec.ports, [
    { name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP' },
  ]);
  assert.deepEqual(svc.spec.selector, { 'kachiku.io/prod': 'eu-1', 'kachiku.io/component': 'web' });
});

test('manifests are templated, forced into the namespace when namespaced, labelled', () => {
  const r = renderProd(prod, spec, 'eks-b', resolve);
  const cm = r.objects.find((o) => o.object.kind === 'ConfigMap')!;
  assert.equal(cm.object.metadata.namespace, 'prod-eu-1');
  assert.equal(cm.gvr.resource, 'configmaps');
  assert.deepEqual(cm.object.data, { version: '1.4.2', list: ['eks-b'] });
  assert.equal(cm.object.metadata.labels?.team, 'a', 'its own labels are kept');
  const role = r.objects.find((o) => o.object.kind === 'ClusterRole')!;
  assert.equal(role.object.metadata.namespace, undefined);
});

test('an unknown template variable is a TemplateError naming where it is', () => {
  const bad = (s: Partial<ProdSpec>) => () =>
    renderProd(prod, { ...spec, ...s } as ProdSpec, 'onprem-a', resolve);
  assert.throws(
    bad({ components: [{ name: 'web', image: 'x:{{version}}-{{flavour}}' }] }),
    (e: unknown) =>
      e instanceof RenderError &&
      e.reason === 'TemplateError' &&
      e.message.includes('spec.components[web].image') &&
      e.message.includes('{{flavour}}') &&
      e.message.includes('{{version}}'),
  );
  assert.throws(
    bad({ manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '{{prod}}' } }] }),
    /spec\.manifests\[0\]\.metadata\.name: unknown template variable \{\{prod\}\}/,
  );
});

test('manifests that cannot be applied are InvalidSpec', () => {
  const bad = (m: Record<string, unknown>) => () =>
    renderProd(prod, { ...spec, manifests: [m] }, 'onprem-a', resolve);
  const invalid = (re: RegExp) => (e: unknown) =>
    e instanceof RenderError && e.reason === 'InvalidSpec' && re.test(e.message);
  assert.throws(bad({ kind: 'ConfigMap', metadata: { name: 'a' } }), invalid(/apiVersion/));
  assert.throws(
    bad({ apiVersion: 'x.io/v1', kind: 'Thing', metadata: { name: 'a' } }),
    invalid(/does not serve Thing/),
  );
  assert.throws(
    bad({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }),
    invalid(/one namespace/),
  );
  assert.throws(
    bad({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } }),
    invalid(/defined twice/),
  );
});

test('substitute leaves text without variables alone', () => {
  const vars: TemplateVars = { name: 'n', namespace: 'ns', app: 'a', version: 'v', cluster: 'c' };
  assert.equal(substitute('plain {text}', vars, 'x'), 'plain {text}');
  assert.equal(substitute('{{version}}{{version}}', vars, 'x'), 'vv');
});

test('names that do not fit a label or a namespace are shortened with a hash, deterministically', () => {
  const long = `a${'.b'.repeat(40)}`;
  const ns = prodNamespace(long);
  assert.ok(ns.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns), ns);
  assert.equal(ns, prodNamespace(long));
  assert.notEqual(prodNamespace(`${long}x`), ns);
  assert.equal(prodNamespace('web'), 'prod-web');
  const v = labelValue('x'.repeat(80));
  assert.ok(v.length <= 63);
  assert.equal(labelValue('eu-1'), 'eu-1');
});

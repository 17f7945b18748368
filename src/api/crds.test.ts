import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';
import { allKinds, crdFor, renderCrds } from './crds.js';
import { gvrOf } from './kind.js';
import { renderRbac, rbacObjects } from './rbac.js';
import { renderChart } from './chart.js';
import { structuralErrors, type JSONSchemaProps } from './schema.js';

// This file runs as dist/src/api/crds.test.js.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const REGENERATE =
  'run `kachiku crds --write` (npm run build && node dist/src/cli/main.js crds --write)';
const generated = [...renderCrds(), ...renderRbac(), ...renderChart()];

test('the committed deploy/ files are exactly what the generator writes', () => {
  for (const f of generated) {
    const path = join(root, f.filename);
    assert.ok(existsSync(path), `${f.filename} is missing: ${REGENERATE}`);
    assert.ok(readFileSync(path, 'utf8') === f.yaml, `${f.filename} is stale: ${REGENERATE}`);
  }
  for (const dir of ['deploy/crds', 'deploy/rbac', 'deploy/rbac/member', 'deploy/chart/crds']) {
    const extra = readdirSync(join(root, dir), { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => `${dir}/${e.name}`)
      .filter((name) => !generated.some((f) => f.filename === name));
    assert.deepEqual(extra, [], `files no kind generates: ${REGENERATE}`);
  }
});

test('every CRD schema is structural', () => {
  for (const k of allKinds) {
    const schema = crdFor(k).spec.versions[0]!.schema.openAPIV3Schema;
    assert.deepEqual(structuralErrors(schema), [], k.kind);
  }
});

test('names, scopes and short names', () => {
  const crds = allKinds.map(crdFor);
  assert.deepEqual(
    crds.map((c) => [c.metadata.name, c.spec.scope, c.spec.names.shortNames]),
    [
      ['loadbalancermirrors.kachiku.io', 'Namespaced', ['lbm']],
      ['memberclusters.kachiku.io', 'Cluster', ['mc']],
      ['prods.kachiku.io', 'Namespaced', ['prod']],
      ['fleets.kachiku.io', 'Namespaced', ['fl']],
      ['tenants.kachiku.io', 'Namespaced', ['tn']],
      ['routers.kachiku.io', 'Namespaced', ['rt']],
      ['releases.kachiku.io', 'Namespaced', ['rel']],
      ['tenantslices.kachiku.io', 'Namespaced', ['tsl']],
      ['mirrorpolicies.kachiku.io', 'Namespaced', ['lbmp']],
    ],
  );
  for (const c of crds) {
    assert.deepEqual(c.spec.names.categories, ['kachiku']);
    assert.deepEqual(c.spec.versions[0]!.subresources, { status: {} });
  }
});

/** The schema node at a printer column's JSONPath (filters like [?(@.type=="Ready")] skipped). */
function nodeAt(schema: JSONSchemaProps, jsonPath: string): JSONSchemaProps | undefined {
  let node: JSONSchemaProps | undefined = schema;
  for (const part of jsonPath
    .replace(/\[\?\(.*?\)\]/g, '')
    .split('.')
    .slice(1)) {
    if (node?.type === 'array') node = node.items as JSONSchemaProps;
    node = (node?.properties as Record<string, JSONSchemaProps> | undefined)?.[part];
  }
  return node;
}

test('every printer column points at a field of the schema, of its type', () => {
  for (const k of allKinds) {
    const version = crdFor(k).spec.versions[0]!;
    const schema = version.schema.openAPIV3Schema;
    for (const col of version.additionalPrinterColumns) {
      if (col.jsonPath === '.metadata.creationTimestamp') continue;
      const node = nodeAt(schema, col.jsonPath);
      assert.ok(node, `${k.kind} column ${col.name}: no field at ${col.jsonPath}`);
      const type = node.type === 'array' ? (node.items as JSONSchemaProps).type : node.type;
      assert.equal(type === 'object' ? 'string' : type, col.type, `${k.kind} column ${col.name}`);
    }
  }
});

test('every CEL rule has a message', () => {
  const rules: { rule: string; message?: string }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [key, sub] of Object.entries(v))
        if (key === 'x-kubernetes-validations') rules.push(...(sub as typeof rules));
        else walk(sub);
  };
  allKinds.forEach((k) => walk(crdFor(k)));
  assert.ok(rules.length >= 10, `${rules.length} rules`);
  for (const r of rules) assert.ok(r.message && r.message.length > 10, r.rule);
});

test("client-node's serializer keeps every field of the CRDs (what --apply sends)", () => {
  // KubernetesObjectApi serializes from client-node's model form; loadAllYaml reads into it.
  for (const f of renderCrds()) {
    const plain = parseAllDocuments(f.yaml).map((d) => d.toJS());
    const roundTrip = loadAllYaml(f.yaml).map((o) => parseAllDocuments(dumpYaml(o))[0]!.toJS());
    assert.deepEqual(roundTrip, plain, f.filename);
  }
});

test('RBAC: least privilege for every kind, bound to the kachiku ServiceAccount', () => {
  const o = rbacObjects();
  const can = (group: string, resource: string, verb: string) =>
    o.clusterRole.rules.some(
      (r) =>
        r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
    );
  // Exactly what the controllers use (the integration tests run every controller under it):
  // finalizers and status are written with update (PUT); the one patch is a Release's
  // annotations on Prods (a merge patch cannot conflict with the Prod's status writes).
  for (const k of allKinds) {
    for (const verb of ['get', 'list', 'watch', 'update'])
      assert.ok(can(k.group, k.plural, verb), `${k.plural} ${verb}`);
    assert.ok(can(k.group, `${k.plural}/status`, 'update'));
    assert.ok(can(k.group, `${k.plural}/finalizers`, 'update'));
    assert.equal(can(k.group, k.plural, 'patch'), k.plural === 'prods', `patch on ${k.plural}`);
    // The exceptions: a Fleet creates and removes its Prods, and creates Releases; a
    // MirrorPolicy creates and removes its LoadBalancerMirrors.
    assert.equal(
      can(k.group, k.plural, 'create'),
      ['prods', 'releases', 'tenantslices', 'loadbalancermirrors'].includes(k.plural),
      `create on ${k.plural}`,
    );
    assert.equal(
      can(k.group, k.plural, 'delete'),
      ['prods', 'loadbalancermirrors'].includes(k.plural),
      `delete on ${k.plural}`,
    );
  }
  // Secrets: never cluster-wide; a ClusterRole bound per namespace with a RoleBinding.
  assert.ok(!can('', 'secrets', 'get') && !can('', 'namespaces', 'get'));
  assert.deepEqual(o.secretReader.rules, [
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
  ]);
  assert.equal(o.secretReaderBinding.kind, 'RoleBinding');
  assert.equal(o.secretReaderBinding.metadata.namespace, 'kachiku-system');
  assert.ok(can('events.k8s.io', 'events', 'create'));
  // Leases everywhere: a mirror's claim on its Octavia load balancer is in the mirror's
  // namespace; created and deleted, never updated (leader election's stays in its namespace).
  assert.ok(can('coordination.k8s.io', 'leases', 'create'));
  assert.ok(can('coordination.k8s.io', 'leases', 'delete'));
  assert.ok(!can('coordination.k8s.io', 'leases', 'update'), 'claims are never updated');
  for (const r of [...o.clusterRole.rules, ...o.role.rules, ...o.memberRole.rules])
    assert.ok(![...r.apiGroups, ...r.resources, ...r.verbs].includes('*'), 'no wildcards');
  assert.deepEqual(o.role.rules, [
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['get', 'create', 'update'],
    },
  ]);
  for (const b of [o.clusterRoleBinding, o.roleBinding, o.secretReaderBinding, o.memberRoleBinding])
    assert.deepEqual(b.subjects, [
      { kind: 'ServiceAccount', name: 'kachiku', namespace: 'kachiku-system' },
    ]);
  assert.equal(o.serviceAccount.metadata.namespace, 'kachiku-system');
});

test('gvrOf names the resource the CRD serves', () => {
  for (const k of allKinds) {
    const crd = crdFor(k);
    assert.deepEqual(gvrOf(k), {
      group: crd.spec.group,
      version: crd.spec.versions[0]!.name,
      resource: crd.spec.names.plural,
      namespaced: crd.spec.scope === 'Namespaced',
    });
  }
  assert.deepEqual(gvrOf(allKinds.find((k) => k.kind === 'MemberCluster')!), {
    group: 'kachiku.io',
    version: 'v1alpha1',
    resource: 'memberclusters',
    namespaced: false,
  });
});

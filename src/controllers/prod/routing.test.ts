import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routedBy, routedProds } from './routing.js';
import type { Router, RouterStatus } from '../../api/router.js';

const router = (name: string, status: RouterStatus, deleting = false): Router => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Router',
  metadata: {
    name,
    namespace: 'shop',
    ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
  },
  spec: {
    haproxy: {
      instances: [{ name: 'a', runtimeAPI: '127.0.0.1:1' }],
      map: '/m',
      slots: 4,
      serversPerSlot: 1,
    },
  },
  status,
});
const table = { version: 'v2', fleets: 1, hosts: 3, prods: 2 };
const slots: RouterStatus['slots'] = [
  { slot: 0, prod: 'p1', state: 'Active' },
  { slot: 1, prod: 'p2', state: 'Releasing' },
  { slot: 2, prod: 'p3', state: 'Active' },
];
const instance = (tableVersion: string | undefined, reachable = true) => ({
  name: 'a',
  reachable,
  ...(tableVersion ? { tableVersion } : {}),
});

test('routed: the Active slots of a table some instance serves', () => {
  const r = router('edge', { table, slots, instances: [instance('v1'), instance('v2')] });
  assert.deepEqual([...routedProds(r)].sort(), ['p1', 'p3']);
  assert.equal(routedBy([r], 'p1'), 'edge');
  assert.equal(routedBy([r], 'p2'), undefined, 'a Releasing slot routes no tenant');
  assert.equal(routedBy([r], 'p9'), undefined);
});

test('an instance away keeps the last table it was given: still routed by it', () => {
  const away = router('e', { table, slots, instances: [instance('v2', false)] });
  assert.deepEqual([...routedProds(away)].sort(), ['p1', 'p3']);
});

test('not routed: no instance serves the table yet, or the Router is going', () => {
  assert.equal(routedProds(router('e', { table, slots, instances: [instance('v1')] })).size, 0);
  assert.equal(routedProds(router('e', { slots, instances: [instance(undefined)] })).size, 0);
  const going = router('e', { table, slots, instances: [instance('v2')] }, true);
  assert.equal(routedProds(going).size, 0);
  assert.equal(routedProds(undefined).size, 0);
});

test('routed by two Routers: the first by name', () => {
  const st = { table, slots, instances: [instance('v2')] };
  assert.equal(routedBy([router('z', st), router('b', st)], 'p1'), 'b');
});

test('DNS mode: the Prods its records in Route 53 name', () => {
  const dns = (status: RouterStatus, deleting = false): Router => {
    const r = router('dns', status, deleting);
    return { ...r, spec: { route53: { hostedZone: { name: 'example.com' } } } };
  };
  const r = dns({ dns: { records: 3, healthChecks: 1, prods: ['p1', 'p2'] } });
  assert.deepEqual([...routedProds(r)].sort(), ['p1', 'p2']);
  assert.equal(routedBy([r], 'p2'), 'dns');
  assert.deepEqual([...routedProds(dns({}))], []);
  assert.deepEqual([...routedProds(dns(r.status!, true))], []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  HostedZone,
  ObservedHealthCheck,
  RecordAtName,
  RecordSet,
  Route53Api,
} from '../../../clouds/aws/route53.js';
import { fleet, prod, tenant } from '../testing.js';
import { dnsRoutes } from './routes.js';
import { removeDns, syncDns, type DnsMemory } from './sync.js';
import { callerPrefix } from './plan.js';

const owner = { namespace: 'shop', name: 'r' };
const zone: HostedZone = { id: 'Z1', name: 'example.com.' };
const prods = [
  prod('p1', ['10.0.0.1:80']),
  prod('p2', ['10.0.1.1:80']),
  prod('p3', ['10.0.2.1:80']),
  prod('n1', ['nlb-1.elb.amazonaws.com:80']),
  prod('n2', ['nlb-2.elb.amazonaws.com:80']),
];

/**
 * Route 53 in memory, strict where Route 53 is: a DELETE must match the record exactly, and a
 * batch may not leave a CNAME beside records of another type at one name.
 */
function fakeRoute53() {
  const sets = new Map<string, RecordSet>();
  const checks = new Map<string, ObservedHealthCheck>();
  const calls: string[] = [];
  const key = (r: RecordSet) => `${r.name}|${r.type ?? 'A'}|${r.setIdentifier ?? ''}`;
  let n = 0;
  const api: Route53Api = {
    findHostedZone: async () => (calls.push('findHostedZone'), zone),
    listHealthChecks: async (prefix) => {
      calls.push('listHealthChecks');
      return [...checks.values()].filter((c) => c.callerReference.startsWith(prefix));
    },
    createHealthCheck: async (callerReference, spec) => {
      calls.push('createHealthCheck');
      const id = `hc-${++n}`;
      checks.set(id, { id, callerReference, ...spec });
      return id;
    },
    deleteHealthCheck: async (id) => {
      calls.push('deleteHealthCheck');
      const used = [...sets.values()].some((r) => r.healthCheckId === id);
      if (used) throw new Error(`HealthCheckInUse ${id}`);
      checks.delete(id);
    },
    healthCheckState: async () => 'Healthy',
    recordsAt: async () => [],
    listRecords: async () => {
      calls.push('listRecords');
      return [...sets.values()].map((s): RecordAtName => ({
        name: s.name,
        type: s.type ?? 'A',
        ...(s.setIdentifier && { setIdentifier: s.setIdentifier }),
        set: structuredClone(s),
      }));
    },
    changeRecords: async (_zone, changes) => {
      calls.push(`changeRecords:${changes.length}`);
      const next = new Map(sets);
      for (const c of changes) {
        const k = key(c.record);
        if (c.action === 'DELETE') {
          assert.deepEqual(next.get(k), c.record, `DELETE of ${k} matches the record`);
          next.delete(k);
        } else next.set(k, structuredClone(c.record));
      }
      const types = new Map<string, Set<string>>();
      for (const r of next.values())
        types.set(r.name, (types.get(r.name) ?? new Set()).add(r.type ?? 'A'));
      for (const [name, t] of types)
        if (t.has('CNAME') && t.size > 1)
          throw new Error(`InvalidChangeBatch: CNAME beside ${[...t].join(',')} at ${name}`);
      sets.clear();
      for (const [k, v] of next) sets.set(k, v);
    },
  };
  return { api, sets, checks, calls };
}

const routes = (tenants: ReturnType<typeof tenant>[]) =>
  dnsRoutes({ zone: zone.name, fleets: [fleet('f')], tenants, prods });

const input = (t: ReturnType<typeof tenant>[], last?: DnsMemory, now = 1000) => ({
  owner,
  generation: 1,
  zone,
  spec: { hostedZone: { name: 'example.com' } },
  routes: routes(t),
  last,
  now,
  resyncMs: 60_000,
});

test('sync: writes once, then nothing (no read either) until the resync, which reads and writes nothing', async () => {
  const r53 = fakeRoute53();
  const tenants = [
    tenant('a', ['a.example.com'], 'p1'),
    tenant('d', ['d.example.com'], 'p1', 'p2'),
  ];
  const first = await syncDns(r53.api, input(tenants));
  assert.deepEqual(r53.calls, [
    'listRecords',
    'listHealthChecks',
    'createHealthCheck',
    'changeRecords:5',
  ]);
  assert.equal(first.records, 5);
  assert.equal(first.healthChecks, 1);
  r53.calls.length = 0;
  const second = await syncDns(r53.api, input(tenants, first.memory, 2000));
  assert.deepEqual(r53.calls, []);
  assert.deepEqual(second.changes, []);
  await syncDns(r53.api, input(tenants, second.memory, 1000 + 60_000));
  assert.deepEqual(r53.calls, ['listRecords', 'listHealthChecks']);
});

test('sync: a moved tenant → only its record; Dual → Single → the check deleted after the records', async () => {
  const r53 = fakeRoute53();
  const before = [tenant('a', ['a.example.com'], 'p1'), tenant('d', ['d.example.com'], 'p1', 'p2')];
  const first = await syncDns(r53.api, input(before));
  r53.calls.length = 0;
  const moved = [tenant('a', ['a.example.com'], 'p3'), before[1]!];
  const second = await syncDns(r53.api, input(moved, first.memory, 2000));
  assert.deepEqual(r53.calls, ['changeRecords:1']);
  assert.deepEqual(second.changes, ['wrote A a.example.com. 10.0.2.1']);
  r53.calls.length = 0;
  const single = [moved[0]!, tenant('d', ['d.example.com'], 'p2')];
  const third = await syncDns(r53.api, input(single, second.memory, 3000));
  assert.deepEqual(r53.calls, ['changeRecords:3', 'deleteHealthCheck']);
  assert.equal(r53.checks.size, 0);
  assert.equal(third.healthChecks, 0);
  assert.deepEqual(
    [...r53.sets.values()].filter((s) => s.name === 'd.example.com.'),
    [{ name: 'd.example.com.', ttl: 60, values: ['10.0.1.1'] }],
  );
});

test('sync: a crash after the check was made reuses it; records of others are never touched', async () => {
  const r53 = fakeRoute53();
  const foreign: RecordSet = { name: 'x.example.com.', ttl: 300, values: ['192.0.2.1'] };
  r53.sets.set('x.example.com.|A|', foreign);
  const tenants = [
    tenant('d', ['d.example.com'], 'p1', 'p2'),
    tenant('x', ['x.example.com'], 'p3'),
  ];
  // The first sync made its check, then "crashed" before the records.
  await r53.api.createHealthCheck(
    `${callerPrefix(owner)}old`,
    { type: 'TCP', ipAddress: '10.0.0.1', port: 80, requestInterval: 30, failureThreshold: 3 },
    {},
  );
  r53.calls.length = 0;
  const result = await syncDns(r53.api, input(tenants));
  assert.ok(!r53.calls.includes('createHealthCheck'), 'the check left by the crash is reused');
  assert.equal([...r53.sets.values()].find((s) => s.failover === 'PRIMARY')?.healthCheckId, 'hc-1');
  assert.deepEqual([...result.conflicts.keys()], ['x.example.com.']);
  assert.deepEqual(r53.sets.get('x.example.com.|A|'), foreign);
});

test('remove: every record and check of the Router goes, read back gone; others stay', async () => {
  const r53 = fakeRoute53();
  const foreign: RecordSet = { name: 'x.example.com.', ttl: 300, values: ['192.0.2.1'] };
  r53.sets.set('x.example.com.|A|', foreign);
  await syncDns(
    r53.api,
    input([tenant('a', ['*.a.example.com'], 'p1'), tenant('d', ['d.example.com'], 'p1', 'p2')]),
  );
  const { removed, gone } = await removeDns(r53.api, owner, zone);
  assert.equal(gone, true);
  assert.equal(removed, 6);
  assert.deepEqual([...r53.sets.values()], [foreign]);
  assert.equal(r53.checks.size, 0);
});

test('sync: IP Prods → name Prods → IP Prods: A and CNAME swap in one batch per host, checks by address then by name', async () => {
  const r53 = fakeRoute53();
  const ips = [tenant('a', ['a.example.com'], 'p1'), tenant('d', ['d.example.com'], 'p1', 'p2')];
  const names = [tenant('a', ['a.example.com'], 'n1'), tenant('d', ['d.example.com'], 'n1', 'n2')];
  const first = await syncDns(r53.api, input(ips));
  r53.calls.length = 0;
  const second = await syncDns(r53.api, input(names, first.memory, 2000));
  // The FQDN check first, both hosts in one batch (each host's deletions before its writes),
  // then the address check, no record using it any more.
  assert.deepEqual(r53.calls, ['createHealthCheck', 'changeRecords:6', 'deleteHealthCheck']);
  assert.deepEqual(
    [...r53.checks.values()].map((c) => [c.fqdn, c.ipAddress, c.port]),
    [['nlb-1.elb.amazonaws.com.', undefined, 80]],
  );
  const at = (name: string) =>
    [...r53.sets.values()]
      .filter((x) => x.name === name)
      .map((x) => [x.type ?? 'A', x.failover ?? 'simple', x.values, x.healthCheckId]);
  assert.deepEqual(at('a.example.com.'), [
    ['CNAME', 'simple', ['nlb-1.elb.amazonaws.com.'], undefined],
  ]);
  const check = [...r53.checks.keys()][0];
  assert.deepEqual(at('d.example.com.'), [
    ['CNAME', 'PRIMARY', ['nlb-1.elb.amazonaws.com.'], check],
    ['CNAME', 'SECONDARY', ['nlb-2.elb.amazonaws.com.'], undefined],
  ]);
  assert.equal(second.records, 5);
  // Unchanged: nothing written on the resync.
  r53.calls.length = 0;
  await syncDns(r53.api, input(names, second.memory, 2000 + 60_000));
  assert.deepEqual(r53.calls, ['listRecords', 'listHealthChecks']);
  // Back to IPs: nothing of the CNAMEs is left.
  const third = await syncDns(r53.api, input(ips));
  assert.deepEqual(at('a.example.com.'), [['A', 'simple', ['10.0.0.1'], undefined]]);
  assert.deepEqual(
    at('d.example.com.').map(([t, f]) => [t, f]),
    [
      ['A', 'PRIMARY'],
      ['A', 'SECONDARY'],
    ],
  );
  assert.equal(third.healthChecks, 1);
  assert.equal([...r53.checks.values()][0]!.ipAddress, '10.0.0.1');
});

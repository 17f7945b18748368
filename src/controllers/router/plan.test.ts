import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe, planInstance, planSlot, sameMap, type Observed } from './plan.js';
import { buildTable, type Table } from './table.js';
import { fleet, freshServers, prod, server, settings, tenant } from './testing.js';
import type { ServerState } from '../../clouds/haproxy/index.js';

const spec = settings();

/** p1 (slot 0, one endpoint) serves a and, as secondary, b; p2 (slot 1, two endpoints) serves b. */
function table(over: { p1?: string[]; p2?: string[]; previous?: Table['records'] } = {}): Table {
  return buildTable({
    spec,
    fleets: [fleet('f')],
    tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p2', 'p1')],
    prods: [
      prod('p1', over.p1 ?? ['127.0.0.2:80']),
      prod('p2', over.p2 ?? ['127.0.0.3:80', '127.0.0.4:80']),
    ],
    previous: over.previous ?? [],
  });
}

/** What a router serving `t` reports. */
function serving(t: Table): Observed {
  const servers = freshServers(spec).map((s): ServerState => {
    const slot = Number(s.backend.slice('be_slot_'.length));
    const e = t.slots.get(slot)?.servers[s.id - 1];
    return e ? server(s.backend, s.id, { addr: e.addr, port: e.port, admin: 'ready' }) : s;
  });
  return { map: t.entries.map(([key, value]) => ({ key, value })), servers };
}

const lines = (o: Observed, t: Table) => planInstance(spec, t, o).commands.map(describe);

test('a freshly started router: servers in first, then the map; nothing to take out', () => {
  const t = table();
  assert.deepEqual(lines({ map: [], servers: freshServers(spec) }, t), [
    'set server be_slot_0/s1 addr 127.0.0.2 port 80',
    'set server be_slot_0/s1 state ready',
    'set server be_slot_1/s1 addr 127.0.0.3 port 80',
    'set server be_slot_1/s1 state ready',
    'set server be_slot_1/s2 addr 127.0.0.4 port 80',
    'set server be_slot_1/s2 state ready',
    'replace map /etc/haproxy/hosts.map (2 entries)',
  ]);
  const plan = planInstance(spec, t, { map: [], servers: freshServers(spec) });
  const map = plan.commands.at(-1)!;
  assert.deepEqual(map.kind === 'ReplaceMap' && map.entries, [
    ['a.example', 'be_slot_0'],
    ['b.example', 'be_slot_1 be_slot_0'],
  ]);
  assert.deepEqual([...plan.referenced].sort(), [0, 1]);
});

test('up to date: no command (the map in another order is the same map)', () => {
  const t = table();
  const o = serving(t);
  assert.deepEqual(lines(o, t), []);
  assert.deepEqual(lines({ ...o, map: [...o.map].reverse() }, t), []);
});

test('a tenant moved: the map alone is replaced', () => {
  const t = table();
  const o = serving(t);
  const moved = buildTable({
    spec,
    fleets: [fleet('f')],
    tenants: [tenant('t1', ['a.example'], 'p2'), tenant('t2', ['b.example'], 'p2', 'p1')],
    prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80', '127.0.0.4:80'])],
    previous: t.records,
  });
  assert.deepEqual(lines(o, moved), ['replace map /etc/haproxy/hosts.map (2 entries)']);
});

test("a Prod's endpoints change: the new one in before the map, the old one out after", () => {
  const t = table();
  const o = serving(t);
  const changed = table({ p2: ['127.0.0.4:80', '127.0.0.5:80'], previous: t.records });
  assert.deepEqual(lines(o, changed), ['set server be_slot_1/s1 addr 127.0.0.5 port 80']);
  // With a third server free, the new endpoint takes it and the old one leaves last.
  const roomy = settings({ serversPerSlot: 3 });
  const o3: Observed = {
    map: o.map,
    servers: [
      server('be_slot_0', 1, { addr: '127.0.0.2', port: 80, admin: 'ready' }),
      server('be_slot_0', 2),
      server('be_slot_0', 3),
      server('be_slot_1', 1, { addr: '127.0.0.3', port: 80, admin: 'ready' }),
      server('be_slot_1', 2, { addr: '127.0.0.4', port: 80, admin: 'ready' }),
      server('be_slot_1', 3),
      ...[2, 3].flatMap((i) => [1, 2, 3].map((j) => server(`be_slot_${i}`, j))),
    ],
  };
  const plan = planInstance({ ...roomy, slots: 4 }, changed, o3);
  assert.deepEqual(plan.commands.map(describe), [
    'set server be_slot_1/s3 addr 127.0.0.5 port 80',
    'set server be_slot_1/s3 state ready',
    'set server be_slot_1/s1 state maint',
  ]);
});

test('a server in maintenance already at the endpoint needs only `state ready`', () => {
  const t = table();
  const o = serving(t);
  const servers = o.servers.map((s) =>
    s.backend === 'be_slot_0' && s.name === 's1' ? { ...s, admin: 'maint' as const } : s,
  );
  assert.deepEqual(lines({ ...o, servers }, t), ['set server be_slot_0/s1 state ready']);
  // So does one an operator set to drain.
  const drained = o.servers.map((s) =>
    s.backend === 'be_slot_1' && s.name === 's2' ? { ...s, admin: 'drain' as const } : s,
  );
  assert.deepEqual(lines({ ...o, servers: drained }, t), ['set server be_slot_1/s2 state ready']);
});

test('a free slot still in service goes to maintenance after the map; a Releasing one is left alone', () => {
  const t = table();
  const o = serving(t);
  const servers = o.servers.map((s) =>
    s.backend === 'be_slot_3' && s.name === 's1'
      ? { ...s, addr: '127.0.0.8', port: 80, admin: 'ready' as const }
      : s.backend === 'be_slot_2' && s.name === 's2'
        ? { ...s, addr: '127.0.0.9', port: 80, admin: 'ready' as const }
        : s,
  );
  const withReleasing = {
    ...t,
    records: [...t.records, { slot: 2, prod: 'old', state: 'Releasing' as const }],
  };
  assert.deepEqual(lines({ map: o.map, servers }, withReleasing), [
    'set server be_slot_3/s1 state maint',
  ]);
  // The map first when both change.
  assert.deepEqual(lines({ map: [], servers }, withReleasing), [
    'replace map /etc/haproxy/hosts.map (2 entries)',
    'set server be_slot_3/s1 state maint',
  ]);
});

test('a key twice, a key missing, a value differing: the map is replaced', () => {
  const wanted: [string, string][] = [
    ['a.example', 'be_slot_0'],
    ['b.example', 'be_slot_1 be_slot_0'],
  ];
  const ok = wanted.map(([key, value]) => ({ key, value }));
  assert.equal(sameMap(ok, wanted), true);
  assert.equal(sameMap([ok[0]!, ok[0]!], wanted), false);
  assert.equal(sameMap([ok[0]!], wanted), false);
  assert.equal(sameMap([ok[0]!, { key: 'b.example', value: 'be_slot_1' }], wanted), false);
  assert.equal(sameMap([], []), true);
});

test('a configuration without the slots the table uses: nothing is sent, and it says what lacks', () => {
  const t = table();
  const few = freshServers(settings({ slots: 1 }));
  const plan = planInstance(spec, t, {
    map: [{ key: 'a.example', value: 'be_slot_0' }],
    servers: few,
  });
  assert.deepEqual(plan.commands, []);
  assert.deepEqual(plan.mismatches, ['backend be_slot_1 is not in its configuration']);
  assert.deepEqual([...plan.referenced], [0]);
  const short = freshServers(spec).filter((s) => !(s.backend === 'be_slot_1' && s.name === 's2'));
  assert.deepEqual(planInstance(spec, t, { map: [], servers: short }).mismatches, [
    'be_slot_1 has no server s2',
  ]);
  // Unused slots may be missing.
  const unused = freshServers(spec).filter((s) => s.backend !== 'be_slot_3');
  assert.deepEqual(planInstance(spec, t, { map: [], servers: unused }).mismatches, []);
});

test('planSlot keeps servers already at an endpoint, fills free ones in order, maints the rest', () => {
  const servers = [
    server('b', 1, { addr: '10.0.0.9', port: 80, admin: 'ready' }),
    server('b', 2, { addr: '10.0.0.2', port: 80, admin: 'ready' }),
    server('b', 3),
    server('b', 4, { addr: '10.0.0.1', port: 80 }),
  ];
  const { ready, maint } = planSlot('b', servers, [
    { addr: '10.0.0.1', port: 80 },
    { addr: '10.0.0.2', port: 80 },
    { addr: '10.0.0.3', port: 80 },
  ]);
  assert.deepEqual(ready.map(describe), [
    'set server b/s4 state ready',
    'set server b/s3 addr 10.0.0.3 port 80',
    'set server b/s3 state ready',
  ]);
  assert.deepEqual(maint.map(describe), ['set server b/s1 state maint']);
  assert.deepEqual(planSlot('b', servers.slice(2), []), { ready: [], maint: [] });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable, endpointsOf, settle, slotsIn, type TableInput } from './table.js';
import { NS, fleet, prod, settings, tenant } from './testing.js';
import { sliceName, sliceOf } from '../../api/tenantslice.js';
import type { SlotRecord } from '../../api/router.js';

const input = (over: Partial<TableInput> = {}): TableInput => ({
  spec: settings(),
  fleets: [fleet('f')],
  tenants: [],
  prods: [],
  previous: [],
  ...over,
});

const active = (slot: number, p: string): SlotRecord => ({ slot, prod: p, state: 'Active' });
const releasing = (slot: number, p: string): SlotRecord => ({ slot, prod: p, state: 'Releasing' });

test('Single and Dual tenants: the primary slot, then the secondary; servers are the endpoints', () => {
  const t = buildTable(
    input({
      tenants: [
        tenant('t1', ['a.example'], 'p1'),
        tenant('t2', ['b.example', 'c.example'], 'p2', 'p1'),
      ],
      prods: [prod('p1', ['127.0.0.2:8080']), prod('p2', ['127.0.0.3:8080', '127.0.0.4:8080'])],
    }),
  );
  // p1 serves three hosts, p2 two: p1 gets the first slot.
  assert.deepEqual(t.records, [active(0, 'p1'), active(1, 'p2')]);
  assert.deepEqual(t.entries, [
    ['a.example', 'be_slot_0'],
    ['b.example', 'be_slot_1 be_slot_0'],
    ['c.example', 'be_slot_1 be_slot_0'],
  ]);
  assert.deepEqual(t.slots.get(0), { prod: 'p1', servers: [{ addr: '127.0.0.2', port: 8080 }] });
  assert.deepEqual(t.slots.get(1)?.servers, [
    { addr: '127.0.0.3', port: 8080 },
    { addr: '127.0.0.4', port: 8080 },
  ]);
  assert.deepEqual(t.unrouted, []);
  assert.equal(t.slotsNeeded, 2);
});

test('slots are stable: a Prod keeps its recorded slot, a newcomer takes the lowest free one', () => {
  const t = buildTable(
    input({
      tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p3')],
      prods: [prod('p1', ['127.0.0.2:80']), prod('p3', ['127.0.0.4:80'])],
      previous: [active(2, 'p1'), releasing(0, 'old')],
    }),
  );
  assert.deepEqual(t.records, [releasing(0, 'old'), active(1, 'p3'), active(2, 'p1')]);
  assert.deepEqual(t.entries, [
    ['a.example', 'be_slot_2'],
    ['b.example', 'be_slot_1'],
  ]);
});

test('a Prod no tenant names any more leaves its slot Releasing; named again, it gets it back', () => {
  const prods = [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])];
  const moved = buildTable(
    input({
      tenants: [tenant('t1', ['a.example'], 'p2')],
      prods,
      previous: [active(0, 'p1'), active(1, 'p2')],
    }),
  );
  assert.deepEqual(moved.records, [releasing(0, 'p1'), active(1, 'p2')]);
  assert.deepEqual(moved.entries, [['a.example', 'be_slot_1']]);
  // Releasing slots keep nothing in the table: no servers to program.
  assert.deepEqual([...moved.slots.keys()], [1]);
  assert.equal(moved.slotsNeeded, 2);
  const back = buildTable(
    input({
      tenants: [tenant('t1', ['a.example'], 'p1')],
      prods,
      previous: moved.records,
    }),
  );
  assert.deepEqual(back.records, [active(0, 'p1'), releasing(1, 'p2')]);
});

test('settle frees a Releasing slot only once no instance points at it, and only when all were seen', () => {
  const records = [active(0, 'p1'), releasing(1, 'p2'), releasing(2, 'p3')];
  assert.deepEqual(settle(records, new Set([0, 2])), [active(0, 'p1'), releasing(2, 'p3')]);
  assert.deepEqual(settle(records, new Set([0])), [active(0, 'p1')]);
  assert.deepEqual(settle(records, undefined), records);
});

test('a freed slot is not given out while it is Releasing', () => {
  const t = buildTable(
    input({
      spec: settings({ slots: 2 }),
      tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p3')],
      prods: [prod('p1', ['127.0.0.2:80']), prod('p3', ['127.0.0.4:80'])],
      previous: [active(0, 'p1'), releasing(1, 'p2')],
    }),
  );
  assert.deepEqual(t.exhausted, ['p3']);
  assert.deepEqual(t.unrouted, ['b.example (tenant t2): no slot for p3']);
  assert.equal(t.slotsNeeded, 3);
});

test('slots exhausted: a Dual tenant goes to the Prod that has one; a Single tenant is not routed', () => {
  const t = buildTable(
    input({
      spec: settings({ slots: 2 }),
      tenants: [
        tenant('t1', ['a.example', 'a2.example'], 'p1'),
        tenant('t2', ['b.example', 'b2.example'], 'p2'),
        tenant('t3', ['c.example'], 'p3', 'p1'),
        tenant('t4', ['d.example'], 'p3'),
      ],
      prods: ['p1', 'p2', 'p3'].map((p, i) => prod(p, [`127.0.0.${i + 2}:80`])),
    }),
  );
  // p1: 3 hosts, p2: 2, p3: 2 (p2 before p3 by name).
  assert.deepEqual(t.records, [active(0, 'p1'), active(1, 'p2')]);
  assert.deepEqual(t.exhausted, ['p3']);
  assert.deepEqual(Object.fromEntries(t.entries)['c.example'], 'be_slot_0');
  assert.equal(Object.fromEntries(t.entries)['d.example'], undefined);
  assert.deepEqual(t.unrouted, ['d.example (tenant t4): no slot for p3']);
  assert.equal(t.slotsNeeded, 3);
});

test('a host two Tenants claim goes to the older one (then by Fleet and name)', () => {
  const t = buildTable(
    input({
      tenants: [
        tenant('young', ['x.example'], 'p2', undefined, { created: '2025-01-02T00:00:00Z' }),
        tenant('old', ['x.example', 'y.example'], 'p1', undefined, {
          created: '2025-01-01T00:00:00Z',
        }),
        tenant('b', ['z.example'], 'p1'),
        tenant('a', ['z.example'], 'p2'),
      ],
      prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])],
    }),
  );
  assert.deepEqual(t.entries, [
    ['x.example', 'be_slot_0'],
    ['y.example', 'be_slot_0'],
    ['z.example', 'be_slot_1'],
  ]);
  assert.deepEqual(t.unrouted, [
    'x.example (tenant young): claimed first by tenant old',
    'z.example (tenant b): claimed first by tenant a',
  ]);
});

test('not routed, with why: unplaced tenants, wildcard hosts, Prods gone; a Dual tenant keeps the Prod left; a Prod being deleted still serves', () => {
  const t = buildTable(
    input({
      tenants: [
        tenant('unplaced', ['u.example']),
        tenant('wild', ['*.w.example', 'w.example'], 'p1'),
        tenant('gone', ['g.example'], 'p9'),
        tenant('half', ['h.example'], 'p9', 'p1'),
        tenant('deleting', ['d.example'], 'p2'),
        tenant('nohosts', [], 'p1'),
      ],
      prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'], { deleting: true })],
    }),
  );
  // p1 serves two hosts, p2 (being deleted, still answering) one.
  assert.deepEqual(t.entries, [
    ['d.example', 'be_slot_1'],
    ['h.example', 'be_slot_0'],
    ['w.example', 'be_slot_0'],
  ]);
  assert.deepEqual(t.unrouted, [
    '*.w.example (tenant wild): a wildcard host: the HAProxy map matches whole host names',
    'g.example (tenant gone): its Prods p9 do not exist in its Fleet',
    'u.example (tenant unplaced): not placed',
  ]);
});

test("only the Router's Fleets count; a Prod of another Fleet is not usable", () => {
  const t = buildTable(
    input({
      tenants: [
        tenant('mine', ['m.example'], 'p1'),
        tenant('theirs', ['t.example'], 'q1', undefined, { fleet: 'other' }),
        tenant('cross', ['c.example'], 'q1'),
      ],
      prods: [prod('p1', ['127.0.0.2:80']), prod('q1', ['127.0.0.3:80'], { fleet: 'other' })],
    }),
  );
  assert.deepEqual(t.entries, [['m.example', 'be_slot_0']]);
  assert.deepEqual(t.unrouted, [
    'c.example (tenant cross): its Prods q1 do not exist in its Fleet',
  ]);
});

test('endpoints: the routing component and port, IP addresses only, deduplicated, sorted', () => {
  const p = prod('p1', []);
  p.status!.endpoints = [
    { component: 'web', address: '127.0.0.9:80' },
    { component: 'web', address: '127.0.0.3:8443' },
    { component: 'web', address: '127.0.0.3:80' },
    { component: 'web', address: '127.0.0.3:80' },
    { component: 'web', address: 'lb-1.elb.amazonaws.com:80' },
    { component: 'web', address: '[::1]:80' },
    { component: 'api', address: '127.0.0.7:9000' },
  ];
  assert.deepEqual(endpointsOf(p, undefined).good, [
    { addr: '127.0.0.3', port: 80 },
    { addr: '127.0.0.3', port: 8443 },
    { addr: '127.0.0.9', port: 80 },
    { addr: '::1', port: 80 },
  ]);
  assert.deepEqual(endpointsOf(p, undefined).bad, [
    'lb-1.elb.amazonaws.com:80: lb-1.elb.amazonaws.com is not an IP address',
  ]);
  assert.deepEqual(endpointsOf(p, { port: 8443 }).good, [{ addr: '127.0.0.3', port: 8443 }]);
  assert.deepEqual(endpointsOf(p, { component: 'api' }).good, [{ addr: '127.0.0.7', port: 9000 }]);
  assert.equal(endpointsOf(p, { component: 'db' }).good.length, 0);
  assert.equal(endpointsOf(prod('p2', []), undefined).why, 'no endpoint in its status yet');
});

test('a Prod without endpoints keeps its slot (no servers) and is reported; extra endpoints are cut', () => {
  const t = buildTable(
    input({
      fleets: [fleet('f', { router: 'r', endpoint: { port: 80 } })],
      tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p2')],
      prods: [
        prod('p1', []),
        prod('p2', ['127.0.0.4:80', '127.0.0.2:80', '127.0.0.3:80', '127.0.0.5:81']),
      ],
    }),
  );
  assert.deepEqual(t.slots.get(0), { prod: 'p1', servers: [] });
  assert.deepEqual(t.slots.get(1)?.servers, [
    { addr: '127.0.0.2', port: 80 },
    { addr: '127.0.0.3', port: 80 },
  ]);
  assert.deepEqual(t.noEndpoints, ['p1: no endpoint in its status yet']);
  assert.deepEqual(t.badEndpoints, ['p2: 127.0.0.4:80 beyond the 2 servers of a slot']);
});

test('the version: the same for the same table whatever the order; it follows entries and servers', () => {
  const tenants = [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p2', 'p1')];
  const prods = [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])];
  const v = buildTable(input({ tenants, prods })).version;
  assert.match(v, /^[0-9a-f]{12}$/);
  assert.equal(
    buildTable(input({ tenants: [...tenants].reverse(), prods: [...prods].reverse() })).version,
    v,
  );
  const moved = [tenant('t1', ['a.example'], 'p2'), tenants[1]!];
  assert.notEqual(buildTable(input({ tenants: moved, prods })).version, v);
  const other = [prod('p1', ['127.0.0.2:81']), prods[1]!];
  assert.notEqual(buildTable(input({ tenants, prods: other })).version, v);
});

test('slotsIn reads the slots out of map values, and nothing else', () => {
  const spec = settings();
  assert.deepEqual(
    [
      ...slotsIn(spec, [
        'be_slot_3 be_slot_10',
        'be_slot_3',
        'be_default',
        'be_slot_x',
        'be_slot_01',
      ]),
    ],
    [3, 10],
  );
});

test('hold: a Dual tenant whose primary is held goes to its secondary first; Singles stay', () => {
  const t = buildTable(
    input({
      tenants: [
        tenant('single', ['a.example'], 'p1'),
        tenant('dual', ['b.example'], 'p1', 'p2'),
        tenant('other', ['c.example'], 'p2', 'p1'),
      ],
      prods: [prod('p1', ['127.0.0.2:80'], { held: true }), prod('p2', ['127.0.0.3:80'])],
    }),
  );
  assert.deepEqual(t.records, [active(0, 'p1'), active(1, 'p2')]);
  assert.deepEqual(t.entries, [
    ['a.example', 'be_slot_0'],
    // The held Prod stays the fallback: the secondary first, the held primary second.
    ['b.example', 'be_slot_1 be_slot_0'],
    ['c.example', 'be_slot_1 be_slot_0'],
  ]);
  assert.deepEqual(t.held, ['p1']);
  assert.deepEqual(t.holdWaiting, []);
});

test('hold lifted: the order is back and the version is that of the table before', () => {
  const tenants = [tenant('dual', ['b.example'], 'p1', 'p2')];
  const before = buildTable(
    input({ tenants, prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])] }),
  );
  const during = buildTable(
    input({
      tenants,
      prods: [prod('p1', ['127.0.0.2:80'], { held: true }), prod('p2', ['127.0.0.3:80'])],
      previous: before.records,
    }),
  );
  const after = buildTable(
    input({
      tenants,
      prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])],
      previous: during.records,
    }),
  );
  assert.deepEqual(before.entries, [['b.example', 'be_slot_0 be_slot_1']]);
  assert.deepEqual(during.entries, [['b.example', 'be_slot_1 be_slot_0']]);
  assert.notEqual(during.version, before.version);
  assert.deepEqual(after.entries, before.entries);
  assert.equal(after.version, before.version);
  assert.deepEqual(after.held, []);
});

test('hold: both Prods of a Dual tenant held keep its order, and neither is held', () => {
  const t = buildTable(
    input({
      tenants: [tenant('dual', ['b.example'], 'p1', 'p2')],
      prods: [
        prod('p1', ['127.0.0.2:80'], { held: true }),
        prod('p2', ['127.0.0.3:80'], { held: true }),
      ],
    }),
  );
  assert.deepEqual(t.entries, [['b.example', 'be_slot_0 be_slot_1']]);
  // p2 is only the secondary: no Dual host goes to it first.
  assert.deepEqual(t.held, ['p2']);
  assert.deepEqual(t.holdWaiting, ['p1: b.example (tenant dual) has its other Prod p2 held too']);
});

test('hold: a Dual tenant with no usable secondary (gone, or without a slot) stays and waits', () => {
  const gone = buildTable(
    input({
      tenants: [tenant('dual', ['b.example'], 'p1', 'p9')],
      prods: [prod('p1', ['127.0.0.2:80'], { held: true })],
    }),
  );
  assert.deepEqual(gone.entries, [['b.example', 'be_slot_0']]);
  assert.deepEqual(gone.held, []);
  assert.deepEqual(gone.holdWaiting, ['p1: b.example (tenant dual) has no other Prod with a slot']);
  const full = buildTable(
    input({
      spec: settings({ slots: 1 }),
      tenants: [tenant('dual', ['b.example'], 'p1', 'p2')],
      prods: [prod('p1', ['127.0.0.2:80'], { held: true }), prod('p2', ['127.0.0.3:80'])],
      previous: [active(0, 'p1')],
    }),
  );
  assert.deepEqual(full.exhausted, ['p2']);
  assert.deepEqual(full.entries, [['b.example', 'be_slot_0']]);
  assert.deepEqual(full.held, []);
});

test('hold: a held Prod with no Dual tenant (or no tenant) is held at once; Singles are not moved', () => {
  const t = buildTable(
    input({
      tenants: [tenant('single', ['a.example'], 'p1')],
      prods: [
        prod('p1', ['127.0.0.2:80'], { held: true }),
        prod('p3', ['127.0.0.4:80'], { held: true }),
      ],
    }),
  );
  assert.deepEqual(t.entries, [['a.example', 'be_slot_0']]);
  assert.deepEqual(t.held, ['p1', 'p3']);
  const unheld = buildTable(
    input({
      tenants: [tenant('single', ['a.example'], 'p1')],
      prods: [prod('p1', ['127.0.0.2:80']), prod('p3', ['127.0.0.4:80'])],
    }),
  );
  assert.equal(t.version, unheld.version);
});

test('avoid: a Dual tenant on an avoided Prod goes to its other copy at once, even a held one', () => {
  const t = buildTable(
    input({
      tenants: [
        tenant('single', ['a.example'], 'p1'),
        tenant('dual', ['b.example'], 'p1', 'p2'),
        tenant('held', ['c.example'], 'p1', 'p3'),
        tenant('both', ['d.example'], 'p1', 'p4'),
      ],
      prods: [
        prod('p1', ['127.0.0.2:80'], { avoided: true }),
        prod('p2', ['127.0.0.3:80']),
        prod('p3', ['127.0.0.4:80'], { held: true }),
        prod('p4', ['127.0.0.5:80'], { avoided: true }),
      ],
    }),
  );
  assert.deepEqual(t.entries, [
    // A Single tenant has nowhere else to go until the Fleet places it elsewhere.
    ['a.example', 'be_slot_0'],
    ['b.example', 'be_slot_1 be_slot_0'],
    // A held Prod still answers (it is about to be updated, not bad): before an avoided one.
    ['c.example', 'be_slot_2 be_slot_0'],
    ['d.example', 'be_slot_0 be_slot_3'],
  ]);
});

test("TenantSlices: a tenant's slice entry routes it, before its status says so", () => {
  const t1 = tenant('t1', ['a.example'], 'p1');
  const t2 = tenant('t2', ['b.example'], 'p1');
  const slice = (tenants: Record<string, string>) => ({
    apiVersion: 'kachiku.io/v1alpha1' as const,
    kind: 'TenantSlice' as const,
    metadata: { name: sliceName('f', sliceOf('t1')), namespace: NS },
    spec: { fleet: 'f', slice: sliceOf('t1'), tenants },
  });
  const prods = [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])];
  // The rollback moved t1 to p2 (and made it Dual with p1 as fallback): the slice says so.
  const moved = buildTable(input({ tenants: [t1, t2], prods, slices: [slice({ t1: 'p2 p1' })] }));
  const hostOf = (t: typeof moved, h: string) => t.entries.find(([host]) => host === h)?.[1];
  const slotOf = (t: typeof moved, p: string) => t.records.find((r) => r.prod === p)?.slot;
  assert.equal(
    hostOf(moved, 'a.example'),
    `be_slot_${slotOf(moved, 'p2')} be_slot_${slotOf(moved, 'p1')}`,
  );
  // t2: in the same slice → the slice is its record (here: not placed → no route); in another
  // slice (never written) → its status.
  if (sliceOf('t2') === sliceOf('t1')) assert.equal(hostOf(moved, 'b.example'), undefined);
  else assert.equal(hostOf(moved, 'b.example'), `be_slot_${slotOf(moved, 'p1')}`);
  // A slice of another Fleet changes nothing.
  const other = {
    ...slice({ t1: 'p2' }),
    spec: { fleet: 'g', slice: sliceOf('t1'), tenants: { t1: 'p2' } },
  };
  const unmoved = buildTable(input({ tenants: [t1], prods, slices: [other] }));
  assert.equal(hostOf(unmoved, 'a.example'), `be_slot_${slotOf(unmoved, 'p1')}`);
});

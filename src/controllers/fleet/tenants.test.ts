import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TenantStatus } from '../../api/tenant.js';
import {
  fleetMissingChanges,
  placementInput,
  previousAssignment,
  screenTenants,
  sliceChanges,
  tenantStatusChanges,
} from './tenants.js';
import { SLICE_COUNT, sliceName, sliceOf, type TenantSlice } from '../../api/tenantslice.js';
import {
  NS,
  T0,
  at,
  factsOf,
  fleetOf,
  prodOf,
  resultOf,
  tenantOf,
  threeClusters,
} from './testing.js';

const placed = (s: TenantStatus | undefined) => s?.conditions?.find((c) => c.type === 'Placed');

test('screenTenants: the older Tenant keeps a host (creationTimestamp, then name); the other is told which and whose', () => {
  const old = tenantOf('zeta', { hosts: ['a.example', 'b.example'] }, undefined, {
    created: T0 - 2000,
  });
  const sameAgeFirst = tenantOf('alpha', { hosts: ['c.example'] }, undefined, {
    created: T0 - 1000,
  });
  const sameAgeSecond = tenantOf('beta', { hosts: ['c.example'] }, undefined, {
    created: T0 - 1000,
  });
  const young = tenantOf('young', { hosts: ['x.example', 'b.example'] }, undefined, {
    created: T0,
  });
  const { included, excluded } = screenTenants(
    [young, sameAgeSecond, old, sameAgeFirst],
    ['da', 'db'],
  );
  assert.deepEqual(
    included.map((t) => t.metadata.name),
    ['zeta', 'alpha'],
  );
  assert.deepEqual(excluded.get('beta'), {
    reason: 'HostConflict',
    message: "host c.example is already Tenant alpha's in this Fleet (the older Tenant keeps it)",
  });
  assert.equal(excluded.get('young')?.reason, 'HostConflict');
  assert.match(excluded.get('young')?.message ?? '', /b\.example .* zeta/);
});

test('screenTenants: created in the same second, the Tenant already placed keeps the host', () => {
  const holder = tenantOf('zz-old', { hosts: ['a.example'] }, { primary: 'p1' }, { created: T0 });
  const newcomer = tenantOf('aa-new', { hosts: ['a.example'] }, undefined, { created: T0 });
  const { included, excluded } = screenTenants([newcomer, holder], ['da', 'db']);
  assert.deepEqual(
    included.map((t) => t.metadata.name),
    ['zz-old'],
  );
  assert.match(excluded.get('aa-new')?.message ?? '', /Tenant zz-old's/);
});

test('screenTenants: an excluded Tenant claims none of its hosts', () => {
  const a = tenantOf('a', { hosts: ['one.example'] }, undefined, { created: T0 - 3000 });
  const b = tenantOf('b', { hosts: ['one.example', 'two.example'] }, undefined, {
    created: T0 - 2000,
  });
  const c = tenantOf('c', { hosts: ['two.example'] }, undefined, { created: T0 - 1000 });
  const { included } = screenTenants([a, b, c], ['da', 'db']);
  assert.deepEqual(
    included.map((t) => t.metadata.name),
    ['a', 'c'],
  );
});

test('screenTenants: Dual in a one-domain Fleet → SingleDomain; deleting Tenants are left out', () => {
  const dual = tenantOf('d', { redundancy: 'Dual' });
  const single = tenantOf('s');
  const going = tenantOf('g');
  going.metadata.deletionTimestamp = at(T0);
  const { included, excluded } = screenTenants([dual, single, going], ['da']);
  assert.deepEqual(
    included.map((t) => t.metadata.name),
    ['s'],
  );
  assert.deepEqual([...excluded.keys()], ['d']);
  assert.equal(excluded.get('d')?.reason, 'SingleDomain');
  assert.match(excluded.get('d')?.message ?? '', /span only da/);
});

test('placementInput: tenants with defaults, Prods with states, previous from status, rebalance budget', () => {
  const fleet = fleetOf();
  const clusters = factsOf(fleet, threeClusters());
  const tenants = [
    tenantOf(
      't1',
      { size: 3, redundancy: 'Dual', test: true, pin: { domain: 'db' } },
      { primary: 'p-a', secondary: 'p-b' },
    ),
    tenantOf('t2'),
  ];
  const prods = [
    prodOf('p-b', 'b', { phase: 'Provisioning' }),
    prodOf('p-a', 'a', { capacity: 7 }),
    prodOf('p-c', 'c', { phase: 'WarmingUp', role: 'test' }),
    prodOf('p-x', 'gone'),
  ];
  const { input, excluded } = placementInput(tenants, prods, clusters, ['da', 'db', 'dc'], {
    draining: new Set(),
    rebalanceMoves: 4,
  });
  assert.equal(excluded.size, 0);
  assert.deepEqual(input.tenants, [
    { name: 't1', size: 3, redundancy: 'Dual', test: true, pin: { domain: 'db' } },
    { name: 't2', size: 1, redundancy: 'Single', test: false },
  ]);
  assert.deepEqual(input.prods, [
    { name: 'p-a', cluster: 'a', domain: 'da', capacity: 7, role: 'standard', state: 'open' },
    { name: 'p-b', cluster: 'b', domain: 'db', capacity: 10, role: 'standard', state: 'down' },
    { name: 'p-c', cluster: 'c', domain: 'dc', capacity: 10, role: 'test', state: 'closed' },
    { name: 'p-x', cluster: 'gone', domain: '', capacity: 10, role: 'standard', state: 'down' },
  ]);
  assert.deepEqual(input.previous, { t1: { primary: 'p-a', secondary: 'p-b' } });
  assert.equal(input.rebalanceMoves, 4);
});

test('placementInput: the Prods of a cluster this Fleet drains are leaving', () => {
  const fleet = fleetOf();
  const clusters = factsOf(fleet, threeClusters());
  const { input } = placementInput([], [prodOf('p-a', 'a'), prodOf('p-b', 'b')], clusters, [], {
    draining: new Set(['a']),
  });
  assert.deepEqual(
    input.prods.map((p) => p.state),
    ['leaving', 'open'],
  );
  assert.equal('rebalanceMoves' in input, false);
});

test('previousAssignment: only Tenants with a primary', () => {
  assert.deepEqual(
    previousAssignment([
      tenantOf('a', {}, { primary: 'p1' }),
      tenantOf('b'),
      tenantOf('c', {}, { primary: 'p1', secondary: 'p2' }),
    ]),
    { a: { primary: 'p1' }, c: { primary: 'p1', secondary: 'p2' } },
  );
});

function sliceOf_(i: number, tenants: Record<string, string>, fleet = 'web'): TenantSlice {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'TenantSlice',
    metadata: { name: sliceName(fleet, i), namespace: NS, resourceVersion: '7' },
    spec: { fleet, slice: i, tenants },
  };
}

test('previousAssignment: a written slice is the record for its tenants (even against their status); others read their status', () => {
  const a = tenantOf('a', {}, { primary: 'p1' });
  const b = tenantOf('b', {}, { primary: 'p1' });
  // A slice holding "a" (moved to p3, its status not written yet); "b" is in another slice
  // unless the hash puts it in the same one — then it is the record for "b" too.
  const slice = sliceOf_(sliceOf('a'), { a: 'p3 p4' });
  const sameSlice = sliceOf('b') === sliceOf('a');
  assert.deepEqual(previousAssignment([a, b], [slice]), {
    a: { primary: 'p3', secondary: 'p4' },
    ...(sameSlice ? {} : { b: { primary: 'p1' } }),
  });
  // An entry in the wrong slice (not its hash) or of another Fleet is ignored.
  const wrong = sliceOf_((sliceOf('a') + 1) % SLICE_COUNT, { a: 'p9' });
  const other = sliceOf_(sliceOf('a'), { a: 'p8' }, 'api');
  assert.deepEqual(previousAssignment([a], [wrong, other]), { a: { primary: 'p1' } });
  // A written slice without the tenant: it is not placed (its status is stale).
  assert.deepEqual(previousAssignment([a], [sliceOf_(sliceOf('a'), {})]), {});
});

test('sliceChanges: only slices whose content changes; a slice is made for its first tenant and kept when empty', () => {
  const names = Array.from({ length: 200 }, (_, i) => `t${i}`);
  const assignment = Object.fromEntries(
    names.map((n, i) => [n, i % 3 ? { primary: 'p1' } : { primary: 'p1', secondary: 'p2' }]),
  );
  const first = sliceChanges('web', assignment, []);
  // 200 tenants over 32 slices: every slice gets some (a change of the hash would show here).
  assert.equal(first.length, SLICE_COUNT);
  assert.ok(first.every((c) => !c.existing && c.name === sliceName('web', c.slice)));
  const all = Object.assign({}, ...first.map((c) => c.tenants)) as Record<string, string>;
  assert.equal(Object.keys(all).length, 200);
  assert.equal(all.t0, 'p1 p2');
  assert.equal(all.t1, 'p1');
  for (const c of first) for (const n of Object.keys(c.tenants)) assert.equal(sliceOf(n), c.slice);

  const written = first.map((c) => sliceOf_(c.slice, c.tenants));
  assert.deepEqual(sliceChanges('web', assignment, written), [], 'nothing changed: no write');

  // One tenant moves: one slice is written, whole, replacing the one read.
  const moved = { ...assignment, t5: { primary: 'p7' } };
  const one = sliceChanges('web', moved, written);
  assert.equal(one.length, 1);
  assert.equal(one[0]!.slice, sliceOf('t5'));
  assert.equal(one[0]!.tenants.t5, 'p7');
  assert.equal(
    one[0]!.existing,
    written.find((s) => s.spec.slice === sliceOf('t5')),
  );

  // Every tenant gone: the slices are written empty, not dropped (they stay the record).
  const emptied = sliceChanges('web', {}, written);
  assert.equal(emptied.length, SLICE_COUNT);
  assert.ok(emptied.every((c) => Object.keys(c.tenants).length === 0 && c.existing));
  assert.deepEqual(
    sliceChanges(
      'web',
      {},
      emptied.map((c) => sliceOf_(c.slice, {})),
    ),
    [],
  );
});

test('sliceName: deterministic, and within 253 characters for the longest Fleet name', () => {
  assert.equal(sliceName('web', 3), 'web-tenants-3');
  const long = 'a'.repeat(253);
  const n = sliceName(long, 31);
  assert.ok(n.length <= 253, `${n.length}`);
  assert.notEqual(sliceName(long, 31), sliceName(`${'a'.repeat(252)}b`, 31));
});

test('tenantStatusChanges: only the Tenants whose status changes; placedSince moves with the Prods', () => {
  const same = tenantOf('same', {}, { primary: 'p1' });
  const moved = tenantOf('moved', { redundancy: 'Dual' }, { primary: 'p1', secondary: 'p2' });
  const fresh = tenantOf('fresh');
  const result = resultOf({
    same: { primary: 'p1' },
    moved: { primary: 'p2', secondary: 'p3' },
    fresh: { primary: 'p3' },
  });
  const changes = tenantStatusChanges([same, moved, fresh], result, new Map(), T0);
  assert.deepEqual(
    changes.map((c) => c.tenant.metadata.name),
    ['moved', 'fresh'],
  );
  const m = changes[0]!.status;
  assert.deepEqual(m.prods, { primary: 'p2', secondary: 'p3' });
  assert.equal(m.placedSince, at(T0));
  assert.equal(placed(m)?.message, 'primary p2, secondary p3');
  assert.equal(
    placed(m)?.lastTransitionTime,
    at(T0 - 600_000),
    'still Placed=True: the transition time stays',
  );
  const f = changes[1]!.status;
  assert.deepEqual(f.prods, { primary: 'p3' });
  assert.equal(f.placedSince, at(T0));
  assert.equal(f.observedGeneration, 1);
  assert.deepEqual(
    { ...placed(f) },
    {
      type: 'Placed',
      status: 'True',
      reason: 'Placed',
      message: 'primary p3',
      observedGeneration: 1,
      lastTransitionTime: at(T0),
    },
  );
  assert.deepEqual(
    tenantStatusChanges([same], result, new Map(), T0 + 999_999),
    [],
    'nothing to write twice',
  );
});

test('tenantStatusChanges: unplaced tenants say why; a Dual tenant with one copy keeps it and is not Placed', () => {
  const dual = tenantOf('dual', { redundancy: 'Dual' }, { primary: 'p1', secondary: 'p2' });
  const lost = tenantOf('lost', {}, { primary: 'p9' });
  const result = resultOf(
    { dual: { primary: 'p1' } },
    {
      unplaced: [
        {
          tenant: 'dual',
          copy: 'secondary',
          reason: 'SingleDomain',
          message: 'only domain da has room',
        },
        {
          tenant: 'lost',
          copy: 'primary',
          reason: 'NoCapacity',
          message: 'no open Prod has 1 unit free',
        },
      ],
    },
  );
  const changes = tenantStatusChanges([dual, lost], result, new Map(), T0);
  const byName = new Map(changes.map((c) => [c.tenant.metadata.name, c.status]));
  const d = byName.get('dual')!;
  assert.deepEqual(d.prods, { primary: 'p1' });
  assert.deepEqual(
    {
      status: placed(d)?.status,
      reason: placed(d)?.reason,
      message: placed(d)?.message,
    },
    {
      status: 'False',
      reason: 'SingleDomain',
      message: 'primary on p1; secondary: only domain da has room',
    },
  );
  const l = byName.get('lost')!;
  assert.equal(l.prods, undefined);
  assert.equal(l.placedSince, undefined);
  assert.deepEqual(
    {
      status: placed(l)?.status,
      reason: placed(l)?.reason,
      message: placed(l)?.message,
    },
    { status: 'False', reason: 'NoCapacity', message: 'primary: no open Prod has 1 unit free' },
  );
  assert.equal(placed(l)?.lastTransitionTime, at(T0));
});

test('tenantStatusChanges: an excluded Tenant loses its Prods and gets the exclusion as its condition', () => {
  const t = tenantOf('t', { hosts: ['a.example'] }, { primary: 'p1' });
  const changes = tenantStatusChanges(
    [t],
    resultOf({}),
    new Map([
      ['t', { reason: 'HostConflict' as const, message: 'host a.example is already Tenant o’s' }],
    ]),
    T0,
  );
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.status.prods, undefined);
  assert.equal(placed(changes[0]!.status)?.reason, 'HostConflict');
});

test('tenantStatusChanges: a spec change (generation) is acknowledged even when placement is the same', () => {
  const t = tenantOf('t', { size: 2 }, { primary: 'p1' }, { generation: 1 });
  t.metadata.generation = 2;
  const changes = tenantStatusChanges([t], resultOf({ t: { primary: 'p1' } }), new Map(), T0);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.status.observedGeneration, 2);
  assert.equal(changes[0]!.status.placedSince, at(T0 - 600_000));
});

test('fleetMissingChanges: FleetNotFound with the Fleet named, Prods dropped, once', () => {
  const t = tenantOf('t', {}, { primary: 'p1' });
  const [c] = fleetMissingChanges([t], { namespace: NS, name: 'nope' }, T0);
  assert.equal(c?.status.prods, undefined);
  assert.deepEqual(
    { reason: placed(c!.status)?.reason, message: placed(c!.status)?.message },
    { reason: 'FleetNotFound', message: 'Fleet nope does not exist in namespace shop' },
  );
  const again = { ...t, status: c!.status };
  assert.deepEqual(fleetMissingChanges([again], { namespace: NS, name: 'nope' }, T0 + 5000), []);
});

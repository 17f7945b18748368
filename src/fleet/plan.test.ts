// The dry runs behind `kachiku plan drain|retire` and the Fleet's status, and fill().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place } from './place.js';
import { planCapacity, planDrain, planRetire, summarizePlan } from './plan.js';
import { fill } from './fill.js';
import { violations } from './invariants.js';
import type { PlacementInput, PlacementProd, PlacementTenant } from './types.js';

const prods = (capacity = 10): PlacementProd[] =>
  ['A-1', 'A-2', 'B-1', 'B-2', 'C-1', 'C-2'].map((name) => ({
    name,
    cluster: name[0]!,
    domain: name[0]!.toLowerCase(),
    capacity,
    role: 'standard',
    state: 'open',
  }));
const tenants = (n: number): PlacementTenant[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `t${String(i).padStart(2, '0')}`,
    size: 1,
    redundancy: i % 3 === 0 ? 'Dual' : 'Single',
    test: false,
  }));
/** A fleet already placed: the input a plan starts from. */
function placed(n: number, capacity = 10): PlacementInput {
  const input: PlacementInput = { tenants: tenants(n), prods: prods(capacity), previous: {} };
  return { ...input, previous: place(input).assignment };
}

test('planDrain: cluster A leaving moves exactly its copies, Dual tenants promoted, none exposed', () => {
  const input = placed(30);
  const onA = Object.values(input.previous)
    .flatMap((a) => [a.primary, a.secondary])
    .filter((p) => p?.startsWith('A-')).length;
  const r = planDrain(input, 'A');
  assert.deepEqual(
    violations(
      {
        ...input,
        prods: input.prods.map((p) => (p.cluster === 'A' ? { ...p, state: 'leaving' } : p)),
      },
      r,
    ),
    [],
  );
  const summary = summarizePlan(r);
  assert.deepEqual(summary, {
    tenantsMoved: summary.tenantsMoved,
    copiesMoved: onA,
    dualExposed: [],
    unplaceable: [],
    lowerBound: onA,
    lowerBoundReachable: true,
    pending: 0,
  });
  assert.ok(summary.tenantsMoved > 0 && summary.tenantsMoved <= onA);
  for (const a of Object.values(r.assignment))
    assert.ok(!a.primary.startsWith('A-') && !a.secondary?.startsWith('A-'));
  // The input is not changed: a dry run.
  assert.ok(input.prods.every((p) => p.state === 'open'));
});

test('planDrain: a down Prod of the cluster stays down (its copies are replaced, not drained)', () => {
  const input = placed(12);
  const r = planDrain(
    { ...input, prods: input.prods.map((p) => (p.name === 'A-1' ? { ...p, state: 'down' } : p)) },
    'A',
  );
  const reasons = new Set(
    r.moves.filter((m) => m.from === 'A-1' && m.reason !== 'Promoted').map((m) => m.reason),
  );
  assert.deepEqual([...reasons], ['ProdDown']);
});

test('planDrain without room: what cannot move stays and is listed, the bound unreachable', () => {
  const input = placed(30, 6); // 40 copies on 36 units; without A, 24 units
  const r = planDrain(input, 'A');
  const s = summarizePlan(r);
  assert.equal(s.lowerBoundReachable, false);
  assert.ok(s.unplaceable.length > 0);
  assert.equal(s.pending, s.unplaceable.filter((u) => / stays on A-/.test(u.message)).length);
  assert.ok(s.copiesMoved + s.unplaceable.length >= s.lowerBound);
});

test('planRetire: one Prod leaving moves only its copies', () => {
  const input = placed(30);
  const onB2 = Object.values(input.previous).filter(
    (a) => a.primary === 'B-2' || a.secondary === 'B-2',
  ).length;
  const s = summarizePlan(planRetire(input, 'B-2'));
  assert.deepEqual(
    [s.copiesMoved, s.lowerBound, s.lowerBoundReachable, s.dualExposed],
    [onB2, onB2, true, []],
  );
});

test('planCapacity: a Prod scaled in loses the fewest copies', () => {
  const input = placed(30); // 40 copies, 6 or 7 per Prod
  const used = Object.values(input.previous).filter(
    (a) => a.primary === 'C-1' || a.secondary === 'C-1',
  ).length;
  const r = planCapacity(input, 'C-1', 2);
  const s = summarizePlan(r);
  assert.deepEqual([s.copiesMoved, s.lowerBound], [used - 2, used - 2]);
  assert.ok(
    r.moves
      .filter((m) => m.reason !== 'Promoted')
      .every((m) => m.reason === 'OverCapacity' && m.from === 'C-1'),
  );
  assert.equal(r.used['C-1'], 2);
});

test('plans of a cluster or Prod that does not exist are errors', () => {
  const input = placed(3);
  assert.throws(() => planDrain(input, 'Z'), /no Prod in cluster Z/);
  assert.throws(() => planRetire(input, 'Z-1'), /no Prod named Z-1/);
  assert.throws(() => planCapacity(input, 'Z-1', 3), /no Prod named Z-1/);
});

test('summarizePlan counts copies that changed Prod: not new copies, not promotions', () => {
  const s = summarizePlan({
    assignment: {},
    moves: [
      { tenant: 'a', copy: 'primary', to: 'X', reason: 'Placed' },
      { tenant: 'b', copy: 'primary', from: 'Y', to: 'Z', reason: 'Promoted' },
      { tenant: 'b', copy: 'secondary', from: 'Y', to: 'W', reason: 'ProdDown' },
      { tenant: 'c', copy: 'primary', from: 'Y', to: 'W', reason: 'ProdDown' },
      { tenant: 'c', copy: 'secondary', from: 'V', to: 'U', reason: 'Rebalance' },
      { tenant: 'd', copy: 'secondary', from: 'Y', reason: 'ProdDown' },
    ],
    unplaced: [],
    exposed: ['d'],
    lowerBound: 3,
    lowerBoundReachable: false,
    used: {},
    pending: 0,
  });
  assert.deepEqual([s.tenantsMoved, s.copiesMoved, s.dualExposed], [2, 3, ['d']]);
});

test('fill: per Prod, and per domain over the capacity that stays', () => {
  const ps = prods(10).map((p) => (p.name === 'A-2' ? { ...p, state: 'leaving' as const } : p));
  const f = fill(ps, { 'A-1': 5, 'A-2': 10, 'B-1': 2, 'B-2': 0, 'C-1': 10 });
  assert.deepEqual(f.prods['A-2'], { used: 10, capacity: 10, fill: 1 });
  assert.deepEqual(f.prods['C-2'], { used: 0, capacity: 10, fill: 0 });
  assert.deepEqual(f.domains, {
    a: { used: 5, capacity: 10, fill: 0.5 },
    b: { used: 2, capacity: 20, fill: 0.1 },
    c: { used: 10, capacity: 20, fill: 0.5 },
  });
});

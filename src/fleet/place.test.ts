// place(), rule by rule, on small fleets written out by hand. Every result is also checked
// against violations() (the rules as seen from outside).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place } from './place.js';
import { violations } from './invariants.js';
import { countsAgainstBound } from './plan.js';
import { shuffled } from './arbitrary.testing.js';
import type {
  Assignment,
  PlacementInput,
  PlacementProd,
  PlacementResult,
  PlacementTenant,
} from './types.js';

const prod = (name: string, o: Partial<PlacementProd> = {}): PlacementProd => ({
  name,
  cluster: name.split('-')[0]!,
  domain: name.split('-')[0]!.toLowerCase(),
  capacity: 10,
  role: 'standard',
  state: 'open',
  ...o,
});
const single = (name: string, o: Partial<PlacementTenant> = {}): PlacementTenant => ({
  name,
  size: 1,
  redundancy: 'Single',
  test: false,
  ...o,
});
const dual = (name: string, o: Partial<PlacementTenant> = {}) =>
  single(name, { redundancy: 'Dual', ...o });
/** The seed's fleet: clusters A, B, C in domains a, b, c, two Prods each. */
const seed = (o: (p: PlacementProd) => Partial<PlacementProd> = () => ({})) =>
  ['A-1', 'A-2', 'B-1', 'B-2', 'C-1', 'C-2'].map((n) => {
    const p = prod(n);
    return { ...p, ...o(p) };
  });

/** place() and the rules checked; the result. */
function run(input: PlacementInput): PlacementResult {
  const r = place(input);
  assert.deepEqual(violations(input, r), [], 'violations');
  return r;
}
const counted = (r: PlacementResult) => r.moves.filter(countsAgainstBound);
const domainOf = (input: PlacementInput, p: string | undefined) =>
  input.prods.find((q) => q.name === p)?.domain;

for (const state of ['down', 'leaving'] as const) {
  test(`seed: a Dual tenant on A-2 + B-1 survives cluster A ${state}: B-1 promoted, new secondary in C`, () => {
    const input: PlacementInput = {
      tenants: [dual('t')],
      prods: seed((p) => (p.cluster === 'A' ? { state } : {})),
      previous: { t: { primary: 'A-2', secondary: 'B-1' } },
    };
    const r = run(input);
    assert.equal(r.assignment.t!.primary, 'B-1');
    assert.match(r.assignment.t!.secondary!, /^C-/);
    const reason = state === 'down' ? 'ProdDown' : 'ProdLeaving';
    assert.deepEqual(r.moves, [
      { tenant: 't', copy: 'primary', from: 'A-2', to: 'B-1', reason: 'Promoted' },
      { tenant: 't', copy: 'secondary', from: 'A-2', to: r.assignment.t!.secondary, reason },
    ]);
    assert.deepEqual(
      [r.lowerBound, r.lowerBoundReachable, r.exposed, r.unplaced],
      [1, true, [], []],
    );
  });

  test(`seed: with B-1 the primary, cluster A ${state} replaces only the secondary, in C`, () => {
    const input: PlacementInput = {
      tenants: [dual('t')],
      prods: seed((p) => (p.cluster === 'A' ? { state } : {})),
      previous: { t: { primary: 'B-1', secondary: 'A-2' } },
    };
    const r = run(input);
    assert.equal(r.assignment.t!.primary, 'B-1');
    assert.match(r.assignment.t!.secondary!, /^C-/);
    assert.equal(r.moves.length, 1);
  });
}

test('capacity: copies fill Prods up to capacity, the rest are unplaced with the numbers why', () => {
  const input: PlacementInput = {
    tenants: Array.from({ length: 10 }, (_, i) => single(`t${i}`)),
    prods: [prod('A-1', { capacity: 3 }), prod('B-1', { capacity: 3 })],
    previous: {},
  };
  const r = run(input);
  assert.equal(Object.keys(r.assignment).length, 6);
  assert.deepEqual(r.used, { 'A-1': 3, 'B-1': 3 });
  assert.equal(r.unplaced.length, 4);
  for (const u of r.unplaced) {
    assert.equal(u.reason, 'NoCapacity');
    assert.equal(u.message, 'needs 1 unit; the largest free room on an open standard Prod is 0');
  }
});

test('capacity with sizes: the message names the size and the largest room', () => {
  const input: PlacementInput = {
    tenants: [single('big', { size: 3 })],
    prods: [prod('A-1', { capacity: 2 }), prod('B-1', { capacity: 1 })],
    previous: {},
  };
  const r = run(input);
  assert.deepEqual(r.unplaced, [
    {
      tenant: 'big',
      copy: 'primary',
      reason: 'NoCapacity',
      message: 'needs 3 units; the largest free room on an open standard Prod is 2',
    },
  ]);
});

test('Dual: two copies in two failure domains; Single: one copy', () => {
  const input: PlacementInput = {
    tenants: [...Array.from({ length: 12 }, (_, i) => dual(`d${i}`)), single('s')],
    prods: seed(),
    previous: {},
  };
  const r = run(input);
  for (let i = 0; i < 12; i++) {
    const a = r.assignment[`d${i}`]!;
    assert.notEqual(domainOf(input, a.primary), domainOf(input, a.secondary));
  }
  assert.equal(r.assignment.s!.secondary, undefined);
  assert.ok(r.moves.every((m) => m.reason === 'Placed'));
  assert.equal(r.lowerBound, 0);
});

test('Dual with one failure domain: primary placed, secondary unplaced SingleDomain, exposed', () => {
  const input: PlacementInput = {
    tenants: [dual('t')],
    prods: [prod('A-1'), prod('A-2')],
    previous: {},
  };
  const r = run(input);
  assert.ok(r.assignment.t!.primary);
  assert.equal(r.assignment.t!.secondary, undefined);
  assert.deepEqual(r.exposed, ['t']);
  assert.equal(r.unplaced[0]!.reason, 'SingleDomain');
  assert.equal(r.unplaced[0]!.copy, 'secondary');
  assert.match(r.unplaced[0]!.message, /failure domain a, the only one with an open standard Prod/);
});

test('Dual whose other domain is full: keeps its one copy, SingleDomain with room only at home', () => {
  const input: PlacementInput = {
    tenants: [dual('t')],
    prods: [prod('A-1'), prod('B-1', { state: 'leaving' }), prod('B-2', { capacity: 0 })],
    previous: { t: { primary: 'A-1', secondary: 'B-1' } },
  };
  const r = run(input);
  assert.equal(r.assignment.t!.primary, 'A-1');
  assert.equal(r.assignment.t!.secondary, 'B-1', 'nowhere else to go: it stays, still serving');
  assert.equal(r.unplaced[0]!.reason, 'SingleDomain');
  assert.equal(
    r.unplaced[0]!.message,
    'its other copy is in failure domain a, the only one with an open standard Prod with room for 1 unit; it stays on B-1 meanwhile',
  );
  assert.deepEqual([r.pending, r.exposed, r.lowerBound, r.lowerBoundReachable], [1, [], 1, false]);
});

test('test tenants go to test Prods first, then standard ones; standard tenants never to test Prods', () => {
  const prods = [prod('A-1', { role: 'test', capacity: 2 }), prod('B-1'), prod('C-1')];
  const input: PlacementInput = {
    tenants: [
      single('t1', { test: true }),
      single('t2', { test: true }),
      single('t3', { test: true }),
      single('s1'),
      single('s2'),
    ],
    prods,
    previous: {},
  };
  const r = run(input);
  const on = (t: string) => r.assignment[t]!.primary;
  assert.deepEqual([on('t1'), on('t2')].sort(), ['A-1', 'A-1']);
  assert.notEqual(on('t3'), 'A-1');
  assert.notEqual(on('s1'), 'A-1');
  assert.notEqual(on('s2'), 'A-1');
  // No standard Prod at all: standard tenants are unplaced, though the test Prod has room.
  const onlyTest = run({
    tenants: [single('s')],
    prods: [prod('A-1', { role: 'test' })],
    previous: {},
  });
  assert.deepEqual(onlyTest.assignment, {});
  assert.equal(
    onlyTest.unplaced[0]!.message,
    'no open standard Prod (test Prods take only test tenants)',
  );
});

test('a standard tenant found on a test Prod moves off it (Constraint)', () => {
  const input: PlacementInput = {
    tenants: [single('s')],
    prods: [prod('A-1', { role: 'test' }), prod('B-1')],
    previous: { s: { primary: 'A-1' } },
  };
  const r = run(input);
  assert.deepEqual(r.moves, [
    { tenant: 's', copy: 'primary', from: 'A-1', to: 'B-1', reason: 'Constraint' },
  ]);
  assert.equal(r.lowerBound, 1);
});

test('a Dual tenant with both copies in one domain: the secondary moves to another (Constraint)', () => {
  const input: PlacementInput = {
    tenants: [dual('t')],
    prods: seed(),
    previous: { t: { primary: 'A-1', secondary: 'A-2' } },
  };
  const r = run(input);
  assert.equal(r.assignment.t!.primary, 'A-1');
  assert.notEqual(domainOf(input, r.assignment.t!.secondary), 'a');
  assert.equal(r.moves[0]!.reason, 'Constraint');
  assert.equal(r.lowerBound, 1);
});

test('a Single tenant with two copies keeps one (the other dropped, no move counted)', () => {
  const input: PlacementInput = {
    tenants: [single('t')],
    prods: seed(),
    previous: { t: { primary: 'A-1', secondary: 'B-1' } },
  };
  const r = run(input);
  assert.deepEqual(r.assignment.t, { primary: 'A-1' });
  assert.deepEqual(r.moves, [
    { tenant: 't', copy: 'secondary', from: 'B-1', reason: 'Constraint' },
  ]);
  assert.equal(r.lowerBound, 0);
});

test("over capacity, a Single tenant's spare copy is dropped first: nobody moves", () => {
  const input: PlacementInput = {
    tenants: [single('t'), single('u')],
    prods: [prod('A-1', { capacity: 1 }), prod('B-1')],
    previous: { t: { primary: 'A-1', secondary: 'B-1' }, u: { primary: 'A-1' } },
  };
  const r = run(input);
  assert.deepEqual(r.assignment, { t: { primary: 'B-1' }, u: { primary: 'A-1' } });
  assert.deepEqual(r.moves, [
    { tenant: 't', copy: 'secondary', from: 'A-1', reason: 'Constraint' },
    { tenant: 't', copy: 'primary', from: 'A-1', to: 'B-1', reason: 'Promoted' },
  ]);
  assert.equal(r.lowerBound, 0);
});

test('pins are preferences: a pinned domain or cluster is used while it has room', () => {
  const prods = [
    prod('A-1', { capacity: 2 }),
    prod('A-2', { capacity: 2 }),
    prod('B-1'),
    prod('C-1'),
  ];
  const input: PlacementInput = {
    tenants: [
      single('p1', { pin: { domain: 'a' } }),
      single('p2', { pin: { domain: 'a' } }),
      single('p3', { pin: { cluster: 'A' } }),
      single('p4', { pin: { domain: 'a' } }),
      single('p5', { pin: { domain: 'a' } }),
      dual('d', { pin: { domain: 'b' } }),
    ],
    prods,
    previous: {},
  };
  const r = run(input);
  const inA = ['p1', 'p2', 'p3', 'p4', 'p5'].filter(
    (t) => domainOf(input, r.assignment[t]!.primary) === 'a',
  );
  assert.equal(
    inA.length,
    4,
    'domain a holds 4 units: four of the five pinned there, one elsewhere',
  );
  assert.equal(
    domainOf(input, r.assignment.d!.primary),
    'b',
    "a Dual tenant's pin takes its primary",
  );
});

test('closed Prods keep their tenants and take no new ones', () => {
  const input: PlacementInput = {
    tenants: [single('old'), ...Array.from({ length: 4 }, (_, i) => single(`new${i}`))],
    prods: [prod('A-1', { state: 'closed' }), prod('B-1')],
    previous: { old: { primary: 'A-1' } },
  };
  const r = run(input);
  assert.equal(r.assignment.old!.primary, 'A-1');
  for (let i = 0; i < 4; i++) assert.equal(r.assignment[`new${i}`]!.primary, 'B-1');
  const none = run({ ...input, prods: [prod('A-1', { state: 'closed' })] });
  assert.equal(none.unplaced[0]!.reason, 'NoProds');
  assert.equal(none.unplaced[0]!.message, 'no open Prod in the fleet');
});

test('over capacity: the fewest copies are evicted, the smallest that covers the excess', () => {
  const tenants = [single('s1'), single('s2'), single('s3'), single('big', { size: 2 })];
  const previous: Assignment = Object.fromEntries(tenants.map((t) => [t.name, { primary: 'A-1' }]));
  // 5 units on a Prod now of 4: one copy of 1 covers it (not the copy of 2).
  let r = run({ tenants, prods: [prod('A-1', { capacity: 4 }), prod('B-1')], previous });
  assert.equal(counted(r).length, 1);
  assert.equal(r.lowerBound, 1);
  assert.equal(counted(r)[0]!.reason, 'OverCapacity');
  assert.notEqual(counted(r)[0]!.tenant, 'big');
  // Of 2: one copy, the copy of 2 (three copies of 1 would do too, at three moves).
  r = run({ tenants, prods: [prod('A-1', { capacity: 3 }), prod('B-1')], previous });
  assert.deepEqual(
    counted(r).map((m) => m.tenant),
    ['big'],
  );
  assert.equal(r.lowerBound, 1);
});

test('copies on a Prod that is gone move (ProdGone)', () => {
  const r = run({
    tenants: [single('t')],
    prods: [prod('A-1')],
    previous: { t: { primary: 'X-9' } },
  });
  assert.deepEqual(r.moves, [
    { tenant: 't', copy: 'primary', from: 'X-9', to: 'A-1', reason: 'ProdGone' },
  ]);
  assert.equal(r.lowerBound, 1);
});

test('both copies leaving at once: one moves this step, the other the next (make before break)', () => {
  const prods = seed((p) => (p.name === 'A-1' || p.name === 'B-1' ? { state: 'leaving' } : {}));
  const input: PlacementInput = {
    tenants: [dual('t')],
    prods,
    previous: { t: { primary: 'A-1', secondary: 'B-1' } },
  };
  const first = run(input);
  assert.equal(first.assignment.t!.primary, 'A-1', 'the primary keeps serving');
  assert.notEqual(first.assignment.t!.secondary, 'B-1');
  assert.deepEqual([first.lowerBound, first.pending, first.exposed], [1, 1, []]);
  const second = run({ ...input, previous: first.assignment });
  assert.equal(second.assignment.t!.primary, first.assignment.t!.secondary, 'promoted');
  assert.ok(!['A-1', 'B-1'].includes(second.assignment.t!.secondary!));
  assert.deepEqual([second.lowerBound, second.pending], [1, 0]);
  const third = run({ ...input, previous: second.assignment });
  assert.deepEqual(third.moves, []);
});

test('one copy down, the other leaving: the leaving one stays (it serves) and the down one is replaced', () => {
  const prods = seed((p) =>
    p.name === 'A-1' ? { state: 'down' } : p.name === 'B-1' ? { state: 'leaving' } : {},
  );
  const r = run({
    tenants: [dual('t')],
    prods,
    previous: { t: { primary: 'A-1', secondary: 'B-1' } },
  });
  assert.equal(r.assignment.t!.primary, 'B-1');
  assert.notEqual(domainOf({ tenants: [], prods, previous: {} }, r.assignment.t!.secondary), 'b');
  assert.deepEqual(
    r.moves.map((m) => m.reason),
    ['Promoted', 'ProdDown'],
  );
  assert.deepEqual([r.lowerBound, r.pending, r.exposed], [1, 1, []]);
});

test('a leaving copy with nowhere to go stays, still serving, listed as unplaced', () => {
  const prods = [prod('A-1', { state: 'leaving' }), prod('B-1', { capacity: 0 })];
  const r = run({ tenants: [single('t')], prods, previous: { t: { primary: 'A-1' } } });
  assert.deepEqual(r.assignment, { t: { primary: 'A-1' } });
  assert.deepEqual(r.moves, []);
  assert.equal(
    r.unplaced[0]!.message,
    'needs 1 unit; the largest free room on an open standard Prod is 0; it stays on A-1 meanwhile',
  );
  assert.deepEqual([r.lowerBound, r.lowerBoundReachable, r.pending], [1, false, 1]);
});

test('a down copy with nowhere to go is removed and listed; a Dual tenant left with one copy is exposed', () => {
  const prods = [prod('A-1', { state: 'down' }), prod('B-1'), prod('C-1', { capacity: 0 })];
  const r = run({
    tenants: [dual('t')],
    prods,
    previous: { t: { primary: 'A-1', secondary: 'B-1' } },
  });
  assert.deepEqual(r.assignment, { t: { primary: 'B-1' } });
  assert.deepEqual(r.moves, [
    { tenant: 't', copy: 'primary', from: 'A-1', to: 'B-1', reason: 'Promoted' },
    { tenant: 't', copy: 'secondary', from: 'A-1', reason: 'ProdDown' },
  ]);
  assert.deepEqual(r.exposed, ['t']);
});

test('exact where greedy fails: displaced copies avoiding b, c and d fit the one free unit of each', () => {
  // Domain a drained; x's other copy is in b, y's in c, z's in d; each surviving domain has one
  // free unit. Least-filled alone could put x in c and y in b, leaving z (not c, not b... d is
  // its own) nowhere; the flow over domains finds the one way.
  const prods = [
    prod('A-1', { state: 'leaving' }),
    prod('B-1', { capacity: 2 }),
    prod('C-1', { capacity: 2 }),
    prod('D-1', { capacity: 2 }),
  ];
  const input: PlacementInput = {
    tenants: [dual('x'), dual('y'), dual('z')],
    prods,
    previous: {
      x: { primary: 'B-1', secondary: 'A-1' },
      y: { primary: 'C-1', secondary: 'A-1' },
      z: { primary: 'D-1', secondary: 'A-1' },
    },
  };
  for (let seed = 1; seed <= 6; seed++) {
    const r = run(shuffled(input, seed));
    assert.deepEqual(
      [r.unplaced, r.lowerBound, r.lowerBoundReachable, counted(r).length],
      [[], 3, true, 3],
    );
  }
});

test('exact for tenants losing both copies: pairs take the domains with most room first', () => {
  // Two Dual tenants with both copies down; free units: a 2, b 1, c 1. Pairs b+c then a+? fail;
  // a+b and a+c fit.
  const prods = [
    prod('A-1', { capacity: 2 }),
    prod('B-1', { capacity: 1 }),
    prod('C-1', { capacity: 1 }),
    prod('D-1', { state: 'down' }),
    prod('E-1', { state: 'down' }),
  ];
  const previous: Assignment = {
    p: { primary: 'D-1', secondary: 'E-1' },
    q: { primary: 'D-1', secondary: 'E-1' },
  };
  const r = run({ tenants: [dual('p'), dual('q')], prods, previous });
  assert.deepEqual(
    [r.unplaced, r.exposed, r.lowerBound, r.lowerBoundReachable, counted(r).length],
    [[], [], 4, true, 4],
  );
});

test('spread: new copies go to the least-filled Prods, evening Prods and domains', () => {
  const input: PlacementInput = {
    tenants: Array.from({ length: 60 }, (_, i) => single(`t${String(i).padStart(2, '0')}`)),
    prods: seed(),
    previous: {},
  };
  const r = run(input);
  assert.deepEqual(Object.values(r.used), [10, 10, 10, 10, 10, 10]);
  // Unequal capacities: equal fill.
  const uneven = run({
    ...input,
    prods: [
      prod('A-1', { capacity: 40 }),
      prod('B-1', { capacity: 20 }),
      prod('C-1', { capacity: 60 }),
    ],
  });
  assert.deepEqual(uneven.used, { 'A-1': 20, 'B-1': 10, 'C-1': 30 });
});

test('stable and idempotent: placing again from the result moves nothing', () => {
  const tenants = Array.from({ length: 40 }, (_, i) =>
    i % 3 === 0 ? dual(`t${i}`) : single(`t${i}`, { size: 1 + (i % 2) }),
  );
  const input: PlacementInput = { tenants, prods: seed(() => ({ capacity: 20 })), previous: {} };
  const first = run(input);
  assert.deepEqual(first.unplaced, []);
  const again = run({ ...input, previous: first.assignment });
  assert.deepEqual(again.moves, []);
  assert.deepEqual(again.assignment, first.assignment);
  // A tenant added moves no one else.
  const more = run({ ...input, tenants: [...tenants, single('late')], previous: first.assignment });
  assert.deepEqual(
    more.moves.map((m) => [m.tenant, m.reason]),
    [['late', 'Placed']],
  );
});

test('deterministic: the order of tenants and Prods does not matter', () => {
  const tenants = Array.from({ length: 50 }, (_, i) =>
    i % 3 === 0 ? dual(`t${i}`) : single(`t${i}`, { test: i % 7 === 0 }),
  );
  const prods = seed((p) => (p.name === 'C-2' ? { role: 'test' } : {}));
  const input: PlacementInput = { tenants, prods, previous: {} };
  const base = run(input);
  for (let seed = 1; seed <= 5; seed++) assert.deepEqual(place(shuffled(input, seed)), base);
});

test('rebalancing: after a cluster returns, at most rebalanceMoves moves, most-filled to least-filled', () => {
  const tenants = Array.from({ length: 40 }, (_, i) => single(`t${String(i).padStart(2, '0')}`));
  const away = run({
    tenants,
    prods: seed((p) => (p.cluster === 'A' ? { state: 'down' } : {})),
    previous: {},
  });
  assert.deepEqual([away.used['A-1'], away.used['B-1'], away.unplaced], [0, 10, []]);
  const input: PlacementInput = { tenants, prods: seed(), previous: away.assignment };
  assert.deepEqual(run(input).moves, [], 'nothing moves unless asked');
  const r = run({ ...input, rebalanceMoves: 6 });
  assert.equal(r.moves.length, 6);
  for (const m of r.moves) {
    assert.equal(m.reason, 'Rebalance');
    assert.match(m.to!, /^A-/);
  }
  assert.equal(r.lowerBound, 0);
  // A budget larger than needed stops when fill is even.
  const all = run({ ...input, rebalanceMoves: 1000 });
  const used = Object.values(all.used);
  assert.ok(Math.max(...used) - Math.min(...used) <= 1, `${used}`);
  assert.ok(all.moves.every((m) => m.reason === 'Rebalance' && /^A-/.test(m.to!)));
  assert.equal(all.moves.length, all.used['A-1']! + all.used['A-2']!);
});

test('the same name twice is an error, as is a size that is not a whole number of units', () => {
  assert.throws(
    () => place({ tenants: [single('t'), single('t')], prods: [], previous: {} }),
    /two tenants named t/,
  );
  assert.throws(
    () => place({ tenants: [], prods: [prod('A-1'), prod('A-1')], previous: {} }),
    /two Prods named A-1/,
  );
  assert.throws(
    () => place({ tenants: [single('t', { size: 0 })], prods: [], previous: {} }),
    /size 0/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planWaves, type WaveInput, type WaveProd, type WaveTenant } from './waves.js';
import type { Assignment } from './types.js';

const prods: WaveProd[] = ['A-1', 'A-2', 'B-1', 'B-2', 'C-1', 'C-2'].map((name) => ({
  name,
  role: name === 'C-2' ? 'test' : 'standard',
}));

/**
 * The seed's example: C-2 is the test Prod; C-1 has few users; A-2 and B-1 host only tenants
 * placed in two failure domains; A-1 and B-2 host single-domain tenants.
 */
function seed(): { tenants: WaveTenant[]; assignment: Assignment } {
  const assignment: Assignment = {
    t1: { primary: 'C-2' },
    s1: { primary: 'C-1' },
    d1: { primary: 'A-2', secondary: 'B-2' },
    d2: { primary: 'B-2', secondary: 'A-2' },
    d3: { primary: 'B-1', secondary: 'A-1' },
    d4: { primary: 'A-1', secondary: 'B-1' },
    s2: { primary: 'A-1' },
    s3: { primary: 'A-1' },
    s4: { primary: 'B-2' },
    s5: { primary: 'B-2' },
  };
  const tenants = Object.keys(assignment).map((name) => ({
    name,
    redundancy: name.startsWith('d') ? ('Dual' as const) : ('Single' as const),
  }));
  return { tenants, assignment };
}

const names = (input: WaveInput) => planWaves(input).map((w) => w.prods.map((p) => p.prod));

test("the seed's example comes out exactly: C-2, C-1, A-2 + B-1, A-1 + B-2", () => {
  const waves = planWaves({ prods, ...seed() });
  assert.deepEqual(
    waves.map((w) => [w.step, w.prods.map((p) => p.prod)]),
    [
      ['test', ['C-2']],
      ['canary', ['C-1']],
      ['redundant', ['A-2', 'B-1']],
      ['single', ['A-1', 'B-2']],
    ],
  );
  assert.match(waves[2]!.prods[0]!.reason, /another copy/);
  assert.match(waves[3]!.prods[1]!.reason, /2 of 4 tenants have no other copy/);
});

test('a tenant Dual on A-2 + B-1 splits them into two waves', () => {
  const { tenants, assignment } = seed();
  assignment['d5'] = { primary: 'A-2', secondary: 'B-1' };
  tenants.push({ name: 'd5', redundancy: 'Dual' });
  assert.deepEqual(names({ prods, tenants, assignment }), [
    ['C-2'],
    ['C-1'],
    ['A-2'],
    ['B-1'],
    ['A-1', 'B-2'],
  ]);
});

test('the order of the inputs does not matter', () => {
  const { tenants, assignment } = seed();
  const shuffled: Assignment = Object.fromEntries(Object.entries(assignment).reverse());
  assert.deepEqual(
    names({ prods: [...prods].reverse(), tenants: [...tenants].reverse(), assignment: shuffled }),
    names({ prods, tenants, assignment }),
  );
});

test('maxProdsPerWave splits a step', () => {
  const { tenants, assignment } = seed();
  assert.deepEqual(names({ prods, tenants, assignment, maxProdsPerWave: 1 }), [
    ['C-2'],
    ['C-1'],
    ['A-2'],
    ['B-1'],
    ['A-1'],
    ['B-2'],
  ]);
});

test('a Dual tenant missing its second copy counts as single-domain', () => {
  const { tenants, assignment } = seed();
  assignment['d6'] = { primary: 'A-2' };
  tenants.push({ name: 'd6', redundancy: 'Dual' });
  const waves = planWaves({ prods, tenants, assignment });
  // A-2 now joins step 4; it shares Dual tenants with B-2, so B-2 waits for the next wave.
  assert.deepEqual(
    waves.filter((w) => w.step === 'single').map((w) => w.prods.map((p) => p.prod)),
    [['A-2', 'A-1'], ['B-2']],
  );
});

test('no canary: canaryProds 0 puts every standard Prod in steps 3 and 4', () => {
  const waves = planWaves({ prods, ...seed(), canaryProds: 0 });
  assert.deepEqual(
    waves.map((w) => [w.step, w.prods.map((p) => p.prod)]),
    [
      ['test', ['C-2']],
      ['redundant', ['A-2', 'B-1']],
      ['single', ['C-1', 'A-1', 'B-2']],
    ],
  );
});

test('an empty fleet has no waves; Prods without tenants go first among standard ones', () => {
  assert.deepEqual(planWaves({ prods: [], tenants: [], assignment: {} }), []);
  assert.deepEqual(
    names({
      prods: [
        { name: 'p1', role: 'standard' },
        { name: 'p2', role: 'standard' },
      ],
      tenants: [{ name: 's', redundancy: 'Single' }],
      assignment: { s: { primary: 'p1' } },
    }),
    [['p2'], ['p1']],
  );
});

test('property: every Prod in exactly one wave, steps in order, no Dual tenant twice in a wave, waves within the limit', () => {
  const fleet = fc
    .record({
      prods: fc.integer({ min: 0, max: 12 }),
      tests: fc.integer({ min: 0, max: 3 }),
      max: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      canary: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      tenants: fc.array(
        fc.record({
          dual: fc.boolean(),
          a: fc.nat(),
          b: fc.nat(),
        }),
        { maxLength: 40 },
      ),
    })
    .map(({ prods: n, tests, max, canary, tenants }) => {
      const prods: WaveProd[] = Array.from({ length: n }, (_, i) => ({
        name: `p${i}`,
        role: i < tests ? 'test' : 'standard',
      }));
      const assignment: Assignment = {};
      const list: WaveTenant[] = [];
      if (n > 0)
        tenants.forEach((t, i) => {
          const name = `t${i}`;
          const primary = `p${t.a % n}`;
          const secondary = t.dual && n > 1 ? `p${(t.a + 1 + (t.b % (n - 1))) % n}` : undefined;
          assignment[name] = secondary ? { primary, secondary } : { primary };
          list.push({ name, redundancy: t.dual ? 'Dual' : 'Single' });
        });
      return { prods, tenants: list, assignment, maxProdsPerWave: max, canaryProds: canary };
    });
  fc.assert(
    fc.property(fleet, (input) => {
      const waves = planWaves(input);
      const seen = waves.flatMap((w) => w.prods.map((p) => p.prod));
      assert.deepEqual([...seen].sort(), input.prods.map((p) => p.name).sort());
      const rank = { test: 0, canary: 1, redundant: 2, single: 3 };
      for (let i = 1; i < waves.length; i++)
        assert.ok(rank[waves[i - 1]!.step] <= rank[waves[i]!.step]);
      for (const w of waves) {
        assert.ok(w.prods.length >= 1 && w.prods.length <= (input.maxProdsPerWave ?? Infinity));
        const inWave = new Set(w.prods.map((p) => p.prod));
        for (const t of input.tenants) {
          const a = input.assignment[t.name]!;
          if (t.redundancy === 'Dual' && a.secondary)
            assert.ok(
              !(inWave.has(a.primary) && inWave.has(a.secondary)),
              `${t.name} twice in a wave`,
            );
        }
        const testStep = w.step === 'test';
        for (const p of w.prods)
          assert.equal(input.prods.find((x) => x.name === p.prod)!.role === 'test', testStep);
      }
    }),
    { numRuns: 2000, seed: 12 },
  );
});

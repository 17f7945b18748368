import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlacementInput } from '../../fleet/types.js';
import { drainPlans, planDocument, planText, retirePlan, type World } from './dryrun.js';
import type { Placer } from './plan.js';
import { T0, fleetOf, prodOf, resultOf, tenantOf, threeClusters } from './testing.js';

function world(over: Partial<World> = {}): World {
  return {
    fleets: [fleetOf()],
    tenants: [
      tenantOf('t1', {}, { primary: 'web-da-1' }),
      tenantOf('t2', { redundancy: 'Dual' }, { primary: 'web-da-2', secondary: 'web-db-1' }),
      tenantOf('other', { fleet: 'api' }, { primary: 'api-da-1' }),
    ],
    prods: ['a', 'b'].flatMap((c) => [prodOf(`web-d${c}-1`, c), prodOf(`web-d${c}-2`, c)]),
    clusters: threeClusters(),
    now: T0,
    ...over,
  };
}

/** Moves every copy off the Prods the input marks leaving, to web-db-2. */
function scripted(seen: PlacementInput[] = []): Placer {
  const move = (i: PlacementInput) => {
    seen.push(i);
    const leaving = new Set(i.prods.filter((p) => p.state === 'leaving').map((p) => p.name));
    const assignment = structuredClone(i.previous);
    const moves: ReturnType<typeof resultOf>['moves'] = [];
    for (const [t, a] of Object.entries(assignment))
      if (leaving.has(a.primary)) {
        moves.push({
          tenant: t,
          copy: 'primary',
          from: a.primary,
          to: 'web-db-2',
          reason: 'ProdLeaving',
        });
        a.primary = 'web-db-2';
      }
    return resultOf(assignment, { moves, lowerBound: moves.length });
  };
  return {
    place: move,
    planDrain: (i, c) =>
      move({ ...i, prods: i.prods.map((p) => (p.cluster === c ? { ...p, state: 'leaving' } : p)) }),
    planRetire: (i, n) =>
      move({ ...i, prods: i.prods.map((p) => (p.name === n ? { ...p, state: 'leaving' } : p)) }),
  };
}

test('drainPlans: per Fleet with Prods there, from the same input the controller builds', () => {
  const seen: PlacementInput[] = [];
  const plans = drainPlans(world(), 'a', scripted(seen));
  assert.equal(plans.length, 1);
  assert.deepEqual(
    seen[0]!.tenants.map((t) => t.name),
    ['t1', 't2'],
    'only the Fleet’s own tenants',
  );
  assert.equal(seen[0]!.rebalanceMoves, 0, 'a plan does not rebalance');
  const p = plans[0]!;
  assert.deepEqual(
    { ...p, moves: p.moves.map((m) => `${m.tenant} ${m.from}→${m.to}`) },
    {
      namespace: 'shop',
      fleet: 'web',
      operation: 'drain',
      target: 'a',
      tenantsMoved: 2,
      copiesMoved: 2,
      lowerBound: 2,
      lowerBoundReachable: true,
      reached: true,
      tenants: ['t1', 't2'],
      moves: ['t1 web-da-1→web-db-2', 't2 web-da-2→web-db-2'],
      dualExposed: [],
      unplaceable: [],
    },
  );
  const text = planText(p);
  assert.match(text, /^Fleet shop\/web: drain cluster a$/m);
  assert.match(text, /tenants moved: 2 \(2 copies\); lower bound 2 copies, reachable; reached/);
  assert.match(text, /t1 \(primary\): web-da-1 → web-db-2/);
  assert.match(text, /Dual tenants exposed \(one serving copy\): none/);
  assert.match(text, /cannot be placed: none/);
});

test('drainPlans: a cluster without the Fleet’s Prods plans nothing; unknown names are errors', () => {
  assert.deepEqual(drainPlans(world(), 'c', scripted()), []);
  assert.throws(() => drainPlans(world(), 'nope', scripted()), /MemberCluster nope not found/);
  assert.throws(() => drainPlans(world(), 'a', scripted(), { fleet: 'x' }), /Fleet x not found/);
  assert.deepEqual(drainPlans(world(), 'a', scripted(), { namespace: 'elsewhere' }), []);
});

test('retirePlan: the Prod’s Fleet, its tenants moved; errors name what is missing', () => {
  const p = retirePlan(world(), 'shop', 'web-da-1', scripted());
  assert.deepEqual([p.operation, p.target, p.tenantsMoved], ['retire', 'web-da-1', 1]);
  assert.throws(
    () => retirePlan(world(), 'shop', 'nope', scripted()),
    /Prod nope not found in namespace shop/,
  );
  const loose = prodOf('loose', 'a');
  delete loose.metadata.labels;
  assert.throws(
    () => retirePlan(world({ prods: [loose] }), 'shop', 'loose', scripted()),
    /belongs to no Fleet/,
  );
  assert.throws(
    () => retirePlan(world({ fleets: [] }), 'shop', 'web-da-1', scripted()),
    /names Fleet web, which does not exist/,
  );
});

test('planText: the first moves only, and who cannot be placed with why', () => {
  const p = retirePlan(world(), 'shop', 'web-da-1', scripted());
  const many = {
    ...p,
    moves: Array.from({ length: 25 }, (_, k) => ({
      tenant: `t${k}`,
      copy: 'primary' as const,
      from: 'x',
      to: 'y',
      reason: 'ProdLeaving' as const,
    })),
    unplaceable: [
      {
        tenant: 'big',
        copy: 'primary' as const,
        reason: 'NoCapacity' as const,
        message: 'no open Prod has 50 units free',
      },
    ],
    copiesMoved: 25,
    lowerBound: 24,
    reached: false,
  };
  const text = planText(many);
  assert.match(text, /t19 \(primary\): x → y\n {4}… and 5 more/);
  assert.doesNotMatch(text, /t20 \(primary\)/);
  assert.match(text, /not reached \(\+1\)/);
  assert.match(
    text,
    /cannot be placed: 1\n {4}big \(primary\): NoCapacity: no open Prod has 50 units free/,
  );
});

test('planDocument: per Fleet the plan as status.drains[] holds it, plus its tenants, moves and unplaced', () => {
  const p = drainPlans(world(), 'a', scripted())[0]!;
  const doc = planDocument('drain', 'a', [
    {
      ...p,
      unplaceable: [
        { tenant: 'x', copy: 'secondary', reason: 'SingleDomain', message: 'one domain' },
      ],
    },
  ]);
  assert.deepEqual(doc.operation, 'drain');
  assert.deepEqual(doc.fleets[0]!.plan, {
    tenantsMoved: 2,
    copiesMoved: 2,
    lowerBound: 2,
    lowerBoundReachable: true,
    reached: true,
    tenants: ['t1', 't2'],
    unplaceable: ['x (secondary): one domain'],
  });
  assert.equal(doc.fleets[0]!.moves.length, 2);
  assert.equal(doc.fleets[0]!.unplaced[0]!.reason, 'SingleDomain');
});

// decide() around a scripted placement: these tests are about what the controller makes of a
// placement result (Prods, Tenant statuses, drains, autoscale, requeues), not about placement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fleet, FleetStatus } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import type { PlacementInput, PlacementResult } from '../../fleet/types.js';
import {
  COLD_START_MS,
  REBALANCE_INTERVAL_MS,
  RESYNC_MS,
  SOON_MS,
  STUCK_RETRY_MS,
  decide,
  standbyWanted,
  type Observed,
  type Placer,
} from './plan.js';
import { SCALE_IN_ANNOTATION, STANDBY_LABEL } from './prods.js';
import { placer } from './placer.js';
import {
  AVOID_ANNOTATION,
  HOLD_ANNOTATION,
  RELEASE_FLEET_LABEL,
  type Release,
  type ReleasePhase,
} from '../../api/release.js';
import {
  NS,
  T0,
  at,
  clusterOf,
  fleetOf,
  prodOf,
  resultOf,
  tenantOf,
  threeClusters,
} from './testing.js';

/** A placement that keeps every copy where it is, unless told otherwise; records its inputs. */
function scripted(
  over: {
    place?: (i: PlacementInput) => PlacementResult;
    planDrain?: (i: PlacementInput, cluster: string) => PlacementResult;
    planRetire?: (i: PlacementInput, prod: string) => PlacementResult;
  } = {},
) {
  const calls = {
    place: [] as PlacementInput[],
    drain: [] as [PlacementInput, string][],
    retire: [] as [PlacementInput, string][],
  };
  const keep = (i: PlacementInput) => resultOf(i.previous);
  const placer: Placer = {
    place: (i) => (calls.place.push(i), (over.place ?? keep)(i)),
    planDrain: (i, c) => (calls.drain.push([i, c]), (over.planDrain ?? keep)(i, c)),
    planRetire: (i, p) => (calls.retire.push([i, p]), (over.planRetire ?? keep)(i, p)),
  };
  return { placer, calls };
}

/** Six Ready Prods, two per cluster a, b, c (domains da, db, dc). */
const sixProds = () =>
  ['a', 'b', 'c'].flatMap((c) => [prodOf(`web-d${c}-1`, c), prodOf(`web-d${c}-2`, c)]);

function observed(
  over: Partial<Observed> & { fleet?: Fleet; prods?: Prod[]; clusters?: MemberCluster[] } = {},
): Observed {
  const prods = over.prods ?? sixProds();
  return {
    key: { namespace: NS, name: 'web' },
    fleet: 'fleet' in over ? over.fleet : fleetOf(),
    tenants: [],
    prods,
    taken: new Set(prods.map((p) => p.metadata.name)),
    clusters: threeClusters(),
    now: T0,
    ...over,
  };
}

const cond = (s: FleetStatus | undefined, type: string) =>
  s?.conditions?.find((c) => c.type === type);
const names = (ps: { metadata: { name: string } }[]) => ps.map((p) => p.metadata.name);

test('decide: a missing Fleet → its Tenants get FleetNotFound, nothing else happens', () => {
  const { placer, calls } = scripted();
  const d = decide(
    observed({ fleet: undefined, tenants: [tenantOf('t1', {}, { primary: 'p' })] }),
    placer,
  );
  assert.equal(d.tenants.length, 1);
  assert.equal(d.tenants[0]!.status.conditions?.[0]?.reason, 'FleetNotFound');
  assert.deepEqual([d.create, d.retire, d.scaleIn, d.status], [[], [], [], undefined]);
  assert.equal(calls.place.length, 0);
});

test('decide: a new Fleet → its Prods are created, ProdsReady says how many are Ready', () => {
  const { placer } = scripted();
  const d = decide(observed({ prods: [] }), placer);
  assert.deepEqual(names(d.create), [
    'web-da-1',
    'web-da-2',
    'web-db-1',
    'web-db-2',
    'web-dc-1',
    'web-dc-2',
  ]);
  assert.equal(d.events.filter((e) => e.reason === 'ProdCreated').length, 6);
  assert.equal(d.status?.desiredProds, 6);
  assert.equal(d.status?.readyProds, 0);
  assert.deepEqual(
    { ...cond(d.status, 'ProdsReady') },
    {
      type: 'ProdsReady',
      status: 'False',
      reason: 'Provisioning',
      message: '0/6 standard and 0/0 test Prods Ready',
      observedGeneration: 1,
      lastTransitionTime: at(T0),
    },
  );
  assert.equal(d.requeueAfterMs, SOON_MS);
});

test('decide: steady → tenants placed, status written once, then nothing to do (idempotent)', () => {
  const tenants = [tenantOf('t1'), tenantOf('t2', { redundancy: 'Dual' })];
  const { placer, calls } = scripted({
    place: () =>
      resultOf({ t1: { primary: 'web-da-1' }, t2: { primary: 'web-db-1', secondary: 'web-dc-1' } }),
  });
  const first = decide(observed({ tenants }), placer);
  assert.equal(
    calls.place[0]!.prods.every((p) => p.state === 'open'),
    true,
  );
  assert.deepEqual(
    first.tenants.map((c) => [c.tenant.metadata.name, c.status.prods]),
    [
      ['t1', { primary: 'web-da-1' }],
      ['t2', { primary: 'web-db-1', secondary: 'web-dc-1' }],
    ],
  );
  const st = first.status!;
  assert.deepEqual(st.tenants, { total: 2, placed: 2, unplaced: 0, exposed: 0 });
  assert.equal(st.readyProds, 6);
  assert.deepEqual(st.fill, {
    percent: 5,
    domains: [
      { domain: 'da', used: 1, capacity: 20 },
      { domain: 'db', used: 1, capacity: 20 },
      { domain: 'dc', used: 1, capacity: 20 },
    ],
  });
  assert.deepEqual(st.prods?.[0], {
    name: 'web-da-1',
    cluster: 'a',
    domain: 'da',
    role: 'standard',
    phase: 'Ready',
    version: '1.0.0',
    state: 'open',
    tenants: 1,
    used: 1,
    capacity: 10,
  });
  assert.equal(cond(st, 'Ready')?.status, 'True');
  assert.equal(cond(st, 'TenantsPlaced')?.reason, 'AllPlaced');
  assert.equal(cond(st, 'Draining')?.reason, 'NotDraining');
  assert.equal(first.requeueAfterMs, RESYNC_MS);

  const written = new Map(first.tenants.map((c) => [c.tenant.metadata.name, c.status]));
  const again = decide(
    observed({
      fleet: fleetOf({}, st),
      tenants: tenants.map((t) => ({ ...t, status: written.get(t.metadata.name) })),
      now: T0 + 30_000,
    }),
    placer,
  );
  assert.deepEqual(again.tenants, []);
  assert.equal(again.status, undefined, 'nothing changed: no status write');
  assert.deepEqual([again.create, again.retire, again.scaleIn, again.events], [[], [], [], []]);
});

test('decide: a labelled Prod without an owner is adopted and counted', () => {
  const prods = sixProds();
  prods[0] = prodOf('handmade', 'a', { owner: 'none' });
  const { placer, calls } = scripted();
  const d = decide(observed({ prods }), placer);
  assert.deepEqual(d.adopt, ['handmade']);
  assert.deepEqual(d.create, [], 'handmade is the second Prod of domain da');
  assert.equal(calls.place[0]!.prods.find((p) => p.name === 'handmade')?.state, 'open');
  assert.ok(d.events.some((e) => e.reason === 'ProdAdopted' && e.note === 'Prod handmade'));
});

test('decide: a Prod controlled by another owner is none of this Fleet’s', () => {
  const prods = sixProds();
  const other = fleetOf();
  other.metadata.uid = 'another';
  prods.push(prodOf('stranger', 'a', { owner: other }));
  const { placer, calls } = scripted();
  const d = decide(observed({ prods }), placer);
  assert.deepEqual(d.adopt, []);
  assert.equal(
    calls.place[0]!.prods.some((p) => p.name === 'stranger'),
    false,
  );
});

test('decide: a Dual tenant in a one-domain Fleet and a host conflict → conditions, not placed', () => {
  const clusters = [clusterOf('a', 'da')];
  const prods = [prodOf('web-da-1', 'a'), prodOf('web-da-2', 'a')];
  const tenants = [
    tenantOf('dual', { redundancy: 'Dual' }),
    tenantOf('first', { hosts: ['x.example'] }, undefined, { created: T0 - 9000 }),
    tenantOf('second', { hosts: ['x.example'] }, undefined, { created: T0 - 1000 }),
  ];
  const { placer, calls } = scripted({ place: () => resultOf({ first: { primary: 'web-da-1' } }) });
  const d = decide(observed({ clusters, prods, tenants }), placer);
  assert.deepEqual(
    calls.place[0]!.tenants.map((t) => t.name),
    ['first'],
  );
  const reason = (n: string) =>
    d.tenants.find((c) => c.tenant.metadata.name === n)?.status.conditions?.[0]?.reason;
  assert.equal(reason('dual'), 'SingleDomain');
  assert.equal(reason('second'), 'HostConflict');
  assert.deepEqual(d.status?.tenants, { total: 3, placed: 1, unplaced: 2, exposed: 0 });
  assert.equal(cond(d.status, 'TenantsPlaced')?.status, 'False');
  assert.equal(cond(d.status, 'Ready')?.reason, 'PartiallyPlaced');
});

const drainA = () => [
  clusterOf('a', 'da', { drain: true }),
  clusterOf('b', 'db'),
  clusterOf('c', 'dc'),
];

test('decide: a new drain is planned and written first; its Prods take no one meanwhile, nothing moves', () => {
  const tenants = [tenantOf('t1', {}, { primary: 'web-da-1' })];
  const { placer, calls } = scripted({
    planDrain: () =>
      resultOf(
        { t1: { primary: 'web-db-1' } },
        {
          moves: [
            {
              tenant: 't1',
              copy: 'primary',
              from: 'web-da-1',
              to: 'web-db-1',
              reason: 'ProdLeaving',
            },
          ],
          lowerBound: 1,
        },
      ),
  });
  const d = decide(observed({ clusters: drainA(), tenants }), placer);
  assert.deepEqual(
    calls.drain.map(([, c]) => c),
    ['a'],
  );
  const states = Object.fromEntries(calls.place[0]!.prods.map((p) => [p.name, p.state]));
  assert.equal(states['web-da-1'], 'closed');
  assert.equal(states['web-db-1'], 'open');
  assert.deepEqual(d.tenants, [], 'no tenant moves before the plan is written');
  assert.deepEqual(d.status?.drains, [
    {
      cluster: 'a',
      phase: 'Planned',
      startTime: at(T0),
      plan: { tenantsMoved: 1, copiesMoved: 1, lowerBound: 1, lowerBoundReachable: true },
    },
  ]);
  assert.equal(cond(d.status, 'Draining')?.status, 'True');
  assert.ok(d.events.some((e) => e.reason === 'DrainPlanned'));
  assert.equal(d.requeueAfterMs, SOON_MS);
  assert.deepEqual(d.retire, [], 'Prods there host tenants still');
});

test('decide: a drain that would strand tenants is Blocked; nothing moves; the Fleet says why', () => {
  const tenants = [tenantOf('t1', {}, { primary: 'web-da-1' })];
  const { placer, calls } = scripted({
    planDrain: () =>
      resultOf(
        { t1: { primary: 'web-da-1' } },
        { unplaced: [{ tenant: 't1', copy: 'primary', reason: 'NoCapacity', message: 'no room' }] },
      ),
  });
  const d = decide(observed({ clusters: drainA(), tenants }), placer);
  assert.equal(d.status?.drains?.[0]?.phase, 'Blocked');
  assert.deepEqual(d.status?.drains?.[0]?.plan?.unplaceable, ['t1 (primary): no room']);
  assert.equal(calls.place[0]!.prods.find((p) => p.name === 'web-da-1')?.state, 'closed');
  assert.deepEqual(
    [cond(d.status, 'Draining')?.reason, cond(d.status, 'Ready')?.reason],
    ['DrainBlocked', 'DrainBlocked'],
  );
  assert.match(
    cond(d.status, 'Draining')?.message ?? '',
    /drain of a blocked, it would strand: t1 \(primary\): no room/,
  );
  assert.ok(d.events.some((e) => e.type === 'Warning' && e.reason === 'DrainBlocked'));
  assert.equal(d.requeueAfterMs, STUCK_RETRY_MS);

  // Once a new plan strands no one, it is Planned (moves start on the reconcile after).
  const fleet = fleetOf({}, d.status);
  const { placer: ok } = scripted();
  const next = decide(observed({ fleet, clusters: drainA(), tenants, now: T0 + 60_000 }), ok);
  assert.equal(next.status?.drains?.[0]?.phase, 'Planned');
  assert.equal(next.status?.drains?.[0]?.startTime, at(T0), 'the drain started when first asked');
});

test('decide: a blocked drain whose Prods are gone is planned without them (nothing moves)', () => {
  const fleet = fleetOf({}, { drains: [{ cluster: 'a', phase: 'Blocked', startTime: at(T0) }] });
  const prods = sixProds().filter((p) => p.spec.cluster !== 'a');
  const { placer, calls } = scripted({
    planDrain: () => {
      throw new Error('no Prod in cluster a');
    },
  });
  const d = decide(observed({ fleet, prods, clusters: drainA() }), placer);
  assert.equal(calls.drain.length, 0);
  assert.deepEqual(d.status?.drains, [
    {
      cluster: 'a',
      phase: 'Planned',
      startTime: at(T0),
      plan: { tenantsMoved: 0, copiesMoved: 0, lowerBound: 0, lowerBoundReachable: true },
    },
  ]);
});

test('decide: Planned → Moving: the Prods there are leaving and the step is written', () => {
  const tenants = [
    tenantOf('t1', {}, { primary: 'web-da-1' }),
    tenantOf('t2', { redundancy: 'Dual' }, { primary: 'web-da-2', secondary: 'web-db-1' }),
  ];
  const fleet = fleetOf({}, { drains: [{ cluster: 'a', phase: 'Planned', startTime: at(T0) }] });
  const { placer, calls } = scripted({
    place: () =>
      resultOf(
        { t1: { primary: 'web-dc-1' }, t2: { primary: 'web-da-2', secondary: 'web-db-1' } },
        {
          moves: [
            {
              tenant: 't1',
              copy: 'primary',
              from: 'web-da-1',
              to: 'web-dc-1',
              reason: 'ProdLeaving',
            },
          ],
        },
      ),
  });
  const d = decide(observed({ fleet, clusters: drainA(), tenants }), placer);
  const states = Object.fromEntries(calls.place[0]!.prods.map((p) => [p.name, p.state]));
  assert.deepEqual([states['web-da-1'], states['web-da-2']], ['leaving', 'leaving']);
  assert.equal(calls.place[0]!.rebalanceMoves, 0, 'no rebalancing while a drain moves');
  assert.deepEqual(
    d.tenants.map((c) => [c.tenant.metadata.name, c.status.prods]),
    [['t1', { primary: 'web-dc-1' }]],
  );
  assert.deepEqual(d.status?.drains, [
    { cluster: 'a', phase: 'Moving', startTime: at(T0), tenantsLeft: 1 },
  ]);
  assert.ok(d.events.some((e) => e.reason === 'DrainStarted'));
  assert.equal(d.requeueAfterMs, SOON_MS, 'a copy is left on a leaving Prod: next step soon');
  assert.deepEqual(d.retire, [], 'web-da-2 still hosts t2');
});

test('decide: Moving → Drained when no copy is left; Retire retires its Prods, Keep keeps them', () => {
  const tenants = [tenantOf('t1', {}, { primary: 'web-dc-1' })];
  const status = {
    drains: [{ cluster: 'a', phase: 'Moving' as const, startTime: at(T0), tenantsLeft: 1 }],
  };
  const { placer } = scripted();
  const d = decide(observed({ fleet: fleetOf({}, status), clusters: drainA(), tenants }), placer);
  assert.deepEqual(d.status?.drains, [
    { cluster: 'a', phase: 'Drained', startTime: at(T0), tenantsLeft: 0 },
  ]);
  assert.deepEqual(
    d.retire.map((r) => r.name),
    ['web-da-1', 'web-da-2'],
  );
  assert.equal(d.retire[0]!.why, 'cluster a drained');
  assert.ok(d.events.some((e) => e.reason === 'Drained'));
  // Retire: the drained cluster's Prods no longer count; the only domain-da cluster is draining.
  assert.deepEqual(d.create, []);
  assert.equal(cond(d.status, 'Draining')?.reason, 'Drained');

  const keep = decide(
    observed({ fleet: fleetOf({ drain: { prods: 'Keep' } }, status), clusters: drainA(), tenants }),
    placer,
  );
  assert.equal(keep.status?.drains?.[0]?.phase, 'Drained');
  assert.deepEqual(keep.retire, []);
});

test('decide: drain back to false → the entry goes, tenants return only within the rebalance budget', () => {
  const fleet = fleetOf(
    { drain: { rebalanceMovesPerMinute: 6 } },
    { drains: [{ cluster: 'a', phase: 'Drained', tenantsLeft: 0 }] },
  );
  const { placer, calls } = scripted({
    place: (i) =>
      resultOf(i.previous, {
        moves: [
          { tenant: 't1', copy: 'primary', from: 'web-db-1', to: 'web-da-1', reason: 'Rebalance' },
        ],
      }),
  });
  const d = decide(
    observed({ fleet, tenants: [tenantOf('t1', {}, { primary: 'web-db-1' })] }),
    placer,
  );
  assert.equal(calls.place[0]!.rebalanceMoves, 6);
  assert.equal(d.status?.drains, undefined);
  assert.ok(d.events.some((e) => e.reason === 'DrainEnded'));
  assert.equal(d.status?.lastRebalanceTime, at(T0));
  assert.equal(cond(d.status, 'Draining')?.reason, 'NotDraining');

  // 5 s later: budget 0; looked at again when the next move is allowed (at least 10 s).
  const later = decide(
    observed({
      fleet: fleetOf({ drain: { rebalanceMovesPerMinute: 6 } }, d.status),
      now: T0 + 5000,
    }),
    scripted().placer,
  );
  assert.equal(later.requeueAfterMs, REBALANCE_INTERVAL_MS);
});

test('decide: the rebalance budget used up → look again in 10 s; moves left under budget → done', () => {
  const rebalance = (n: number) => (i: PlacementInput) =>
    resultOf(i.previous, {
      moves: Array.from({ length: n }, (_, k) => ({
        tenant: `t${k}`,
        copy: 'primary' as const,
        from: 'web-da-1',
        to: 'web-db-1',
        reason: 'Rebalance' as const,
      })),
    });
  const fleet = fleetOf({}, { lastRebalanceTime: at(T0 - 10_000) });
  const used = decide(observed({ fleet }), scripted({ place: rebalance(3) }).placer);
  assert.equal(used.requeueAfterMs, REBALANCE_INTERVAL_MS);
  const under = decide(observed({ fleet }), scripted({ place: rebalance(2) }).placer);
  assert.equal(under.requeueAfterMs, RESYNC_MS);
});

test('decide: a cluster Reachable=False → its Prods are down; a Single tenant there stuck → retried', () => {
  const clusters = [
    clusterOf('a', 'da', { reachable: 'False' }),
    clusterOf('b', 'db'),
    clusterOf('c', 'dc'),
  ];
  const tenants = [
    tenantOf('dual', { redundancy: 'Dual' }, { primary: 'web-da-1', secondary: 'web-db-1' }),
    tenantOf('single', {}, { primary: 'web-da-2' }),
  ];
  const { placer, calls } = scripted({
    place: () =>
      resultOf(
        { dual: { primary: 'web-db-1', secondary: 'web-dc-1' }, single: { primary: 'web-da-2' } },
        {
          moves: [
            {
              tenant: 'dual',
              copy: 'primary',
              from: 'web-da-1',
              to: 'web-db-1',
              reason: 'Promoted',
            },
            {
              tenant: 'dual',
              copy: 'secondary',
              from: 'web-db-1',
              to: 'web-dc-1',
              reason: 'ProdDown',
            },
          ],
          unplaced: [
            { tenant: 'single', copy: 'primary', reason: 'NoCapacity', message: 'no room' },
          ],
        },
      ),
  });
  const d = decide(observed({ clusters, tenants }), placer);
  const states = Object.fromEntries(calls.place[0]!.prods.map((p) => [p.name, p.state]));
  assert.deepEqual(
    [states['web-da-1'], states['web-da-2'], states['web-db-1']],
    ['down', 'down', 'open'],
  );
  assert.deepEqual(
    d.tenants.map((c) => [
      c.tenant.metadata.name,
      c.status.prods,
      c.status.conditions?.[0]?.reason,
    ]),
    [
      ['dual', { primary: 'web-db-1', secondary: 'web-dc-1' }, 'Placed'],
      ['single', { primary: 'web-da-2' }, 'NoCapacity'],
    ],
  );
  assert.deepEqual(d.create, [], 'Prods of an unreachable cluster still count');
  assert.equal(d.requeueAfterMs, SOON_MS, 'moves were made and a copy is left on a down Prod');
  const stuck = decide(
    observed({ clusters, tenants: [tenantOf('single', {}, { primary: 'web-da-2' })] }),
    scripted({
      place: (i) =>
        resultOf(i.previous, {
          unplaced: [
            { tenant: 'single', copy: 'primary', reason: 'NoCapacity', message: 'no room' },
          ],
        }),
    }).placer,
  );
  assert.equal(stuck.requeueAfterMs, STUCK_RETRY_MS);
});

test('decide: copies still to move (pending, e.g. a Dual tenant’s second copy) → next step soon', () => {
  const pending = (moves: number) =>
    decide(
      observed({
        tenants: [
          tenantOf('t', { redundancy: 'Dual' }, { primary: 'web-da-1', secondary: 'web-db-1' }),
        ],
      }),
      scripted({
        place: (i) =>
          resultOf(i.previous, {
            pending: 1,
            moves: Array.from({ length: moves }, () => ({
              tenant: 't',
              copy: 'primary' as const,
              from: 'web-da-1',
              to: 'web-dc-1',
              reason: 'OverCapacity' as const,
            })),
          }),
      }).placer,
    ).requeueAfterMs;
  assert.equal(pending(1), SOON_MS);
  assert.equal(pending(0), STUCK_RETRY_MS);
});

test('decide: a new Fleet places no one until its Prods are Ready (at most COLD_START_MS)', () => {
  const young = (age: number, prods: Prod[]) => {
    const fleet = fleetOf();
    fleet.metadata.creationTimestamp = at(T0 - age);
    const { placer, calls } = scripted({ place: () => resultOf({ t: { primary: 'web-da-1' } }) });
    const d = decide(observed({ fleet, prods, tenants: [tenantOf('t')] }), placer);
    return { d, placed: calls.place.length > 0 };
  };
  const warming = sixProds().map((p, i) =>
    i < 2 ? p : prodOf(p.metadata.name, p.spec.cluster!, { phase: 'WarmingUp' }),
  );
  const wait = young(30_000, warming);
  assert.equal(wait.placed, false);
  assert.deepEqual(
    wait.d.tenants.map((c) => [
      c.status.conditions?.[0]?.reason,
      c.status.conditions?.[0]?.message,
    ]),
    [
      [
        'NoProds',
        `primary: waiting for the new Fleet's Prods to be Ready (until ${at(T0 - 30_000 + COLD_START_MS)} at the latest)`,
      ],
    ],
  );
  assert.equal(wait.d.requeueAfterMs, COLD_START_MS - 30_000);
  assert.equal(young(30_000, sixProds()).placed, true, 'all Ready: placed at once');
  assert.equal(young(COLD_START_MS, warming).placed, true, 'waited long enough: on the Ready ones');
  assert.equal(young(30_000, []).placed, false, 'no Prod made yet');
  // Once anyone is placed, a warming Prod holds no one back.
  const fleet = fleetOf();
  fleet.metadata.creationTimestamp = at(T0 - 1000);
  const { placer, calls } = scripted();
  decide(
    observed({ fleet, prods: warming, tenants: [tenantOf('t', {}, { primary: 'web-da-1' })] }),
    placer,
  );
  assert.equal(calls.place.length, 1);
});

const scaling = { minProds: 2, maxProds: 4, highWatermark: 80, lowWatermark: 30, window: '1m' };
const twoProds = () => [prodOf('web-da-1', 'a'), prodOf('web-db-1', 'b')];
const tenantsOn = (n: number, prod: string) =>
  Array.from({ length: n }, (_, k) => tenantOf(`${prod}-t${k}`, {}, { primary: prod }));

test('decide: autoscale above the high mark for the window → one standard Prod more', () => {
  const clusters = [clusterOf('a', 'da'), clusterOf('b', 'db')];
  const fleet = fleetOf(
    { prods: { total: 2 }, autoscale: scaling },
    { desiredProds: 2, autoscale: { aboveSince: at(T0 - 60_000) } },
  );
  const tenants = [...tenantsOn(9, 'web-da-1'), ...tenantsOn(9, 'web-db-1')];
  const d = decide(observed({ fleet, clusters, prods: twoProds(), tenants }), scripted().placer);
  assert.equal(d.status?.fill?.percent, 90);
  assert.deepEqual(names(d.create), ['web-da-2']);
  assert.equal(d.status?.desiredProds, 3);
  assert.equal(d.status?.autoscale?.aboveSince, undefined);
  assert.equal(d.status?.autoscale?.lastScaleTime, at(T0));
  assert.ok(d.events.some((e) => e.reason === 'ScaleUp'));
  assert.equal(cond(d.status, 'Autoscaling')?.reason, 'Steady');
});

test('decide: autoscale waits while a new Prod warms up (its clocks stopped)', () => {
  const clusters = [clusterOf('a', 'da'), clusterOf('b', 'db')];
  const fleet = fleetOf(
    { prods: { total: 2 }, autoscale: scaling },
    { desiredProds: 3, autoscale: { aboveSince: at(T0 - 600_000) } },
  );
  const prods = [...twoProds(), prodOf('web-da-2', 'a', { phase: 'WarmingUp' })];
  const tenants = [...tenantsOn(9, 'web-da-1'), ...tenantsOn(9, 'web-db-1')];
  const d = decide(observed({ fleet, clusters, prods, tenants }), scripted().placer);
  assert.deepEqual(d.create, []);
  assert.equal(d.status?.desiredProds, 3);
  assert.equal(d.status?.autoscale, undefined);
});

test('decide: autoscale below the low mark → the emptiest Prod is scaled in, if that strands no one', () => {
  const clusters = [clusterOf('a', 'da'), clusterOf('b', 'db')];
  const fleet = fleetOf(
    { prods: { total: 3 }, autoscale: scaling },
    { desiredProds: 3, autoscale: { belowSince: at(T0 - 60_000) } },
  );
  const prods = [...twoProds(), prodOf('web-da-2', 'a')];
  const tenants = [
    ...tenantsOn(2, 'web-da-1'),
    ...tenantsOn(1, 'web-da-2'),
    ...tenantsOn(2, 'web-db-1'),
  ];
  const { placer, calls } = scripted();
  const d = decide(observed({ fleet, clusters, prods, tenants }), placer);
  assert.deepEqual(
    calls.retire.map(([, p]) => p),
    ['web-da-2'],
  );
  assert.deepEqual(d.scaleIn, [{ name: 'web-da-2', why: 'autoscale: 2 standard Prods wanted' }]);
  assert.equal(d.status?.desiredProds, 2);
  assert.ok(d.events.some((e) => e.reason === 'ScaleIn' && e.action === 'Autoscale'));

  const { placer: strands } = scripted({
    planRetire: (i) =>
      resultOf(i.previous, {
        unplaced: [
          { tenant: 'web-da-2-t0', copy: 'primary', reason: 'NoCapacity', message: 'no room' },
        ],
      }),
  });
  const blocked = decide(observed({ fleet, clusters, prods, tenants }), strands);
  assert.deepEqual(blocked.scaleIn, []);
  assert.equal(blocked.status?.desiredProds, 3);
  assert.equal(blocked.status?.autoscale?.belowSince, at(T0 - 60_000), 'the clock is kept');
  assert.deepEqual(
    [cond(blocked.status, 'Autoscaling')?.status, cond(blocked.status, 'Autoscaling')?.reason],
    ['False', 'ScaleInBlocked'],
  );
  assert.match(
    cond(blocked.status, 'Autoscaling')?.message ?? '',
    /retire Prod web-da-2 and strand 1 tenant copies: web-da-2-t0 \(primary\): no room/,
  );
  assert.equal(cond(blocked.status, 'Ready')?.status, 'True', 'a blocked scale-in is no outage');
});

test('decide: a scaled-in Prod is retired once empty; a retired one gone from its cluster is removed', () => {
  const prods = sixProds();
  prods[1] = prodOf('web-da-2', 'a', { annotations: { [SCALE_IN_ANNOTATION]: 'autoscale' } });
  prods.push(prodOf('web-da-9', 'a', { retired: true, phase: 'Retired' }));
  const hosting = decide(
    observed({ prods, tenants: [tenantOf('t', {}, { primary: 'web-da-2' })] }),
    scripted().placer,
  );
  assert.deepEqual(hosting.retire, []);
  assert.deepEqual(hosting.remove, ['web-da-9']);
  const { placer, calls } = scripted({
    place: () =>
      resultOf(
        { t: { primary: 'web-db-2' } },
        {
          moves: [
            {
              tenant: 't',
              copy: 'primary',
              from: 'web-da-2',
              to: 'web-db-2',
              reason: 'ProdLeaving',
            },
          ],
        },
      ),
  });
  const d = decide(
    observed({ prods, tenants: [tenantOf('t', {}, { primary: 'web-da-2' })] }),
    placer,
  );
  assert.equal(calls.place[0]!.prods.find((p) => p.name === 'web-da-2')?.state, 'leaving');
  assert.deepEqual(d.retire, [{ name: 'web-da-2', why: 'scaled in (autoscale)' }]);
  assert.deepEqual(names(d.create), ['web-da-3'], 'spec.prods still asks for two in da');
});

test('decide: lowering spec.prods scales in the surplus (emptiest first)', () => {
  const d = decide(
    observed({
      fleet: fleetOf({ prods: { perDomain: 1 } }),
      tenants: [tenantOf('t', {}, { primary: 'web-da-1' })],
    }),
    scripted().placer,
  );
  assert.deepEqual(
    d.scaleIn.map((s) => s.name),
    ['web-da-2', 'web-db-2', 'web-dc-2'],
  );
  assert.equal(d.scaleIn[0]!.why, 'spec.prods: 3 standard and 0 test Prods wanted');
});

test('decide: a MemberCluster deleted → its Prods are down and retired once empty', () => {
  const clusters = [clusterOf('b', 'db'), clusterOf('c', 'dc')];
  const { placer, calls } = scripted();
  const d = decide(observed({ clusters }), placer);
  assert.equal(calls.place[0]!.prods.find((p) => p.name === 'web-da-1')?.state, 'down');
  assert.deepEqual(
    d.retire.map((r) => [r.name, r.why]),
    [
      ['web-da-1', 'MemberCluster a does not exist'],
      ['web-da-2', 'MemberCluster a does not exist'],
    ],
  );
});

test('decide: the Fleet being deleted → nothing (the garbage collector takes its Prods)', () => {
  const fleet = fleetOf();
  fleet.metadata.deletionTimestamp = at(T0);
  const d = decide(observed({ fleet, tenants: [tenantOf('t')] as Tenant[] }), scripted().placer);
  assert.deepEqual([d.create, d.tenants, d.status], [[], [], undefined]);
});

test('decide: status.source, status.release and SourceReady (other controllers’ parts) are kept as stored, and are no change', () => {
  const tenants = [tenantOf('t1')];
  const { placer } = scripted({ place: () => resultOf({ t1: { primary: 'web-da-1' } }) });
  const first = decide(observed({ tenants }), placer).status!;
  const sourceReady = {
    type: 'SourceReady',
    status: 'True' as const,
    observedGeneration: 1,
    lastTransitionTime: at(T0 - 60_000),
    reason: 'SourceFound',
    message: '1.1.0 from refs/tags/v1.1.0: Release web-1.1.0',
  };
  const foreign = {
    source: {
      version: '1.1.0',
      from: 'refs/tags/1.1.0',
      foundTime: at(T0 - 60_000),
      lastPollTime: at(T0 - 1000),
    },
    release: 'web-1.1.0',
  };
  // As stored after the poller wrote its part between two Fleet reconciles.
  const stored: FleetStatus = {
    ...first,
    ...foreign,
    conditions: [...first.conditions!, sourceReady],
  };
  const written = new Map([['t1', { prods: { primary: 'web-da-1' } }]]);
  const again = decide(
    observed({
      fleet: fleetOf({}, stored),
      tenants: tenants.map((t) => ({ ...t, status: { ...written.get(t.metadata.name)! } })),
      now: T0 + 30_000,
    }),
    placer,
  );
  assert.equal(again.status, undefined, 'the foreign parts are not a change of the Fleet’s own');

  // A change of its own (a Prod no longer Ready) is written with the foreign parts as they are.
  const prods = sixProds();
  prods[0] = { ...prods[0]!, status: { ...prods[0]!.status, phase: 'Provisioning' } };
  const changed = decide(
    observed({ fleet: fleetOf({}, stored), prods, tenants, now: T0 + 30_000 }),
    placer,
  ).status!;
  assert.notEqual(changed.readyProds, first.readyProds);
  assert.deepEqual(changed.source, foreign.source);
  assert.equal(changed.release, foreign.release);
  assert.deepEqual(cond(changed, 'SourceReady'), sourceReady);
  assert.deepEqual(
    changed.conditions!.map((c) => c.type),
    stored.conditions!.map((c) => c.type),
    'in the same place',
  );
});

// ---- releases: avoided and held Prods (with the real placement) --------------------------------

/** Tenants on six Prods; web-da-1 and web-db-1 are the ones a rollback avoids below. */
const rollbackTenants = (placed: Record<string, { primary: string; secondary?: string }> = {}) => {
  const spec = {
    s1: [{}, { primary: 'web-da-1' }],
    s2: [{}, { primary: 'web-db-1' }],
    s3: [{}, { primary: 'web-dc-1' }],
    d1: [{ redundancy: 'Dual' }, { primary: 'web-da-1', secondary: 'web-dc-1' }],
    d2: [{ redundancy: 'Dual' }, { primary: 'web-dc-2', secondary: 'web-db-1' }],
    d3: [{ redundancy: 'Dual' }, { primary: 'web-da-1', secondary: 'web-db-1' }],
  } as const;
  return Object.entries(spec).map(([name, [s, p]]) => tenantOf(name, s, placed[name] ?? p));
};
const annotated = (annotation: string, which: string[]) =>
  sixProds().map((p) =>
    which.includes(p.metadata.name)
      ? { ...p, metadata: { ...p.metadata, annotations: { [annotation]: 'web-2.0.0' } } }
      : p,
  );
const placedAfter = (d: ReturnType<typeof decide>, tenants: Tenant[]) =>
  Object.fromEntries(
    tenants.map((t) => [
      t.metadata.name,
      d.tenants.find((c) => c.tenant.metadata.name === t.metadata.name)?.status.prods ??
        t.status?.prods,
    ]),
  );

test('decide: avoided Prods are down: every copy leaves them in ONE step; Dual tenants keep their other copy', () => {
  const bad = ['web-da-1', 'web-db-1'];
  const tenants = rollbackTenants();
  const d = decide(observed({ prods: annotated(AVOID_ANNOTATION, bad), tenants }), placer);
  const after = placedAfter(d, tenants);
  for (const [name, p] of Object.entries(after)) {
    assert.ok(p, `${name} placed`);
    for (const prod of [p.primary, p.secondary])
      assert.ok(
        !bad.includes(prod ?? ''),
        `${name} is off the avoided Prods: ${JSON.stringify(p)}`,
      );
  }
  assert.equal(after.s3?.primary, 'web-dc-1', 'a tenant on a good Prod stays');
  assert.equal(after.d1?.primary, 'web-dc-1', 'd1 keeps its good copy (promoted)');
  assert.ok(after.d1?.secondary, 'd1 gets a new second copy');
  assert.equal(after.d2?.primary, 'web-dc-2', 'd2 keeps its primary');
  assert.ok(after.d2?.secondary && after.d2.secondary !== 'web-dc-1', 'd2: a new secondary');
  assert.ok(after.d3?.primary && after.d3.secondary, 'd3 lost both copies: two new ones at once');
  assert.ok(
    d.tenants.every(
      (c) => c.status.conditions?.find((x) => x.type === 'Placed')?.status === 'True',
    ),
    'every changed Tenant is Placed',
  );
  assert.deepEqual(d.create, [], 'avoided Prods still count: none is replaced');
  assert.deepEqual(d.retire, [], 'nor retired');
  const state = Object.fromEntries((d.status?.prods ?? []).map((p) => [p.name, p.state]));
  assert.deepEqual(
    [state['web-da-1'], state['web-db-1'], state['web-da-2']],
    ['down', 'down', 'open'],
  );

  // The next step, statuses written: nothing changes, the avoided Prods get no one back.
  const moved = rollbackTenants(after as Record<string, { primary: string }>);
  const again = decide(
    observed({ prods: annotated(AVOID_ANNOTATION, bad), tenants: moved }),
    placer,
  );
  assert.deepEqual(again.tenants, []);
  // Lifted: tenants return only at the rebalance rate (a budget of 0 right after a rebalance).
  const fleet = fleetOf({ drain: { rebalanceMovesPerMinute: 1 } }, { lastRebalanceTime: at(T0) });
  const lifted = decide(observed({ fleet, tenants: moved }), placer);
  assert.deepEqual(lifted.tenants, [], 'no burst back when the annotation is lifted');
  assert.ok((lifted.requeueAfterMs ?? 0) >= REBALANCE_INTERVAL_MS);
});

test('decide: a held Prod (kachiku.io/hold) moves no tenant (the router handles hold); it is closed to new ones', () => {
  const tenants = rollbackTenants();
  const heldProds = ['web-da-1', 'web-db-1'];
  const held = decide(observed({ prods: annotated(HOLD_ANNOTATION, heldProds), tenants }), placer);
  const before = placedAfter({ ...held, tenants: [] }, tenants);
  const after = placedAfter(held, tenants);
  for (const t of tenants) {
    const was = [before[t.metadata.name]?.primary, before[t.metadata.name]?.secondary];
    const now = [after[t.metadata.name]?.primary, after[t.metadata.name]?.secondary];
    for (const p of heldProds) {
      assert.equal(now.includes(p), was.includes(p), `${t.metadata.name} on ${p}: as it was`);
    }
  }
  assert.deepEqual(
    held.status?.prods?.filter((p) => p.state !== 'open').map((p) => [p.name, p.state]),
    [
      ['web-da-1', 'closed'],
      ['web-db-1', 'closed'],
    ],
  );
});

const releaseOf = (phase: ReleasePhase | undefined, standbyProds?: number): Release => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Release',
  metadata: { name: `web-2.0.0`, namespace: NS, labels: { [RELEASE_FLEET_LABEL]: 'web' } },
  spec: {
    fleet: 'web',
    version: '2.0.0',
    ...(standbyProds !== undefined && { strategy: { standbyProds } }),
  },
  ...(phase && { status: { phase } }),
});
const standbyOf = (name: string, cluster: string, annotations?: Record<string, string>) => {
  const p = prodOf(name, cluster, annotations && { annotations });
  p.metadata.labels = { ...p.metadata.labels, [STANDBY_LABEL]: 'true' };
  return p;
};

test('standbyWanted: the most standbyProds of the active Releases (else the Fleet strategy); 0 once over', () => {
  const fleet = fleetOf({ release: { strategy: { standbyProds: 3 } } });
  assert.equal(standbyWanted(fleetOf(), [releaseOf('Progressing', 2)]), 2);
  assert.equal(standbyWanted(fleet, [releaseOf(undefined)]), 3, 'new, no phase yet: active');
  for (const phase of ['Pending', 'Paused', 'RollingBack'] as const)
    assert.equal(standbyWanted(fleetOf(), [releaseOf(phase, 1)]), 1, phase);
  for (const phase of ['Succeeded', 'Failed', 'RolledBack', 'Aborted', 'Superseded'] as const)
    assert.equal(standbyWanted(fleet, [releaseOf(phase, 2)]), 0, phase);
  const other = releaseOf('Progressing', 2);
  other.spec.fleet = 'api';
  assert.equal(standbyWanted(fleetOf(), [other]), 0, "another Fleet's Release");
});

test('decide: an active Release with standbyProds → standby Prods made; closed to tenants until a Prod is avoided', () => {
  const made = decide(observed({ releases: [releaseOf('Progressing', 2)] }), placer);
  assert.deepEqual(names(made.create), ['web-standby-1', 'web-standby-2']);
  assert.deepEqual(made.scaleIn, []);
  assert.equal(made.requeueAfterMs, SOON_MS);

  const prods = [...sixProds(), standbyOf('web-standby-1', 'a'), standbyOf('web-standby-2', 'b')];
  const tenants = [tenantOf('new')];
  const { placer: p1, calls } = scripted({ place: (i) => placer.place(i) });
  const quiet = decide(observed({ prods, tenants, releases: [releaseOf('Progressing', 2)] }), p1);
  const states = Object.fromEntries(calls.place[0]!.prods.map((p) => [p.name, p.state]));
  assert.deepEqual([states['web-standby-1'], states['web-standby-2']], ['closed', 'closed']);
  const placedOn = quiet.tenants[0]?.status.prods?.primary;
  assert.ok(placedOn && !placedOn.startsWith('web-standby'), `a new tenant on ${placedOn}`);
  assert.deepEqual([quiet.create, quiet.scaleIn], [[], []]);
  assert.equal(quiet.status?.desiredProds, 6, 'standby Prods are not standard ones');
  assert.deepEqual(
    quiet.status?.prods?.filter((p) => p.role === 'standby').map((p) => [p.name, p.state]),
    [
      ['web-standby-1', 'closed'],
      ['web-standby-2', 'closed'],
    ],
  );
  assert.equal(cond(quiet.status, 'ProdsReady')?.status, 'True');

  // A rollback: the avoided Prods' tenants may go to the standby Prods (open now).
  const rolling = prods.map((p) =>
    p.metadata.name === 'web-da-1'
      ? { ...p, metadata: { ...p.metadata, annotations: { [AVOID_ANNOTATION]: 'web-2.0.0' } } }
      : p,
  );
  const { placer: p2, calls: calls2 } = scripted({ place: (i) => placer.place(i) });
  decide(observed({ prods: rolling, tenants, releases: [releaseOf('RollingBack', 2)] }), p2);
  const states2 = Object.fromEntries(calls2.place[0]!.prods.map((p) => [p.name, p.state]));
  assert.deepEqual(
    [states2['web-standby-1'], states2['web-standby-2'], states2['web-da-1']],
    ['open', 'open', 'down'],
  );
});

test('decide: no Release active → the standby Prods are scaled in (emptied first), then retired', () => {
  const prods = [...sixProds(), standbyOf('web-standby-1', 'a')];
  const tenants = [tenantOf('t', {}, { primary: 'web-standby-1' })];
  const over = decide(observed({ prods, tenants, releases: [releaseOf('RolledBack', 1)] }), placer);
  assert.deepEqual(over.scaleIn, [
    {
      name: 'web-standby-1',
      why: 'no Release of the Fleet is active: standby Prods are not needed',
    },
  ]);
  assert.deepEqual(over.retire, [], 'it hosts a tenant: emptied first');
  const leaving = [...sixProds(), standbyOf('web-standby-1', 'a', { [SCALE_IN_ANNOTATION]: 'x' })];
  const next = decide(observed({ prods: leaving, tenants, releases: [] }), placer);
  const movedTo = next.tenants[0]?.status.prods?.primary;
  assert.ok(movedTo && !movedTo.startsWith('web-standby'), `moved off, to ${movedTo}`);
  assert.deepEqual(next.create, [], 'nor replaced');
  const empty = decide(observed({ prods: leaving, tenants: [], releases: [] }), placer);
  assert.deepEqual(
    empty.retire.map((r) => r.name),
    ['web-standby-1'],
  );
});

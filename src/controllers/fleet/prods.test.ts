import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AVOID_ANNOTATION, HOLD_ANNOTATION } from '../../api/release.js';
import { clusterFacts, eligible, selectedDomains, selects } from './clusters.js';
import {
  FLEET_LABEL,
  ROLE_LABEL,
  SCALE_IN_ANNOTATION,
  STANDBY_LABEL,
  counted,
  desiredProds,
  ownership,
  prodName,
  prodState,
} from './prods.js';
import type { Prod } from '../../api/prod.js';
import { clusterOf, factsOf, fleetOf, prodOf, threeClusters } from './testing.js';

// ---- clusters -------------------------------------------------------------------------------

test('selects: every matchLabels pair and one of the providers; no selector selects all', () => {
  const mc = clusterOf('a', 'da', { labels: { tier: 'gold', zone: 'x' }, provider: 'eks' });
  assert.equal(selects(fleetOf(), mc), true);
  assert.equal(selects(fleetOf({ clusterSelector: { matchLabels: { tier: 'gold' } } }), mc), true);
  assert.equal(
    selects(fleetOf({ clusterSelector: { matchLabels: { tier: 'gold', zone: 'y' } } }), mc),
    false,
  );
  assert.equal(selects(fleetOf({ clusterSelector: { providers: ['onprem'] } }), mc), false);
  assert.equal(selects(fleetOf({ clusterSelector: { providers: ['onprem', 'eks'] } }), mc), true);
});

test('clusterFacts: a drain implies a cordon; Reachable missing is Unknown; eligible needs all', () => {
  const fleet = fleetOf();
  const draining = clusterFacts(fleet, clusterOf('a', 'da', { drain: true }));
  assert.equal(draining.cordoned, true);
  assert.equal(draining.drain, true);
  assert.equal(eligible(draining), false);
  const fresh = clusterOf('b', 'db');
  fresh.status = {};
  assert.equal(clusterFacts(fleet, fresh).reachable, 'Unknown');
  assert.equal(eligible(clusterFacts(fleet, fresh)), false);
  assert.equal(eligible(clusterFacts(fleet, clusterOf('c', 'dc'))), true);
  assert.equal(eligible(clusterFacts(fleet, clusterOf('c', 'dc', { ready: false }))), false);
  assert.equal(eligible(clusterFacts(fleet, clusterOf('c', 'dc', { cordoned: true }))), false);
  assert.equal(eligible(clusterFacts(fleet, clusterOf('c', 'dc', { reachable: 'False' }))), false);
});

test('selectedDomains: the domains of selected clusters, healthy or not, sorted', () => {
  const fleet = fleetOf({ clusterSelector: { providers: ['onprem'] } });
  const facts = factsOf(fleet, [
    clusterOf('c', 'dc', { reachable: 'False' }),
    clusterOf('a', 'da'),
    clusterOf('b', 'db', { provider: 'eks' }),
  ]);
  assert.deepEqual(selectedDomains(facts), ['da', 'dc']);
});

// ---- ownership and state -----------------------------------------------------------------------

test('ownership: controlled by this Fleet (uid), none (adopt), or another', () => {
  const fleet = fleetOf();
  assert.equal(ownership(fleet, prodOf('p', 'a')), 'owned');
  assert.equal(ownership(fleet, prodOf('p', 'a', { owner: 'none' })), 'adopt');
  const other = fleetOf();
  other.metadata.uid = 'older-fleet-of-the-same-name';
  assert.equal(ownership(fleet, prodOf('p', 'a', { owner: other })), 'foreign');
});

test('prodState: each case of src/fleet/types.ts', () => {
  const fleet = fleetOf({ clusterSelector: { matchLabels: { use: 'yes' } } });
  const facts = (opts: Parameters<typeof clusterOf>[2] = {}) =>
    clusterFacts(fleet, clusterOf('a', 'da', { labels: { use: 'yes' }, ...opts }));
  const hosting = { hosting: true, draining: false };
  const empty = { hosting: false, draining: false };
  const ready = prodOf('p', 'a');
  const avoid = (opts: Parameters<typeof prodOf>[2] = {}) =>
    prodOf('p', 'a', { annotations: { [AVOID_ANNOTATION]: 'web-2.0.0' }, ...opts });
  const cases: [string, ReturnType<typeof prodState>, ReturnType<typeof prodState>][] = [
    ['serving in a healthy cluster', prodState(ready, facts(), hosting), 'open'],
    ['its cluster gone', prodState(ready, undefined, hosting), 'down'],
    ['cluster Reachable=False', prodState(ready, facts({ reachable: 'False' }), hosting), 'down'],
    [
      'cluster Reachable unknown',
      prodState(ready, { ...facts(), reachable: 'Unknown' }, hosting),
      'closed',
    ],
    ['cluster cordoned', prodState(ready, facts({ cordoned: true }), hosting), 'closed'],
    ['cluster not Ready', prodState(ready, facts({ ready: false }), hosting), 'closed'],
    [
      'cluster draining, not this Fleet’s drain yet',
      prodState(ready, facts({ drain: true }), hosting),
      'closed',
    ],
    [
      'cluster draining for this Fleet',
      prodState(ready, facts({ drain: true }), { hosting: true, draining: true }),
      'leaving',
    ],
    [
      'cluster no longer selected',
      prodState(ready, clusterFacts(fleet, clusterOf('a', 'da')), hosting),
      'leaving',
    ],
    [
      'retired, still serving',
      prodState(prodOf('p', 'a', { retired: true }), facts(), hosting),
      'leaving',
    ],
    [
      'scaled in',
      prodState(
        prodOf('p', 'a', { annotations: { [SCALE_IN_ANNOTATION]: 'x' } }),
        facts(),
        hosting,
      ),
      'leaving',
    ],
    [
      'retired and draining (not serving)',
      prodState(prodOf('p', 'a', { retired: true, phase: 'Draining' }), facts(), empty),
      'down',
    ],
    [
      'warming up, empty',
      prodState(prodOf('p', 'a', { phase: 'WarmingUp' }), facts(), empty),
      'closed',
    ],
    ['pending, empty', prodState(prodOf('p', 'a', { phase: 'Pending' }), facts(), empty), 'closed'],
    [
      'never warmed, hosting',
      prodState(prodOf('p', 'a', { phase: 'Provisioning' }), facts(), hosting),
      'down',
    ],
    [
      'rolling a new version out, hosting',
      prodState(prodOf('p', 'a', { phase: 'Provisioning', version: '0.9.0' }), facts(), hosting),
      'closed',
    ],
    [
      'Ready phase, Ready condition False, hosting',
      prodState(prodOf('p', 'a', { readyCondition: 'False' }), facts(), hosting),
      'down',
    ],
    [
      'InService',
      prodState(prodOf('p', 'a', { phase: 'InService', readyCondition: 'True' }), facts(), hosting),
      'open',
    ],
    ['avoided (a rollback), serving', prodState(avoid(), facts(), hosting), 'down'],
    ['avoided, empty', prodState(avoid(), facts(), empty), 'down'],
    [
      'avoided, set back and warming up',
      prodState(avoid({ phase: 'WarmingUp', version: '0.9.0' }), facts(), empty),
      'down',
    ],
    [
      'held (the router moves its Dual tenants; placement keeps them there, adds none)',
      prodState(prodOf('p', 'a', { annotations: { [HOLD_ANNOTATION]: 'r' } }), facts(), hosting),
      'closed',
    ],
  ];
  for (const [what, got, want] of cases) assert.equal(got, want, what);
});

test('counted: live Prods of selected clusters; a Retire drain stops counting, a Keep drain does not', () => {
  const retire = fleetOf();
  const keep = fleetOf({ drain: { prods: 'Keep' } });
  const draining = clusterFacts(retire, clusterOf('a', 'da', { drain: true }));
  assert.equal(counted(retire, prodOf('p', 'a'), draining), false);
  assert.equal(counted(keep, prodOf('p', 'a'), draining), true);
  const down = clusterFacts(retire, clusterOf('a', 'da', { reachable: 'False' }));
  assert.equal(
    counted(retire, prodOf('p', 'a'), down),
    true,
    'an unreachable cluster may come back',
  );
  const ok = clusterFacts(retire, clusterOf('a', 'da'));
  assert.equal(counted(retire, prodOf('p', 'a', { retired: true }), ok), false);
  assert.equal(
    counted(retire, prodOf('p', 'a', { annotations: { [SCALE_IN_ANNOTATION]: '' } }), ok),
    false,
  );
  assert.equal(counted(retire, prodOf('p', 'a'), undefined), false);
});

// ---- naming and spreading -----------------------------------------------------------------------

test('prodName: the smallest free n', () => {
  assert.equal(prodName('web', 'da', new Set()), 'web-da-1');
  assert.equal(prodName('web', 'da', new Set(['web-da-1', 'web-da-3'])), 'web-da-2');
  assert.equal(prodName('web', 'test', new Set(['web-test-1'])), 'web-test-2');
});

// ---- desiredProds ------------------------------------------------------------------------------

const desired = (
  fleet = fleetOf(),
  clusters = threeClusters(),
  prods: ReturnType<typeof prodOf>[] = [],
  standard?: number,
  used: Record<string, number> = {},
) =>
  desiredProds(fleet, {
    prods,
    clusters: factsOf(fleet, clusters),
    taken: new Set(prods.map((p) => p.metadata.name)),
    used,
    ...(standard !== undefined && { standard }),
  });

test('desiredProds perDomain: that many per domain, named, labelled, owned, from the template', () => {
  const fleet = fleetOf({
    prods: { perDomain: 2, testProds: 1 },
    template: {
      capacity: 40,
      components: [{ name: 'web', image: 'r/web:{{version}}' }],
      warmup: { minimumTime: '1s' },
    },
  });
  const d = desired(fleet);
  assert.deepEqual(
    d.create.map((p) => [p.metadata.name, p.spec.cluster, p.spec.role]),
    [
      ['web-da-1', 'a', 'standard'],
      ['web-da-2', 'a', 'standard'],
      ['web-db-1', 'b', 'standard'],
      ['web-db-2', 'b', 'standard'],
      ['web-dc-1', 'c', 'standard'],
      ['web-dc-2', 'c', 'standard'],
      ['web-test-1', 'a', 'test'],
    ],
  );
  const p = d.create[0]!;
  assert.deepEqual(p.metadata.labels, { [FLEET_LABEL]: 'web', [ROLE_LABEL]: 'standard' });
  assert.deepEqual(p.metadata.ownerReferences, [
    {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Fleet',
      name: 'web',
      uid: 'fleet-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(p.metadata.namespace, 'shop');
  assert.deepEqual(p.spec, {
    app: 'shop',
    version: '1.0.0',
    cluster: 'a',
    role: 'standard',
    capacity: 40,
    components: [{ name: 'web', image: 'r/web:{{version}}' }],
    warmup: { minimumTime: '1s' },
  });
  assert.equal(d.standard, 6);
  assert.deepEqual(d.domains, ['da', 'db', 'dc']);
  assert.equal(d.short, undefined);
});

test('desiredProds: in a domain, the eligible cluster with the fewest of its Prods', () => {
  const clusters = [
    clusterOf('a1', 'da'),
    clusterOf('a2', 'da'),
    clusterOf('a3', 'da', { cordoned: true }),
  ];
  const d = desired(fleetOf({ prods: { perDomain: 3 } }), clusters, [prodOf('web-da-1', 'a1')]);
  assert.deepEqual(
    d.create.map((p) => [p.metadata.name, p.spec.cluster]),
    [
      ['web-da-2', 'a2'],
      ['web-da-3', 'a1'],
    ],
  );
});

test('desiredProds: existing and hand-made (labelled, no owner) Prods count; names avoid every taken name', () => {
  const prods = [
    prodOf('web-da-1', 'a'),
    prodOf('mine', 'b', { owner: 'none' }),
    prodOf('web-db-1', 'b', { retired: true }),
  ];
  const fleet = fleetOf();
  const d = desiredProds(fleet, {
    prods,
    clusters: factsOf(fleet, threeClusters()),
    taken: new Set(['web-da-1', 'mine', 'web-db-1', 'web-da-2']),
    used: {},
  });
  assert.deepEqual(
    d.create.map((p) => p.metadata.name),
    ['web-da-3', 'web-db-2', 'web-dc-1', 'web-dc-2'],
    'the retired web-db-1 does not count; web-da-2 is some other Prod',
  );
});

test('desiredProds total: new Prods where the fewest are; surplus from where the most are, emptiest (then newest name) first', () => {
  const fleet = fleetOf({ prods: { total: 4 } });
  assert.deepEqual(
    desired(fleet, threeClusters(), [prodOf('web-dc-1', 'c')], 4).create.map(
      (p) => p.metadata.name,
    ),
    ['web-da-1', 'web-db-1', 'web-da-2'],
  );
  const prods = [
    prodOf('web-da-1', 'a'),
    prodOf('web-da-2', 'a'),
    prodOf('web-da-3', 'a'),
    prodOf('web-db-1', 'b'),
  ];
  const d = desired(fleet, [clusterOf('a', 'da'), clusterOf('b', 'db')], prods, 2, {
    'web-da-1': 3,
    'web-da-2': 1,
    'web-da-3': 1,
  });
  assert.deepEqual(d.create, []);
  assert.deepEqual(d.surplus, ['web-da-3', 'web-da-2']);
});

test('desiredProds total: a domain that comes back gets new Prods only; none is moved to it', () => {
  // Three in da and db while dc was away; dc is back: nothing is created or let go.
  const prods = [prodOf('web-da-1', 'a'), prodOf('web-da-2', 'a'), prodOf('web-db-1', 'b')];
  const d = desired(fleetOf({ prods: { total: 3 } }), threeClusters(), prods, 3);
  assert.deepEqual([d.create, d.surplus], [[], []]);
  // One more wanted: it goes to dc.
  assert.deepEqual(
    desired(fleetOf({ prods: { total: 4 } }), threeClusters(), prods, 4).create.map(
      (p) => p.metadata.name,
    ),
    ['web-dc-1'],
  );
});

test('desiredProds: a warming Prod is the first surplus', () => {
  const prods = [prodOf('web-da-1', 'a'), prodOf('web-da-2', 'a', { phase: 'WarmingUp' })];
  const d = desired(
    fleetOf({ prods: { perDomain: 1 } }),
    [clusterOf('a', 'da')],
    prods,
    undefined,
    { 'web-da-1': 0 },
  );
  assert.deepEqual(d.surplus, ['web-da-2']);
});

test('desiredProds: Prods of an unreachable or cordoned domain count and stay; no replacement', () => {
  const clusters = [
    clusterOf('a', 'da'),
    clusterOf('b', 'db'),
    clusterOf('c', 'dc', { reachable: 'False' }),
  ];
  const prods = ['da', 'db', 'dc'].flatMap((d) => [
    prodOf(`web-${d}-1`, d.slice(1)),
    prodOf(`web-${d}-2`, d.slice(1)),
  ]);
  const fleet = fleetOf({ prods: { total: 6 } });
  const d = desired(fleet, clusters, prods, 6);
  assert.deepEqual(d.create, []);
  assert.deepEqual(d.surplus, []);
  assert.deepEqual(d.domains, ['da', 'db', 'dc']);
  const per = desired(fleetOf(), clusters, prods);
  assert.deepEqual(per.create, []);
  assert.equal(per.standard, 6);
});

test('desiredProds: a cluster drained with Retire is replaced in its domain where possible', () => {
  const clusters = [
    clusterOf('a1', 'da', { drain: true }),
    clusterOf('a2', 'da'),
    clusterOf('b', 'db'),
  ];
  const prods = [prodOf('web-da-1', 'a1'), prodOf('web-db-1', 'b')];
  const fleet = fleetOf({ prods: { perDomain: 1 } });
  assert.deepEqual(
    desired(fleet, clusters, prods).create.map((p) => [p.metadata.name, p.spec.cluster]),
    [['web-da-2', 'a2']],
  );
  assert.deepEqual(
    desired(fleetOf({ prods: { perDomain: 1 }, drain: { prods: 'Keep' } }), clusters, prods).create,
    [],
  );
});

test('desiredProds: minDomains unreachable → ProdsShort; nothing eligible → NoClusterSelected', () => {
  const fleet = fleetOf({ prods: { total: 4, minDomains: 3 } });
  const d = desired(fleet, [clusterOf('a', 'da'), clusterOf('b', 'db')], [], 4);
  assert.equal(d.create.length, 4, 'what can be made is made');
  assert.equal(d.short?.reason, 'ProdsShort');
  assert.match(d.short?.message ?? '', /span 2 failure domains \(da, db\) but minDomains is 3/);
  const tooFew = desired(fleetOf({ prods: { total: 1, minDomains: 2 } }), threeClusters(), [], 1);
  assert.equal(tooFew.short?.reason, 'ProdsShort');
  assert.match(tooFew.short?.message ?? '', /1 standard Prods cannot span minDomains 2/);
  const none = desired(fleetOf(), [
    clusterOf('a', 'da', { cordoned: true }),
    clusterOf('b', 'db', { reachable: 'False' }),
  ]);
  assert.equal(none.create.length, 0);
  assert.equal(none.short?.reason, 'NoClusterSelected');
  assert.match(none.short?.message ?? '', /a: cordoned; b: unreachable/);
});

test('desiredProds: test Prods spread over domains, named <fleet>-test-<n>', () => {
  const fleet = fleetOf({ prods: { perDomain: 0, testProds: 2 } });
  assert.deepEqual(
    desired(fleet, threeClusters(), [prodOf('web-test-1', 'b', { role: 'test' })]).create.map(
      (p) => [p.metadata.name, p.spec.cluster],
    ),
    [['web-test-2', 'a']],
  );
});

// ---- standby Prods (a Release's strategy.standbyProds) -------------------------------------------

const standbyProd = (name: string, cluster: string, opts: Parameters<typeof prodOf>[2] = {}) => {
  const p = prodOf(name, cluster, opts);
  p.metadata.labels = { ...p.metadata.labels, [STANDBY_LABEL]: 'true' };
  return p;
};

test('prodState: a standby Prod is closed (no tenants) unless a rollback is under way', () => {
  const facts = clusterFacts(fleetOf(), clusterOf('a', 'da'));
  const p = standbyProd('web-standby-1', 'a');
  assert.equal(prodState(p, facts, { hosting: false, draining: false }), 'closed');
  assert.equal(prodState(p, facts, { hosting: true, draining: false }), 'closed');
  assert.equal(prodState(p, facts, { hosting: false, draining: false, rollback: true }), 'open');
  const warming = standbyProd('web-standby-1', 'a', { phase: 'WarmingUp' });
  assert.equal(
    prodState(warming, facts, { hosting: false, draining: false, rollback: true }),
    'closed',
  );
});

test('desiredProds standby: that many more, labelled, on the Fleet version, spread; not counted as standard', () => {
  const fleet = fleetOf({ prods: { perDomain: 1 } });
  const prods = ['a', 'b', 'c'].map((c) => prodOf(`web-d${c}-1`, c));
  const input = (standby: number, more: Prod[] = []) =>
    desiredProds(fleet, {
      prods: [...prods, ...more],
      clusters: factsOf(fleet, threeClusters()),
      taken: new Set([...prods, ...more].map((p) => p.metadata.name)),
      used: {},
      standby,
    });
  const d = input(2);
  assert.deepEqual(
    d.create.map((p) => [p.metadata.name, p.spec.cluster, p.spec.role, p.spec.version]),
    [
      ['web-standby-1', 'a', 'standard', '1.0.0'],
      ['web-standby-2', 'b', 'standard', '1.0.0'],
    ],
  );
  assert.deepEqual(d.create[0]!.metadata.labels, {
    [FLEET_LABEL]: 'web',
    [ROLE_LABEL]: 'standard',
    [STANDBY_LABEL]: 'true',
  });
  assert.equal(d.standard, 3);
  // Made: nothing more, and the standard count is unchanged (no standard Prod is surplus).
  const made = [standbyProd('web-standby-1', 'a'), standbyProd('web-standby-2', 'b')];
  const steady = input(2, made);
  assert.deepEqual([steady.create, steady.surplus], [[], []]);
  // No Release active any more: the standby Prods are surplus (scaled in: drained, then retired).
  assert.deepEqual(input(0, made).surplus.sort(), ['web-standby-1', 'web-standby-2']);
  assert.deepEqual(input(0, made).create, []);
});

test('desiredProds total without autoscale: the spec total is the count (none of them is surplus)', () => {
  const fleet = fleetOf({ prods: { total: 3 } });
  const prods = [prodOf('web-da-1', 'a'), prodOf('web-db-1', 'b'), prodOf('web-dc-1', 'c')];
  const d = desired(fleet, threeClusters(), prods);
  assert.deepEqual([d.create, d.surplus, d.standard], [[], [], 3]);
  assert.deepEqual(
    desired(fleet, threeClusters(), prods.slice(0, 1)).create.map((p) => p.metadata.name),
    ['web-db-1', 'web-dc-1'],
  );
});

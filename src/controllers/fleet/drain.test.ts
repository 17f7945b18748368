import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterFacts } from './clusters.js';
import {
  drainProgress,
  drainStages,
  planSummary,
  rebalanceBudget,
  type DrainEntry,
} from './drain.js';
import { T0, at, clusterOf, fleetOf, resultOf } from './testing.js';

test('drainStages: new or Blocked → plan, Planned → start, Moving → moving, Drained → drained', () => {
  const fleet = fleetOf();
  const clusters = ['a', 'b', 'c', 'd', 'e'].map((n) =>
    clusterFacts(fleet, clusterOf(n, `d${n}`, { drain: true })),
  );
  const entries: DrainEntry[] = [
    { cluster: 'b', phase: 'Blocked' },
    { cluster: 'c', phase: 'Planned' },
    { cluster: 'd', phase: 'Moving' },
    { cluster: 'e', phase: 'Drained' },
  ];
  const { stages, ended } = drainStages(clusters, new Set(['a']), entries);
  assert.deepEqual(
    [...stages],
    [
      ['a', 'plan'],
      ['b', 'plan'],
      ['c', 'start'],
      ['d', 'moving'],
      ['e', 'drained'],
    ],
  );
  assert.deepEqual(ended, []);
});

test('drainStages: a draining cluster without this Fleet’s Prods is none of its business; ended drains are listed', () => {
  const fleet = fleetOf({ clusterSelector: { providers: ['onprem'] } });
  const clusters = [
    clusterFacts(fleet, clusterOf('a', 'da', { drain: true })),
    clusterFacts(fleet, clusterOf('b', 'db')),
    clusterFacts(fleet, clusterOf('x', 'dx', { drain: true, provider: 'eks' })),
  ];
  const entries: DrainEntry[] = [
    { cluster: 'b', phase: 'Moving' },
    { cluster: 'gone', phase: 'Drained' },
  ];
  const { stages, ended } = drainStages(clusters, new Set(['b', 'x']), entries);
  assert.deepEqual([...stages], []);
  assert.deepEqual(
    ended.map((e) => e.cluster),
    ['b', 'gone'],
  );
});

test('planSummary: tenants and copies moved (new copies and promotions are not moves), bound, exposed, unplaceable', () => {
  const result = resultOf(
    {},
    {
      moves: [
        { tenant: 't1', copy: 'primary', from: 'p1', to: 'p2', reason: 'ProdLeaving' },
        { tenant: 't2', copy: 'primary', from: 'p1', to: 'p3', reason: 'ProdLeaving' },
        { tenant: 't2', copy: 'secondary', from: 'p3', to: 'p4', reason: 'Constraint' },
        { tenant: 't3', copy: 'primary', from: 'p1', to: 'p5', reason: 'Promoted' },
        { tenant: 't4', copy: 'primary', from: 'p1', reason: 'ProdLeaving' },
        { tenant: 't5', copy: 'primary', to: 'p2', reason: 'Placed' },
      ],
      unplaced: [{ tenant: 't4', copy: 'primary', reason: 'NoCapacity', message: 'no room' }],
      exposed: ['t9', 't3'],
      lowerBound: 4,
      lowerBoundReachable: false,
    },
  );
  assert.deepEqual(planSummary(result), {
    tenantsMoved: 2,
    copiesMoved: 3,
    lowerBound: 4,
    lowerBoundReachable: false,
    dualExposed: ['t3', 't9'],
    unplaceable: ['t4 (primary): no room'],
  });
  assert.deepEqual(planSummary(resultOf({})), {
    tenantsMoved: 0,
    copiesMoved: 0,
    lowerBound: 0,
    lowerBoundReachable: true,
  });
});

test('drainProgress: copies left there and who is stranded; Drained when none is left', () => {
  const entry: DrainEntry = { cluster: 'a', phase: 'Moving', startTime: at(T0), tenantsLeft: 5 };
  const there = new Set(['pa1', 'pa2']);
  const stuck = resultOf(
    { t1: { primary: 'pb1' }, t2: { primary: 'pa1', secondary: 'pb1' }, t3: { primary: 'pa2' } },
    {
      unplaced: [
        { tenant: 't3', copy: 'primary', reason: 'NoCapacity', message: 'no room' },
        { tenant: 'elsewhere', copy: 'primary', reason: 'NoCapacity', message: 'no room' },
      ],
    },
  );
  assert.deepEqual(drainProgress(entry, stuck, there), {
    cluster: 'a',
    phase: 'Moving',
    startTime: at(T0),
    tenantsLeft: 2,
    stranded: ['t3 (primary): no room'],
  });
  const done = resultOf({ t1: { primary: 'pb1' }, t2: { primary: 'pc1', secondary: 'pb1' } });
  assert.deepEqual(drainProgress({ ...entry, stranded: ['x'] }, done, there), {
    cluster: 'a',
    phase: 'Drained',
    startTime: at(T0),
    tenantsLeft: 0,
  });
});

test('rebalanceBudget: per minute since the last rebalance, one minute at most, never negative', () => {
  assert.deepEqual(rebalanceBudget(20, undefined, T0), { moves: 20, nextInMs: 0 });
  assert.deepEqual(rebalanceBudget(20, at(T0 - 10_000), T0), { moves: 3, nextInMs: 0 });
  assert.deepEqual(rebalanceBudget(20, at(T0 - 3600_000), T0), { moves: 20, nextInMs: 0 });
  assert.deepEqual(rebalanceBudget(20, at(T0 - 1000), T0), { moves: 0, nextInMs: 2000 });
  assert.deepEqual(rebalanceBudget(20, at(T0 + 5000), T0), { moves: 0, nextInMs: 3000 });
  assert.deepEqual(rebalanceBudget(0, undefined, T0), { moves: 0, nextInMs: Infinity });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../../runtime/conditions.js';
import type { MemberCluster, MemberClusterStatus } from '../../api/membercluster.js';
import { timestamp } from '../../runtime/time.js';
import { PROBE_RECORD_MAX_AGE_MS, probeWriteDue } from './reconciler.js';

const now = Date.parse('2025-01-01T00:10:00Z');
const at = (msAgo: number) => timestamp(new Date(now - msAgo));
const conditions: Condition[] = [
  {
    type: 'Reachable',
    status: 'True',
    reason: 'ProbeSucceeded',
    message: 'apiserver answers (v1.33.1)',
    lastTransitionTime: '2025-01-01T00:00:00Z',
    observedGeneration: 1,
  },
  {
    type: 'Ready',
    status: 'True',
    reason: 'ProbeSucceeded',
    message: '3/3 nodes Ready',
    lastTransitionTime: '2025-01-01T00:00:00Z',
    observedGeneration: 1,
  },
];
const facts = {
  kubernetesVersion: 'v1.33.1',
  nodes: { ready: 3, total: 3 },
  allocatable: { cpu: '48', memory: '192Gi' },
  prods: 2,
};

/** A MemberCluster whose stored status was written `msAgo` with these counters. */
function stored(msAgo: number, failures = 0, successes = 7): MemberCluster {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MemberCluster',
    metadata: { name: 'a', generation: 1 },
    spec: {
      kubeconfigSecretRef: { namespace: 'ns', name: 's' },
      provider: 'onprem',
      failureDomain: 'dc-a',
    },
    status: {
      observedGeneration: 1,
      conditions: structuredClone(conditions),
      ...structuredClone(facts),
      probe: {
        lastProbeTime: at(msAgo),
        consecutiveFailures: failures,
        consecutiveSuccesses: successes,
      },
    },
  } as MemberCluster;
}

/** What a probe now would write. */
function probed(
  failures = 0,
  successes = 8,
  extra: Partial<MemberClusterStatus> = {},
): Partial<MemberClusterStatus> {
  return {
    ...structuredClone(facts),
    ...extra,
    probe: {
      lastProbeTime: at(0),
      consecutiveFailures: failures,
      consecutiveSuccesses: successes,
    },
  };
}

const due = (mc: MemberCluster, status: Partial<MemberClusterStatus>, conds = conditions) =>
  probeWriteDue(mc, status, structuredClone(conds), 2, now);

test('probeWriteDue: a steady cluster is written only once its lastProbeTime is a minute old', () => {
  assert.equal(due(stored(10_000), probed()), false);
  assert.equal(due(stored(PROBE_RECORD_MAX_AGE_MS - 1000), probed()), false);
  assert.equal(due(stored(PROBE_RECORD_MAX_AGE_MS), probed()), true);
  const none = stored(10_000);
  delete none.status!.probe;
  assert.equal(due(none, probed()), true);
  const fresh = stored(10_000);
  delete fresh.status;
  assert.equal(due(fresh, probed()), true);
});

test('probeWriteDue: any change of a condition, a fact or the generation is written', () => {
  const changed = structuredClone(conditions);
  changed[1]!.message = '2/3 nodes Ready';
  assert.equal(due(stored(10_000), probed(), changed), true);
  assert.equal(due(stored(10_000), probed(0, 8, { nodes: { ready: 2, total: 3 } })), true);
  assert.equal(due(stored(10_000), probed(0, 8, { allocatable: { cpu: '32' } })), true);
  assert.equal(due(stored(10_000), probed(0, 8, { kubernetesVersion: 'v1.33.2' })), true);
  assert.equal(due(stored(10_000), probed(0, 8, { prods: 3 })), true);
  const respecced = stored(10_000);
  respecced.metadata.generation = 2;
  assert.equal(due(respecced, probed()), true);
  // A failed probe leaves the facts out: kept, not changed.
  const { probe } = probed();
  assert.equal(due(stored(10_000), { prods: 2, probe }), false);
});

test('probeWriteDue: every probe is written while Reachable counts, and the one that ends it', () => {
  assert.equal(due(stored(10_000), probed(1, 0)), true, 'a failure');
  assert.equal(due(stored(10_000, 1, 0), probed(2, 0)), true, 'failures go on');
  assert.equal(due(stored(10_000, 1, 0), probed(0, 1)), true, 'recovering');
  assert.equal(due(stored(10_000, 0, 1), probed(0, 2)), true, 'the count ends');
  assert.equal(due(stored(10_000, 0, 2), probed(0, 3)), false, 'steady again');
});

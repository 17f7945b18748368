import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { Condition } from '../../runtime/conditions.js';
import { AT_ONCE_MS, SYNC_RECORD_MAX_AGE_MS, nextSyncDelay, statusWriteDue } from './schedule.js';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const ready: Condition = {
  type: 'Ready',
  status: 'True',
  reason: 'InSync',
  message: 'mirrored',
  lastTransitionTime: '2026-01-01T00:00:00Z',
  observedGeneration: 3,
};
function mirror(lastSyncTime = '2026-01-01T00:00:00Z'): LoadBalancerMirror {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name: 'web', namespace: 'shop', generation: 3 },
    spec: {} as LoadBalancerMirror['spec'],
    status: {
      observedGeneration: 3,
      conditions: [ready],
      membersSeen: 2,
      targetsRegistered: 2,
      notMirrored: [],
      lastSyncTime,
    },
  } as LoadBalancerMirror;
}
const same = { membersSeen: 2, targetsRegistered: 2, notMirrored: [], loadBalancer: undefined };

test('status is written when something changed, else at most once a minute', () => {
  const at = (ms: number) => t0 + ms;
  // Nothing changed but lastSyncTime: not written within the minute, written after it.
  assert.equal(
    statusWriteDue(mirror(), { ...same, lastSyncTime: 'later' }, [ready], at(30_000)),
    false,
  );
  assert.equal(statusWriteDue(mirror(), same, [ready], at(SYNC_RECORD_MAX_AGE_MS)), true);
  // A field, a condition, the generation, no status yet: written at once.
  assert.equal(statusWriteDue(mirror(), { ...same, targetsRegistered: 3 }, [ready], at(1)), true);
  assert.equal(
    statusWriteDue(mirror(), same, [{ ...ready, message: 'mirrored; 1 feature' }], at(1)),
    true,
  );
  const bumped = mirror();
  bumped.metadata.generation = 4;
  assert.equal(statusWriteDue(bumped, same, [ready], at(1)), true);
  const fresh = mirror();
  delete fresh.status;
  assert.equal(statusWriteDue(fresh, same, [ready], at(1)), true);
  // No lastSyncTime stored: written.
  const never = mirror();
  delete never.status!.lastSyncTime;
  assert.equal(statusWriteDue(never, same, [ready], at(1)), true);
});

test('the next sync starts one interval after the previous one started, jitter only downwards', () => {
  assert.equal(nextSyncDelay(60_000, 0, 1), 60_000);
  assert.equal(nextSyncDelay(60_000, 0, 0), 54_000);
  assert.equal(nextSyncDelay(60_000, 5_000, 1), 55_000, 'the time the sync took is subtracted');
  // Never 0: the controller reads requeueAfterMs 0 as "do not requeue", and a mirror whose
  // sync once took longer than its interval was then never synced again.
  assert.equal(
    nextSyncDelay(60_000, 70_000, 0.5),
    AT_ONCE_MS,
    'a sync longer than the interval: at once',
  );
  assert.equal(nextSyncDelay(10_000, 9_000, 0), AT_ONCE_MS, 'exactly used up: at once too');
  for (let i = 0; i < 100; i++) {
    const d = nextSyncDelay(10_000, 0);
    assert.ok(d >= 9_000 && d <= 10_000, String(d));
  }
});

// When a mirror's status is written and when its next sync runs: pure decisions, unit-tested in
// schedule.test.ts.
import { isDeepStrictEqual } from 'node:util';
import type { Condition } from '../../runtime/conditions.js';
import type { LoadBalancerMirror, LoadBalancerMirrorStatus } from '../../api/loadbalancermirror.js';

/** A status that changed nothing else is still written this often, so lastSyncTime shows the controller alive. */
export const SYNC_RECORD_MAX_AGE_MS = 60_000;

/** As the API server stores it: undefined fields dropped. */
const stored = (v: unknown): unknown =>
  v === undefined ? undefined : JSON.parse(JSON.stringify(v));

/**
 * Whether a sync's status is worth writing (as MemberCluster's probeWriteDue): the generation,
 * a condition or any status field other than lastSyncTime changed, or the stored lastSyncTime
 * is SYNC_RECORD_MAX_AGE_MS old. Judged against the cache: one that does not show the last
 * write yet costs at most one write more.
 */
export function statusWriteDue(
  mirror: LoadBalancerMirror,
  status: Partial<LoadBalancerMirrorStatus>,
  conditions: Condition[],
  now = Date.now(),
): boolean {
  const old = mirror.status;
  if (!old || old.observedGeneration !== mirror.metadata.generation) return true;
  if (!isDeepStrictEqual(stored(conditions), stored(old.conditions ?? []))) return true;
  for (const [key, value] of Object.entries(status)) {
    if (key === 'lastSyncTime') continue;
    if (!isDeepStrictEqual(stored(value), stored(old[key as keyof typeof old]))) return true;
  }
  const last = Date.parse(old.lastSyncTime ?? '');
  return Number.isNaN(last) || now - last >= SYNC_RECORD_MAX_AGE_MS;
}

/** The smallest delay that still requeues: to the controller, requeueAfterMs 0 means none. */
export const AT_ONCE_MS = 1;

/**
 * How long after a sync that took `elapsedMs` the next one starts: `interval` after this one
 * started, less up to 10 % so that many mirrors do not sync in the same second (never later
 * than the interval); at once (AT_ONCE_MS, never 0) when the sync took longer than that.
 */
export function nextSyncDelay(
  intervalMs: number,
  elapsedMs: number,
  random = Math.random(),
): number {
  return Math.max(AT_ONCE_MS, Math.round(intervalMs * (0.9 + random * 0.1) - elapsedMs));
}

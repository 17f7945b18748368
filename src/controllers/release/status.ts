// The one Release status write of a reconcile (only when it differs from what is stored), its
// events and metrics.
import type { ReconcileContext } from '../../runtime/controller.js';
import { updateStatus } from '../../runtime/objects.js';
import { keyOf } from '../../runtime/informer.js';
import type { Release, ReleaseStatus } from '../../api/release.js';
import { releaseGvr, type ReleaseEnv } from './context.js';
import type { Decision } from './plan.js';

export async function writeStatus(
  env: ReleaseEnv,
  key: string,
  release: Release,
  status: ReleaseStatus,
  ctx: ReconcileContext,
): Promise<void> {
  const from = release.metadata.resourceVersion ?? '';
  const after = await updateStatus<ReleaseStatus, Release>(
    env.mgr.rest,
    releaseGvr,
    release,
    () => status,
  );
  if (after.metadata.resourceVersion !== from) {
    ctx.log.debug({ phase: status.phase, wave: status.currentWave }, 'Release status written');
    env.expectations.expect(key, 'releases', keyOf(release), { kind: 'updated', from });
  }
}

/** Records a decision's events on the Release and its metrics (never fails the reconcile). */
export function record(env: ReleaseEnv, release: Release, d: Decision): void {
  for (const e of d.events) void env.mgr.events.record({ regarding: release, ...e });
  const labels = { namespace: release.metadata.namespace ?? '', fleet: release.spec.fleet };
  for (const o of d.observations)
    (o.metric === 'waveDuration' ? env.metrics.waveDuration : env.metrics.rollback).observe(
      labels,
      o.seconds,
    );
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

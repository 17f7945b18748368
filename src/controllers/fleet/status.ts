// The one Fleet status write of a reconcile (what decide() says, only when it differs from what
// is stored) and the events that follow it.
import type { ReconcileContext } from '../../runtime/controller.js';
import { updateStatus } from '../../runtime/objects.js';
import { keyOf } from '../../runtime/informer.js';
import type { Fleet, FleetStatus } from '../../api/fleet.js';
import { fleetGvr, type FleetEnv } from './context.js';
import type { Decision } from './plan.js';
import { carryForeign } from './foreign.js';

export async function writeStatus(
  env: FleetEnv,
  owner: string,
  fleet: Fleet,
  status: FleetStatus,
  ctx: ReconcileContext,
): Promise<void> {
  const from = fleet.metadata.resourceVersion ?? '';
  ctx.log.debug({ desired: status.desiredProds, ready: status.readyProds }, 'write Fleet status');
  // On a 409 the object is read again: the parts other controllers wrote in between are kept.
  const after = await updateStatus<FleetStatus, Fleet>(env.mgr.rest, fleetGvr, fleet, (fresh) =>
    carryForeign(fresh.status, status),
  );
  if (after.metadata.resourceVersion !== from)
    env.expectations.expect(owner, 'fleets', keyOf(fleet), { kind: 'updated', from });
}

/** Records a decision's events on the Fleet (never fails the reconcile). */
export function recordEvents(env: FleetEnv, fleet: Fleet, events: Decision['events']): void {
  for (const e of events) void env.mgr.events.record({ regarding: fleet, ...e });
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

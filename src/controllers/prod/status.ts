// The one status write of a reconcile (what decide() says, only when it differs from what is
// stored) and the events that follow it.
import { isDeepStrictEqual } from 'node:util';
import type { ReconcileContext } from '../../runtime/controller.js';
import { updateStatus } from '../../runtime/objects.js';
import type { Prod, ProdStatus } from '../../api/prod.js';
import { prodGvr, remember, type ProdEnv } from './context.js';
import type { ProdEvent } from './plan.js';

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Writes `status` unless the Prod already holds it; remembers and returns the Prod as written. */
export async function writeStatus(
  env: ProdEnv,
  key: string,
  prod: Prod,
  status: ProdStatus,
  ctx: ReconcileContext,
): Promise<Prod> {
  if (isDeepStrictEqual(status, prod.status)) return prod;
  ctx.log.debug({ phase: status.phase }, 'write status');
  const updated = await updateStatus<ProdStatus, Prod>(env.mgr.rest, prodGvr, prod, () => status);
  return remember(env, key, updated);
}

/** Records the events of a decision about `prod` (never fails the reconcile). */
export function recordEvents(env: ProdEnv, prod: Prod, events: readonly ProdEvent[]): void {
  for (const e of events) void env.mgr.events.record({ regarding: prod, ...e });
}

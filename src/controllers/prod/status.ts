// The status a reconcile builds (Draft) and the write that records it, with an event for each
// phase change. An early stop (the runtime's TerminalError) becomes its Ready condition.
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { updateStatus } from '../../runtime/objects.js';
import { timestamp } from '../../runtime/time.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { Prod, ProdPhase, ProdStatus } from '../../api/prod.js';
import { prodGvr, remember, type ProdEnv } from './context.js';

/** The status a reconcile builds, written once (or twice around a long warm-up). */
export class Draft {
  conditions: Condition[];
  fields: Partial<ProdStatus> = {};
  phase: ProdPhase;

  constructor(public prod: Prod) {
    this.conditions = [...((prod.status?.conditions ?? []) as Condition[])];
    this.phase = prod.status?.phase ?? 'Pending';
  }

  set(type: string, status: Condition['status'], reason: string, message: string): void {
    this.conditions = setCondition(
      this.conditions,
      { type, status, reason, message },
      this.prod.metadata.generation,
    );
  }
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Writes the draft (nothing when it equals what is stored) and remembers the result. Fields the
 * draft does not set keep their stored value; fields it sets to undefined are removed.
 */
export async function writeStatus(env: ProdEnv, key: string, draft: Draft): Promise<Prod> {
  const { prod } = draft;
  const old = prod.status?.phase;
  const moved = old !== draft.phase;
  const updated = await updateStatus<ProdStatus, Prod>(env.mgr.rest, prodGvr, prod, (fresh) => {
    const st = fresh.status ?? {};
    const status: ProdStatus = {
      ...st,
      ...draft.fields,
      observedGeneration: prod.metadata.generation,
      phase: draft.phase,
      phaseSince: st.phase === draft.phase && st.phaseSince ? st.phaseSince : timestamp(),
      conditions: draft.conditions,
    };
    // A draft field set to undefined is left out (and an unchanged status is not written again).
    for (const k of Object.keys(status) as (keyof ProdStatus)[])
      if (status[k] === undefined) delete status[k];
    return status;
  });
  if (moved) {
    const ready = draft.conditions.find((c) => c.type === ConditionType.Ready);
    void env.mgr.events.record({
      regarding: prod,
      type: ready?.reason === Reason.WarmupFailed ? 'Warning' : 'Normal',
      reason: draft.phase,
      action: 'Lifecycle',
      note: `${old ?? 'new'} → ${draft.phase}${ready?.message ? `: ${ready.message}` : ''}`,
    });
  }
  return remember(env, key, updated);
}

// Parts of a Fleet's status that other controllers write: status.source and condition
// SourceReady (the source poller), status.release (the Release controller). The Fleet
// controller computes the rest of the status wholesale; these it carries forward as stored —
// never counted as its own change, never overwritten with an older copy when a write is
// retried after a 409.
import { ConditionType } from '../../api/conditions.js';
import type { FleetStatus } from '../../api/fleet.js';

const FOREIGN_CONDITIONS: readonly string[] = [ConditionType.SourceReady];

/** `into` with the foreign parts as `from` has them (present or absent). */
export function carryForeign(from: FleetStatus | undefined, into: FleetStatus): FleetStatus {
  const out: FleetStatus = { ...into };
  for (const field of ['source', 'release'] as const) {
    if (from?.[field] !== undefined) (out as Record<string, unknown>)[field] = from[field];
    else delete out[field];
  }
  const theirs = new Map(
    (from?.conditions ?? [])
      .filter((c) => FOREIGN_CONDITIONS.includes(c.type))
      .map((c) => [c.type, c]),
  );
  if (!out.conditions && theirs.size === 0) return out;
  // Each in its place when `into` has it, else appended; gone when `from` has none.
  const conditions = (out.conditions ?? []).flatMap((c) => {
    if (!FOREIGN_CONDITIONS.includes(c.type)) return [c];
    const kept = theirs.get(c.type);
    theirs.delete(c.type);
    return kept ? [kept] : [];
  });
  out.conditions = [...conditions, ...theirs.values()];
  return out;
}

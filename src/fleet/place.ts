// Tenant placement (issue 12): where every tenant's copies go, moving as few as the change
// forces. One step: copies that must move (forced.ts) are placed first, exactly at the level of
// failure domains (assign.ts); then new copies; then at most `rebalanceMoves` moves that only
// even out fill (rebalance.ts). Pure and deterministic: inputs are sorted by name, ties broken
// by a rendezvous hash of tenant and Prod.
import type { Assignment, Move, PlacementInput, PlacementResult, Unplaced } from './types.js';
import { buildPools, indexFleet, rebuildHeaps } from './room.js';
import { indexTenants, newStep, type Need, type Step } from './step.js';
import { decide } from './forced.js';
import { applyBatch, planBatch, unplace } from './assign.js';
import { rebalance } from './rebalance.js';
import { explain } from './explain.js';

export function place(input: PlacementInput): PlacementResult {
  const f = indexFleet(input.prods);
  const ts = indexTenants(input.tenants, f);
  const s = newStep(f, ts);
  const { forced, fresh } = decide(s, input.previous);
  buildPools(f);
  const reachable = placeForced(s, forced);
  // A Dual tenant's new secondary waits for a primary: without one it is unplaced too.
  const orphans = fresh.filter((n) => !n.partner && n.copy === 'secondary' && s.prim[n.t]! < 0);
  for (const n of orphans) {
    s.unplaced.push(n);
    s.moved[n.t] = 1;
  }
  const waiting = new Set(orphans);
  const batch = planBatch(
    s,
    fresh.filter((n) => !waiting.has(n)),
  );
  for (const n of applyBatch(batch, true)) unplace(s, n);
  rebalance(s, input.rebalanceMoves ?? 0);

  const assignment: Assignment = {};
  const exposed: string[] = [];
  for (let t = 0; t < ts.names.length; t++) {
    const [p, q] = [s.prim[t]!, s.sec[t]!];
    if (p < 0 && q >= 0)
      throw new Error(`placement: ${ts.names[t]} has a secondary and no primary`);
    if (p >= 0)
      assignment[ts.names[t]!] =
        q >= 0 ? { primary: f.names[p]!, secondary: f.names[q]! } : { primary: f.names[p]! };
    if (ts.dual[t] === 1 && (p < 0 || q < 0)) exposed.push(ts.names[t]!);
  }
  // By tenant, in the order they happened (a counting sort: there can be one per copy).
  const start = new Int32Array(ts.names.length + 1);
  for (const m of s.moves) start[m.t + 1]!++;
  for (let t = 0; t < ts.names.length; t++) start[t + 1]! += start[t]!;
  const moves = new Array<Move>(s.moves.length);
  for (const m of s.moves) {
    const move: Move = { tenant: ts.names[m.t]!, copy: m.copy, reason: m.reason };
    if (m.from !== undefined) move.from = m.from;
    if (m.to !== undefined) move.to = m.to;
    moves[start[m.t]!++] = move;
  }
  const unplaced: Unplaced[] = [...s.unplaced]
    .sort((a: Need, b: Need) => a.t - b.t || (a.copy === 'primary' ? -1 : 1))
    .map((n) => explain(s, n));
  const used: Record<string, number> = {};
  f.names.forEach((name, p) => (used[name] = f.used[p]!));
  return {
    assignment,
    moves,
    unplaced,
    exposed,
    lowerBound: s.lowerBound,
    lowerBoundReachable: reachable,
    used,
    pending: s.pending,
  };
}

/**
 * Places the copies that must move; returns whether all of them can (Hall's condition, by the
 * flow). Copies that move free their room for the others, so the flow first counts that room
 * free; if it routes everything and the copies then fit, done. Otherwise that is undone and
 * copies that still serve keep their room (they stay if they cannot move) and the rest is
 * placed around them.
 */
function placeForced(s: Step, forced: readonly Need[]): boolean {
  const { fleet: f, tenants: ts } = s;
  const serving = forced.filter((n) => n.stay >= 0);
  const hold = (sign: number) => {
    for (const n of serving) f.used[n.stay]! += sign * ts.size[n.t]!;
    rebuildHeaps(f);
  };
  hold(-1);
  const batch = planBatch(s, forced);
  const reachable = batch.routed >= batch.demand;
  if (reachable) {
    const before = {
      used: f.used.slice(),
      prim: s.prim.slice(),
      sec: s.sec.slice(),
      moved: s.moved.slice(),
      moves: s.moves.length,
    };
    if (applyBatch(batch, false).length === 0) return true;
    f.used.set(before.used);
    s.prim.set(before.prim);
    s.sec.set(before.sec);
    s.moved.set(before.moved);
    s.moves.length = before.moves;
  }
  hold(+1);
  for (const n of applyBatch(planBatch(s, forced), true)) unplace(s, n);
  return reachable;
}

// Cluster drains as one Fleet lives them, and the gradual rebalance after. A drain of a cluster
// holding this Fleet's Prods goes Planned (the plan is computed and written into status first)
// → Moving (its Prods are `leaving`: placement moves their tenants, Dual tenants keep a copy
// serving) → Drained (no tenant copy left there; the Prods are then retired or kept idle as
// spec.drain.prods says). A plan that would strand tenants is Blocked and nothing moves until a
// new plan strands no one. Drain back to false: the entry goes and tenants return only as the
// rebalance budget allows. Pure.
import type { FleetStatus } from '../../api/fleet.js';
import type { PlacementResult } from '../../fleet/types.js';
import { countsAgainstBound } from '../../fleet/plan.js';
import type { ClusterFacts } from './clusters.js';

export type DrainEntry = NonNullable<FleetStatus['drains']>[number];
export type PlanSummary = NonNullable<DrainEntry['plan']>;

/** What this reconcile does about a drain: plan it (new or Blocked), start moving, or go on. */
export type DrainStage = 'plan' | 'start' | 'moving' | 'drained';

/** Lists in status are cut here (the schema's maxItems). */
export const LIST_MAX = 50;

/**
 * The drains that concern the Fleet — selected clusters with spec.drain that hold its live Prods
 * or already have an entry — with their stage, and the entries whose drain ended.
 */
export function drainStages(
  clusters: readonly ClusterFacts[],
  liveProdClusters: ReadonlySet<string>,
  entries: readonly DrainEntry[],
): { stages: Map<string, DrainStage>; ended: DrainEntry[] } {
  const prev = new Map(entries.map((e) => [e.cluster, e]));
  const stages = new Map<string, DrainStage>();
  for (const c of clusters) {
    if (!c.drain || !c.selected) continue;
    const e = prev.get(c.name);
    if (!e && !liveProdClusters.has(c.name)) continue;
    stages.set(
      c.name,
      !e || e.phase === 'Blocked'
        ? 'plan'
        : e.phase === 'Planned'
          ? 'start'
          : e.phase === 'Moving'
            ? 'moving'
            : 'drained',
    );
  }
  return { stages, ended: entries.filter((e) => !stages.has(e.cluster)) };
}

/** A placement result as a drain's or a scale-in's plan: what it moves, exposes, cannot place. */
export function planSummary(result: PlacementResult): PlanSummary {
  // As the lower bound counts them: a copy that changed Prod (not a new copy, not a promotion).
  const moves = result.moves.filter(countsAgainstBound);
  const summary: PlanSummary = {
    tenantsMoved: new Set(moves.map((m) => m.tenant)).size,
    copiesMoved: moves.length,
    lowerBound: result.lowerBound,
    lowerBoundReachable: result.lowerBoundReachable,
  };
  if (result.exposed.length) summary.dualExposed = [...result.exposed].sort().slice(0, LIST_MAX);
  if (result.unplaced.length) summary.unplaceable = unplacedText(result).slice(0, LIST_MAX);
  return summary;
}

export function unplacedText(result: PlacementResult, tenants?: ReadonlySet<string>): string[] {
  return result.unplaced
    .filter((u) => !tenants || tenants.has(u.tenant))
    .map((u) => `${u.tenant} (${u.copy}): ${u.message}`)
    .sort();
}

/** The tenants with a copy on one of `prods` in an assignment, and how many copies. */
export function copiesOn(
  assignment: PlacementResult['assignment'],
  prods: ReadonlySet<string>,
): { tenants: Set<string>; copies: number } {
  const tenants = new Set<string>();
  let copies = 0;
  for (const [t, a] of Object.entries(assignment))
    for (const p of [a.primary, a.secondary])
      if (p !== undefined && prods.has(p)) {
        tenants.add(t);
        copies++;
      }
  return { tenants, copies };
}

/** A moving drain after this step: copies left there, who is stranded, Drained when none left. */
export function drainProgress(
  entry: DrainEntry,
  result: PlacementResult,
  prodsThere: ReadonlySet<string>,
): DrainEntry {
  const left = copiesOn(result.assignment, prodsThere);
  const stranded = unplacedText(result, left.tenants).slice(0, LIST_MAX);
  const next: DrainEntry = {
    ...entry,
    phase: left.copies === 0 ? 'Drained' : 'Moving',
    tenantsLeft: left.copies,
  };
  if (stranded.length) next.stranded = stranded;
  else delete next.stranded;
  return next;
}

/**
 * Rebalance moves allowed now: `perMinute` × minutes since the last rebalance, at most one
 * minute's worth (never a burst); and how long until the next move is allowed.
 */
export function rebalanceBudget(
  perMinute: number,
  lastRebalanceTime: string | undefined,
  now: number,
): { moves: number; nextInMs: number } {
  if (perMinute <= 0) return { moves: 0, nextInMs: Infinity };
  const last = lastRebalanceTime ? Date.parse(lastRebalanceTime) : undefined;
  if (last === undefined || Number.isNaN(last)) return { moves: perMinute, nextInMs: 0 };
  const elapsed = Math.max(0, now - last);
  const moves = Math.min(perMinute, Math.floor((perMinute * elapsed) / 60_000));
  return { moves, nextInMs: moves > 0 ? 0 : Math.ceil(60_000 / perMinute - elapsed) };
}

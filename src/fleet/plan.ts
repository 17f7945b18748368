// Dry runs for `kachiku plan drain|retire` and the Fleet's status: the placement step that
// marking a cluster's Prods, or one Prod, leaving (or changing a Prod's capacity) would take,
// and its summary.
import type { Move, PlacementInput, PlacementProd, PlacementResult, Unplaced } from './types.js';
import { place } from './place.js';

/** The step draining `cluster` would take: its Prods leaving (down ones stay down). */
export function planDrain(input: PlacementInput, cluster: string): PlacementResult {
  return place(
    withProds(input, `no Prod in cluster ${cluster}`, (p) => p.cluster === cluster, leaving),
  );
}

/** The step retiring Prod `prod` would take. */
export function planRetire(input: PlacementInput, prod: string): PlacementResult {
  return place(withProds(input, `no Prod named ${prod}`, (p) => p.name === prod, leaving));
}

/** The step setting Prod `prod`'s capacity to `capacity` units would take. */
export function planCapacity(
  input: PlacementInput,
  prod: string,
  capacity: number,
): PlacementResult {
  return place(
    withProds(
      input,
      `no Prod named ${prod}`,
      (p) => p.name === prod,
      (p) => ({ ...p, capacity }),
    ),
  );
}

const leaving = (p: PlacementProd): PlacementProd =>
  p.state === 'down' ? p : { ...p, state: 'leaving' };

function withProds(
  input: PlacementInput,
  missing: string,
  which: (p: PlacementProd) => boolean,
  change: (p: PlacementProd) => PlacementProd,
): PlacementInput {
  if (!input.prods.some(which)) throw new Error(missing);
  return { ...input, prods: input.prods.map((p) => (which(p) ? change(p) : p)) };
}

/** Moves the lower bound counts: a copy that changed Prod, not a new copy nor a promotion. */
export const countsAgainstBound = (m: Move): boolean =>
  m.to !== undefined && m.from !== undefined && m.reason !== 'Placed' && m.reason !== 'Promoted';

export interface PlanSummary {
  /** Tenants with at least one copy moving (promotions and new copies aside). */
  tenantsMoved: number;
  copiesMoved: number;
  /** Dual tenants left with one serving copy. */
  dualExposed: string[];
  unplaceable: Unplaced[];
  lowerBound: number;
  lowerBoundReachable: boolean;
  /** Copies that must still move in a later step. */
  pending: number;
}

export function summarizePlan(result: PlacementResult): PlanSummary {
  const moved = result.moves.filter(countsAgainstBound);
  return {
    tenantsMoved: new Set(moved.map((m) => m.tenant)).size,
    copiesMoved: moved.length,
    dualExposed: result.exposed,
    unplaceable: result.unplaced,
    lowerBound: result.lowerBound,
    lowerBoundReachable: result.lowerBoundReachable,
    pending: result.pending,
  };
}

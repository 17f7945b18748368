// Fill (used / capacity) per Prod and per failure domain, for the Fleet's status and the CLI.
import type { PlacementProd } from './types.js';

export interface Fill {
  used: number;
  capacity: number;
  /** used / capacity; 0 for an empty Prod of no capacity, Infinity for a full one. */
  fill: number;
}

export interface FleetFill {
  prods: Record<string, Fill>;
  /** Over the domain's open and closed Prods: the capacity that stays (leaving and down do not). */
  domains: Record<string, Fill>;
}

/** `used` as in PlacementResult.used; Prods missing from it host nothing. */
export function fill(prods: readonly PlacementProd[], used: Record<string, number>): FleetFill {
  const out: FleetFill = { prods: {}, domains: {} };
  const sorted = [...prods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of sorted) {
    const u = used[p.name] ?? 0;
    out.prods[p.name] = of(u, p.capacity);
    if (p.state !== 'open' && p.state !== 'closed') continue;
    const d = (out.domains[p.domain] ??= of(0, 0));
    d.used += u;
    d.capacity += p.capacity;
  }
  for (const d of Object.values(out.domains)) d.fill = of(d.used, d.capacity).fill;
  return out;
}

const of = (used: number, capacity: number): Fill => ({
  used,
  capacity,
  fill: capacity > 0 ? used / capacity : used > 0 ? Infinity : 0,
});

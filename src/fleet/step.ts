// The working state of one placement step: the tenants indexed (sorted by name), where each
// one's copies are, the copies still to place, and the moves so far.
import type { MoveReason, PlacementTenant } from './types.js';
import type { Fleet } from './room.js';
import { fnv1a } from './hash.js';

export type Slot = 'primary' | 'secondary';

export interface Tenants {
  names: string[];
  size: Int32Array;
  dual: Uint8Array;
  test: Uint8Array;
  hash: Uint32Array;
  /** The failure domain a pin prefers (a pinned cluster's domain), -1 for none or unknown. */
  pinDomain: Int32Array;
  pinCluster: Int32Array;
}

/** A copy to place: a tenant's new copy (Placed) or one that must leave its Prod. */
export interface Need {
  t: number;
  /** The slot it will fill. */
  copy: Slot;
  from?: string;
  reason: MoveReason;
  /** Counted in the lower bound: it must move (not a new copy). */
  counted: boolean;
  /** The Prod it stays on, still serving, if it cannot be placed (leaving, over capacity). */
  stay: number;
  /** The other copy of a Dual tenant that has neither, placed together. */
  partner?: Need;
}

export interface StepMove {
  t: number;
  copy: Slot;
  from?: string;
  to?: string;
  reason: MoveReason;
}

export interface Step {
  fleet: Fleet;
  tenants: Tenants;
  /** Prod index of each tenant's primary and secondary, -1 for none. */
  prim: Int32Array;
  sec: Int32Array;
  moves: StepMove[];
  /** Tenants with a copy moved, placed or promoted this step: rebalancing leaves them alone. */
  moved: Uint8Array;
  lowerBound: number;
  /** Copies left this step where they must not stay (make before break, or nowhere to go). */
  pending: number;
  unplaced: Need[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function indexTenants(input: readonly PlacementTenant[], f: Fleet): Tenants {
  const tenants = [...input].sort((a, b) => byName(a.name, b.name));
  const n = tenants.length;
  const ts: Tenants = {
    names: tenants.map((t) => t.name),
    size: new Int32Array(n),
    dual: new Uint8Array(n),
    test: new Uint8Array(n),
    hash: new Uint32Array(n),
    pinDomain: new Int32Array(n).fill(-1),
    pinCluster: new Int32Array(n).fill(-1),
  };
  tenants.forEach((t, i) => {
    if (i > 0 && ts.names[i - 1] === t.name)
      throw new Error(`placement: two tenants named ${t.name}`);
    if (!Number.isInteger(t.size) || t.size < 1)
      throw new Error(`placement: tenant ${t.name} has size ${t.size}, not an integer ≥ 1`);
    ts.size[i] = t.size;
    ts.dual[i] = t.redundancy === 'Dual' ? 1 : 0;
    ts.test[i] = t.test ? 1 : 0;
    ts.hash[i] = fnv1a(t.name);
    const cluster = t.pin?.cluster === undefined ? undefined : f.clusterIndex.get(t.pin.cluster);
    if (cluster !== undefined) {
      ts.pinCluster[i] = cluster;
      ts.pinDomain[i] = f.clusterDomain[cluster]!;
    } else if (t.pin?.domain !== undefined) {
      ts.pinDomain[i] = f.domainIndex.get(t.pin.domain) ?? -1;
    }
  });
  return ts;
}

export function newStep(fleet: Fleet, tenants: Tenants): Step {
  const n = tenants.names.length;
  return {
    fleet,
    tenants,
    prim: new Int32Array(n).fill(-1),
    sec: new Int32Array(n).fill(-1),
    moves: [],
    moved: new Uint8Array(n),
    lowerBound: 0,
    pending: 0,
    unplaced: [],
  };
}

export const slotOf = (s: Step, t: number, copy: Slot): number =>
  copy === 'primary' ? s.prim[t]! : s.sec[t]!;

export function setSlot(s: Step, t: number, copy: Slot, prod: number): void {
  if (copy === 'primary') s.prim[t] = prod;
  else s.sec[t] = prod;
}

/** The failure domain a tenant's copy in `copy` must avoid: its other copy's, or -1. */
export function avoidFor(s: Step, t: number, copy: Slot): number {
  const other = copy === 'primary' ? s.sec[t]! : s.prim[t]!;
  return other >= 0 ? s.fleet.domain[other]! : -1;
}

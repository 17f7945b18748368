// Placing a batch of copies. Greedy least-filled can strand copies that a different choice
// would have fitted (a copy avoiding domain b takes the last room in c that a copy avoiding c
// needed), so the batch is first solved at the level of failure domains, where it is small: a
// min-cost max-flow from groups of copies (same role, same domain to avoid, same pin, pairs
// apart) to pools (the open Prods of one domain and role) with costs that prefer test Prods
// for test tenants, pinned domains, and the least-filled pools (each pool's room is split in
// chunks costing the fill they lead to). The flow gives each group a quota of units per pool;
// copies then take the least-filled Prod of a pool with quota. With unit sizes this places
// every copy the flow routed, so the batch is placed whenever any placement could place it
// (Hall's condition); with larger sizes a quota may not fit a Prod, and such copies are placed
// afterwards wherever they fit.
import { MinCostFlow } from './flow.js';
import { addUnits, fillOf, pickInPool, poolRoom, room, type Pool } from './room.js';
import { rendezvous } from './hash.js';
import { avoidFor, setSlot, type Need, type Step } from './step.js';

// Costs per unit: a test tenant on a standard Prod, then a pin missed, outweigh any fill.
const ROLE_COST = 100_000_000;
const PIN_COST = 1_000_000;
const FILL_COST = 100_000; // per unit of fill (used/capacity) a unit leads to
// A pool's room is split in chunks of this much fill (at most MAX_CHUNKS): the flow evens
// pools out to about one chunk.
const CHUNK_FILL = 0.002;
const MAX_CHUNKS = 1000;

interface Group {
  pair: boolean;
  test: boolean;
  avoid: number;
  pin: number;
  /** For pairs, the primaries (their partners go with them). */
  needs: Need[];
  units: number;
  /** Units per pool the flow gave this group. */
  quota: Float64Array;
}

export interface Batch {
  s: Step;
  groups: Group[];
  /** Units the batch asks for, and units the domain-level flow could route. */
  demand: number;
  routed: number;
}

/** Groups the copies and solves the flow on the Prods' room as it is now. */
export function planBatch(s: Step, needs: readonly Need[]): Batch {
  const { fleet: f, tenants: ts } = s;
  const d1 = f.domains.length + 1;
  const byKey = new Map<number, Group>();
  for (const need of needs) {
    const pair = need.partner !== undefined;
    if (pair && need.copy !== 'primary') continue;
    const t = need.t;
    const avoid = pair ? -1 : avoidFor(s, t, need.copy);
    const pin = ts.pinDomain[t] === avoid ? -1 : ts.pinDomain[t]!;
    const test = ts.test[t] === 1;
    const key = (((pair ? 2 : 0) + (test ? 1 : 0)) * d1 + avoid + 1) * d1 + pin + 1;
    let g = byKey.get(key);
    if (!g) {
      g = { pair, test, avoid, pin, needs: [], units: 0, quota: new Float64Array(f.pools.length) };
      byKey.set(key, g);
    }
    g.needs.push(need);
    g.units += ts.size[t]! * (pair ? 2 : 1);
  }
  const groups = [...byKey.keys()].sort((a, b) => a - b).map((k) => byKey.get(k)!);
  const demand = groups.reduce((sum, g) => sum + g.units, 0);
  return { s, groups, demand, routed: solveQuotas(s, groups) };
}

/**
 * Places the batch's copies by their quotas, then what the quotas could not fit wherever it
 * fits; returns the copies left without a Prod. `reserved`: copies that still serve hold their
 * units where they are until they move (else the caller has released them).
 */
export function applyBatch(batch: Batch, reserved: boolean): Need[] {
  const { s, groups } = batch;
  const ts = s.tenants;
  const later: Need[] = [];
  for (const g of groups) {
    g.needs.sort((a, b) => ts.size[b.t]! - ts.size[a.t]! || a.t - b.t);
    for (const need of g.needs) {
      if (g.pair) placePair(s, g, need, need.partner!, later, reserved);
      else if (!placeByQuota(s, g, need, g.avoid, -1, reserved)) later.push(need);
    }
  }
  // Primaries before their secondaries; a secondary whose primary found no room waits too.
  later.sort((a, b) => a.t - b.t || (a.copy === 'primary' ? -1 : 1));
  const failed: Need[] = [];
  for (const need of later) {
    const orphan = need.partner && need.copy === 'secondary' && s.prim[need.t]! < 0;
    const prod = orphan ? -1 : anywhere(s, need);
    if (prod >= 0) commit(s, need, prod, reserved);
    else failed.push(need);
  }
  return failed;
}

/** A copy with nowhere to go: one that still serves stays where it is; the rest wait. */
export function unplace(s: Step, need: Need): void {
  if (need.stay >= 0) {
    setSlot(s, need.t, need.copy, need.stay);
    s.pending++;
  } else if (need.from !== undefined) {
    s.moves.push({ t: need.t, copy: need.copy, from: need.from, reason: need.reason });
  }
  s.moved[need.t] = 1;
  s.unplaced.push(need);
}

function solveQuotas(s: Step, groups: readonly Group[]): number {
  const f = s.fleet;
  const pools = f.pools;
  const nPair = groups.filter((g) => g.pair).length;
  const D = f.domains.length;
  const base = 2 + groups.length + nPair * D;
  const flow = new MinCostFlow(base + pools.length);
  const edges: [Group, number, number][] = []; // group, pool, edge
  let pairNode = 2 + groups.length;
  const roleCost = (g: Group, pool: Pool) => (g.test && !pool.test ? ROLE_COST : 0);
  const allowed = (g: Group, pool: Pool) => (g.test || !pool.test) && pool.domain !== g.avoid;
  groups.forEach((g, gi) => {
    flow.addEdge(0, 2 + gi, g.units, 0);
    if (g.pair) {
      // Through one node per domain holding half the group: a pair's copies are apart.
      for (let d = 0; d < D; d++, pairNode++) {
        flow.addEdge(2 + gi, pairNode, g.units / 2, g.pin >= 0 && d !== g.pin ? PIN_COST : 0);
        pools.forEach((pool, pi) => {
          if (pool.domain === d && allowed(g, pool))
            edges.push([g, pi, flow.addEdge(pairNode, base + pi, g.units, roleCost(g, pool))]);
        });
      }
    } else {
      pools.forEach((pool, pi) => {
        if (!allowed(g, pool)) return;
        const cost = roleCost(g, pool) + (g.pin >= 0 && pool.domain !== g.pin ? PIN_COST : 0);
        edges.push([g, pi, flow.addEdge(2 + gi, base + pi, g.units, cost)]);
      });
    }
  });
  pools.forEach((pool, pi) => {
    const free = poolRoom(f, pool);
    let used = 0;
    let cap = 0;
    for (const p of pool.prods) [used, cap] = [used + f.used[p]!, cap + f.cap[p]!];
    const k = Math.min(free, Math.ceil(free / Math.max(1, cap * CHUNK_FILL)), MAX_CHUNKS);
    let upto = 0;
    for (let i = 1; i <= k; i++) {
      const next = Math.round((free * i) / k);
      if (next > upto)
        flow.addEdge(base + pi, 1, next - upto, Math.round((FILL_COST * (used + next)) / cap));
      upto = next;
    }
  });
  const { flow: routed } = flow.run(0, 1);
  for (const [g, pi, e] of edges) g.quota[pi]! += flow.flowOn(e);
  return routed;
}

/** Places `need` in the pool its group's quota prefers; false if no quota fits it. */
function placeByQuota(
  s: Step,
  g: Group,
  need: Need,
  avoid: number,
  domain: number,
  reserved: boolean,
): boolean {
  const { fleet: f, tenants: ts } = s;
  const pools = f.pools;
  const t = need.t;
  const size = ts.size[t]!;
  const rank = (pi: number) => {
    const pool = pools[pi]!;
    return (g.pin >= 0 && pool.domain !== g.pin ? 2 : 0) + (g.test && !pool.test ? 1 : 0);
  };
  const better = (a: number, b: number) => rank(a) - rank(b) || g.quota[b]! - g.quota[a]! || a - b;
  const fits = (pi: number) => {
    const pool = pools[pi]!;
    return g.quota[pi]! >= size && pool.domain !== avoid && (domain < 0 || pool.domain === domain);
  };
  // The preferred pool with quota; the others in order only if its Prods lack room (sizes).
  let first = -1;
  for (let pi = 0; pi < pools.length; pi++)
    if (fits(pi) && (first < 0 || better(pi, first) < 0)) first = pi;
  if (first < 0) return false;
  if (tryPool(first)) return true;
  const rest: number[] = [];
  for (let pi = 0; pi < pools.length; pi++) if (pi !== first && fits(pi)) rest.push(pi);
  return rest.sort(better).some(tryPool);

  function tryPool(pi: number): boolean {
    const prod = pickInPool(f, pools[pi]!, size, ts.hash[t]!, ts.pinCluster[t]!);
    if (prod < 0) return false;
    g.quota[pi]! -= size;
    commit(s, need, prod, reserved);
    return true;
  }
}

/**
 * A pair takes two domains by the quotas left: its pin's (for the primary) or the largest,
 * then the largest other. Taking the largest keeps the rest decomposable (no domain left with
 * more quota than pairs remaining), so with unit sizes every pair routed is placed.
 */
function placePair(
  s: Step,
  g: Group,
  primary: Need,
  secondary: Need,
  later: Need[],
  reserved: boolean,
): void {
  const f = s.fleet;
  const size = s.tenants.size[primary.t]!;
  const byDomain = () => {
    const q = new Float64Array(f.domains.length);
    f.pools.forEach((pool, pi) => (q[pool.domain]! += g.quota[pi]!));
    return q;
  };
  const largest = (q: Float64Array, except: number) => {
    let best = -1;
    for (let d = 0; d < q.length; d++)
      if (d !== except && q[d]! >= size && (best < 0 || q[d]! > q[best]!)) best = d;
    return best;
  };
  let q = byDomain();
  const first = g.pin >= 0 && q[g.pin]! >= size ? g.pin : largest(q, -1);
  if (first < 0 || !placeByQuota(s, g, primary, -1, first, reserved)) {
    later.push(primary, secondary);
    return;
  }
  q = byDomain();
  const second = largest(q, first);
  if (second < 0 || !placeByQuota(s, g, secondary, first, second, reserved)) later.push(secondary);
}

/** The best open Prod with room for `need`, whatever the quotas; -1 if none. */
function anywhere(s: Step, need: Need): number {
  const { fleet: f, tenants: ts } = s;
  const t = need.t;
  const size = ts.size[t]!;
  const avoid = avoidFor(s, t, need.copy);
  const test = ts.test[t] === 1;
  const pin = ts.pinDomain[t]!;
  const cluster = ts.pinCluster[t]!;
  let best = -1;
  let bestRank = Infinity;
  let bestFill = Infinity;
  let bestWeight = -1;
  for (const pool of f.pools) {
    if ((pool.test && !test) || pool.domain === avoid) continue;
    const poolRank = (test && !pool.test ? 4 : 0) + (pin >= 0 && pool.domain !== pin ? 2 : 0);
    for (const p of pool.prods) {
      if (room(f, p) < size) continue;
      const r = poolRank + (cluster >= 0 && f.cluster[p] !== cluster ? 1 : 0);
      const fill = fillOf(f, p);
      const w = rendezvous(ts.hash[t]!, f.hash[p]!);
      if (
        r < bestRank ||
        (r === bestRank && (fill < bestFill || (fill === bestFill && w > bestWeight)))
      )
        [best, bestRank, bestFill, bestWeight] = [p, r, fill, w];
    }
  }
  return best;
}

function commit(s: Step, need: Need, prod: number, reserved: boolean): void {
  const f = s.fleet;
  const size = s.tenants.size[need.t]!;
  setSlot(s, need.t, need.copy, prod);
  addUnits(f, prod, size);
  if (reserved && need.stay >= 0) addUnits(f, need.stay, -size);
  s.moves.push({
    t: need.t,
    copy: need.copy,
    from: need.from,
    to: f.names[prod],
    reason: need.reason,
  });
  s.moved[need.t] = 1;
}

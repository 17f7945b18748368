// The Prods as placement sees them: indexed (sorted by name, so input order does not matter),
// with the units each hosts as placement proceeds, grouped into pools — the open Prods of one
// failure domain and one role — each with a heap by fill to pick the least-filled Prod quickly.
import type { PlacementProd } from './types.js';
import { FillHeap } from './heap.js';
import { fnv1a, rendezvous } from './hash.js';

export const OPEN = 0;
export const CLOSED = 1;
export const LEAVING = 2;
export const DOWN = 3;
const STATES = { open: OPEN, closed: CLOSED, leaving: LEAVING, down: DOWN } as const;

export interface Pool {
  domain: number;
  test: boolean;
  prods: number[];
  heap: FillHeap;
  /** cluster index → this pool's Prods in it, for cluster pins. */
  byCluster: Map<number, number[]>;
}

export interface Fleet {
  names: string[];
  index: Map<string, number>;
  hash: Uint32Array;
  cap: Float64Array;
  /** Units hosted: kept copies, and copies that must move until they have moved. */
  used: Float64Array;
  domain: Int32Array;
  cluster: Int32Array;
  test: Uint8Array;
  state: Uint8Array;
  domains: string[];
  domainIndex: Map<string, number>;
  clusterIndex: Map<string, number>;
  /** cluster index → domain index. */
  clusterDomain: number[];
  pools: Pool[];
  /** Prod index → its pool, -1 if it takes no new copies. */
  poolOf: Int32Array;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function indexFleet(input: readonly PlacementProd[]): Fleet {
  const prods = [...input].sort((a, b) => byName(a.name, b.name));
  const n = prods.length;
  const domains = [...new Set(prods.map((p) => p.domain))].sort(byName);
  const clusters = [...new Set(prods.map((p) => p.cluster))].sort(byName);
  const domainIndex = new Map(domains.map((d, i) => [d, i]));
  const clusterIndex = new Map(clusters.map((c, i) => [c, i]));
  const f: Fleet = {
    names: prods.map((p) => p.name),
    index: new Map(),
    hash: new Uint32Array(n),
    cap: new Float64Array(n),
    used: new Float64Array(n),
    domain: new Int32Array(n),
    cluster: new Int32Array(n),
    test: new Uint8Array(n),
    state: new Uint8Array(n),
    domains,
    domainIndex,
    clusterIndex,
    clusterDomain: new Array<number>(clusters.length).fill(-1),
    pools: [],
    poolOf: new Int32Array(n).fill(-1),
  };
  prods.forEach((p, i) => {
    if (f.index.has(p.name)) throw new Error(`placement: two Prods named ${p.name}`);
    f.index.set(p.name, i);
    f.hash[i] = fnv1a(p.name);
    f.cap[i] = Math.max(0, p.capacity);
    f.domain[i] = domainIndex.get(p.domain)!;
    f.cluster[i] = clusterIndex.get(p.cluster)!;
    // A cluster lives in one failure domain; if the input says otherwise the first Prod wins.
    if (f.clusterDomain[f.cluster[i]!] === -1) f.clusterDomain[f.cluster[i]!] = f.domain[i]!;
    f.test[i] = p.role === 'test' ? 1 : 0;
    f.state[i] = STATES[p.state];
  });
  return f;
}

export const room = (f: Fleet, p: number): number => f.cap[p]! - f.used[p]!;
export const fillOf = (f: Fleet, p: number): number =>
  f.cap[p]! > 0 ? f.used[p]! / f.cap[p]! : Infinity;

/** Builds the pools from the open Prods with capacity, once the kept copies are counted. */
export function buildPools(f: Fleet): void {
  const key = (p: number) => fillOf(f, p);
  const pools = new Map<number, number[]>();
  for (let p = 0; p < f.names.length; p++) {
    if (f.state[p] !== OPEN || f.cap[p]! <= 0) continue;
    const k = f.domain[p]! * 2 + f.test[p]!;
    const list = pools.get(k);
    if (list) list.push(p);
    else pools.set(k, [p]);
  }
  for (const k of [...pools.keys()].sort((a, b) => a - b)) {
    const prods = pools.get(k)!;
    const byCluster = new Map<number, number[]>();
    for (const p of prods) {
      const list = byCluster.get(f.cluster[p]!);
      if (list) list.push(p);
      else byCluster.set(f.cluster[p]!, [p]);
    }
    for (const p of prods) f.poolOf[p] = f.pools.length;
    f.pools.push({
      domain: k >> 1,
      test: (k & 1) === 1,
      prods,
      heap: new FillHeap(key, prods),
      byCluster,
    });
  }
}

export function addUnits(f: Fleet, p: number, units: number): void {
  f.used[p]! += units;
  const pool = f.pools[f.poolOf[p]!];
  if (pool) pool.heap.update(p);
}

/** Free whole units of a pool's Prods (over-filled Prods count as none). */
export function poolRoom(f: Fleet, pool: Pool): number {
  let r = 0;
  for (const p of pool.prods) r += Math.max(0, Math.floor(room(f, p)));
  return r;
}

/** After `used` changed wholesale (a placement undone). */
export function rebuildHeaps(f: Fleet): void {
  for (const pool of f.pools) pool.heap.rebuild();
}

// Among Prods of equal fill, how many the tenant's rendezvous weight chooses between.
const ties = new Int32Array(4);

/**
 * The Prod of `pool` for a copy of `size` units: in the pinned cluster if it has room there,
 * else the least-filled with room (ties: the tenant's rendezvous choice). -1 if none has room.
 */
export function pickInPool(
  f: Fleet,
  pool: Pool,
  size: number,
  tenantHash: number,
  pinCluster: number,
): number {
  if (pinCluster >= 0) {
    const best = leastFilled(f, pool.byCluster.get(pinCluster) ?? [], size, tenantHash);
    if (best >= 0) return best;
  }
  let best = -1;
  let weight = -1;
  const n = pool.heap.ties(ties);
  for (let i = 0; i < n; i++) {
    const p = ties[i]!;
    if (room(f, p) < size) continue;
    const w = rendezvous(tenantHash, f.hash[p]!);
    if (w > weight) [best, weight] = [p, w];
  }
  // The least-filled Prods lack room for this size (others are larger): look at all of them.
  return best >= 0 ? best : leastFilled(f, pool.prods, size, tenantHash);
}

/** The least-filled of `prods` with room for `size` (ties: rendezvous), -1 if none. */
export function leastFilled(
  f: Fleet,
  prods: readonly number[],
  size: number,
  tenantHash: number,
): number {
  let best = -1;
  let bestFill = Infinity;
  let weight = -1;
  for (const p of prods) {
    if (room(f, p) < size) continue;
    const fl = fillOf(f, p);
    const w = rendezvous(tenantHash, f.hash[p]!);
    if (fl < bestFill || (fl === bestFill && w > weight)) [best, bestFill, weight] = [p, fl, w];
  }
  return best;
}

// Moves that only even out fill (rebalanceMoves), after the forced ones: each takes a copy from
// the most-filled open Prod to the least-filled one that may take it, and only if that lowers
// the sum of squared fills, so moves never undo each other. Tenants that changed this step are
// left alone (a Dual tenant keeps one of its Prods), and so are pinned copies where they are.
import { addUnits, fillOf, room } from './room.js';
import { rendezvous } from './hash.js';
import { avoidFor, setSlot, type Slot, type Step } from './step.js';

// Copies tried on one Prod before it is given up as a source.
const TRIES = 64;

export function rebalance(s: Step, budget: number): void {
  if (!(budget > 0)) return;
  const { fleet: f, tenants: ts } = s;
  const open = f.pools.flatMap((pool) => pool.prods).sort((a, b) => a - b);
  const copies = new Map<number, { t: number; copy: Slot }[]>(open.map((p) => [p, []]));
  for (let t = 0; t < ts.names.length; t++) {
    if (s.moved[t]) continue;
    copies.get(s.prim[t]!)?.push({ t, copy: 'primary' });
    copies.get(s.sec[t]!)?.push({ t, copy: 'secondary' });
  }
  const exhausted = new Set<number>();
  let done = 0;
  while (done < budget) {
    let src = -1;
    for (const p of open)
      if (!exhausted.has(p) && (src < 0 || fillOf(f, p) > fillOf(f, src))) src = p;
    if (src < 0) return;
    const list = copies.get(src)!;
    let moved = false;
    for (let i = 0, tries = 0; i < list.length && tries < TRIES && !moved; i++) {
      const { t, copy } = list[i]!;
      // One copy per tenant per step (a Dual tenant keeps one of its Prods).
      if (s.moved[t] || ts.pinCluster[t] === f.cluster[src]) continue;
      tries++;
      const size = ts.size[t]!;
      const dst = destination(t, copy, src);
      if (dst < 0 || !lowersSpread(src, dst, size)) continue;
      setSlot(s, t, copy, dst);
      addUnits(f, src, -size);
      addUnits(f, dst, size);
      s.moves.push({ t, copy, from: f.names[src], to: f.names[dst], reason: 'Rebalance' });
      s.moved[t] = 1;
      list.splice(i, 1);
      moved = true;
      done++;
    }
    if (!moved) exhausted.add(src);
  }

  /** The least-filled open Prod that may take this copy instead of `src`, -1 if none. */
  function destination(t: number, copy: Slot, src: number): number {
    const size = ts.size[t]!;
    const avoid = avoidFor(s, t, copy);
    // Stay in the pinned domain; a test tenant may go from a standard Prod to a test one.
    const domain = ts.pinDomain[t] === f.domain[src] ? f.domain[src]! : -1;
    let best = -1;
    let bestFill = Infinity;
    let weight = -1;
    for (const p of open) {
      if (p === src || room(f, p) < size || f.domain[p] === avoid) continue;
      if (domain >= 0 && f.domain[p] !== domain) continue;
      if (f.test[p] === 1 ? ts.test[t] === 0 : f.test[src] === 1) continue;
      const fill = fillOf(f, p);
      const w = rendezvous(ts.hash[t]!, f.hash[p]!);
      if (fill < bestFill || (fill === bestFill && w > weight))
        [best, bestFill, weight] = [p, fill, w];
    }
    return best;
  }

  function lowersSpread(src: number, dst: number, size: number): boolean {
    const [us, cs, ud, cd] = [f.used[src]!, f.cap[src]!, f.used[dst]!, f.cap[dst]!];
    const before = (us / cs) ** 2 + (ud / cd) ** 2;
    const after = ((us - size) / cs) ** 2 + ((ud + size) / cd) ** 2;
    return after < before - 1e-12;
  }
}

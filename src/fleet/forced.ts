// Which copies stay and which must move (rules 4, 6 and 8): from the previous assignment, a
// copy stays on its Prod unless the Prod is gone, down or leaving, the copy breaks a rule, or
// the Prod is over capacity; and a Dual tenant never has both its serving copies moved in one
// step (make before break). What must move is the step's lower bound.
import type { Assignment, MoveReason } from './types.js';
import { CLOSED, DOWN, LEAVING, OPEN } from './room.js';
import { rendezvous } from './hash.js';
import { setSlot, type Need, type Slot, type Step } from './step.js';

const OK = 0;
const DEFERRED = 1; // must move, but stays this step: the tenant's other copy moves first
const GONE = 2;
const IS_DOWN = 3;
const IS_LEAVING = 4;
const ROLE = 5; // a standard tenant on a test Prod

const REASON: Record<number, MoveReason> = {
  [GONE]: 'ProdGone',
  [IS_DOWN]: 'ProdDown',
  [IS_LEAVING]: 'ProdLeaving',
  [ROLE]: 'Constraint',
};
// Still serves until it has moved (a copy on a down or gone Prod serves nothing).
const serving = (status: number) => status === IS_LEAVING || status === ROLE;

interface Copy {
  slot: Slot;
  name: string;
  prod: number;
  status: number;
}

export interface Decided {
  /** Copies that must move this step (the lower bound counts them). */
  forced: Need[];
  /** New copies: new tenants, a Dual tenant's missing second copy. */
  fresh: Need[];
}

export function decide(s: Step, previous: Assignment): Decided {
  const { fleet: f, tenants: ts } = s;
  const n = ts.names.length;
  const kept = new Float64Array(f.names.length);
  const deferred = new Uint8Array(n); // bit 1: primary, bit 2: secondary
  const needs: (Need[] | undefined)[] = new Array<Need[] | undefined>(n);
  const fresh: Need[] = [];
  const prevPrimary: (string | undefined)[] = new Array<string | undefined>(n);
  const conflicts: { t: number; a: Copy; b: Copy }[] = [];
  const promoted = new Uint8Array(n); // a Single tenant kept its secondary

  for (let t = 0; t < n; t++) {
    const name = ts.names[t]!;
    const size = ts.size[t]!;
    const dual = ts.dual[t] === 1;
    const prev = Object.hasOwn(previous, name) ? previous[name] : undefined;
    // A missing primary or a secondary equal to it: the copies are what is really there.
    const one = prev?.primary || prev?.secondary;
    const two = prev?.primary && prev.secondary !== prev.primary ? prev.secondary : undefined;
    prevPrimary[t] = one;
    // The common case first, allocating nothing: copies that all stay.
    const p1 = one ? (f.index.get(one) ?? -1) : -1;
    const p2 = two ? (f.index.get(two) ?? -1) : -1;
    if (
      one &&
      status(p1, t) === OK &&
      (two === undefined || (dual && status(p2, t) === OK && f.domain[p1] !== f.domain[p2]))
    ) {
      s.prim[t] = p1;
      f.used[p1]! += size;
      kept[p1]! += size;
      if (two !== undefined) {
        s.sec[t] = p2;
        f.used[p2]! += size;
        kept[p2]! += size;
      } else if (dual)
        fresh.push({ t, copy: 'secondary', reason: 'Placed', counted: false, stay: -1 });
      continue;
    }
    let copies: Copy[] = [];
    if (one) copies.push(copyOn('primary', one, t));
    if (two) copies.push(copyOn('secondary', two, t));
    const [a, b] = copies;
    if (a && b && a.status === OK && b.status === OK) {
      // A Single tenant's second copy, or a Dual tenant's two in one domain: one goes, which
      // one is decided once it is known which Prods are over capacity (below).
      if (!dual || f.domain[a.prod] === f.domain[b.prod]) conflicts.push({ t, a, b });
    } else if (a && b && !dual) {
      // A Single tenant keeps its better copy; the other is dropped (no move counted).
      const keepB = rank(b.status) < rank(a.status);
      drop(t, keepB ? a : b);
      copies = [{ ...(keepB ? b : a), slot: 'primary' }];
    }
    const [first, second] = copies;
    if (first && second && first.status !== OK && second.status !== OK) {
      // Both must move: one that still serves stays this step (the primary if both do).
      const keep = [first, second].find((c) => serving(c.status));
      if (keep) {
        keep.status = DEFERRED;
        deferred[t] = keep.slot === 'primary' ? 1 : 2;
        s.pending++;
      }
    }
    for (const c of copies) {
      if (c.status === OK || c.status === DEFERRED) {
        setSlot(s, t, c.slot, c.prod);
        f.used[c.prod]! += size;
        kept[c.prod]! += size;
        continue;
      }
      const stay = serving(c.status) ? c.prod : -1;
      if (stay >= 0) f.used[stay]! += size; // reserved until it has moved
      const need: Need = {
        t,
        copy: c.slot,
        from: c.name,
        reason: REASON[c.status]!,
        counted: true,
        stay,
      };
      (needs[t] ??= []).push(need);
    }
    const want = dual ? 2 : 1;
    if (copies.length === 0 && dual) {
      const primary: Need = { t, copy: 'primary', reason: 'Placed', counted: false, stay: -1 };
      const secondary: Need = { t, copy: 'secondary', reason: 'Placed', counted: false, stay: -1 };
      primary.partner = secondary;
      secondary.partner = primary;
      fresh.push(primary, secondary);
    } else if (copies.length < want) {
      fresh.push({
        t,
        copy: copies.length === 0 ? 'primary' : 'secondary',
        reason: 'Placed',
        counted: false,
        stay: -1,
      });
    }
  }

  // A Single tenant's two copies: one is dropped, for free — so Prods over capacity drop such
  // spares before anything moves, and the spares left are dropped after. A Dual tenant's two
  // copies in one domain: one moves. Which copy goes: one on a Prod over capacity (if the
  // other's is not; if both are, one whose going is enough); else, for a test tenant, one on a
  // standard Prod; else the one on the fuller Prod, freeing room where it is scarcer; else the
  // secondary.
  const goes = (t: number, a: Copy, b: Copy) => {
    const excess = (c: Copy) => kept[c.prod]! - f.cap[c.prod]!;
    const over = (c: Copy) => (excess(c) > 0 ? 1 : 0);
    // Both over: the one whose going brings its Prod within capacity.
    const settles = (c: Copy) => (excess(c) > 0 && excess(c) <= ts.size[t]! ? 1 : 0);
    const test = (c: Copy) => (ts.test[t] === 1 ? 1 - f.test[c.prod]! : 0);
    const fill = (c: Copy) => (f.cap[c.prod]! > 0 ? kept[c.prod]! / f.cap[c.prod]! : Infinity);
    const order =
      over(a) - over(b) || settles(a) - settles(b) || test(a) - test(b) || fill(a) - fill(b);
    return order > 0 ? a : b;
  };
  const spare = (t: number) => ts.dual[t] === 0 && s.prim[t]! >= 0 && s.sec[t]! >= 0;
  const open = conflicts.map(() => true);
  const resolve = (k: number, go: Copy) => {
    const { t } = conflicts[k]!;
    open[k] = false;
    if (ts.dual[t] === 0) return dropSpare(t, go.prod);
    kept[go.prod]! -= ts.size[t]!;
    setSlot(s, t, go.slot, -1);
    const need: Need = {
      t,
      copy: go.slot,
      from: go.name,
      reason: 'Constraint',
      counted: true,
      stay: go.prod,
    };
    (needs[t] ??= []).push(need);
  };
  // One with a single copy on a Prod over capacity: that copy goes (never worse). That may
  // bring the Prod within capacity and settle others, so until nothing changes.
  const over = (p: number) => kept[p]! > f.cap[p]!;
  const settle = () => {
    for (let changed = true; changed;) {
      changed = false;
      conflicts.forEach(({ a, b }, k) => {
        if (!open[k] || over(a.prod) === over(b.prod)) return;
        resolve(k, over(a.prod) ? a : b);
        changed = true;
      });
    }
  };
  settle();
  conflicts.forEach(({ t, a, b }, k) => {
    if (!open[k] || ts.dual[t] === 0) return;
    resolve(k, goes(t, a, b));
    settle();
  });
  evictOverCapacity(s, kept, deferred, needs, spare, dropSpare);
  conflicts.forEach(({ t, a, b }, k) => {
    if (open[k] && spare(t)) resolve(k, goes(t, a, b));
  });

  // Slots: a kept secondary whose primary moves is promoted; the moving copy becomes secondary.
  const forced: Need[] = [];
  for (let t = 0; t < n; t++) {
    const list = needs[t];
    if (promoted[t] && s.prim[t]! >= 0) {
      // Promoted only if it stays; if it moves too, that move says where the tenant went.
      s.moves.push({
        t,
        copy: 'primary',
        from: prevPrimary[t],
        to: f.names[s.prim[t]!],
        reason: 'Promoted',
      });
    }
    if (!list) continue;
    if (s.prim[t]! < 0 && s.sec[t]! >= 0) {
      s.prim[t] = s.sec[t]!;
      s.sec[t] = -1;
      s.moves.push({
        t,
        copy: 'primary',
        from: prevPrimary[t],
        to: f.names[s.prim[t]!],
        reason: 'Promoted',
      });
      s.moved[t] = 1;
    }
    if (s.prim[t]! >= 0) for (const need of list) need.copy = 'secondary';
    else {
      list.sort((a, b) => (a.copy === b.copy ? 0 : a.copy === 'primary' ? -1 : 1));
      list.forEach((need, i) => (need.copy = i === 0 ? 'primary' : 'secondary'));
      const [a, b] = list;
      if (a && b) [a.partner, b.partner] = [b, a];
    }
    forced.push(...list);
  }
  s.lowerBound = forced.length;
  return { forced, fresh };

  /** Drops a Single tenant's second copy; if it was the primary, the other is promoted. */
  function drop(t: number, go: Copy): void {
    s.moves.push({ t, copy: 'secondary', from: go.name, reason: 'Constraint' });
    s.moved[t] = 1;
    if (go.slot === 'primary') promoted[t] = 1;
  }

  /** Drops the copy on `p` of a Single tenant that has two. */
  function dropSpare(t: number, p: number): void {
    const size = ts.size[t]!;
    kept[p]! -= size;
    f.used[p]! -= size;
    drop(t, {
      slot: s.prim[t] === p ? 'primary' : 'secondary',
      name: f.names[p]!,
      prod: p,
      status: OK,
    });
    if (s.prim[t] === p) s.prim[t] = s.sec[t]!;
    s.sec[t] = -1;
  }

  function copyOn(slot: Slot, name: string, t: number): Copy {
    const prod = f.index.get(name) ?? -1;
    return { slot, name, prod, status: status(prod, t) };
  }

  function status(prod: number, t: number): number {
    if (prod < 0) return GONE;
    const state = f.state[prod]!;
    if (state === DOWN) return IS_DOWN;
    if (state === LEAVING) return IS_LEAVING;
    if (f.test[prod] === 1 && ts.test[t] === 0) return ROLE;
    return OK;
  }
}

// A Single tenant with two copies keeps a copy that is fine, else one that still serves.
const rank = (status: number) => (status === OK ? 0 : serving(status) ? 1 : 2);

interface Candidate {
  t: number;
  slot: Slot;
  size: number;
  /**
   * Evicted first among equal sizes: a Single tenant's copy (0: it may go to any domain, so it
   * is the likeliest to find room), a Dual secondary (1), a Dual primary (2: a promotion too).
   */
  order: number;
  weight: number;
}

/**
 * Evicts from each Prod over capacity the fewest copies that bring it within (take the largest
 * while none alone covers the excess, then the smallest that does). A Dual tenant's copy is not
 * evicted if its other copy already moves: the Prod then stays over capacity this step.
 */
function evictOverCapacity(
  s: Step,
  kept: Float64Array,
  deferred: Uint8Array,
  needs: (Need[] | undefined)[],
  spare: (t: number) => boolean,
  dropSpare: (t: number, p: number) => void,
): void {
  const { fleet: f, tenants: ts } = s;
  const over: number[] = [];
  for (let p = 0; p < f.names.length; p++) {
    const state = f.state[p];
    if ((state === OPEN || state === CLOSED) && kept[p]! > f.cap[p]!) over.push(p);
  }
  if (over.length === 0) return;
  const candidates = new Map<number, Candidate[]>(over.map((p) => [p, []]));
  for (let t = 0; t < ts.names.length; t++) {
    for (const slot of ['primary', 'secondary'] as const) {
      const p = slot === 'primary' ? s.prim[t]! : s.sec[t]!;
      const list = p >= 0 ? candidates.get(p) : undefined;
      if (!list || deferred[t]! & (slot === 'primary' ? 1 : 2)) continue;
      const dual = ts.dual[t] === 1;
      const order = !dual ? 0 : slot === 'secondary' ? 1 : 2;
      list.push({ t, slot, size: ts.size[t]!, order, weight: rendezvous(ts.hash[t]!, f.hash[p]!) });
    }
  }
  const pinned = (c: Candidate) => ts.dual[c.t] === 1 && needs[c.t] !== undefined;
  for (const p of over) {
    // Ascending size; within a size the preferred victim last.
    const list = candidates
      .get(p)!
      .sort((a, b) => a.size - b.size || b.order - a.order || a.weight - b.weight);
    let excess = kept[p]! - f.cap[p]!;
    // Free first: a Single tenant's spare copy is dropped, not moved — where that spares an
    // eviction (its other copy may be on a Prod over capacity too, where it is better used).
    const stays = (c: Candidate) => spare(c.t) || pinned(c);
    while (excess > 0) {
      const i = choose(list, excess, (c) => !spare(c.t));
      if (i < 0) break;
      const size = list[i]!.size;
      const [n0, left0] = cost(list, excess, stays);
      const [n1, left1] = cost(list, excess - size, stays);
      if (left1 > left0 || (left1 === left0 && n1 >= n0)) break;
      dropSpare(list.splice(i, 1)[0]!.t, p);
      excess -= size;
    }
    while (excess > 0) {
      const i = choose(list, excess, pinned);
      if (i < 0) break;
      const victim = list.splice(i, 1)[0]!;
      excess -= victim.size;
      kept[p]! -= victim.size;
      // The slot now: a Single tenant's spare dropped elsewhere moved its copy to primary.
      const slot = s.prim[victim.t] === p ? 'primary' : 'secondary';
      setSlot(s, victim.t, slot, -1);
      const need: Need = {
        t: victim.t,
        copy: slot,
        from: f.names[p],
        reason: 'OverCapacity',
        counted: true,
        stay: p,
      };
      (needs[victim.t] ??= []).push(need);
    }
  }
}

/**
 * The index in `list` (sorted as above) of the copy to evict next for `excess` units, among
 * those not `out`: the largest while none alone covers it, then the smallest that does. -1 if
 * none may go.
 */
function choose(list: Candidate[], excess: number, out: (c: Candidate) => boolean): number {
  let largest = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    if (!out(list[i]!)) {
      largest = i;
      break;
    }
  }
  if (largest < 0 || list[largest]!.size < excess) return largest;
  // The smallest size that covers the excess, and within it the preferred victim.
  let chosen = largest;
  let size = -1;
  for (let i = 0; i <= largest; i++) {
    const c = list[i]!;
    if (out(c) || c.size < excess) continue;
    if (size < 0) size = c.size;
    if (c.size !== size) break;
    chosen = i;
  }
  return chosen;
}

/** What evicting for `excess` would take, as `choose` goes: [copies, units it cannot cover]. */
function cost(list: Candidate[], excess: number, out: (c: Candidate) => boolean): [number, number] {
  let n = 0;
  for (let i = list.length - 1; excess > 0; i--) {
    while (i >= 0 && out(list[i]!)) i--;
    if (i < 0) return [n, excess];
    if (list[i]!.size >= excess) return [n + 1, 0];
    excess -= list[i]!.size;
    n++;
  }
  return [n, 0];
}

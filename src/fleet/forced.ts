// Which copies stay and which must move (rules 4, 6 and 8): from the previous assignment, a
// copy stays on its Prod unless the Prod is gone, down or leaving, the copy breaks a rule, or
// the Prod is over capacity; and a Dual tenant never has both its serving copies moved in one
// step (make before break). What must move is the step's lower bound.
import type { Assignment, MoveReason } from './types.js';
import { CLOSED, DOWN, LEAVING, OPEN } from './room.js';
import { rendezvous } from './hash.js';
import { setSlot, type Need, type Slot, type Step, type StepMove } from './step.js';

const OK = 0;
const DEFERRED = 1; // must move, but stays this step: the tenant's other copy moves first
const GONE = 2;
const IS_DOWN = 3;
const IS_LEAVING = 4;
const ROLE = 5; // a standard tenant on a test Prod
const DOMAIN = 6; // a Dual tenant's second copy in its first copy's failure domain

const REASON: Record<number, MoveReason> = {
  [GONE]: 'ProdGone',
  [IS_DOWN]: 'ProdDown',
  [IS_LEAVING]: 'ProdLeaving',
  [ROLE]: 'Constraint',
  [DOMAIN]: 'Constraint',
};
// Still serves until it has moved (a copy on a down or gone Prod serves nothing).
const serving = (status: number) => status === IS_LEAVING || status === ROLE || status === DOMAIN;

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
  const dropped = new Map<number, { keep: Copy; go: Copy; move: StepMove }>();

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
      // one is decided once it is known which Prods are over capacity.
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

  for (const { t, a, b } of conflicts) {
    // The copy to go: a test tenant keeps one on a test Prod; then the copy on the fuller Prod
    // goes (one over capacity first), freeing room where it is scarcer; else the secondary.
    const over = (c: Copy) => (kept[c.prod]! > f.cap[c.prod]! ? 1 : 0);
    const test = (c: Copy) => (ts.test[t] === 1 ? 1 - f.test[c.prod]! : 0);
    const fill = (c: Copy) => (f.cap[c.prod]! > 0 ? kept[c.prod]! / f.cap[c.prod]! : Infinity);
    const go = (over(a) - over(b) || test(a) - test(b) || fill(a) - fill(b)) > 0 ? a : b;
    const size = ts.size[t]!;
    kept[go.prod]! -= size;
    setSlot(s, t, go.slot, -1);
    if (ts.dual[t] === 0) {
      f.used[go.prod]! -= size;
      dropped.set(t, { keep: go === a ? b : a, go, move: drop(t, go) });
      if (go === a) [s.prim[t], s.sec[t]] = [b.prod, -1];
    } else {
      const need: Need = {
        t,
        copy: go.slot,
        from: go.name,
        reason: 'Constraint',
        counted: true,
        stay: go.prod,
      };
      (needs[t] ??= []).push(need);
    }
  }

  evictOverCapacity(s, kept, deferred, needs, (t, size) => {
    // A Single tenant evicted from the copy it kept goes back to the one it dropped, if that
    // has room: it keeps that one instead (no move).
    const d = dropped.get(t);
    if (!d || f.cap[d.go.prod]! - kept[d.go.prod]! < size) return false;
    dropped.delete(t);
    kept[d.go.prod]! += size;
    f.used[d.go.prod]! += size;
    f.used[d.keep.prod]! -= size;
    s.prim[t] = d.go.prod;
    d.move.from = d.keep.name;
    promoted[t] = d.keep.slot === 'primary' ? 1 : 0;
    return true;
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
  function drop(t: number, go: Copy): StepMove {
    const move: StepMove = { t, copy: 'secondary', from: go.name, reason: 'Constraint' };
    s.moves.push(move);
    s.moved[t] = 1;
    if (go.slot === 'primary') promoted[t] = 1;
    return move;
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
  reprieve: (t: number, size: number) => boolean,
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
    while (excess > 0) {
      const victim = pick(list, excess, pinned);
      if (!victim) break;
      excess -= victim.size;
      kept[p]! -= victim.size;
      setSlot(s, victim.t, victim.slot, -1);
      if (reprieve(victim.t, victim.size)) continue;
      const need: Need = {
        t: victim.t,
        copy: victim.slot,
        from: f.names[p],
        reason: 'OverCapacity',
        counted: true,
        stay: p,
      };
      (needs[victim.t] ??= []).push(need);
    }
  }
}

/** Removes and returns the copy to evict from `list` (sorted as above), undefined if none may go. */
function pick(
  list: Candidate[],
  excess: number,
  pinned: (c: Candidate) => boolean,
): Candidate | undefined {
  let largest = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    if (!pinned(list[i]!)) {
      largest = i;
      break;
    }
  }
  if (largest < 0) return undefined;
  let chosen = largest;
  if (list[largest]!.size >= excess) {
    // The smallest size that covers the excess, and within it the preferred victim.
    let size = -1;
    for (let i = 0; i <= largest; i++) {
      const c = list[i]!;
      if (pinned(c) || c.size < excess) continue;
      if (size < 0) size = c.size;
      if (c.size !== size) break;
      chosen = i;
    }
  }
  return list.splice(chosen, 1)[0];
}

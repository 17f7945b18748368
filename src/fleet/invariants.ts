// The rules a placement step must keep, checked from its input and result alone (not from how
// place() works): the property tests run it on every result, and a controller may run it before
// publishing a routing table. Returns one line per broken rule, [] if none.
import type { PlacementInput, PlacementResult } from './types.js';

export function violations(input: PlacementInput, result: PlacementResult): string[] {
  const out: string[] = [];
  const prods = new Map(input.prods.map((p) => [p.name, p]));
  const tenants = new Map(input.tenants.map((t) => [t.name, t]));
  const group = <T extends { tenant: string }>(xs: readonly T[]) => {
    const m = new Map<string, T[]>();
    for (const x of xs) {
      const list = m.get(x.tenant);
      if (list) list.push(x);
      else m.set(x.tenant, [x]);
    }
    return m;
  };
  const movesOf = group(result.moves);
  const unplacedOf = group(result.unplaced);
  const prevs = new Map<string, Set<string>>();
  const prevOf = (name: string) => {
    let set = prevs.get(name);
    if (!set) {
      const prev = Object.hasOwn(input.previous, name) ? input.previous[name] : undefined;
      set = new Set([prev?.primary, prev?.secondary].filter((p): p is string => !!p));
      prevs.set(name, set);
    }
    return set;
  };
  const copiesOf = (name: string) => {
    const a = Object.hasOwn(result.assignment, name) ? result.assignment[name] : undefined;
    return a ? (a.secondary !== undefined ? [a.primary, a.secondary] : [a.primary]) : [];
  };
  // A copy left where it must not be is allowed only for a tenant that changed this step or
  // could not be placed: make before break, or nowhere to go.
  const held = (name: string) => movesOf.has(name) || unplacedOf.has(name);

  const units = new Map<string, number>();
  const fresh = new Map<string, number>(); // units each Prod received this step
  for (const name of Object.keys(result.assignment)) {
    const t = tenants.get(name);
    if (!t) {
      out.push(`${name}: assigned but not a tenant`);
      continue;
    }
    const copies = copiesOf(name);
    const prev = prevOf(name);
    if (t.redundancy === 'Single' && copies.length > 1) out.push(`${name}: Single with two copies`);
    const [a, b] = copies.map((c) => prods.get(c));
    if (copies.length === 2 && copies[0] === copies[1])
      out.push(`${name}: both copies on ${copies[0]}`);
    else if (a && b && a.domain === b.domain && !unplacedOf.has(name))
      out.push(`${name}: both copies in failure domain ${a.domain}`);
    for (const c of copies) {
      const p = prods.get(c);
      units.set(c, (units.get(c) ?? 0) + t.size);
      if (!p) out.push(`${name}: on ${c}, which is not a Prod`);
      else if (p.state === 'down') out.push(`${name}: on ${c}, which is down`);
      else if (!prev.has(c)) {
        fresh.set(c, (fresh.get(c) ?? 0) + t.size);
        if (p.state !== 'open') out.push(`${name}: new copy on ${c}, which is ${p.state}`);
        if (p.role === 'test' && !t.test)
          out.push(`${name}: standard tenant put on test Prod ${c}`);
      } else if (p.role === 'test' && !t.test && !held(name))
        out.push(`${name}: standard tenant left on test Prod ${c}`);
      else if (p.state === 'leaving' && !held(name)) out.push(`${name}: left on leaving ${c}`);
    }
  }

  // Over capacity: only by copies held there (see above), and nothing new on it.
  const excused = new Map<string, number>();
  for (const [name, t] of tenants) {
    if (!held(name)) continue;
    for (const c of copiesOf(name))
      if (prevOf(name).has(c)) excused.set(c, (excused.get(c) ?? 0) + t.size);
  }
  for (const p of input.prods) {
    const u = units.get(p.name) ?? 0;
    if (result.used[p.name] !== u) out.push(`${p.name}: used ${result.used[p.name]}, hosts ${u}`);
    if ((p.state !== 'open' && p.state !== 'closed') || u <= p.capacity) continue;
    if ((fresh.get(p.name) ?? 0) > 0 || u - (excused.get(p.name) ?? 0) > p.capacity)
      out.push(`${p.name}: hosts ${u} units, capacity ${p.capacity}`);
  }

  const exposed: string[] = [];
  for (const [name, t] of tenants) {
    const copies = copiesOf(name);
    const want = t.redundancy === 'Dual' ? 2 : 1;
    const missing = (unplacedOf.get(name) ?? []).length;
    if (copies.length + missing < want)
      out.push(`${name}: ${copies.length} copies, ${missing} unplaced`);
    if (t.redundancy === 'Dual' && copies.length < 2) exposed.push(name);
    // Make before break: a Dual tenant keeps one of its serving Prods.
    const prev = [...prevOf(name)];
    const serving = prev.filter((c) => prods.get(c) && prods.get(c)!.state !== 'down');
    if (t.redundancy === 'Dual' && prev.length === 2 && serving.length > 0)
      if (!serving.some((c) => copiesOf(name).includes(c)))
        out.push(`${name}: lost both its serving Prods ${serving.join(', ')} in one step`);
    // The moves say what changed: every Prod gained is a move's `to`, every one lost a `from`.
    const moves = movesOf.get(name) ?? [];
    const now = new Set(copies);
    const was = prevOf(name);
    const set = (xs: Iterable<string>) => [...xs].sort().join(',');
    const to = moves.filter((m) => m.reason !== 'Promoted' && m.to !== undefined).map((m) => m.to!);
    const from = moves
      .filter((m) => m.reason !== 'Promoted' && m.from !== undefined)
      .map((m) => m.from!);
    const gained = set([...now].filter((c) => !was.has(c)));
    const lost = set([...was].filter((c) => !now.has(c)));
    if (set(to) !== gained) out.push(`${name}: moves to ${set(to)}, but gained ${gained}`);
    if (set(from) !== lost) out.push(`${name}: moves from ${set(from)}, but lost ${lost}`);
    for (const m of moves)
      if (m.reason === 'Promoted' && (m.to !== result.assignment[name]?.primary || !was.has(m.to!)))
        out.push(`${name}: promoted to ${m.to}, which is not a previous copy now primary`);
  }
  for (const name of unplacedOf.keys())
    if (!tenants.has(name)) out.push(`${name}: unplaced but not a tenant`);
  exposed.sort();
  if (result.exposed.join() !== exposed.join())
    out.push(`exposed ${result.exposed.join()}, expected ${exposed.join()}`);

  const rebalanced = result.moves.filter((m) => m.reason === 'Rebalance').length;
  if (rebalanced > (input.rebalanceMoves ?? 0))
    out.push(`${rebalanced} rebalance moves, allowed ${input.rebalanceMoves ?? 0}`);
  return out;
}

// Why a copy could not be placed, in the fleet's final state, for the Tenant's status and the
// CLI: a reason and a sentence naming the numbers behind it.
import type { Unplaced, UnplacedReason } from './types.js';
import { OPEN, room } from './room.js';
import { avoidFor, type Need, type Step } from './step.js';

export function explain(s: Step, need: Need): Unplaced {
  const { fleet: f, tenants: ts } = s;
  const t = need.t;
  const size = ts.size[t]!;
  const test = ts.test[t] === 1;
  const avoid = avoidFor(s, t, need.copy);
  const result = (reason: UnplacedReason, message: string): Unplaced => ({
    tenant: ts.names[t]!,
    copy: need.copy,
    reason,
    message: need.stay >= 0 ? `${message}; it stays on ${f.names[need.stay]} meanwhile` : message,
  });
  const kind = test ? '' : 'standard ';
  // The open Prods this tenant may use (whatever their capacity).
  const open: number[] = [];
  for (let p = 0; p < f.names.length; p++) if (f.state[p] === OPEN) open.push(p);
  if (open.length === 0) return result('NoProds', 'no open Prod in the fleet');
  const usable = open.filter((p) => test || f.test[p] === 0);
  if (usable.length === 0)
    return result('NoCapacity', 'no open standard Prod (test Prods take only test tenants)');
  let inside = 0; // the largest free room in the domain to avoid, and outside it
  let outside = 0;
  for (const p of usable) {
    const r = Math.max(0, room(f, p));
    if (f.domain[p] === avoid) inside = Math.max(inside, r);
    else outside = Math.max(outside, r);
  }
  if (avoid >= 0) {
    const domain = f.domains[avoid];
    if (usable.every((p) => f.domain[p] === avoid))
      return result(
        'SingleDomain',
        `its other copy is in failure domain ${domain}, the only one with an open ${kind}Prod`,
      );
    if (outside < size && inside >= size)
      return result(
        'SingleDomain',
        `its other copy is in failure domain ${domain}, the only one with an open ${kind}Prod with room for ${units(size)}`,
      );
  }
  const where = avoid >= 0 ? ` outside failure domain ${f.domains[avoid]}` : '';
  return result(
    'NoCapacity',
    `needs ${units(size)}; the largest free room on an open ${kind}Prod${where} is ${outside}`,
  );
}

const units = (n: number) => (n === 1 ? '1 unit' : `${n} units`);

// Release waves in the seed's order of user impact (architecture.md, "Release waves"):
//   1. test Prods; 2. the Prods hosting the fewest tenants (a canary); 3. Prods whose tenants all
//   have another copy elsewhere (Dual); 4. the rest (Prods with Single tenants).
// Within any wave, never both Prods of one Dual tenant: updating a Prod first moves its Dual
// tenants to their other copy, which must not be updating at the same time. Pure.
import type { Assignment, Redundancy } from './types.js';

export interface WaveProd {
  name: string;
  role: 'test' | 'standard';
}

export interface WaveTenant {
  name: string;
  redundancy: Redundancy;
}

export type WaveStep = 'test' | 'canary' | 'redundant' | 'single';

export interface WaveMember {
  prod: string;
  /** Why the Prod is in this wave, for status and the CLI. */
  reason: string;
  /** Tenant copies it hosts. */
  tenants: number;
}

export interface Wave {
  step: WaveStep;
  prods: WaveMember[];
}

export interface WaveInput {
  prods: readonly WaveProd[];
  tenants: readonly WaveTenant[];
  assignment: Assignment;
  /** At most this many Prods per wave (default: no limit). */
  maxProdsPerWave?: number;
  /** Standard Prods in the canary step (default 1). */
  canaryProds?: number;
}

interface Hosted {
  prod: WaveProd;
  tenants: number;
  /** Copies of Single tenants, or of Dual tenants whose other copy is missing. */
  alone: number;
  /** Prods sharing a Dual tenant with this one: never in its wave. */
  partners: Set<string>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function planWaves(input: WaveInput): Wave[] {
  const max = Math.max(1, input.maxProdsPerWave ?? Number.POSITIVE_INFINITY);
  const hosted = new Map<string, Hosted>();
  for (const prod of input.prods)
    hosted.set(prod.name, { prod, tenants: 0, alone: 0, partners: new Set() });
  const redundancy = new Map(input.tenants.map((t) => [t.name, t.redundancy]));
  for (const [tenant, placed] of Object.entries(input.assignment)) {
    const copies = [placed.primary, placed.secondary].filter(
      (p): p is string => p !== undefined && hosted.has(p),
    );
    const dual =
      redundancy.get(tenant) === 'Dual' && copies.length === 2 && copies[0] !== copies[1];
    for (const p of copies) {
      const h = hosted.get(p)!;
      h.tenants++;
      if (!dual) h.alone++;
    }
    if (dual) {
      hosted.get(copies[0]!)!.partners.add(copies[1]!);
      hosted.get(copies[1]!)!.partners.add(copies[0]!);
    }
  }
  // Fewest tenants first, then by name: deterministic whatever the input order.
  const order = (a: Hosted, b: Hosted) => a.tenants - b.tenants || byName(a.prod.name, b.prod.name);
  const all = [...hosted.values()].sort(order);
  const test = all.filter((h) => h.prod.role === 'test');
  const standard = all.filter((h) => h.prod.role !== 'test');
  const canary = standard.slice(0, Math.max(0, input.canaryProds ?? 1));
  const rest = standard.slice(canary.length);
  const redundant = rest.filter((h) => h.alone === 0);
  const single = rest.filter((h) => h.alone > 0);

  const waves: Wave[] = [];
  const add = (step: WaveStep, group: Hosted[], reason: (h: Hosted) => string) => {
    const planned: { members: Hosted[] }[] = [];
    for (const h of group) {
      // The first wave of this step with room and none of h's Dual partners.
      let wave = planned.find(
        (w) => w.members.length < max && !w.members.some((m) => h.partners.has(m.prod.name)),
      );
      if (!wave) planned.push((wave = { members: [] }));
      wave.members.push(h);
    }
    for (const w of planned)
      waves.push({
        step,
        prods: w.members.map((h) => ({ prod: h.prod.name, reason: reason(h), tenants: h.tenants })),
      });
  };
  const count = (h: Hosted) => `${h.tenants} tenant${h.tenants === 1 ? '' : 's'}`;
  add('test', test, (h) => `test Prod (${count(h)})`);
  add('canary', canary, (h) => `fewest tenants among standard Prods (${count(h)})`);
  add('redundant', redundant, (h) => `every tenant has another copy elsewhere (${count(h)})`);
  add('single', single, (h) => `${h.alone} of ${count(h)} have no other copy`);
  return waves;
}

// Test support only (fast-check is a devDependency): imported by the fleet tests, never by src.
// Random fleets for the property tests: 1–4 failure domains, 0–12 Prods of random states, roles
// and capacities, 0–80 tenants of sizes 1–3 (or all 1), and previous assignments that may be
// anything — on Prods that are gone, twice on one Prod, two copies for a Single tenant.
import fc from 'fast-check';
import type {
  PlacementInput,
  PlacementProd,
  PlacementTenant,
  ProdState,
  TenantPlacement,
} from './types.js';

const state = fc.oneof(
  { arbitrary: fc.constant<ProdState>('open'), weight: 6 },
  { arbitrary: fc.constant<ProdState>('closed'), weight: 1 },
  { arbitrary: fc.constant<ProdState>('leaving'), weight: 2 },
  { arbitrary: fc.constant<ProdState>('down'), weight: 1 },
);

export interface FleetShape {
  minProds: number;
  maxProds: number;
  minTenants: number;
  maxTenants: number;
  maxCapacity: number;
}

const FLEET: FleetShape = {
  minProds: 0,
  maxProds: 12,
  minTenants: 0,
  maxTenants: 80,
  maxCapacity: 24,
};

export function arbInput(shape: FleetShape = FLEET) {
  return fc
    .record({
      domains: fc.integer({ min: 1, max: 4 }),
      unit: fc.boolean(),
      rebalance: fc.oneof(
        { arbitrary: fc.constant(0), weight: 2 },
        { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 1 },
      ),
      prods: fc.array(
        fc.record({
          d: fc.nat(3),
          k: fc.nat(1),
          capacity: fc.integer({ min: 0, max: shape.maxCapacity }),
          test: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          state,
        }),
        { minLength: shape.minProds, maxLength: shape.maxProds },
      ),
      tenants: fc.array(
        fc.record({
          size: fc.integer({ min: 1, max: 3 }),
          dual: fc.boolean(),
          test: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          pin: fc.option(fc.record({ d: fc.nat(3), k: fc.option(fc.nat(1)) }), { freq: 4 }),
          primary: fc.option(fc.nat(1000), { freq: 3 }),
          secondary: fc.option(fc.nat(1000), { freq: 2 }),
        }),
        { minLength: shape.minTenants, maxLength: shape.maxTenants },
      ),
    })
    .map(({ domains, unit, rebalance, prods, tenants }) => {
      const domain = (d: number) => `d${d % domains}`;
      const ps: PlacementProd[] = prods.map((p, i) => ({
        name: `p${i}`,
        cluster: `${domain(p.d)}-k${p.k}`,
        domain: domain(p.d),
        capacity: p.capacity,
        role: p.test ? 'test' : 'standard',
        state: p.state,
      }));
      // One index in n + 1 names a Prod that is gone.
      const prodName = (i: number) =>
        i % (ps.length + 1) < ps.length ? `p${i % (ps.length + 1)}` : `gone${i}`;
      const previous: Record<string, TenantPlacement> = {};
      const ts: PlacementTenant[] = tenants.map((t, i) => {
        const name = `t${i}`;
        if (t.primary !== null) {
          previous[name] = { primary: prodName(t.primary) };
          if (t.secondary !== null) previous[name].secondary = prodName(t.secondary);
        }
        const tenant: PlacementTenant = {
          name,
          size: unit ? 1 : t.size,
          redundancy: t.dual ? 'Dual' : 'Single',
          test: t.test,
        };
        if (t.pin)
          tenant.pin =
            t.pin.k === null
              ? { domain: domain(t.pin.d) }
              : { cluster: `${domain(t.pin.d)}-k${t.pin.k}` };
        return tenant;
      });
      const input: PlacementInput = { tenants: ts, prods: ps, previous, rebalanceMoves: rebalance };
      return input;
    });
}

/** The same input with its arrays in another order. */
export function shuffled(input: PlacementInput, seed: number): PlacementInput {
  const mix = <T>(xs: readonly T[]) => {
    const out = [...xs];
    let s = seed >>> 0 || 1;
    for (let i = out.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return { ...input, tenants: mix(input.tenants), prods: mix(input.prods) };
}

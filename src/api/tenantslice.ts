// TenantSlice (namespaced): a shard of one Fleet's assignment — which Prods serve each of its
// Tenants — written by the Fleet controller, read by the routers and the Release controller.
// Kubernetes' EndpointSlice pattern: a Fleet of 10,000 Tenants moved by a rollback is
// SLICE_COUNT writes made at once, not one status write per Tenant (those follow, for people and
// kubectl, but nothing waits for them). A Tenant's shard is fixed by its name (sliceOf), so a
// move is one write to one slice: never seen half-done.
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { ObjectName } from './schema.js';
import { ageColumn, defineKind, type KachikuObject } from './kind.js';
import type { Tenant } from './tenant.js';

/** Slices per Fleet: ≤ 32 writes for any move; ~300 tenants a slice at 10,000 (≈ 20 KiB). */
export const SLICE_COUNT = 32;

export const TenantSliceSpec = Type.Object({
  fleet: ObjectName({ description: 'the Fleet (same namespace) whose assignment this is' }),
  slice: Type.Integer({
    minimum: 0,
    maximum: SLICE_COUNT - 1,
    description: `which shard of the Fleet's Tenants (by a hash of the name, mod ${SLICE_COUNT})`,
  }),
  tenants: Type.Optional(
    Type.Record(
      Type.String(),
      Type.String({
        maxLength: 507,
        description: 'the primary Prod, then the secondary after a space (Dual tenants)',
      }),
      {
        description: 'tenant name → "<primary>[ <secondary>]": the Prods that serve it now',
      },
    ),
  ),
});
export type TenantSliceSpec = Static<typeof TenantSliceSpec>;

export const TenantSliceStatus = Type.Object({});
export type TenantSliceStatus = Static<typeof TenantSliceStatus>;

export type TenantSlice = KachikuObject<'TenantSlice', TenantSliceSpec, TenantSliceStatus>;

export const tenantSliceKind = defineKind({
  kind: 'TenantSlice',
  plural: 'tenantslices',
  singular: 'tenantslice',
  shortNames: ['tsl'],
  scope: 'Namespaced',
  description:
    "A shard of a Fleet's assignment of Tenants to Prods, written by kachiku (read it, do not edit it).",
  printerColumns: [
    { name: 'Fleet', type: 'string', jsonPath: '.spec.fleet' },
    { name: 'Slice', type: 'integer', jsonPath: '.spec.slice' },
    ageColumn,
  ],
  spec: TenantSliceSpec,
  status: TenantSliceStatus,
});

/**
 * The slice a Tenant's assignment lives in. Memoized: every reader asks it per Tenant per
 * reconcile (a rollback at 10,000 tenants asked it ~10^6 times, 1.4 s of sha256 in a profile);
 * the memo is dropped whole when it outgrows any plausible number of live tenant names.
 */
export function sliceOf(tenant: string): number {
  let i = sliceMemo.get(tenant);
  if (i === undefined) {
    i = createHash('sha256').update(tenant).digest().readUInt32BE(0) % SLICE_COUNT;
    if (sliceMemo.size >= SLICE_MEMO_MAX) sliceMemo.clear();
    sliceMemo.set(tenant, i);
  }
  return i;
}
const SLICE_MEMO_MAX = 1 << 18;
const sliceMemo = new Map<string, number>();

/** A slice's deterministic name (a long Fleet name is cut and told apart by a hash). */
export function sliceName(fleet: string, slice: number): string {
  const name = `${fleet}-tenants-${slice}`;
  if (name.length <= 253) return name;
  const hash = createHash('sha256').update(fleet).digest('hex').slice(0, 10);
  return `${fleet.slice(0, 253 - 22)}-${hash}-t-${slice}`;
}

/** The informer key (`<namespace>/<name>`) of the slice that holds a Tenant's assignment. */
export const sliceKeyOf = (t: Pick<Tenant, 'metadata' | 'spec'>) =>
  `${t.metadata.namespace ?? ''}/${sliceName(t.spec.fleet, sliceOf(t.metadata.name))}`;

export interface Prods {
  primary: string;
  secondary?: string;
}

export const encodeProds = (p: Prods) => (p.secondary ? `${p.primary} ${p.secondary}` : p.primary);

export function decodeProds(v: string): Prods | undefined {
  const [primary, secondary] = v.split(' ');
  if (!primary) return undefined;
  return secondary ? { primary, secondary } : { primary };
}

/**
 * A Fleet's assignment as its slices hold it (tenant → Prods). Only slices of that Fleet, and in
 * each only the tenants that belong to it (a stale entry elsewhere is ignored).
 */
export function sliceAssignment(fleet: string, slices: readonly TenantSlice[]): Map<string, Prods> {
  const out = new Map<string, Prods>();
  for (const s of slices) {
    if (s.spec.fleet !== fleet || s.metadata.deletionTimestamp) continue;
    for (const [tenant, p] of decoded(s)) out.set(tenant, p);
  }
  return out;
}

/**
 * One slice's valid entries, decoded once per object: the informers replace an object on every
 * change and never modify one, so an object's entries never change (the Fleet, the routers and
 * the Release controller each read every slice on every reconcile).
 */
function decoded(s: TenantSlice): ReadonlyMap<string, Prods> {
  let d = decodedSlices.get(s);
  if (!d) {
    const m = new Map<string, Prods>();
    for (const [tenant, v] of Object.entries(s.spec.tenants ?? {})) {
      if (sliceOf(tenant) !== s.spec.slice) continue;
      const p = decodeProds(v);
      if (p) m.set(tenant, p);
    }
    decodedSlices.set(s, m);
    d = m;
  }
  return d;
}
const decodedSlices = new WeakMap<TenantSlice, ReadonlyMap<string, Prods>>();

/**
 * Which Prods serve a Tenant now: its slice's entry once the slice exists (the Fleet writes it
 * before the Tenant's status, so it is the newer), else the Tenant's status (a Fleet from before
 * TenantSlices, or a slice not made yet). Built once over many slices; asked per Tenant.
 */
export function tenantProds(
  slices: readonly TenantSlice[],
): (t: Pick<Tenant, 'metadata' | 'spec' | 'status'>) => Prods | undefined {
  // `<namespace>/<fleet>` → slice number → the slices that say they are it (one, but for an
  // object made by hand). A slice being deleted still says the Tenant's status is not the record.
  const byFleet = new Map<string, Map<number, TenantSlice[]>>();
  for (const s of slices) {
    const key = `${s.metadata.namespace ?? ''}/${s.spec.fleet}`;
    let m = byFleet.get(key);
    if (!m) byFleet.set(key, (m = new Map()));
    m.set(s.spec.slice, [...(m.get(s.spec.slice) ?? []), s]);
  }
  return (t) => {
    const name = t.metadata.name;
    const same = byFleet.get(`${t.metadata.namespace ?? ''}/${t.spec.fleet}`)?.get(sliceOf(name));
    if (same) {
      let found: Prods | undefined;
      for (const s of same)
        if (!s.metadata.deletionTimestamp) found = decoded(s).get(name) ?? found;
      return found;
    }
    const p = t.status?.prods;
    return p?.primary
      ? { primary: p.primary, ...(p.secondary && { secondary: p.secondary }) }
      : undefined;
  };
}

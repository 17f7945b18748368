// The Fleet's Tenants: which may be placed (screenTenants), the placement's input built from the
// objects (placementInput), and the Tenant statuses a placement result means — only those that
// change (tenantStatusChanges): with 10,000 tenants a drain must not rewrite all of them. Pure.
import { isDeepStrictEqual } from 'node:util';
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { timestamp } from '../../runtime/time.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant, TenantStatus } from '../../api/tenant.js';
import {
  SLICE_COUNT,
  encodeProds,
  sliceName,
  sliceOf,
  tenantProds,
  type TenantSlice,
} from '../../api/tenantslice.js';
import type {
  Assignment,
  PlacementInput,
  PlacementProd,
  PlacementResult,
  PlacementTenant,
} from '../../fleet/types.js';
import type { ClusterFacts } from './clusters.js';
import { clusterOfProd, prodState, roleOf } from './prods.js';

/** Why a Tenant is kept out of placement. */
export interface Excluded {
  reason: typeof Reason.HostConflict | typeof Reason.SingleDomain;
  message: string;
}

const created = (t: Tenant) => t.metadata.creationTimestamp ?? '';
const holding = (t: Tenant) => (t.status?.prods?.primary ? 0 : 1);
/**
 * Oldest first: creationTimestamp, and since it has whole seconds only, among Tenants created in
 * the same second the one already placed (it holds its hosts now), then by name.
 */
const byAge = (a: Tenant, b: Tenant) =>
  created(a) < created(b)
    ? -1
    : created(a) > created(b)
      ? 1
      : holding(a) - holding(b) ||
        (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);

/**
 * The Tenants that placement may take, and why the others may not: a host claimed by an older
 * Tenant of the Fleet (the older keeps it; see byAge), or a Dual Tenant in a
 * Fleet whose selected clusters span one failure domain. Deleting Tenants are left out silently.
 */
export function screenTenants(
  tenants: readonly Tenant[],
  domains: readonly string[],
): { included: Tenant[]; excluded: Map<string, Excluded> } {
  const owner = new Map<string, string>();
  const included: Tenant[] = [];
  const excluded = new Map<string, Excluded>();
  for (const t of [...tenants].filter((t) => !t.metadata.deletionTimestamp).sort(byAge)) {
    const name = t.metadata.name;
    const hosts = t.spec.hosts ?? [];
    const clash = hosts.find((h) => owner.has(h));
    if (clash !== undefined) {
      excluded.set(name, {
        reason: Reason.HostConflict,
        message: `host ${clash} is already Tenant ${owner.get(clash)}'s in this Fleet (the older Tenant keeps it)`,
      });
      continue;
    }
    for (const h of hosts) owner.set(h, name);
    if (t.spec.redundancy === 'Dual' && domains.length < 2) {
      excluded.set(name, {
        reason: Reason.SingleDomain,
        message: `a Dual Tenant needs two failure domains; the Fleet's clusters span ${domains.length === 0 ? 'none' : `only ${domains[0]}`}`,
      });
      continue;
    }
    included.push(t);
  }
  return { included, excluded };
}

export function placementTenant(t: Tenant): PlacementTenant {
  const pin = t.spec.pin && {
    ...(t.spec.pin.domain && { domain: t.spec.pin.domain }),
    ...(t.spec.pin.cluster && { cluster: t.spec.pin.cluster }),
  };
  return {
    name: t.metadata.name,
    size: t.spec.size ?? 1,
    redundancy: t.spec.redundancy ?? 'Single',
    test: t.spec.test ?? false,
    ...(pin && { pin }),
  };
}

/**
 * The assignment in force. A Tenant's slice, once it exists, is the record (the Fleet writes it
 * before the Tenant's status, so after a crash between the two the slice is right); a Tenant
 * whose slice was never written (a Fleet from before TenantSlices) is read from its status.
 */
export function previousAssignment(
  tenants: readonly Tenant[],
  slices: readonly TenantSlice[] = [],
): Assignment {
  const out: Assignment = {};
  const prodsOf = tenantProds(slices);
  for (const t of tenants) {
    const p = prodsOf(t);
    if (p) out[t.metadata.name] = p;
  }
  return out;
}

/** A TenantSlice to write: its whole `spec.tenants`, and the object it replaces (if any). */
export interface SliceChange {
  name: string;
  slice: number;
  tenants: Record<string, string>;
  existing?: TenantSlice;
}

/**
 * The slices whose content a placement result changes. A slice is made when a tenant first
 * falls in it and then kept, empty or not, so that it stays the record for its tenants.
 */
export function sliceChanges(
  fleet: string,
  assignment: Assignment,
  slices: readonly TenantSlice[],
): SliceChange[] {
  const want = new Map<number, Record<string, string>>();
  for (const name of Object.keys(assignment).sort()) {
    const a = assignment[name];
    if (!a?.primary) continue;
    const i = sliceOf(name);
    const m = want.get(i) ?? {};
    m[name] = encodeProds(a);
    want.set(i, m);
  }
  const have = new Map(
    slices.filter((s) => s.spec.fleet === fleet).map((s) => [s.spec.slice, s] as const),
  );
  const out: SliceChange[] = [];
  for (let i = 0; i < SLICE_COUNT; i++) {
    const tenants = want.get(i) ?? {};
    const existing = have.get(i);
    if (!existing && Object.keys(tenants).length === 0) continue;
    if (existing && isDeepStrictEqual(existing.spec.tenants ?? {}, tenants)) continue;
    out.push({ name: sliceName(fleet, i), slice: i, tenants, ...(existing && { existing }) });
  }
  return out;
}

export interface InputOptions {
  /** Clusters whose Prods this Fleet is emptying (its drains that are moving or done). */
  draining: ReadonlySet<string>;
  rebalanceMoves?: number;
  /** A rollback is under way (some Prod is avoided): standby Prods are open. */
  rollback?: boolean;
  /** The Fleet's TenantSlices: the assignment in force (see previousAssignment). */
  slices?: readonly TenantSlice[];
}

/**
 * What placement is given: the Tenants to place (screened), the Fleet's Prods with their states,
 * and the assignment in force (from the TenantSlices, else the Tenants' statuses). Also returns what was excluded.
 */
export function placementInput(
  tenants: readonly Tenant[],
  prods: readonly Prod[],
  clusters: readonly ClusterFacts[],
  domains: readonly string[],
  opts: InputOptions,
): { input: PlacementInput; excluded: Map<string, Excluded> } {
  const { included, excluded } = screenTenants(tenants, domains);
  const previous = previousAssignment(included, opts.slices);
  const hosting = new Set(
    Object.values(previous).flatMap((a) => [a.primary, ...(a.secondary ? [a.secondary] : [])]),
  );
  const byName = new Map(clusters.map((c) => [c.name, c]));
  const placementProds: PlacementProd[] = [...prods]
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .map((p) => {
      const name = clusterOfProd(p);
      const cluster = byName.get(name);
      return {
        name: p.metadata.name,
        cluster: name,
        domain: cluster?.domain ?? '',
        capacity: p.spec.capacity ?? 0,
        role: roleOf(p),
        state: prodState(p, cluster, {
          hosting: hosting.has(p.metadata.name),
          draining: opts.draining.has(name),
          rollback: opts.rollback ?? false,
        }),
      };
    });
  return {
    input: {
      tenants: included.map(placementTenant),
      prods: placementProds,
      previous,
      ...(opts.rebalanceMoves !== undefined && { rebalanceMoves: opts.rebalanceMoves }),
    },
    excluded,
  };
}

export interface TenantChange {
  tenant: Tenant;
  status: TenantStatus;
}

/** What a Tenant's status should say about its placement. */
export type Outcome =
  | { kind: 'Placed'; prods: { primary: string; secondary?: string } }
  | {
      kind: 'Unplaced';
      prods?: { primary: string; secondary?: string };
      reason: string;
      message: string;
    };

/** Each Tenant's outcome from a placement result and the exclusions. */
export function outcomes(
  tenants: readonly Tenant[],
  result: PlacementResult,
  excluded: ReadonlyMap<string, Excluded>,
): Map<string, Outcome> {
  const unplaced = new Map<string, PlacementResult['unplaced']>();
  for (const u of result.unplaced) unplaced.set(u.tenant, [...(unplaced.get(u.tenant) ?? []), u]);
  const out = new Map<string, Outcome>();
  for (const t of tenants) {
    const name = t.metadata.name;
    const ex = excluded.get(name);
    if (ex) {
      out.set(name, { kind: 'Unplaced', reason: ex.reason, message: ex.message });
      continue;
    }
    const a = result.assignment[name];
    const prods = a && { primary: a.primary, ...(a.secondary && { secondary: a.secondary }) };
    const missing = unplaced.get(name) ?? [];
    const dual = (t.spec.redundancy ?? 'Single') === 'Dual';
    if (prods && missing.length === 0 && (!dual || prods.secondary)) {
      out.set(name, { kind: 'Placed', prods });
      continue;
    }
    const first = missing[0];
    out.set(name, {
      kind: 'Unplaced',
      ...(prods && { prods }),
      reason: first?.reason ?? Reason.Unschedulable,
      message: [
        ...(prods ? [`primary on ${prods.primary}`] : []),
        ...(missing.length
          ? missing.map((u) => `${u.copy}: ${u.message}`)
          : [prods ? 'secondary: not placed' : 'not placed']),
      ].join('; '),
    });
  }
  return out;
}

/** The status an outcome gives a Tenant (its other fields kept; conditions merged by type). */
export function tenantStatus(t: Tenant, outcome: Outcome, now: number): TenantStatus {
  const old = t.status ?? {};
  const prods = outcome.prods;
  const cond =
    outcome.kind === 'Placed'
      ? {
          type: ConditionType.Placed,
          status: 'True' as const,
          reason: Reason.Placed,
          message: `primary ${outcome.prods.primary}${outcome.prods.secondary ? `, secondary ${outcome.prods.secondary}` : ''}`,
        }
      : {
          type: ConditionType.Placed,
          status: 'False' as const,
          reason: outcome.reason,
          message: outcome.message,
        };
  const status: TenantStatus = {
    ...old,
    observedGeneration: t.metadata.generation,
    conditions: setCondition(
      old.conditions as Condition[] | undefined,
      cond,
      t.metadata.generation,
      new Date(now),
    ),
  };
  if (prods) {
    const same = isDeepStrictEqual(prods, old.prods);
    status.prods = prods;
    status.placedSince = same && old.placedSince ? old.placedSince : timestamp(new Date(now));
  } else {
    delete status.prods;
    delete status.placedSince;
  }
  if (status.observedGeneration === undefined) delete status.observedGeneration;
  return status;
}

/** The Tenants whose status changes, and to what. */
export function tenantStatusChanges(
  tenants: readonly Tenant[],
  result: PlacementResult,
  excluded: ReadonlyMap<string, Excluded>,
  now: number,
): TenantChange[] {
  const live = tenants.filter((t) => !t.metadata.deletionTimestamp);
  const out = outcomes(live, result, excluded);
  return changed(live, (t) => out.get(t.metadata.name), now);
}

/** Every Tenant naming a Fleet that does not exist: Placed=False, FleetNotFound, no Prods. */
export function fleetMissingChanges(
  tenants: readonly Tenant[],
  fleet: { namespace?: string; name: string },
  now: number,
): TenantChange[] {
  const outcome: Outcome = {
    kind: 'Unplaced',
    reason: Reason.FleetNotFound,
    message: `Fleet ${fleet.name} does not exist in namespace ${fleet.namespace ?? ''}`,
  };
  return changed(
    tenants.filter((t) => !t.metadata.deletionTimestamp),
    () => outcome,
    now,
  );
}

function changed(
  tenants: readonly Tenant[],
  outcomeOf: (t: Tenant) => Outcome | undefined,
  now: number,
): TenantChange[] {
  const out: TenantChange[] = [];
  for (const t of tenants) {
    const o = outcomeOf(t);
    if (!o) continue;
    const status = tenantStatus(t, o, now);
    if (!isDeepStrictEqual(status, t.status)) out.push({ tenant: t, status });
  }
  return out;
}

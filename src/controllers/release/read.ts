// What the Release reconciler reads (all from the caches) and what brings a Release back: its
// own spec, the other Releases of its Fleet finishing, and whatever its next step waits for —
// its Fleet, the Fleet's Prods (annotations, versions, phases), Tenants and TenantSlices (where
// each tenant is: the rollback waits for them to move) and the Router's status.held.
import { generationChanged, parseKey, type Request } from '../../runtime/controller.js';
import { findCondition } from '../../runtime/conditions.js';
import { keyOf } from '../../runtime/informer.js';
import { ConditionType } from '../../api/conditions.js';
import type { Release } from '../../api/release.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import type { Fleet } from '../../api/fleet.js';
import type { Router } from '../../api/router.js';
import { sliceKeyOf, tenantProds, type Prods, type TenantSlice } from '../../api/tenantslice.js';
import { FLEET_LABEL } from '../fleet/prods.js';
import { PRODS_BY_FLEET, RELEASES_BY_FLEET, TENANTS_BY_FLEET, type ReleaseEnv } from './context.js';
import { isTerminal, type PlanInput } from './plan.js';

const ns = (o: { metadata: { namespace?: string } }) => o.metadata.namespace ?? '';
const fleetKeyOfRelease = (r: Release) => `${ns(r)}/${r.spec.fleet}`;
const fleetKeyOfTenant = (t: Tenant) => `${ns(t)}/${t.spec.fleet}`;
const fleetKeyOfSlice = (s: TenantSlice) => `${ns(s)}/${s.spec.fleet}`;
const fleetKeysOfProd = (p: Prod) => {
  const fleet = p.metadata.labels?.[FLEET_LABEL];
  return fleet ? [`${ns(p)}/${fleet}`] : [];
};

export function addIndexes(env: ReleaseEnv): void {
  env.releases.addIndex(RELEASES_BY_FLEET, (r) => [fleetKeyOfRelease(r)]);
  env.prods.addIndex(PRODS_BY_FLEET, fleetKeysOfProd);
  env.tenants.addIndex(TENANTS_BY_FLEET, (t) => [fleetKeyOfTenant(t)]);
  env.slices.addIndex(TENANTS_BY_FLEET, (s) => [fleetKeyOfSlice(s)]);
}

/**
 * The Fleet's Tenants with status.prods as the TenantSlices say (the plan reads status.prods):
 * a rollback's moves are in the slices seconds before the last Tenant status is written.
 */
function placedTenants(env: ReleaseEnv, fleetKey: string): Tenant[] {
  const prodsOf = tenantProds(env.slices.byIndex(TENANTS_BY_FLEET, fleetKey));
  return env.tenants.byIndex(TENANTS_BY_FLEET, fleetKey).map((t) => {
    const prods = prodsOf(t);
    // The same cached Tenant with the same slice entry (a slice's entries are decoded once per
    // object): the copy made last time, not 10,000 new objects per reconcile.
    const last = placed.get(t);
    if (last && last.prods === prods) return last.tenant;
    const status = { ...t.status };
    if (prods) status.prods = prods;
    else delete status.prods;
    const tenant = { ...t, status };
    placed.set(t, { prods, tenant });
    return tenant;
  });
}
const placed = new WeakMap<Tenant, { prods: Prods | undefined; tenant: Tenant }>();

/** Everything decide() needs about one Release, from the caches; undefined when it is gone. */
export function observe(env: ReleaseEnv, req: Request, now: number): PlanInput | undefined {
  const key = `${req.namespace ?? ''}/${req.name}`;
  const release = env.releases.get(key);
  if (!release) return undefined;
  const fleetKey = fleetKeyOfRelease(release);
  const fleet = env.fleets.get(fleetKey);
  const routerName = fleet?.spec.routing?.router;
  const router = routerName ? env.routers.get(`${ns(release)}/${routerName}`) : undefined;
  const domains = new Map(env.clusters.list().map((c) => [c.metadata.name, c.spec.failureDomain]));
  return {
    release,
    fleet,
    prods: env.prods.byIndex(PRODS_BY_FLEET, fleetKey),
    tenants: placedTenants(env, fleetKey),
    held: router?.status?.held,
    gateCheck: env.gateChecks.get(key),
    versionCheck: env.versionChecks.get(key),
    others: env.releases
      .byIndex(RELEASES_BY_FLEET, fleetKey)
      .filter((r) => r.metadata.name !== release.metadata.name),
    domains,
    defaultAlertmanager: env.deps.alertmanagerUrl,
    ...(env.deps.holdTimeoutMs !== undefined && { holdBoundMs: env.deps.holdTimeoutMs }),
    now,
  };
}

export function watch(env: ReleaseEnv): void {
  const { ctl } = env;
  const enqueueFleet = (fleetKey: string) => {
    for (const r of env.releases.byIndex(RELEASES_BY_FLEET, fleetKey))
      if (!isTerminal(r)) ctl.enqueue(parseKey(keyOf(r)));
  };
  const on = <T>(keys: (o: T) => string[], facts: (o: T) => unknown) => ({
    add: (o: T) => keys(o).forEach(enqueueFleet),
    update: (old: T, o: T) => {
      if (JSON.stringify(facts(old)) === JSON.stringify(facts(o))) return;
      keys(old).forEach(enqueueFleet);
      keys(o).forEach(enqueueFleet);
    },
    delete: (o: T) => keys(o).forEach(enqueueFleet),
  });

  // Spec (paused, aborted) of the Release itself; the others of its Fleet when one finishes.
  ctl.for(env.releases, generationChanged);
  env.releases.addHandler(
    on<Release>(
      (r) => [fleetKeyOfRelease(r)],
      (r) => [r.status?.phase, r.metadata.deletionTimestamp],
    ),
  );
  env.fleets.addHandler(
    on<Fleet>(
      (f) => [keyOf(f)],
      (f) => [f.metadata.generation, f.spec.version, f.spec.routing],
    ),
  );
  env.prods.addHandler(
    on<Prod>(fleetKeysOfProd, (p) => [
      p.metadata.annotations,
      p.metadata.labels,
      p.spec.version,
      p.spec.retired,
      p.metadata.deletionTimestamp,
      p.status?.phase,
      p.status?.version,
      findCondition(p.status?.conditions, ConditionType.Ready)?.status,
    ]),
  );
  env.tenants.addHandler(
    on<Tenant>(
      (t) => [fleetKeyOfTenant(t)],
      // The status's Prods only while the Tenant's slice does not exist (see placedTenants).
      (t) => [t.spec.redundancy, env.slices.get(sliceKeyOf(t)) ? undefined : t.status?.prods],
    ),
  );
  env.slices.addHandler(
    on<TenantSlice>(
      (s) => [fleetKeyOfSlice(s)],
      (s) => s.metadata.generation,
    ),
  );
  // A Router's held list: the Releases of every Fleet routed by it.
  env.routers.addHandler(
    on<Router>(
      (r) =>
        env.fleets
          .list(ns(r))
          .filter((f) => f.spec.routing?.router === r.metadata.name)
          .map(keyOf),
      (r) => r.status?.held,
    ),
  );
}

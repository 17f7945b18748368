// What the Fleet reconciler reads (all from the caches) and what brings a Fleet back to the queue:
// its Tenants (by spec.fleet, so that a Tenant naming a missing Fleet is answered by the reconcile
// of that key), its Prods (by label; their annotations too: a release's avoid is a placement
// change), MemberClusters (every Fleet that selects the cluster or has Prods there, within
// moments of its Reachable condition changing), and its Releases (by spec.fleet: their phase
// decides the standby Prods).
import { generationChanged, parseKey, type Request } from '../../runtime/controller.js';
import { findCondition } from '../../runtime/conditions.js';
import { keyOf } from '../../runtime/informer.js';
import { ConditionType } from '../../api/conditions.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import type { Release } from '../../api/release.js';
import type { TenantSlice } from '../../api/tenantslice.js';
import { BY_CLUSTER, BY_FLEET, type FleetEnv } from './context.js';
import { FLEET_LABEL, avoided, clusterOfProd } from './prods.js';
import { selects } from './clusters.js';
import type { Observed } from './plan.js';

const fleetKeyOfTenant = (t: Tenant) => `${t.metadata.namespace ?? ''}/${t.spec.fleet}`;
const fleetKeyOfRelease = (r: Release) => `${r.metadata.namespace ?? ''}/${r.spec.fleet}`;
const fleetKeyOfSlice = (s: TenantSlice) => `${s.metadata.namespace ?? ''}/${s.spec.fleet}`;
const fleetKeyOfProd = (p: Prod) => {
  const fleet = p.metadata.labels?.[FLEET_LABEL];
  return fleet ? [`${p.metadata.namespace ?? ''}/${fleet}`] : [];
};

/** The indexes the reconciler reads by; added before the informers start. */
export function addIndexes(env: Pick<FleetEnv, 'tenants' | 'prods' | 'releases' | 'slices'>): void {
  env.tenants.addIndex(BY_FLEET, (t) => [fleetKeyOfTenant(t)]);
  env.slices.addIndex(BY_FLEET, (s) => [fleetKeyOfSlice(s)]);
  env.releases.addIndex(BY_FLEET, (r) => [fleetKeyOfRelease(r)]);
  env.prods.addIndex(BY_FLEET, fleetKeyOfProd);
  env.prods.addIndex(BY_CLUSTER, (p) => [clusterOfProd(p)]);
}

/** Everything decide() needs about one Fleet key, from the caches. */
export function observe(env: FleetEnv, req: Request, now: number): Observed {
  const key = `${req.namespace ?? ''}/${req.name}`;
  return {
    key: { namespace: req.namespace ?? '', name: req.name },
    fleet: env.fleets.get(key),
    tenants: env.tenants.byIndex(BY_FLEET, key),
    prods: env.prods.byIndex(BY_FLEET, key),
    taken: new Set(env.prods.list(req.namespace).map((p) => p.metadata.name)),
    clusters: env.clusters.list(),
    releases: env.releases.byIndex(BY_FLEET, key),
    slices: env.slices.byIndex(BY_FLEET, key),
    now,
  };
}

/** How long the Fleet waits for the rest of a rollback's avoid annotations (see watch). */
const AVOID_BURST_MS = 100;

/** Sets up what enqueues a Fleet besides its own spec changes. */
export function watch(env: FleetEnv): void {
  const { ctl } = env;
  const enqueue = (key: string) => ctl.enqueue(parseKey(key));

  // Tenants: new, gone, or their spec changed — not this controller's own status writes.
  env.tenants.addHandler({
    add: (t) => enqueue(fleetKeyOfTenant(t)),
    update: (old, t) => generationChanged(old, t) && enqueue(fleetKeyOfTenant(t)),
    delete: (t) => enqueue(fleetKeyOfTenant(t)),
  });

  // TenantSlices: only a change not its own (one edited or deleted by hand) is news; its own
  // writes are awaited through the expectations.
  env.slices.addHandler({
    update: (old, s) => generationChanged(old, s) && enqueue(fleetKeyOfSlice(s)),
    delete: (s) => enqueue(fleetKeyOfSlice(s)),
  });

  // Prods: what placement reads of them (spec, labels, phase, readiness).
  const relevant = (p: Prod) =>
    JSON.stringify([
      p.metadata.generation,
      p.metadata.labels,
      p.metadata.annotations,
      p.metadata.ownerReferences,
      p.metadata.deletionTimestamp,
      p.status?.phase,
      p.status?.version,
      p.status?.cluster,
      findCondition(p.status?.conditions, ConditionType.Ready)?.status,
    ]);
  const onProd = (p: Prod) => fleetKeyOfProd(p).forEach(enqueue);
  env.prods.addHandler({
    add: onProd,
    update: (old, p) => {
      if (relevant(old) === relevant(p)) return;
      // A rollback annotates every Prod on the failed version at once, but their events arrive
      // one by one: a step started on the first would move one Prod's tenants, then the next
      // step would wait for that step's slice writes to show. A moment's wait lets one step
      // see them all.
      if (!avoided(old) && avoided(p)) {
        for (const k of new Set([...fleetKeyOfProd(old), ...fleetKeyOfProd(p)]))
          ctl.enqueueAfter(parseKey(k), AVOID_BURST_MS);
        return;
      }
      onProd(old);
      onProd(p);
    },
    delete: onProd,
  });

  // Releases: made, gone, or their phase changed (active or not: the standby Prods).
  const phase = (r: Release) => JSON.stringify([r.status?.phase, r.metadata.deletionTimestamp]);
  env.releases.addHandler({
    add: (r) => enqueue(fleetKeyOfRelease(r)),
    update: (old, r) =>
      (generationChanged(old, r) || phase(old) !== phase(r)) && enqueue(fleetKeyOfRelease(r)),
    delete: (r) => enqueue(fleetKeyOfRelease(r)),
  });

  // MemberClusters: the Fleets that select them or have Prods there.
  const facts = (mc: MemberCluster) =>
    JSON.stringify([
      mc.spec.labels,
      mc.spec.provider,
      mc.spec.failureDomain,
      mc.spec.cordoned,
      mc.spec.drain,
      findCondition(mc.status?.conditions, ConditionType.Ready)?.status,
      findCondition(mc.status?.conditions, ConditionType.Reachable)?.status,
    ]);
  const onCluster = (mc: MemberCluster) => {
    const keys = new Set(env.prods.byIndex(BY_CLUSTER, mc.metadata.name).flatMap(fleetKeyOfProd));
    for (const f of env.fleets.list()) if (selects(f, mc)) keys.add(keyOf(f));
    keys.forEach(enqueue);
  };
  env.clusters.addHandler({
    add: onCluster,
    update: (old, mc) => facts(old) !== facts(mc) && (onCluster(old), onCluster(mc)),
    delete: onCluster,
  });
}

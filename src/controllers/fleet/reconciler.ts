// The Fleet reconciler: the shell around the pure core, keyed by `<namespace>/<fleet>`. Each
// reconcile waits until the caches show its previous writes (expectations), reads the Fleet, its
// Tenants and Prods and the MemberClusters from the caches, asks decide() for one placement
// step, does what it says (act.ts), writes the Fleet's status once if it changed (status.ts)
// and records the events.
//   plan.ts      decide(): the pure core (prods.ts, tenants.ts, autoscale.ts, drain.ts under it)
//   read.ts      what is read and what enqueues a Fleet
//   act.ts       Prod and Tenant writes, in make-before-break order
//   status.ts    the Fleet's status write and the events
import { Counter } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import {
  generationChanged,
  parseKey,
  requestKey,
  type Controller,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import { Expectations } from '../../runtime/expectations.js';
import type { KubeObject } from '../../runtime/rest.js';
import type { Fleet } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import type { Release } from '../../api/release.js';
import type { TenantSlice } from '../../api/tenantslice.js';
import {
  fleetGvr,
  memberClusterGvr,
  prodGvr,
  releaseGvr,
  tenantGvr,
  tenantSliceGvr,
  type FleetDeps,
  type FleetEnv,
} from './context.js';
import { decide } from './plan.js';
import { addIndexes, observe, watch } from './read.js';
import { act, writeTenantStatus } from './act.js';
import { TenantStatusWriter } from './statuswriter.js';
import { recordEvents, writeStatus } from './status.js';

export { fleetGvr, tenantGvr, type FleetDeps } from './context.js';

/** While the caches have not shown the last writes: look again this soon. */
export const EXPECTATION_POLL_MS = 100;

export function registerFleetController(mgr: Manager, deps: FleetDeps): Controller {
  const fleets = mgr.informer<Fleet>(fleetGvr);
  const tenants = mgr.informer<Tenant>(tenantGvr);
  const prods = mgr.informer<Prod>(prodGvr);
  const clusters = mgr.informer<MemberCluster>(memberClusterGvr);
  const releases = mgr.informer<Release>(releaseGvr);
  const slices = mgr.informer<TenantSlice>(tenantSliceGvr);
  const ctl = mgr.controller({
    name: 'fleet',
    concurrency: deps.concurrency ?? 4,
    reconcile: (req, ctx) => reconcile(env, req, ctx),
  });
  const env: FleetEnv = {
    mgr,
    deps,
    ctl,
    fleets,
    tenants,
    prods,
    clusters,
    releases,
    slices,
    expectations: new Expectations(deps.expectationTimeoutMs ?? 10_000),
    tenantWrites: tenantWrites(mgr),
    statusWriter: new TenantStatusWriter(
      (change) => writeTenantStatus(env, change),
      deps.writeConcurrency ?? 16,
      (owner, err) => {
        // No longer leading: every pending write fails at once; the next leader writes them.
        if (mgr.leading.aborted) return;
        mgr.log.warn({ controller: 'fleet', key: owner, err }, 'tenant status write failed: again');
        ctl.enqueue(parseKey(owner));
      },
    ),
  };
  addIndexes(env);
  // Spec, labels, deletion: this controller's own status writes do not bring it back.
  ctl.for(fleets, generationChanged);
  watch(env);
  return ctl;
}

// One counter per metrics registry (several managers may share one in tests).
const counters = new WeakMap<object, Counter<'outcome'>>();
function tenantWrites(mgr: Manager): Counter<'outcome'> {
  const registry = mgr.metrics.registry;
  let c = counters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'kachiku_fleet_tenant_status_writes_total',
      help: 'Tenant status writes made by the Fleet controller, by outcome (only changed Tenants are written)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    counters.set(registry, c);
  }
  return c;
}

async function reconcile(env: FleetEnv, req: Request, ctx: ReconcileContext): Promise<Result> {
  const key = requestKey(req);
  const lookup = (resource: string, k: string): KubeObject | undefined =>
    resource === 'tenants'
      ? env.tenants.get(k)
      : resource === 'prods'
        ? env.prods.get(k)
        : resource === 'tenantslices'
          ? env.slices.get(k)
          : env.fleets.get(k);
  const seen = env.expectations.satisfied(key, lookup);
  if (!seen.ok) return { requeueAfterMs: EXPECTATION_POLL_MS };
  if (seen.timedOut)
    ctx.log.warn(
      { unseen: seen.waitingFor },
      'the caches did not show every write of the last reconcile in time: going on',
    );
  const observed = observe(env, req, Date.now());
  const started = performance.now();
  const d = decide(observed, env.deps.placer);
  const decideMs = Math.round(performance.now() - started);
  if (d.tenants.length || d.slices.length || d.create.length || d.retire.length || d.scaleIn.length)
    ctx.log.info(
      {
        tenants: observed.tenants.length,
        tenantWrites: d.tenants.length,
        sliceWrites: d.slices.length,
        create: d.create.length,
        scaleIn: d.scaleIn.length,
        retire: d.retire.length,
        decideMs,
      },
      'placement step',
    );
  if (ctx.log.isLevelEnabled('debug'))
    for (const c of d.tenants)
      ctx.log.debug(
        {
          tenant: c.tenant.metadata.name,
          from: c.tenant.status?.prods,
          to: c.status.prods,
          placed: c.status.conditions?.find((x) => x.type === 'Placed')?.reason,
        },
        'tenant status',
      );
  const { fleet } = observed;
  await act(env, key, fleet, d, ctx);
  if (fleet && d.status) await writeStatus(env, key, fleet, d.status, ctx);
  if (fleet) recordEvents(env, fleet, d.events);
  return d.requeueAfterMs !== undefined ? { requeueAfterMs: d.requeueAfterMs } : {};
}

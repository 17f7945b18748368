// The Release reconciler: the shell around the pure core (plan.ts), keyed by Release. Each
// reconcile waits until the caches show its previous writes (expectations), reads the Release,
// its Fleet, the Fleet's Prods, Tenants and Router and the other Releases of the Fleet, asks
// decide() for one step, does what it says (act.ts: annotations, versions, gate queries), writes
// the Release's status once if it changed and records the events and metrics (status.ts).
//   context.ts   informers, dependencies, metrics
//   read.ts      what is read and what enqueues a Release
//   act.ts       Prod and Fleet writes, gate queries
//   status.ts    the status write, events, metrics
import { Histogram } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import {
  requestKey,
  type Controller,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import { Expectations } from '../../runtime/expectations.js';
import type { KubeObject } from '../../runtime/rest.js';
import type { Release } from '../../api/release.js';
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import type { Router } from '../../api/router.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { TenantSlice } from '../../api/tenantslice.js';
import {
  fleetGvr,
  memberClusterGvr,
  tenantSliceGvr,
  prodGvr,
  releaseGvr,
  routerGvr,
  tenantGvr,
  type ReleaseDeps,
  type ReleaseEnv,
} from './context.js';
import { decide } from './plan.js';
import { addIndexes, observe, watch } from './read.js';
import { act } from './act.js';
import { record, writeStatus } from './status.js';

export { releaseGvr, type ReleaseDeps } from './context.js';

/** While the caches have not shown the last writes: look again this soon. */
const EXPECTATION_POLL_MS = 100;
/** After asking the gates: this soon, to record what they said. */
const AFTER_GATES_MS = 10;

export function registerReleaseController(mgr: Manager, deps: ReleaseDeps): Controller {
  const ctl = mgr.controller({
    name: 'release',
    concurrency: deps.concurrency ?? 4,
    reconcile: (req, ctx) => reconcile(env, req, ctx),
  });
  const env: ReleaseEnv = {
    mgr,
    deps,
    ctl,
    releases: mgr.informer<Release>(releaseGvr),
    fleets: mgr.informer<Fleet>(fleetGvr),
    tenants: mgr.informer<Tenant>(tenantGvr),
    prods: mgr.informer<Prod>(prodGvr),
    routers: mgr.informer<Router>(routerGvr),
    clusters: mgr.informer<MemberCluster>(memberClusterGvr),
    slices: mgr.informer<TenantSlice>(tenantSliceGvr),
    expectations: new Expectations(10_000),
    gateChecks: new Map(),
    versionChecks: new Map(),
    metrics: histograms(mgr),
  };
  addIndexes(env);
  watch(env);
  return ctl;
}

// One set per metrics registry (several managers may share one in tests).
const made = new WeakMap<object, ReleaseEnv['metrics']>();
function histograms(mgr: Manager): ReleaseEnv['metrics'] {
  const registry = mgr.metrics.registry;
  let m = made.get(registry);
  if (!m) {
    m = {
      waveDuration: new Histogram({
        name: 'kachiku_release_wave_duration_seconds',
        help: 'From a wave starting to it passing: updates, warm-up and bake',
        labelNames: ['namespace', 'fleet'] as const,
        buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
        registers: [registry],
      }),
      rollback: new Histogram({
        name: 'kachiku_release_rollback_seconds',
        help: "From a rollback starting to every moved tenant's status naming a good-version Prod",
        labelNames: ['namespace', 'fleet'] as const,
        buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
        registers: [registry],
      }),
    };
    made.set(registry, m);
  }
  return m;
}

async function reconcile(env: ReleaseEnv, req: Request, ctx: ReconcileContext): Promise<Result> {
  const key = requestKey(req);
  const lookup = (resource: string, k: string): KubeObject | undefined =>
    resource === 'prods'
      ? env.prods.get(k)
      : resource === 'fleets'
        ? env.fleets.get(k)
        : env.releases.get(k);
  const seen = env.expectations.satisfied(key, lookup);
  if (!seen.ok) return { requeueAfterMs: EXPECTATION_POLL_MS };
  if (seen.timedOut)
    ctx.log.warn({ unseen: seen.waitingFor }, 'the caches did not show every write in time');
  const input = observe(env, req, Date.now());
  if (!input) {
    env.gateChecks.delete(key);
    env.versionChecks.delete(key);
    return {};
  }
  const d = decide(input);
  await act(env, key, input.release, input.fleet, d.actions, ctx);
  await writeStatus(env, key, input.release, d.status, ctx);
  record(env, input.release, d);
  if (d.status.phase !== input.release.status?.phase)
    ctx.log.info({ phase: d.status.phase, message: d.status.message }, 'Release phase');
  if (d.actions.some((a) => a.kind === 'queryGates' || a.kind === 'checkVersion'))
    return { requeueAfterMs: AFTER_GATES_MS };
  return d.requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(1, d.requeueAfterMs) } : {};
}

// The Prod reconciler: the shell around the pure core. Each reconcile re-reads the Prod from the
// cache, finds where it runs and what its member cluster shows, asks decide() what that means,
// does what it says, then writes the status once (only when it changed) and records its events.
//   plan.ts      the pure core: locate() the cluster, decide() phase, conditions, actions, requeue
//   read.ts      what is observed: placement's view of the clusters, the member cluster
//   act.ts       what is done there: server-side apply, deletions, warm-up requests
//   status.ts    the status write and the events
//   watch.ts     what re-queues a Prod: MemberClusters, connections, member-cluster objects,
//                Routers that start or stop routing tenants to it
//   routing.ts   whether tenants are routed to it (InService), from the Routers' status
//   context.ts   what they share: resources, dependencies, memory between reconciles
// Member-cluster objects arrive as informer events; the only timers are requeueAfter (warm-up
// time, retries, a slow resync).
import type { Manager } from '../../runtime/manager.js';
import {
  generationChanged,
  requestKey,
  type Controller,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import { isNotFound } from '../../runtime/rest.js';
import { addFinalizer, removeFinalizer } from '../../runtime/objects.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Router } from '../../api/router.js';
import {
  FINALIZER,
  forget,
  memberClusterGvr,
  prodGvr,
  remember,
  routerGvr,
  type ProdDeps,
  type ProdEnv,
  type Watched,
} from './context.js';
import {
  AT_ONCE_MS,
  clusterOf,
  decide,
  failed,
  locate,
  refused,
  retiring,
  warmedUp,
  type Decision,
} from './plan.js';
import { clusterView, readMember } from './read.js';
import { Refused, applyObjects, deleteObject, warmUp } from './act.js';
import { errorMessage, recordEvents, writeStatus } from './status.js';
import { watchClusters, watchRouters } from './watch.js';
import { routedBy } from './routing.js';

export { FINALIZER, memberClusterGvr, prodGvr } from './context.js';
export type { ProdDeps } from './context.js';

export interface ProdController {
  controller: Controller;
  /** Prods placed in a cluster and not retired (MemberCluster status.prods). */
  prodsHosted(cluster: string): number;
}

export function registerProdController(mgr: Manager, deps: ProdDeps): ProdController {
  const prods = mgr.informer<Prod>(prodGvr);
  prods.addIndex('cluster', (p) => [clusterOf(p)]);
  const clusters = mgr.informer<MemberCluster>(memberClusterGvr);
  const routers = mgr.informer<Router>(routerGvr);
  const ctl = mgr.controller({
    name: 'prod',
    concurrency: deps.concurrency ?? 8,
    reconcile: (req, ctx) => reconcile(env, req, ctx),
  });
  const env: ProdEnv = {
    mgr,
    deps,
    registry: deps.registry,
    ctl,
    resyncMs: deps.resyncMs ?? 10 * 60_000,
    prods,
    clusters,
    routers,
    memory: new Map(),
    written: new Map(),
    attached: new WeakMap<ClusterConnection, Watched>(),
  };
  // Spec, deletion and finalizer changes: our own status writes must not trigger a reconcile.
  ctl.for(prods, generationChanged);
  watchClusters(env);
  watchRouters(env);

  return {
    controller: ctl,
    prodsHosted: (cluster) =>
      prods.byIndex('cluster', cluster).filter((p) => p.status?.phase !== 'Retired').length,
  };
}

/** The Prod as it is now: the cache, unless it has not yet seen this controller's last write. */
async function current(env: ProdEnv, key: string, cached: Prod): Promise<Prod | undefined> {
  const mine = env.written.get(key);
  if (!mine || mine.metadata.resourceVersion === cached.metadata.resourceVersion) return cached;
  try {
    return remember(
      env,
      key,
      await env.mgr.rest.get<Prod>(prodGvr, cached.metadata.namespace, cached.metadata.name),
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function reconcile(
  env: ProdEnv,
  req: Request,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const key = requestKey(req);
  const cached = env.prods.get(key);
  const prod = cached && (await current(env, key, cached));
  if (!prod) return forget(env, key);
  let memory = env.memory.get(key) ?? {};
  const where = locate(prod, memory, clusterView(env, key));
  // Before any await: Prods reconciled together see each other's choices.
  if (where.chosen) env.memory.set(key, (memory = { ...memory, choice: where.cluster }));
  const done: Done = { prod, wrote: false };
  try {
    const seen = where.cluster ? await readMember(env, key, prod, where.cluster, ctx) : undefined;
    const observed = {
      now: Date.now(),
      resyncMs: env.resyncMs,
      jitter: Math.random(),
      where,
      member: seen?.member,
      routedBy: routedBy(env.routers.list(prod.metadata.namespace), prod.metadata.name),
    };
    return await execute(env, key, done, decide(prod, observed, memory), seen?.conn, ctx);
  } catch (err) {
    // The Prod itself is gone: a reconcile queued before its finalizer went, on a stale cache.
    if (isNotFound(err) && retiring(prod)) return forget(env, key);
    // Leadership lost: nothing more is written.
    if (ctx.signal.aborted) throw err;
    // Degraded says why (unless this reconcile has written its status already); retried.
    if (!done.wrote) {
      const status = failed(done.prod, errorMessage(err), Date.now());
      await writeStatus(env, key, done.prod, status, ctx).catch(() => {});
    }
    throw err;
  }
}

/** The Prod as this reconcile last wrote it, and whether it wrote its status. */
interface Done {
  prod: Prod;
  wrote: boolean;
}

/**
 * Does what the decision says: the finalizer and the member-cluster actions in order, then the
 * status write and the events, then (retired) the finalizer's removal. An action's outcome that
 * decide() must see (warm-up answers, a refused object) goes to memory.
 */
async function execute(
  env: ProdEnv,
  key: string,
  done: Done,
  decision: Decision,
  conn: ClusterConnection | undefined,
  ctx: ReconcileContext,
): Promise<Result | void> {
  let memory = decision.memory;
  const member = () => {
    if (!conn) throw new Error(`no member-cluster connection for ${key}`);
    return conn;
  };
  try {
    for (const action of decision.actions)
      switch (action.kind) {
        case 'AddFinalizer':
          done.prod = remember(
            env,
            key,
            await addFinalizer(env.mgr.rest, prodGvr, done.prod, FINALIZER),
          );
          break;
        case 'Apply':
          await applyObjects(member(), action, ctx);
          break;
        case 'Delete':
          await deleteObject(member(), action, ctx);
          break;
        case 'WarmUp': {
          const result = await warmUp(env, action, ctx);
          const retryMs = env.deps.warmupRetryMs ?? 2000;
          if (memory) memory = warmedUp(memory, action, result, Date.now(), retryMs);
          break;
        }
        case 'RemoveFinalizer':
          break; // after the status write
      }
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    // Decided again at once: the refusal becomes the Ready condition then.
    env.memory.set(key, refused(env.memory.get(key) ?? {}, done.prod, err.message, Date.now()));
    return { requeueAfterMs: AT_ONCE_MS };
  }
  if (memory) env.memory.set(key, memory);
  if (decision.status) {
    done.wrote = true;
    done.prod = await writeStatus(env, key, done.prod, decision.status, ctx);
  }
  recordEvents(env, done.prod, decision.events);
  if (decision.actions.some((a) => a.kind === 'RemoveFinalizer'))
    await removeFinalizer(env.mgr.rest, prodGvr, done.prod, FINALIZER);
  if (!memory) forget(env, key);
  return decision.requeueAfterMs ? { requeueAfterMs: decision.requeueAfterMs } : undefined;
}

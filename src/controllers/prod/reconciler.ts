// The Prod reconciler: read the Prod, decide its cluster, act there, write what it found. Each
// step lives in its own module:
//   choose.ts    which member cluster (placement.ts does the choosing)
//   watch.ts     what re-queues a Prod: MemberClusters, connections, member-cluster objects
//   apply.ts     render the stack, server-side apply what differs, prune what the spec dropped
//   progress.ts  Pending → Provisioning → WarmingUp (warmingup.ts) → Ready, from observation
//   drain.ts     Draining → Retired on deletion or spec.retired
//   status.ts    the status draft and its write
//   context.ts   what they share: resources, dependencies, in-memory state
// Member-cluster objects arrive as informer events; the only timers are requeueAfter (warm-up
// time, retries, a slow resync).
import type { Manager } from '../../runtime/manager.js';
import {
  TerminalError,
  generationChanged,
  requestKey,
  type Controller,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import { isNotFound } from '../../runtime/rest.js';
import { addFinalizer, hasFinalizer, isDeleting } from '../../runtime/objects.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import { ownerOf } from './render.js';
import {
  FINALIZER,
  clusterOf,
  forget,
  memberClusterGvr,
  prodGvr,
  remember,
  type ProdDeps,
  type ProdEnv,
} from './context.js';
import { Draft, errorMessage, writeStatus } from './status.js';
import { synced, watchClusters, watchConnection, type Watched } from './watch.js';
import { chooseCluster } from './choose.js';
import { applyAll, prune, render } from './apply.js';
import { progress } from './progress.js';
import { retire } from './drain.js';

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
    choices: new Map(),
    written: new Map(),
    warm: new Map(),
    manifestsApplied: new Map(),
    attached: new WeakMap<ClusterConnection, Watched>(),
  };
  // Spec, deletion and finalizer changes: our own status writes must not trigger a reconcile.
  ctl.for(prods, generationChanged);
  watchClusters(env);

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
  const { mgr } = env;
  const key = requestKey(req);
  const cached = env.prods.get(key);
  const prod = cached && (await current(env, key, cached));
  if (!prod) return forget(env, key);
  if (isDeleting(prod) || prod.spec.retired) return retire(env, key, prod, ctx);
  const owned = hasFinalizer(prod, FINALIZER)
    ? prod
    : remember(env, key, await addFinalizer(mgr.rest, prodGvr, prod, FINALIZER));
  const draft = new Draft(owned);
  try {
    return await run(env, key, draft, ctx);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    if (err instanceof TerminalError) {
      draft.set(ConditionType.Ready, 'False', err.reason, err.message);
      await writeStatus(env, key, draft);
      void mgr.events.record({
        regarding: owned,
        type: 'Warning',
        reason: err.reason,
        action: 'Reconcile',
        note: err.message,
      });
      // The runtime does not retry it with backoff: it comes back on a change, or requeueAfterMs.
      throw err;
    }
    draft.set(ConditionType.Degraded, 'True', Reason.ReconcileError, errorMessage(err));
    await writeStatus(env, key, draft).catch(() => {});
    throw err;
  }
}

async function run(
  env: ProdEnv,
  key: string,
  draft: Draft,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const { prod } = draft;
  const name = chooseCluster(env, key, prod);
  // Record the choice before anything is applied, so that a restart keeps it.
  draft.fields.cluster = name;
  const conn = env.registry.get(name);
  if (!conn || !conn.reachable) {
    const why = conn
      ? `member cluster ${name} is unreachable`
      : `no connection to member cluster ${name} (MemberCluster not connected yet, or its kubeconfig is missing)`;
    draft.set(ConditionType.ClusterUnreachable, 'True', Reason.ClusterUnreachable, why);
    draft.set(
      ConditionType.Ready,
      'Unknown',
      Reason.ClusterUnreachable,
      `${why}: what runs there is left as it is`,
    );
    await writeStatus(env, key, draft);
    return;
  }
  draft.set(
    ConditionType.ClusterUnreachable,
    'False',
    Reason.ClusterReachable,
    `member cluster ${name} is reachable`,
  );
  const w = watchConnection(env, conn);
  await synced(env, w, conn);

  const rendered = await render(conn, prod, name);
  const ns = w.namespaces.get(rendered.namespace);
  const owner = ns && ownerOf(ns);
  if (owner && requestKey(owner) !== key)
    throw new TerminalError(
      Reason.InvalidSpec,
      `namespace ${rendered.namespace} in cluster ${name} belongs to Prod ${requestKey(owner)}`,
    );
  if (ns?.metadata.deletionTimestamp)
    throw new TerminalError(
      Reason.Provisioning,
      `namespace ${rendered.namespace} in cluster ${name} is still being deleted`,
    );
  draft.fields.namespace = rendered.namespace;
  if (prod.status?.cluster !== name || prod.status?.namespace !== rendered.namespace) {
    if (draft.phase === 'Pending') draft.phase = 'Provisioning';
    draft.set(ConditionType.Ready, 'False', Reason.Provisioning, `provisioning in ${name}`);
    draft.prod = await writeStatus(env, key, draft);
  }

  await applyAll(env, key, conn, w, rendered, ctx);
  await prune(key, conn, w, rendered, ctx);
  return progress(env, key, draft, conn, w, rendered, ctx);
}

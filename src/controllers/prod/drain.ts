// Draining → Retired, on deletion or spec.retired: delete what the Prod made in its member
// cluster (cluster-scoped manifests, then its namespace), then let it go (the finalizer).
import {
  TerminalError,
  requestKey,
  type ReconcileContext,
  type Result,
} from '../../runtime/controller.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import { isNotFound } from '../../runtime/rest.js';
import { hasFinalizer, removeFinalizer } from '../../runtime/objects.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { Prod } from '../../api/prod.js';
import { ownerOf, prodNamespace, type Rendered } from './render.js';
import { FINALIZER, clusterOf, forget, prodGvr, type ProdEnv } from './context.js';
import { Draft, writeStatus } from './status.js';
import { watchConnection } from './watch.js';
import { render } from './apply.js';
import { namespaceGvr } from '../../runtime/core.js';

export async function retire(
  env: ProdEnv,
  key: string,
  prod: Prod,
  ctx: ReconcileContext,
): Promise<Result | void> {
  if (!hasFinalizer(prod, FINALIZER)) return;
  try {
    return await drain(env, key, prod, ctx);
  } catch (err) {
    // Member-cluster 404s are handled in removeFrom: this is the Prod itself, already gone
    // (a reconcile queued before its finalizer was removed, reading a stale cache).
    if (isNotFound(err)) return forget(env, key);
    throw err;
  }
}

async function drain(
  env: ProdEnv,
  key: string,
  prod: Prod,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const draft = new Draft(prod);
  const name = clusterOf(prod) || env.choices.get(key);
  // status.namespace is written before anything is applied: without it, nothing was made.
  const made = Boolean(name && prod.status?.namespace);
  if (made && name) {
    draft.phase = 'Draining';
    const conn = env.registry.get(name);
    if (!conn || !conn.reachable) {
      const why = `cannot reach member cluster ${name} to remove what the Prod made there; keeping the finalizer until it can`;
      draft.set(ConditionType.ClusterUnreachable, 'True', Reason.ClusterUnreachable, why);
      draft.set(ConditionType.Ready, 'False', Reason.Draining, why);
      await writeStatus(env, key, draft);
      return;
    }
    draft.set(ConditionType.ClusterUnreachable, 'False', Reason.ClusterReachable, '');
    const namespace = prod.status?.namespace || prodNamespace(prod.metadata.name);
    watchConnection(env, conn);
    const gone = await removeFrom(key, conn, prod, namespace, ctx);
    if (!gone) {
      draft.set(
        ConditionType.Ready,
        'False',
        Reason.Draining,
        `deleting namespace ${namespace} in ${name}`,
      );
      await writeStatus(env, key, draft);
      // The namespace informer's delete event ends the wait; this is a safety net.
      return { requeueAfterMs: 30_000 };
    }
  }
  draft.phase = 'Retired';
  draft.fields.components = [];
  draft.fields.endpoints = [];
  draft.fields.usage = undefined;
  draft.set(
    ConditionType.Ready,
    'False',
    Reason.Retired,
    made ? `removed from ${name}` : 'nothing was made',
  );
  draft.set(ConditionType.Degraded, 'False', Reason.Retired, '');
  const retired = await writeStatus(env, key, draft);
  await removeFinalizer(env.mgr.rest, prodGvr, retired, FINALIZER);
  forget(env, key);
}

/** Deletes the Prod's cluster-scoped manifests and its namespace; true once it is gone. */
async function removeFrom(
  key: string,
  conn: ClusterConnection,
  prod: Prod,
  namespace: string,
  ctx: ReconcileContext,
): Promise<boolean> {
  const ignoreMissing = (err: unknown) => {
    if (!isNotFound(err)) throw err;
  };
  if (prod.spec.manifests?.length) {
    let rendered: Rendered | undefined;
    try {
      rendered = await render(conn, prod, conn.name);
    } catch (err) {
      if (!(err instanceof TerminalError)) throw err;
    }
    for (const d of rendered?.objects ?? []) {
      if (d.gvr.namespaced || d.gvr === namespaceGvr) continue;
      const found = await conn.rest.get(d.gvr, undefined, d.object.metadata.name).catch((e) => {
        ignoreMissing(e);
        return undefined;
      });
      if (!found || requestKey(ownerOf(found) ?? { name: '' }) !== key) continue;
      ctx.log.info({ cluster: conn.name }, `delete ${d.object.kind} ${d.object.metadata.name}`);
      await conn.rest.delete(d.gvr, undefined, d.object.metadata.name).catch(ignoreMissing);
    }
  }
  const ns = await conn.rest.get(namespaceGvr, undefined, namespace).catch((e) => {
    ignoreMissing(e);
    return undefined;
  });
  const owner = ns && ownerOf(ns);
  // Gone, or someone else's: nothing of this Prod is left to delete.
  if (!ns || (owner && requestKey(owner) !== key)) return true;
  if (!ns.metadata.deletionTimestamp) {
    ctx.log.info({ cluster: conn.name }, `delete namespace ${namespace}`);
    await conn.rest.delete(namespaceGvr, undefined, namespace).catch(ignoreMissing);
  }
  return false;
}

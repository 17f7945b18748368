// Status from what the member cluster shows (components, requests, endpoints, usage), and the
// lifecycle step it allows: Provisioning while rolling out, then the warm-up (warmingup.ts), then
// Ready; once warmed at a version, Ready and Degraded follow the components.
import { requestKey, type ReconcileContext, type Result } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { KubeObject } from '../../runtime/rest.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import { ownerOf, type Rendered } from './render.js';
import { endpoints, observeComponents, requested, type Deployment } from './observe.js';
import type { ProdEnv } from './context.js';
import type { Watched } from './watch.js';
import { errorMessage, writeStatus, type Draft } from './status.js';
import { warmUp } from './warmingup.js';
import { usageReader } from './usage.js';
import { deploymentGvr } from '../../runtime/core.js';

/** Metrics API discovery answers, per connection. */
const readUsage = usageReader();

export async function progress(
  env: ProdEnv,
  key: string,
  draft: Draft,
  conn: ClusterConnection,
  w: Watched,
  rendered: Rendered,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const { prod } = draft;
  const spec = prod.spec;
  const images = new Map(
    rendered.objects
      .filter((d) => d.gvr === deploymentGvr)
      .map((d) => {
        const tpl = (d.object.spec as Deployment['spec'])?.template?.spec?.containers?.[0];
        return [d.object.metadata.name, tpl?.image ?? ''];
      }),
  );
  const obs = observeComponents(spec, images, mine(w.deployments, rendered.namespace, key));
  draft.fields.components = obs.components;
  draft.fields.requests = requested(spec);
  draft.fields.endpoints = endpoints(
    spec,
    rendered.namespace,
    mine(w.services, rendered.namespace, key),
  );
  // Usage once the stack runs (WarmingUp, Ready): refreshed whenever the Prod reconciles.
  if (prod.status?.version === spec.version || obs.rolledOut)
    await observeUsage(draft, conn, rendered.namespace, ctx);
  const resync = { requeueAfterMs: Math.round(env.resyncMs * (0.9 + Math.random() * 0.2)) };
  const list = (cs: typeof obs.components) =>
    cs.map((c) => `${c.name} ${c.ready}/${c.desired}`).join(', ');

  if (prod.status?.version === spec.version) {
    // Warmed at this version: Ready, and Degraded when a component lost pods.
    draft.phase = draft.phase === 'InService' ? 'InService' : 'Ready';
    if (obs.down.length)
      draft.set(
        ConditionType.Ready,
        'False',
        Reason.ComponentsUnavailable,
        `no ready replica: ${obs.down.map((c) => c.name).join(', ')}`,
      );
    else
      draft.set(
        ConditionType.Ready,
        'True',
        Reason.ComponentsAvailable,
        `${spec.version} running in ${draft.fields.cluster}`,
      );
    if (obs.short.length)
      draft.set(
        ConditionType.Degraded,
        'True',
        Reason.ComponentsUnavailable,
        `short of ready replicas: ${list(obs.short)}`,
      );
    else draft.set(ConditionType.Degraded, 'False', Reason.ComponentsAvailable, '');
    env.warm.delete(key);
    await writeStatus(env, key, draft);
    return resync;
  }

  draft.set(ConditionType.Degraded, 'False', Reason.Provisioning, '');
  if (!obs.rolledOut) {
    draft.phase = 'Provisioning';
    env.warm.delete(key);
    draft.set(
      ConditionType.Ready,
      'False',
      Reason.Provisioning,
      `rolling out ${spec.version}: ${list(obs.components) || 'manifests applied'}`,
    );
    await writeStatus(env, key, draft);
    return resync;
  }
  // Every component Available at this version.
  return warmUp(env, key, draft, ctx, resync);
}

/**
 * status.usage from the metrics API: left out where the cluster does not serve it; left as it
 * was when reading fails (never a reason to fail or requeue the reconcile).
 */
async function observeUsage(
  draft: Draft,
  conn: ClusterConnection,
  namespace: string,
  ctx: ReconcileContext,
): Promise<void> {
  try {
    draft.fields.usage = await readUsage(
      conn,
      (path) => conn.rest.request('GET', path, { timeoutMs: 10_000 }),
      namespace,
    );
  } catch (err) {
    ctx.log.debug(
      { cluster: conn.name, namespace, err: errorMessage(err) },
      'pod metrics not read; usage left as it was',
    );
  }
}

/** The Prod's own objects of one informer in its namespace, by name. */
function mine<T extends KubeObject>(
  informer: Informer<T>,
  namespace: string,
  key: string,
): Map<string, T> {
  return new Map(
    informer
      .list(namespace)
      .filter((o) => requestKey(ownerOf(o) ?? { name: '' }) === key)
      .map((o) => [o.metadata.name, o]),
  );
}

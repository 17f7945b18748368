// Rendering a Prod for its member cluster, server-side applying what the cluster does not
// already hold as desired, and pruning what the spec no longer names.
import { createHash } from 'node:crypto';
import { TerminalError, requestKey, type ReconcileContext } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import { ApiError, isNotFound, type Gvr, type KubeObject } from '../../runtime/rest.js';
import { apply } from '../../runtime/objects.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { Reason } from '../../api/conditions.js';
import type { Prod } from '../../api/prod.js';
import { RenderError, ownerOf, renderProd, type DesiredObject, type Rendered } from './render.js';
import { covers } from './observe.js';
import { discoverKinds } from './discovery.js';
import type { ProdEnv } from './context.js';
import type { Watched } from './watch.js';
import { deploymentGvr, namespaceGvr, serviceGvr } from '../../runtime/core.js';

/** The Prod's objects for `cluster`; a spec that cannot be rendered stops the reconcile. */
export async function render(
  conn: ClusterConnection,
  prod: Prod,
  cluster: string,
): Promise<Rendered> {
  const manifests = prod.spec.manifests ?? [];
  const resolve = manifests.length ? await discoverKinds(conn, manifests) : () => undefined;
  try {
    return renderProd(
      { namespace: prod.metadata.namespace ?? '', name: prod.metadata.name },
      prod.spec,
      cluster,
      resolve,
    );
  } catch (err) {
    if (err instanceof RenderError)
      throw new TerminalError(err.reason, `${err.message}; nothing applied`);
    throw err;
  }
}

/** Applies every object the member cluster does not already hold as desired. */
export async function applyAll(
  env: ProdEnv,
  key: string,
  conn: ClusterConnection,
  w: Watched,
  rendered: Rendered,
  ctx: ReconcileContext,
): Promise<void> {
  const cachedOf = (d: DesiredObject): KubeObject | undefined => {
    const { namespace, name } = d.object.metadata;
    if (d.gvr === namespaceGvr) return w.namespaces.get(name);
    if (d.gvr === deploymentGvr) return w.deployments.get(`${namespace}/${name}`);
    if (d.gvr === serviceGvr) return w.services.get(`${namespace}/${name}`);
    return undefined;
  };
  const builtIn = new Set([namespaceGvr, deploymentGvr, serviceGvr]);
  // Manifests are not watched: applied when they change, and at each resync.
  const manifests = rendered.objects.filter((d) => !builtIn.has(d.gvr));
  const hash = createHash('sha256').update(JSON.stringify(manifests)).digest('hex');
  const last = env.manifestsApplied.get(key);
  const manifestsDue = !last || last.hash !== hash || Date.now() - last.at >= env.resyncMs;
  const due = rendered.objects.filter((d) =>
    builtIn.has(d.gvr) ? !covers(cachedOf(d), d.object) : manifestsDue,
  );
  const applyOne = async (d: DesiredObject) => {
    const what = `${d.object.kind} ${d.object.metadata.namespace ? `${d.object.metadata.namespace}/` : ''}${d.object.metadata.name}`;
    ctx.log.debug({ cluster: conn.name }, `apply ${what}`);
    try {
      await apply(conn.rest, d.gvr, d.object);
    } catch (err) {
      // The member cluster refused the object: the spec must change, retrying will not help.
      if (err instanceof ApiError && [400, 403, 422].includes(err.code))
        throw new TerminalError(
          Reason.InvalidSpec,
          `${conn.name} refused ${what}: ${err.message}`,
          60_000,
        );
      throw err;
    }
  };
  // The namespace first; what goes in it does not depend on each other.
  const [first, ...others] = due;
  if (first?.gvr === namespaceGvr) await applyOne(first);
  else if (first) others.unshift(first);
  await mapLimit(others, 4, applyOne);
  if (manifestsDue) env.manifestsApplied.set(key, { hash, at: Date.now() });
}

/** Deletes Deployments and Services of this Prod that its spec no longer names. */
export async function prune(
  key: string,
  conn: ClusterConnection,
  w: Watched,
  rendered: Rendered,
  ctx: ReconcileContext,
): Promise<void> {
  const desired = new Set(
    rendered.objects.map((d) => `${d.gvr.resource}/${d.object.metadata.name}`),
  );
  const pairs: [Gvr, Informer<KubeObject>][] = [
    [deploymentGvr, w.deployments],
    [serviceGvr, w.services],
  ];
  for (const [gvr, informer] of pairs)
    for (const obj of informer.list(rendered.namespace)) {
      const owner = ownerOf(obj);
      if (!owner || requestKey(owner) !== key) continue;
      if (desired.has(`${gvr.resource}/${obj.metadata.name}`)) continue;
      ctx.log.info({ cluster: conn.name }, `delete ${gvr.resource} ${obj.metadata.name}`);
      await conn.rest.delete(gvr, rendered.namespace, obj.metadata.name).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    }
}

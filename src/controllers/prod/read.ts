// What the shell reads before deciding: the MemberClusters and the other Prods as placement sees
// them (from the caches), and what the Prod's member cluster shows: its connection, the stack
// rendered for it (API discovery for raw manifests), the Prod's objects in the connection's
// informers and its pods' metrics; for a retiring Prod, what is left of it there, read directly.
import type { ReconcileContext } from '../../runtime/controller.js';
import { requestKey } from '../../runtime/controller.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import type { Informer } from '../../runtime/informer.js';
import { isNotFound, type Gvr, type KubeObject } from '../../runtime/rest.js';
import { isTrue } from '../../runtime/conditions.js';
import { isDeleting } from '../../runtime/objects.js';
import { namespaceGvr } from '../../runtime/core.js';
import { ConditionType } from '../../api/conditions.js';
import type { Prod } from '../../api/prod.js';
import { RenderError, ownerOf, renderProd, type Rendered } from './render.js';
import { discoverKinds } from './discovery.js';
import { usageReader } from './usage.js';
import { keyOf, type ProdEnv } from './context.js';
import { synced, watchConnection } from './watch.js';
import {
  clusterOf,
  retiring,
  wantsUsage,
  type ClusterView,
  type Found,
  type Member,
  type UsageSeen,
} from './plan.js';
import { errorMessage } from './status.js';

/** Metrics API discovery answers, per connection. */
const readUsage = usageReader();

/** The MemberClusters and where the other Prods run, for placement (read only when asked). */
export function clusterView(env: ProdEnv, key: string): ClusterView {
  const { clusters, registry, prods, memory } = env;
  return {
    exists: (name) => clusters.get(name) !== undefined,
    candidates: () =>
      clusters.list().map((mc) => ({
        name: mc.metadata.name,
        failureDomain: mc.spec.failureDomain,
        cordoned: mc.spec.cordoned ?? false,
        ready: isTrue(mc.status?.conditions, ConditionType.Ready),
        reachable:
          isTrue(mc.status?.conditions, ConditionType.Reachable) &&
          registry.get(mc.metadata.name)?.reachable === true,
      })),
    placed: () =>
      prods
        .list()
        .filter((p) => requestKey(keyOf(p)) !== key && !p.spec.retired && !isDeleting(p))
        .map((p) => ({
          app: p.spec.app,
          cluster: clusterOf(p) || memory.get(requestKey(keyOf(p)))?.choice || '',
        }))
        .filter((p) => p.cluster),
  };
}

/** What the member cluster `cluster` shows of the Prod, and the connection to act through. */
export async function readMember(
  env: ProdEnv,
  key: string,
  prod: Prod,
  cluster: string,
  ctx: ReconcileContext,
): Promise<{ member: Member; conn?: ClusterConnection }> {
  const conn = env.registry.get(cluster);
  if (!conn || !conn.reachable)
    return { member: { kind: 'Unreachable', connected: conn !== undefined } };
  const w = watchConnection(env, conn);
  if (retiring(prod)) return { member: await leftovers(conn, prod), conn };
  if (!(await synced(env, w))) return { member: { kind: 'Listing' }, conn };
  let rendered: Rendered;
  try {
    rendered = await render(conn, prod);
  } catch (err) {
    if (!(err instanceof RenderError)) throw err;
    return { member: { kind: 'Unrenderable', reason: err.reason, message: err.message }, conn };
  }
  const deployments = mine(w.deployments, rendered.namespace, key);
  const usage = wantsUsage(prod, rendered, deployments)
    ? await usageIn(conn, rendered.namespace, ctx)
    : 'NotRead';
  const member: Member = {
    kind: 'Seen',
    rendered,
    namespace: w.namespaces.get(rendered.namespace),
    deployments,
    services: mine(w.services, rendered.namespace, key),
    usage,
  };
  return { member, conn };
}

/** The Prod's objects for the connection's cluster; throws RenderError for a bad spec. */
async function render(conn: ClusterConnection, prod: Prod): Promise<Rendered> {
  const manifests = prod.spec.manifests ?? [];
  const resolve = manifests.length ? await discoverKinds(conn, manifests) : () => undefined;
  return renderProd(
    { namespace: prod.metadata.namespace ?? '', name: prod.metadata.name },
    prod.spec,
    conn.name,
    resolve,
  );
}

/**
 * What is left of a retiring Prod: its namespace and its cluster-scoped manifests, read from the
 * apiserver rather than the caches, so that nothing is let go too early. Nothing when it never
 * recorded a namespace (then nothing was applied).
 */
async function leftovers(conn: ClusterConnection, prod: Prod): Promise<Member> {
  const namespace = prod.status?.namespace;
  const clusterScoped: Found[] = [];
  if (!namespace) return { kind: 'Leftovers', clusterScoped };
  let rendered: Rendered | undefined;
  if (prod.spec.manifests?.length)
    try {
      rendered = await render(conn, prod);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
    }
  for (const d of rendered?.objects ?? []) {
    if (d.gvr.namespaced || d.gvr === namespaceGvr) continue;
    const object = await get(conn, d.gvr, d.object.metadata.name);
    if (object) clusterScoped.push({ gvr: d.gvr, object });
  }
  return { kind: 'Leftovers', namespace: await get(conn, namespaceGvr, namespace), clusterScoped };
}

async function get(
  conn: ClusterConnection,
  gvr: Gvr,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await conn.rest.get(gvr, undefined, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * status.usage from the metrics API: not served where the cluster does not serve it; not read
 * when reading fails (never a reason to fail or requeue the reconcile).
 */
async function usageIn(
  conn: ClusterConnection,
  namespace: string,
  ctx: ReconcileContext,
): Promise<UsageSeen> {
  try {
    const usage = await readUsage(
      conn,
      (path) => conn.rest.request('GET', path, { timeoutMs: 10_000 }),
      namespace,
    );
    return usage ?? 'NotServed';
  } catch (err) {
    ctx.log.debug(
      { cluster: conn.name, namespace, err: errorMessage(err) },
      'pod metrics not read; usage left as it was',
    );
    return 'NotRead';
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

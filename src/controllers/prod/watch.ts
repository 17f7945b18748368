// What brings a Prod back to the queue besides its own changes: MemberClusters that change in
// what placement reads, connections that come, go or change reachability, the member-cluster
// objects (namespaces, Deployments, Services) a Prod made, watched through the connection's
// informers so that drift and rollout progress arrive as events, and Routers that start or stop
// routing tenants to it (InService).
import { parseKey, type Request } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import type { KubeObject } from '../../runtime/rest.js';
import { isTrue } from '../../runtime/conditions.js';
import { ConditionType } from '../../api/conditions.js';
import type { MemberCluster } from '../../api/membercluster.js';
import { PROD_LABEL, ownerOf } from './render.js';
import type { Deployment, Service } from './observe.js';
import type { ProdEnv, Watched } from './context.js';
import type { Router } from '../../api/router.js';
import { routedProds } from './routing.js';
import { deploymentGvr, namespaceGvr, serviceGvr } from '../../runtime/core.js';

/** Sets up the MemberCluster and connection handlers, and watches the connections there are. */
export function watchClusters(env: ProdEnv): void {
  const { prods, memory, clusters, registry, ctl } = env;
  const prodsIn = (cluster: string): Request[] => [
    ...prods.byIndex('cluster', cluster).map((p) => ({
      namespace: p.metadata.namespace,
      name: p.metadata.name,
    })),
    ...[...memory].filter(([, m]) => m.choice && m.choice === cluster).map(([k]) => parseKey(k)),
  ];
  // A MemberCluster that appears, goes, or changes in what placement reads: its Prods, and the
  // Prods still waiting for a cluster.
  const relevant = (mc: MemberCluster) =>
    JSON.stringify([
      mc.spec.cordoned,
      mc.spec.failureDomain,
      isTrue(mc.status?.conditions, ConditionType.Ready),
      isTrue(mc.status?.conditions, ConditionType.Reachable),
    ]);
  const onCluster = (mc: MemberCluster) =>
    [...prodsIn(mc.metadata.name), ...prodsIn('')].forEach((r) => ctl.enqueue(r));
  clusters.addHandler({
    add: onCluster,
    update: (old, mc) => relevant(old) !== relevant(mc) && onCluster(mc),
    delete: onCluster,
  });

  // Connections come and go with MemberClusters: watch each one's objects as it appears, and
  // look at its Prods again whenever it appears, goes, or its reachability changes.
  registry.onChange((name) => {
    const conn = registry.get(name);
    if (conn) watchConnection(env, conn);
    [...prodsIn(name), ...prodsIn('')].forEach((r) => ctl.enqueue(r));
  });
  for (const conn of registry.list()) watchConnection(env, conn);
}

/** A Router whose served table starts or stops routing to a Prod: that Prod (same namespace). */
export function watchRouters(env: ProdEnv): void {
  const changed = (old: Router | undefined, r: Router | undefined) => {
    const before = routedProds(old);
    const after = routedProds(r);
    const namespace = (r ?? old)!.metadata.namespace;
    for (const p of new Set([...before, ...after]))
      if (before.has(p) !== after.has(p)) env.ctl.enqueue({ namespace, name: p });
  };
  env.routers.addHandler({
    add: (r) => changed(undefined, r),
    update: (old, r) => changed(old, r),
    delete: (r) => changed(r, undefined),
  });
}

/** The connection's informers, made (with handlers that enqueue the owning Prod) once. */
export function watchConnection(env: ProdEnv, conn: ClusterConnection): Watched {
  let w = env.attached.get(conn);
  if (w) return w;
  const opts = { labelSelector: PROD_LABEL };
  w = {
    namespaces: conn.informer<KubeObject>(namespaceGvr, opts),
    deployments: conn.informer<Deployment>(deploymentGvr, opts),
    services: conn.informer<Service>(serviceGvr, opts),
  };
  const enqueueOwner = (obj: KubeObject) => {
    const owner = ownerOf(obj);
    if (owner) env.ctl.enqueue(owner);
  };
  for (const informer of [w.namespaces, w.deployments, w.services] as Informer<KubeObject>[])
    informer.addHandler({
      add: enqueueOwner,
      update: (_, obj) => enqueueOwner(obj),
      delete: enqueueOwner,
    });
  env.attached.set(conn, w);
  return w;
}

/**
 * Waits, bounded, for a new connection's first lists (false when they are not in): from empty
 * caches, everything would look missing and be applied again.
 */
export async function synced(env: ProdEnv, w: Watched): Promise<boolean> {
  const all = [w.namespaces, w.deployments, w.services];
  if (all.every((i) => i.hasSynced())) return true;
  const timeout = env.deps.syncTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeout)));
  const ok = await Promise.race([Promise.all(all.map((i) => i.waitForSync())), expired]);
  clearTimeout(timer);
  return ok !== false;
}

// What the parts of the Prod controller's shell share: the resources it works on, its
// dependencies, and what it keeps in memory between reconciles. Imports only types and the pure
// core (plan.ts), so that the parts can import it without importing each other (reconciler.ts
// re-exports the public names).
import type { Manager } from '../../runtime/manager.js';
import type { Controller, Request } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { ClusterConnection, ClusterRegistry } from '../../runtime/clusters.js';
import type { KubeObject } from '../../runtime/rest.js';
import { memberClusterKind, type MemberCluster } from '../../api/membercluster.js';
import { prodKind, type Prod } from '../../api/prod.js';
import { routerKind, type Router } from '../../api/router.js';
import { gvrOf } from '../../api/kind.js';
import type { Deployment, Service } from './observe.js';
import type { Memory } from './plan.js';

export { FINALIZER } from './plan.js';
export const prodGvr = gvrOf(prodKind);
export const routerGvr = gvrOf(routerKind);
export const memberClusterGvr = gvrOf(memberClusterKind);

export interface ProdDeps {
  registry: ClusterRegistry;
  concurrency?: number;
  /** Timeout of one warm-up request (default 10 s). */
  warmupTimeoutMs?: number;
  /** First retry after failed warm-up requests; doubles up to a minute (default 2 s). */
  warmupRetryMs?: number;
  /** A Prod is looked at again this often even without an event (default 10 min). */
  resyncMs?: number;
  /** How long a reconcile waits for a new connection's informers to list (default 15 s). */
  syncTimeoutMs?: number;
}

export interface ProdEnv {
  mgr: Manager;
  deps: ProdDeps;
  registry: ClusterRegistry;
  ctl: Controller;
  resyncMs: number;
  prods: Informer<Prod>;
  clusters: Informer<MemberCluster>;
  /** Routers: whether tenants are routed to a Prod (InService). */
  routers: Informer<Router>;
  /** What decide() remembers per key (placements not yet in the cache, warm-up, …). */
  memory: Map<string, Memory>;
  /** The last object this controller wrote per key, to notice a stale cache. */
  written: Map<string, Prod>;
  /** The member-cluster informers of each connection, made once. */
  attached: WeakMap<ClusterConnection, Watched>;
}

/** The member-cluster informers of one connection. */
export interface Watched {
  namespaces: Informer<KubeObject>;
  deployments: Informer<Deployment>;
  services: Informer<Service>;
}

export function keyOf(p: Prod): Request {
  return { namespace: p.metadata.namespace, name: p.metadata.name };
}

export function remember(env: ProdEnv, key: string, p: Prod): Prod {
  env.written.set(key, p);
  return p;
}

export function forget(env: ProdEnv, key: string): void {
  env.memory.delete(key);
  env.written.delete(key);
}

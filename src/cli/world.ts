// Reading the control-plane cluster as a user does, with their kubeconfig: shared by `kachiku
// plan`, `kubectl kachiku` and the demo.
import { KubeConfig } from '@kubernetes/client-node';
import { Rest, type Gvr, type KubeObject } from '../runtime/rest.js';
import type { Fleet } from '../api/fleet.js';
import type { MemberCluster } from '../api/membercluster.js';
import type { Prod } from '../api/prod.js';
import type { Tenant } from '../api/tenant.js';
import type { TenantSlice } from '../api/tenantslice.js';
import {
  fleetGvr,
  memberClusterGvr,
  prodGvr,
  tenantGvr,
  tenantSliceGvr,
} from '../controllers/fleet/context.js';
import type { World } from '../controllers/fleet/dryrun.js';

/** `path` or the default (KUBECONFIG, then ~/.kube/config); `context` instead of the current one. */
export function loadKubeconfig(path?: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context) {
    if (!kc.getContextObject(context))
      throw new Error(`context "${context}" does not exist in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  return kc;
}

/** Every object of a kind, page by page. */
export async function listAll<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  namespace?: string,
): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await rest.list<T>(gvr, namespace, { limit: 500, continue: cont });
    items.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  return items;
}

/** Everything a plan is computed from, read now. */
export async function readWorld(rest: Rest, namespace?: string): Promise<World> {
  const [fleets, tenants, prods, clusters, slices] = await Promise.all([
    listAll<Fleet>(rest, fleetGvr, namespace),
    listAll<Tenant>(rest, tenantGvr, namespace),
    listAll<Prod>(rest, prodGvr, namespace),
    listAll<MemberCluster>(rest, memberClusterGvr),
    listAll<TenantSlice>(rest, tenantSliceGvr, namespace),
  ]);
  return { fleets, tenants, prods, clusters, slices, now: Date.now() };
}

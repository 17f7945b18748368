// Which resource a raw manifest's kind is, in a member cluster: API discovery of the manifests'
// group/versions, cached per connection. Only answers are cached, so a CRD installed later is
// found on a later reconcile.
import type { ClusterConnection } from '../../runtime/clusters.js';
import { isNotFound, type Gvr } from '../../runtime/rest.js';
import type { ResolveKind } from './render.js';

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

const cache = new WeakMap<ClusterConnection, Map<string, ApiResourceList | null>>();

/** Discovers every apiVersion of `manifests` on `conn`; returns a resolver over the answers. */
export async function discoverKinds(
  conn: ClusterConnection,
  manifests: readonly Record<string, unknown>[],
): Promise<ResolveKind> {
  let known = cache.get(conn);
  if (!known) cache.set(conn, (known = new Map()));
  const versions = new Set(
    manifests.map((m) => m.apiVersion).filter((v): v is string => typeof v === 'string'),
  );
  for (const apiVersion of versions) {
    if (known.get(apiVersion)) continue;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    try {
      known.set(apiVersion, await conn.rest.request<ApiResourceList>('GET', path));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      known.set(apiVersion, null);
    }
  }
  const answers = known;
  return (apiVersion, kind) => {
    const list = answers.get(apiVersion);
    const r = list?.resources.find((x) => x.kind === kind && !x.name.includes('/'));
    if (!r) {
      // A miss is asked again next time (a CRD may be installed meanwhile).
      answers.delete(apiVersion);
      return undefined;
    }
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return {
      group: group ?? '',
      version: version ?? '',
      resource: r.name,
      namespaced: r.namespaced,
    } satisfies Gvr;
  };
}

// What a Prod uses (status.usage): the metrics API's pod metrics in its namespace, every
// container's CPU and memory added up. Whether a member cluster serves metrics.k8s.io/v1beta1 is
// asked once per connection (API discovery: the groups under /apis, which is JSON even where an
// unknown group's path answers a plain-text 404) and the answer kept a few minutes, so that a
// cluster without metrics-server costs one discovery request per few minutes, not one per
// reconcile. No I/O of its own: requests go through the `Get` it is given.
import { isNotFound } from '../../runtime/rest.js';
import type { ProdStatus } from '../../api/prod.js';
import { formatCpu, formatMemory, parseQuantity } from '../../runtime/quantity.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
export const METRICS_API = `/apis/${METRICS_GROUP}/${METRICS_VERSION}`;
/** How long an answer of metrics API discovery is kept (served, not served, or failed). */
export const METRICS_DISCOVERY_TTL_MS = 5 * 60_000;

export type Usage = NonNullable<ProdStatus['usage']>;

/** A PodMetrics of metrics.k8s.io/v1beta1, as far as it is read here. */
export interface PodMetrics {
  metadata?: { name?: string };
  containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[];
}

/** The APIGroupList of /apis, as far as it is read here. */
export interface ApiGroupList {
  groups?: { name: string; versions?: { groupVersion?: string; version: string }[] }[];
}

/** GET of an API path, answering its JSON body; throws on failure. */
export type Get = <T>(path: string) => Promise<T>;

/** CPU and memory of every container of `pods`, added up; throws on a malformed quantity. */
export function sumUsage(pods: readonly PodMetrics[]): Usage {
  let cpu = 0;
  let memory = 0;
  for (const pod of pods)
    for (const c of pod.containers ?? []) {
      if (c.usage?.cpu !== undefined) cpu += parseQuantity(c.usage.cpu);
      if (c.usage?.memory !== undefined) memory += parseQuantity(c.usage.memory);
    }
  return { cpu: formatCpu(cpu), memory: formatMemory(memory) };
}

/**
 * What the pods of a namespace use, per connection (`conn`, any object: the cache is keyed on
 * it): undefined where the metrics API is not served (not among the groups discovery lists).
 * Throws when discovery or the read fails; a failed discovery is kept as long as an answer, so that it is not
 * asked again on every reconcile either.
 */
export type ReadUsage = (conn: object, get: Get, namespace: string) => Promise<Usage | undefined>;

interface Answer {
  at: number;
  served: boolean;
  error?: unknown;
}

export function usageReader(
  ttlMs = METRICS_DISCOVERY_TTL_MS,
  now: () => number = Date.now,
): ReadUsage {
  const answers = new WeakMap<object, Answer>();
  return async (conn, get, namespace) => {
    let answer = answers.get(conn);
    if (!answer || now() - answer.at >= ttlMs) {
      try {
        const groups = (await get<ApiGroupList>('/apis')).groups ?? [];
        const served = groups.some(
          (g) =>
            g.name === METRICS_GROUP &&
            (g.versions ?? []).some((v) => v.version === METRICS_VERSION),
        );
        answer = { at: now(), served };
      } catch (err) {
        answer = { at: now(), served: false, error: err };
      }
      answers.set(conn, answer);
    }
    if (answer.error !== undefined) throw answer.error;
    if (!answer.served) return undefined;
    try {
      const list = await get<{ items?: PodMetrics[] }>(
        `${METRICS_API}/namespaces/${encodeURIComponent(namespace)}/pods`,
      );
      return sumUsage(list.items ?? []);
    } catch (err) {
      // The API went away since discovery: ask again next time.
      if (isNotFound(err)) answers.delete(conn);
      throw err;
    }
  };
}

// Octavia v2 reads: a load balancer and everything under it, every list paginated, transient
// failures (5xx, no answer) retried with backoff, client errors (4xx) never.
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Backoff } from '../../runtime/backoff.js';
import { OpenStackError, isOpenStackError, setMessage } from './errors.js';
import type { OnCall, Session } from './keystone.js';
import type {
  OctaviaHealthMonitor,
  OctaviaListener,
  OctaviaLoadBalancer,
  OctaviaMember,
  OctaviaPool,
  OctaviaTree,
} from './types.js';
import { mapLimit } from '../../runtime/concurrency.js';

export interface OctaviaOptions {
  /** `limit` of each list page. Default 1000, Octavia's default pagination_max_limit. */
  pageSize?: number;
  /** Attempts per request on 5xx and connection errors. Default 3. */
  attempts?: number;
  /** First retry delay, doubled each time (with jitter) up to maxBackoffMs. Default 500 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Requests in flight at once while getTree reads pools. Default 4. */
  concurrency?: number;
  /** Metrics hook: one call per HTTP request (each page, each attempt). */
  onCall?: OnCall;
}

export interface OctaviaClient {
  getLoadBalancer(id: string): Promise<OctaviaLoadBalancer>;
  /** Every load balancer the credentials see, filtered by Octavia (`tags` = all of them). */
  listLoadBalancers(filters?: {
    tags?: string[];
    projectID?: string;
  }): Promise<OctaviaLoadBalancer[]>;
  listListeners(loadBalancerId: string): Promise<OctaviaListener[]>;
  listPools(loadBalancerId: string): Promise<OctaviaPool[]>;
  listMembers(poolId: string): Promise<OctaviaMember[]>;
  getHealthMonitor(id: string): Promise<OctaviaHealthMonitor>;
  /** The load balancer, its listeners, pools, members and monitors: 3 + 2 × pools requests
   * (more when a list spans pages), whatever the number of members; one fewer when the load
   * balancer, read just before, is given. */
  getTree(loadBalancerId: string, loadBalancer?: OctaviaLoadBalancer): Promise<OctaviaTree>;
}

/** The v2 API root from a catalog URL, which may or may not name the version. */
export function octaviaBase(endpoint: string): string {
  const url = endpoint.replace(/\/+$/, '');
  return /\/v2(\.0)?$/.test(url) ? url : `${url}/v2`;
}

export function createOctaviaClient(session: Session, opts: OctaviaOptions = {}): OctaviaClient {
  const pageSize = opts.pageSize ?? 1000;
  const attempts = opts.attempts ?? 3;
  const concurrency = opts.concurrency ?? 4;
  const base = async () => octaviaBase(await session.endpoint('load-balancer'));

  async function call(operation: string, url: string): Promise<unknown> {
    const backoff = new Backoff(opts.backoffMs ?? 500, opts.maxBackoffMs ?? 5000);
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      try {
        const body = await session.request('octavia', operation, url);
        opts.onCall?.(operation, 'ok', (performance.now() - t0) / 1000);
        return body;
      } catch (err) {
        opts.onCall?.(operation, 'error', (performance.now() - t0) / 1000);
        if (!isOpenStackError(err) || !err.retryable) throw err;
        if (attempt >= attempts) {
          setMessage(err, `${err.message} (after ${attempts} attempts)`);
          throw err;
        }
        await sleep(backoff.next());
      }
    }
  }

  async function get<T>(operation: string, path: string, key: string): Promise<T> {
    const body = await call(operation, `${await base()}${path}`);
    const obj = (body as Record<string, unknown> | undefined)?.[key];
    if (
      typeof obj !== 'object' ||
      obj === null ||
      typeof (obj as { id?: unknown }).id !== 'string'
    ) {
      throw badResponse(operation, `the answer has no "${key}" object`);
    }
    return obj as T;
  }

  /**
   * Every page of a list. The next page is asked with our own URL and the marker from the
   * `next` link rather than by following the link: Octavia builds links from the host it
   * thinks it serves, which behind a TLS-terminating proxy is often not the one we called.
   */
  async function list<T extends { id: string }>(
    operation: string,
    path: string,
    key: string,
    filters: Record<string, string> = {},
  ): Promise<T[]> {
    const root = await base();
    const items: T[] = [];
    let marker: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ ...filters, limit: String(pageSize) });
      if (marker) query.set('marker', marker);
      const body = (await call(operation, `${root}${path}?${query}`)) as
        Record<string, unknown> | undefined;
      const page = body?.[key];
      if (!Array.isArray(page)) throw badResponse(operation, `the answer has no "${key}" list`);
      items.push(...(page as T[]));
      const links = body?.[`${key}_links`];
      const next = Array.isArray(links)
        ? (links as { rel?: string; href?: string }[]).find((l) => l.rel === 'next')
        : undefined;
      if (!next || page.length === 0) return items;
      let nextMarker: string | null = null;
      try {
        nextMarker = new URL(next.href ?? '', root).searchParams.get('marker');
      } catch {
        // a malformed link: fall back on the page's last id, what Octavia's marker is anyway
      }
      nextMarker ??= (page[page.length - 1] as T).id;
      if (nextMarker === marker) throw badResponse(operation, 'pagination does not advance');
      marker = nextMarker;
    }
  }

  const client: OctaviaClient = {
    getLoadBalancer: (id) =>
      get('getLoadBalancer', `/lbaas/loadbalancers/${encodeURIComponent(id)}`, 'loadbalancer'),
    listLoadBalancers: (filters = {}) =>
      list('listLoadBalancers', '/lbaas/loadbalancers', 'loadbalancers', {
        ...(filters.tags?.length && { tags: filters.tags.join(',') }),
        ...(filters.projectID && { project_id: filters.projectID }),
      }),
    listListeners: (lbId) =>
      list('listListeners', '/lbaas/listeners', 'listeners', { loadbalancer_id: lbId }),
    listPools: (lbId) => list('listPools', '/lbaas/pools', 'pools', { loadbalancer_id: lbId }),
    listMembers: (poolId) =>
      list('listMembers', `/lbaas/pools/${encodeURIComponent(poolId)}/members`, 'members'),
    getHealthMonitor: (id) =>
      get('getHealthMonitor', `/lbaas/healthmonitors/${encodeURIComponent(id)}`, 'healthmonitor'),

    async getTree(lbId, read) {
      const [loadBalancer, listeners, pools] = await Promise.all([
        read ?? client.getLoadBalancer(lbId),
        client.listListeners(lbId),
        client.listPools(lbId),
      ]);
      const full = await mapLimit(pools, concurrency, async (pool) => {
        const [members, healthMonitor] = await Promise.all([
          client.listMembers(pool.id),
          pool.healthmonitor_id ? client.getHealthMonitor(pool.healthmonitor_id) : null,
        ]);
        const listed = (pool as { members?: { id?: unknown }[] }).members;
        return {
          ...pool,
          members,
          healthMonitor,
          ...(Array.isArray(listed) && {
            listedMemberIds: listed
              .map((m) => m.id)
              .filter((i): i is string => typeof i === 'string'),
          }),
        };
      });
      return { loadBalancer, listeners, pools: full };
    },
  };
  return client;
}

function badResponse(operation: string, message: string): OpenStackError {
  return new OpenStackError('BadResponse', 'octavia', operation, message);
}

// Whether a sync reads Octavia's whole tree or trusts the last one read, pure. Unit-tested in
// octaviaread.test.ts.
//
// Octavia moves a load balancer to PENDING_UPDATE and back for every change to it or anything
// under it (listeners, pools, members, health monitors: each API write locks the load
// balancer), and each of those writes sets the load balancer's `updated_at`. So one GET of the
// load balancer tells whether the tree can have changed: 1 request a sync instead of
// 3 + 2 × pools, which is what lets one Octavia API serve hundreds of mirrors.
//
// `updated_at` has whole seconds: a change in the same second as a whole read, after it, would
// leave it as it was. A tree is trusted only once two whole reads begun at least a second apart
// found the same `updated_at` (the second began after that second ended, so any later change
// moves it); and every `readEvery`-th sync reads the whole tree anyway, in case a change came in
// some other way (a database edited by hand). The load balancer's own lists of listener and pool
// ids come with every GET: when they differ from the trusted tree's, it is read whole.
import type { OctaviaLoadBalancer, OctaviaTree } from '../../clouds/openstack/types.js';

/** The last whole tree read for a mirror, and how far it is trusted. */
export interface TreeSeen {
  tree: OctaviaTree;
  /** The load balancer's `updated_at` when the tree was read. */
  updatedAt: string;
  /** Whole reads in a row that found this `updatedAt`, each begun `AGREE_AFTER_MS` or more after the one before. */
  reads: number;
  /** When the last of those reads began (a monotonic clock, ms). */
  readAt: number;
  /** Syncs that used this tree without reading it since the last whole read. */
  syncsSinceRead: number;
}

/** `updated_at`'s resolution: a read begun this long after another is in a later second. */
export const AGREE_AFTER_MS = 1000;

const ids = (xs: { id: string }[] | undefined) =>
  (xs ?? [])
    .map((x) => x.id)
    .sort()
    .join(',');

/** `whole`: read listeners, pools, members and monitors; `known`: the last tree holds. */
export function treeRead(
  seen: TreeSeen | undefined,
  loadBalancer: Pick<
    OctaviaLoadBalancer,
    'id' | 'updated_at' | 'provisioning_status' | 'listeners' | 'pools'
  >,
  readEvery: number,
): 'whole' | 'known' {
  if (!seen || seen.tree.loadBalancer.id !== loadBalancer.id) return 'whole';
  if (!loadBalancer.updated_at || loadBalancer.updated_at !== seen.updatedAt) return 'whole';
  if (loadBalancer.provisioning_status !== 'ACTIVE') return 'whole';
  // A listener or pool made or removed in the second of the last read: updated_at stood still.
  if (ids(loadBalancer.listeners) !== ids(seen.tree.loadBalancer.listeners)) return 'whole';
  if (ids(loadBalancer.pools) !== ids(seen.tree.loadBalancer.pools)) return 'whole';
  if (seen.reads < 2) return 'whole';
  return seen.syncsSinceRead + 1 < readEvery ? 'known' : 'whole';
}

/**
 * What is remembered after a whole read begun at `readAt` (undefined: nothing to trust, no
 * `updated_at`). A read of the same `updated_at` begun under `AGREE_AFTER_MS` after the first
 * keeps its newer tree but does not count: it may lie in the same second.
 */
export function afterWholeRead(
  seen: TreeSeen | undefined,
  tree: OctaviaTree,
  readAt: number,
): TreeSeen | undefined {
  const updatedAt = tree.loadBalancer.updated_at;
  if (!updatedAt) return undefined;
  const same = seen?.tree.loadBalancer.id === tree.loadBalancer.id && seen.updatedAt === updatedAt;
  if (!same) return { tree, updatedAt, reads: 1, readAt, syncsSinceRead: 0 };
  if (readAt - seen.readAt < AGREE_AFTER_MS) return { ...seen, tree, syncsSinceRead: 0 };
  return { tree, updatedAt, reads: seen.reads + 1, readAt, syncsSinceRead: 0 };
}

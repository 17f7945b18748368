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
// leave it as it was. A tree is trusted only once two whole reads, an interval apart, found the
// same `updated_at`; and every `readEvery`-th sync reads the whole tree anyway, in case a
// change came in some other way (a database edited by hand).
import type { OctaviaLoadBalancer, OctaviaTree } from '../../clouds/openstack/types.js';

/** The last whole tree read for a mirror, and how far it is trusted. */
export interface TreeSeen {
  tree: OctaviaTree;
  /** The load balancer's `updated_at` when the tree was read. */
  updatedAt: string;
  /** Whole reads in a row that found this `updatedAt`. */
  reads: number;
  /** Syncs that used this tree without reading it since the last whole read. */
  syncsSinceRead: number;
}

/** `whole`: read listeners, pools, members and monitors; `known`: the last tree holds. */
export function treeRead(
  seen: TreeSeen | undefined,
  loadBalancer: Pick<OctaviaLoadBalancer, 'id' | 'updated_at' | 'provisioning_status'>,
  readEvery: number,
): 'whole' | 'known' {
  if (!seen || seen.tree.loadBalancer.id !== loadBalancer.id) return 'whole';
  if (!loadBalancer.updated_at || loadBalancer.updated_at !== seen.updatedAt) return 'whole';
  if (loadBalancer.provisioning_status !== 'ACTIVE') return 'whole';
  if (seen.reads < 2) return 'whole';
  return seen.syncsSinceRead + 1 < readEvery ? 'known' : 'whole';
}

/** What is remembered after a whole read (undefined: nothing to trust, no `updated_at`). */
export function afterWholeRead(
  seen: TreeSeen | undefined,
  tree: OctaviaTree,
): TreeSeen | undefined {
  const updatedAt = tree.loadBalancer.updated_at;
  if (!updatedAt) return undefined;
  const same = seen?.tree.loadBalancer.id === tree.loadBalancer.id && seen.updatedAt === updatedAt;
  return { tree, updatedAt, reads: same ? seen.reads + 1 : 1, syncsSinceRead: 0 };
}

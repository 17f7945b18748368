// The MemberClusters as one Fleet sees them: which its selector picks, where they are, and whether
// they can take new Prods and tenants. Pure.
import { findCondition } from '../../runtime/conditions.js';
import { ConditionType } from '../../api/conditions.js';
import type { Fleet } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';

export interface ClusterFacts {
  name: string;
  domain: string;
  /** The Fleet's clusterSelector matches it (labels and provider). */
  selected: boolean;
  ready: boolean;
  /** The Reachable condition: False makes its Prods `down`; Unknown (not probed yet) does not. */
  reachable: 'True' | 'False' | 'Unknown';
  /** spec.cordoned, or spec.drain (a drain implies a cordon). */
  cordoned: boolean;
  drain: boolean;
}

export function selects(fleet: Fleet, mc: MemberCluster): boolean {
  const sel = fleet.spec.clusterSelector;
  if (!sel) return true;
  const labels = mc.spec.labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  return !sel.providers?.length || sel.providers.includes(mc.spec.provider);
}

export function clusterFacts(fleet: Fleet, mc: MemberCluster): ClusterFacts {
  const conditions = mc.status?.conditions;
  const drain = mc.spec.drain === true;
  return {
    name: mc.metadata.name,
    domain: mc.spec.failureDomain,
    selected: selects(fleet, mc),
    ready: findCondition(conditions, ConditionType.Ready)?.status === 'True',
    reachable: findCondition(conditions, ConditionType.Reachable)?.status ?? 'Unknown',
    cordoned: mc.spec.cordoned === true || drain,
    drain,
  };
}

/** Where a new Prod of the Fleet may go: selected, Ready, Reachable, not cordoned nor draining. */
export const eligible = (c: ClusterFacts) =>
  c.selected && c.ready && c.reachable === 'True' && !c.cordoned;

/** The failure domains of the selected clusters (a Dual tenant needs two of them). */
export function selectedDomains(clusters: readonly ClusterFacts[]): string[] {
  return [...new Set(clusters.filter((c) => c.selected).map((c) => c.domain))].sort();
}

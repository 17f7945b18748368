// Which member cluster a Prod runs in: the one its spec names, the one it was placed in, or a new
// choice by placeProd (placement.ts) from the MemberClusters and where other Prods run.
import { TerminalError, requestKey } from '../../runtime/controller.js';
import { isTrue } from '../../runtime/conditions.js';
import { isDeleting } from '../../runtime/objects.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { Prod } from '../../api/prod.js';
import { placeProd } from './placement.js';
import { clusterOf, keyOf, type ProdEnv } from './context.js';

/** The cluster of a Prod: its spec's, its recorded one, or a new choice. */
export function chooseCluster(env: ProdEnv, key: string, prod: Prod): string {
  const { clusters, choices, registry, prods } = env;
  if (prod.spec.cluster) {
    if (!clusters.get(prod.spec.cluster))
      throw new TerminalError(
        Reason.ClusterNotFound,
        `MemberCluster "${prod.spec.cluster}" does not exist`,
      );
    return prod.spec.cluster;
  }
  const known = prod.status?.cluster || choices.get(key);
  if (known) return known;
  // No await from here to choices.set: concurrent reconciles see each other's choices.
  const candidates = clusters.list().map((mc) => ({
    name: mc.metadata.name,
    failureDomain: mc.spec.failureDomain,
    cordoned: mc.spec.cordoned ?? false,
    ready: isTrue(mc.status?.conditions, ConditionType.Ready),
    reachable:
      isTrue(mc.status?.conditions, ConditionType.Reachable) &&
      registry.get(mc.metadata.name)?.reachable === true,
  }));
  const placed = prods
    .list()
    .filter((p) => requestKey(keyOf(p)) !== key && !p.spec.retired && !isDeleting(p))
    .map((p) => ({
      app: p.spec.app,
      cluster: clusterOf(p) || choices.get(requestKey(keyOf(p))) || '',
    }))
    .filter((p) => p.cluster);
  const choice = placeProd(prod.spec.app, candidates, placed);
  if (choice.cluster === undefined)
    throw new TerminalError(Reason.NoClusterAvailable, choice.reason);
  choices.set(key, choice.cluster);
  return choice.cluster;
}

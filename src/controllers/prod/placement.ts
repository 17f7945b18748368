// Where a new Prod goes when its spec names no cluster: a Ready, Reachable, uncordoned cluster in
// the failure domain with the fewest Prods of the same app, then the cluster with the fewest Prods
// of any app, then by name, so that the choice is spread and deterministic. Pure.

export interface ClusterCandidate {
  name: string;
  failureDomain: string;
  ready: boolean;
  reachable: boolean;
  cordoned: boolean;
}

export interface PlacedProd {
  app: string;
  cluster: string;
}

export type Placement =
  { cluster: string; reason?: undefined } | { cluster?: undefined; reason: string };

export function placeProd(
  app: string,
  clusters: readonly ClusterCandidate[],
  prods: readonly PlacedProd[],
): Placement {
  const eligible = clusters.filter((c) => c.ready && c.reachable && !c.cordoned);
  if (eligible.length === 0) {
    const why = clusters.map(
      (c) =>
        `${c.name}: ${c.cordoned ? 'cordoned' : !c.reachable ? 'unreachable' : !c.ready ? 'not Ready' : 'ok'}`,
    );
    return {
      reason: clusters.length
        ? `no MemberCluster is Ready, Reachable and uncordoned (${why.join('; ')})`
        : 'there is no MemberCluster',
    };
  }
  const domainOf = new Map(clusters.map((c) => [c.name, c.failureDomain]));
  const sameAppInDomain = new Map<string, number>();
  const inCluster = new Map<string, number>();
  for (const p of prods) {
    inCluster.set(p.cluster, (inCluster.get(p.cluster) ?? 0) + 1);
    const domain = domainOf.get(p.cluster);
    if (p.app === app && domain !== undefined)
      sameAppInDomain.set(domain, (sameAppInDomain.get(domain) ?? 0) + 1);
  }
  const key = (c: ClusterCandidate) =>
    [sameAppInDomain.get(c.failureDomain) ?? 0, inCluster.get(c.name) ?? 0] as const;
  const best = [...eligible].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return ka[0] - kb[0] || ka[1] - kb[1] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  })[0] as ClusterCandidate;
  return { cluster: best.name };
}

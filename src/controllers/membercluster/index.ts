// The MemberCluster controller as `kachiku controller` runs it, with its metrics. The registry
// is shared: the Prod controller reaches member clusters through the same connections.
import { Gauge, Histogram } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import type { ClusterRegistry } from '../../runtime/clusters.js';
import { registerMemberClusterController, type MemberClusterDeps } from './reconciler.js';

export { memberClusterGvr, registerMemberClusterController } from './reconciler.js';
export type { MemberClusterDeps } from './reconciler.js';

export function registerMemberClusters(
  mgr: Manager,
  registry: ClusterRegistry,
  opts: Omit<MemberClusterDeps, 'registry' | 'onProbe'> = {},
): void {
  const registers = [mgr.metrics.registry];
  const probes = new Histogram({
    name: 'kachiku_membercluster_probe_seconds',
    help: 'Duration of one member cluster probe, by cluster and outcome',
    labelNames: ['cluster', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const reachable = new Gauge({
    name: 'kachiku_membercluster_reachable',
    help: 'Whether kachiku judges a connected member cluster reachable (1) or not (0)',
    labelNames: ['cluster'] as const,
    registers,
  });
  registry.onChange((name) => {
    const conn = registry.get(name);
    if (conn) reachable.set({ cluster: name }, conn.reachable ? 1 : 0);
    else reachable.remove({ cluster: name });
  });
  registerMemberClusterController(mgr, {
    ...opts,
    registry,
    onProbe: (cluster, outcome, seconds) => probes.observe({ cluster, outcome }, seconds),
  });
}

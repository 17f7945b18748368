// Every controller kachiku runs. Each registers its informers and reconciler with the manager;
// `kachiku controller` runs them all.
import type { Manager } from '../runtime/manager.js';
import { ClusterRegistry } from '../runtime/clusters.js';
import { registerMirrorController } from './loadbalancermirror/index.js';
import { registerMirrorPolicyController } from './mirrorpolicy/index.js';
import { registerMemberClusters, type MemberClusterDeps } from './membercluster/index.js';
import { registerProdController, type ProdController } from './prod/reconciler.js';
import { registerFleetController } from './fleet/reconciler.js';
import { placer } from './fleet/placer.js';
import { registerRouterController } from './router/reconciler.js';
import { registerSourceController } from './source/reconciler.js';
import { registerReleaseController } from './release/reconciler.js';

/** What `kachiku controller` tells every controller. */
export interface ControllerSettings {
  /** Namespaces whose Secrets kachiku reads (MemberCluster kubeconfigs); undefined: any. */
  secretNamespaces?: string[];
  /** How MemberClusters are probed and judged (`--cluster-probe-*` flags); defaults otherwise. */
  probes?: Pick<
    MemberClusterDeps,
    'probeIntervalMs' | 'probeTimeoutMs' | 'failuresToUnreachable' | 'successesToReachable'
  >;
  /** The release gates' Alertmanager when a Release names none (`--alertmanager-url`). */
  alertmanagerUrl?: string;
  /** How long a Release waits for the Router to list a held Prod (`--release-hold-timeout`). */
  releaseHoldTimeoutMs?: number;
}

export interface ControllerRegistration {
  name: string;
  register(mgr: Manager, settings?: ControllerSettings): void;
}

// The MemberCluster and Prod controllers of one manager share its member-cluster connections.
const shared = new WeakMap<Manager, { registry: ClusterRegistry; prods?: ProdController }>();
function clustersOf(mgr: Manager) {
  let entry = shared.get(mgr);
  if (!entry) {
    entry = { registry: new ClusterRegistry({ log: mgr.log, metrics: mgr.metrics }) };
    shared.set(mgr, entry);
  }
  return entry;
}

export const controllers: ControllerRegistration[] = [
  { name: 'loadbalancermirror', register: registerMirrorController },
  { name: 'mirrorpolicy', register: registerMirrorPolicyController },
  {
    name: 'membercluster',
    register: (mgr, settings) => {
      const entry = clustersOf(mgr);
      registerMemberClusters(mgr, entry.registry, {
        ...settings?.probes,
        prodsHosted: (cluster) => entry.prods?.prodsHosted(cluster) ?? 0,
        secretNamespaces: settings?.secretNamespaces,
      });
    },
  },
  {
    name: 'prod',
    register: (mgr) => {
      const entry = clustersOf(mgr);
      entry.prods = registerProdController(mgr, { registry: entry.registry });
    },
  },
  { name: 'fleet', register: (mgr) => void registerFleetController(mgr, { placer }) },
  { name: 'router', register: (mgr) => void registerRouterController(mgr) },
  { name: 'source', register: (mgr) => void registerSourceController(mgr) },
  {
    name: 'release',
    register: (mgr, settings) =>
      void registerReleaseController(mgr, {
        alertmanagerUrl: settings?.alertmanagerUrl,
        holdTimeoutMs: settings?.releaseHoldTimeoutMs,
      }),
  },
];

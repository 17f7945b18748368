// Fixtures for the Fleet controller's unit tests: objects as the apiserver would hand them over.
import type { Fleet, FleetSpec } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod, ProdStatus } from '../../api/prod.js';
import type { Tenant, TenantSpec } from '../../api/tenant.js';
import type { PlacementResult } from '../../fleet/types.js';
import { clusterFacts, type ClusterFacts } from './clusters.js';
import { FLEET_LABEL, ROLE_LABEL, ownerReference } from './prods.js';

export const T0 = Date.parse('2026-12-01T10:00:00Z');
export const NS = 'shop';
export const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export function fleetOf(spec: Partial<FleetSpec> = {}, status?: Fleet['status']): Fleet {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name: 'web', namespace: NS, uid: 'fleet-uid', generation: 1 },
    spec: {
      app: 'shop',
      version: '1.0.0',
      template: {
        capacity: 10,
        components: [{ name: 'web', image: 'registry.example/web:{{version}}' }],
      },
      prods: { perDomain: 2 },
      ...spec,
    },
    ...(status && { status }),
  };
}

export function clusterOf(
  name: string,
  domain: string,
  opts: {
    ready?: boolean;
    reachable?: 'True' | 'False';
    cordoned?: boolean;
    drain?: boolean;
    labels?: Record<string, string>;
    provider?: 'onprem' | 'eks';
  } = {},
): MemberCluster {
  const cond = (type: string, status: string) => ({
    type,
    status: status as 'True' | 'False',
    lastTransitionTime: at(T0),
    reason: 'Probe',
    message: '',
  });
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MemberCluster',
    metadata: { name },
    spec: {
      kubeconfigSecretRef: { name: `${name}-kubeconfig`, namespace: 'kachiku-system' },
      provider: opts.provider ?? 'onprem',
      failureDomain: domain,
      ...(opts.labels && { labels: opts.labels }),
      ...(opts.cordoned && { cordoned: true }),
      ...(opts.drain && { drain: true }),
    },
    status: {
      conditions: [
        cond('Ready', opts.ready === false || opts.reachable === 'False' ? 'False' : 'True'),
        cond('Reachable', opts.reachable ?? 'True'),
      ],
    },
  };
}

/** Three clusters a, b, c in domains da, db, dc. */
export const threeClusters = () => [
  clusterOf('a', 'da'),
  clusterOf('b', 'db'),
  clusterOf('c', 'dc'),
];

export const factsOf = (fleet: Fleet, clusters: MemberCluster[]): ClusterFacts[] =>
  clusters.map((c) => clusterFacts(fleet, c));

export function prodOf(
  name: string,
  cluster: string,
  opts: {
    phase?: ProdStatus['phase'];
    role?: 'test' | 'standard';
    capacity?: number;
    retired?: boolean;
    annotations?: Record<string, string>;
    owner?: Fleet | 'none';
    readyCondition?: 'True' | 'False';
    version?: string;
  } = {},
): Prod {
  const owner = opts.owner === 'none' ? undefined : (opts.owner ?? fleetOf());
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Prod',
    metadata: {
      name,
      namespace: NS,
      labels: { [FLEET_LABEL]: 'web', [ROLE_LABEL]: opts.role ?? 'standard' },
      ...(opts.annotations && { annotations: opts.annotations }),
      ...(owner && { ownerReferences: [ownerReference(owner)] }),
    },
    spec: {
      app: 'shop',
      version: '1.0.0',
      cluster,
      role: opts.role ?? 'standard',
      capacity: opts.capacity ?? 10,
      components: [{ name: 'web', image: 'registry.example/web:{{version}}' }],
      ...(opts.retired && { retired: true }),
    },
    status: {
      phase: opts.phase ?? 'Ready',
      cluster,
      ...((opts.phase ?? 'Ready') === 'Ready' && { version: '1.0.0' }),
      ...(opts.version && { version: opts.version }),
      conditions: [
        {
          type: 'Ready',
          status: opts.readyCondition ?? ((opts.phase ?? 'Ready') === 'Ready' ? 'True' : 'False'),
          lastTransitionTime: at(T0),
          reason: 'x',
          message: '',
        },
      ],
    },
  };
}

export function tenantOf(
  name: string,
  spec: Partial<TenantSpec> = {},
  placed?: { primary: string; secondary?: string },
  opts: { created?: number; placedSince?: number; generation?: number } = {},
): Tenant {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Tenant',
    metadata: {
      name,
      namespace: NS,
      generation: opts.generation ?? 1,
      creationTimestamp: at(opts.created ?? T0 - 3600_000),
    },
    spec: { fleet: 'web', ...spec },
    ...(placed && {
      status: {
        observedGeneration: opts.generation ?? 1,
        prods: placed,
        placedSince: at(opts.placedSince ?? T0 - 600_000),
        conditions: [
          {
            type: 'Placed',
            status: 'True',
            observedGeneration: opts.generation ?? 1,
            lastTransitionTime: at(opts.placedSince ?? T0 - 600_000),
            reason: 'Placed',
            message: `primary ${placed.primary}${placed.secondary ? `, secondary ${placed.secondary}` : ''}`,
          },
        ],
      },
    }),
  };
}

/** A placement result with the given assignment; `used` counted at one unit per copy. */
export function resultOf(
  assignment: PlacementResult['assignment'],
  more: Partial<PlacementResult> = {},
): PlacementResult {
  const used: Record<string, number> = {};
  for (const a of Object.values(assignment))
    for (const p of [a.primary, a.secondary]) if (p) used[p] = (used[p] ?? 0) + 1;
  return {
    assignment,
    moves: [],
    unplaced: [],
    exposed: [],
    lowerBound: 0,
    lowerBoundReachable: true,
    used,
    pending: 0,
    ...more,
  };
}

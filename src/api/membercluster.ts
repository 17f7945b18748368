// MemberCluster (cluster-scoped): a workload cluster that Prods run in, reached through a
// kubeconfig in a Secret, probed by kachiku (issue 6).
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import { Label, ObjectName, Quantity, StringEnum, StringMap, Timestamp } from './schema.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

export const MemberClusterSpec = Type.Object(
  {
    kubeconfigSecretRef: Type.Object(
      {
        name: ObjectName({ description: 'Secret name' }),
        namespace: Label({ description: 'Secret namespace' }),
        key: Type.Optional(
          Type.String({
            description: 'the key holding the kubeconfig',
            default: 'kubeconfig',
            maxLength: 253,
          }),
        ),
      },
      { description: "the Secret holding the member cluster's kubeconfig" },
    ),
    provider: StringEnum(['onprem', 'eks', 'other'], {
      description:
        'where the cluster runs (onprem, eks, other); Fleets select by it (spec.clusterSelector.providers)',
    }),
    region: Type.Optional(
      Type.String({
        description: 'region or site; recorded and shown',
        maxLength: 63,
      }),
    ),
    failureDomain: Label({
      description:
        'clusters sharing a failure domain can fail together; redundant tenants span two',
    }),
    labels: Type.Optional(
      StringMap(
        { description: 'labels Fleets select clusters by (spec.clusterSelector.matchLabels)' },
        63,
      ),
    ),
    cordoned: Type.Optional(
      Type.Boolean({
        description: 'no new Prods, and no new tenants on its Prods, are placed here',
        default: false,
      }),
    ),
    drain: Type.Optional(
      Type.Boolean({
        description:
          'move every tenant off its Prods to Prods elsewhere (Dual tenants keep a copy serving throughout), then retire or keep its Prods as each Fleet says; implies cordoned; false again rebalances gradually',
        default: false,
      }),
    ),
  },
  { description: 'how to reach the cluster and where it stands' },
);
export type MemberClusterSpec = Static<typeof MemberClusterSpec>;

export const MemberClusterStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  conditions: Type.Optional(Conditions),
  kubernetesVersion: Type.Optional(Type.String({ description: 'as the apiserver reports it' })),
  nodes: Type.Optional(
    Type.Object({
      ready: Type.Integer({ minimum: 0 }),
      total: Type.Integer({ minimum: 0 }),
    }),
  ),
  allocatable: Type.Optional(
    Type.Object(
      { cpu: Type.Optional(Quantity()), memory: Type.Optional(Quantity()) },
      { description: 'summed over Ready nodes' },
    ),
  ),
  prods: Type.Optional(Type.Integer({ minimum: 0, description: 'Prods hosted' })),
  probe: Type.Optional(
    Type.Object(
      {
        lastProbeTime: Timestamp(),
        consecutiveFailures: Type.Integer({ minimum: 0 }),
        consecutiveSuccesses: Type.Integer({ minimum: 0 }),
      },
      {
        description:
          'probe history: Reachable turns False after N failures in a row and True after M successes; while nothing changes it is written at most once a minute',
      },
    ),
  ),
});
export type MemberClusterStatus = Static<typeof MemberClusterStatus>;

export type MemberCluster = KachikuObject<'MemberCluster', MemberClusterSpec, MemberClusterStatus>;

export const memberClusterKind = defineKind({
  kind: 'MemberCluster',
  plural: 'memberclusters',
  singular: 'membercluster',
  shortNames: ['mc'],
  scope: 'Cluster',
  description: 'A workload cluster that Prods run in, reached through a kubeconfig Secret.',
  printerColumns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.provider' },
    { name: 'Domain', type: 'string', jsonPath: '.spec.failureDomain' },
    { name: 'Cordoned', type: 'boolean', jsonPath: '.spec.cordoned' },
    conditionColumn('Ready'),
    conditionColumn('Reachable', 1),
    { name: 'Version', type: 'string', jsonPath: '.status.kubernetesVersion' },
    { name: 'Prods', type: 'integer', jsonPath: '.status.prods' },
    { name: 'Region', type: 'string', jsonPath: '.spec.region', priority: 1 },
    ageColumn,
  ],
  spec: MemberClusterSpec,
  status: MemberClusterStatus,
});

// The condition vocabulary of kachiku.io: metav1.Condition's schema, and the condition types and
// reasons the kinds use, as constants so that controllers, tests and the CLI spell them alike.
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp } from './schema.js';

export const ConditionStatus = StringEnum(['True', 'False', 'Unknown']);
export type ConditionStatus = Static<typeof ConditionStatus>;

/** metav1.Condition, with the same validation controller-gen emits for it. */
export const Condition = Type.Object(
  {
    type: Type.String({
      description: 'type of condition in CamelCase, e.g. Ready',
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      maxLength: 316,
    }),
    status: ConditionStatus,
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'the .metadata.generation the condition was set from',
        minimum: 0,
        format: 'int64',
      }),
    ),
    lastTransitionTime: Timestamp({
      description: 'when the status last changed (not when the condition was last written)',
    }),
    reason: Type.String({
      description: 'a CamelCase, machine-readable reason for the last transition',
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      minLength: 1,
      maxLength: 1024,
    }),
    message: Type.String({ description: 'a human-readable explanation', maxLength: 32768 }),
  },
  { description: 'one aspect of the current state (metav1.Condition)' },
);
export type Condition = Static<typeof Condition>;

/** `status.conditions`: one condition per type, merged by type under server-side apply. */
export const Conditions = Type.Array(Condition, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

export const ConditionType = {
  /** The object does what it is for (every kind). */
  Ready: 'Ready',
  /** LoadBalancerMirror: AWS matches Octavia as of the last sync. */
  Synced: 'Synced',
  /** LoadBalancerMirror: Route 53 records and health checks match spec.dns. */
  DNSSynced: 'DNSSynced',
  /** Works, but not fully: an API unreachable, a component short of pods, a side unhealthy. */
  Degraded: 'Degraded',
  /** MemberCluster: its apiserver answers probes. */
  Reachable: 'Reachable',
  /** Prod: its member cluster cannot be reached (what it made there is left as it was). */
  ClusterUnreachable: 'ClusterUnreachable',
  /** Tenant: it has its Prods (both, for Dual). */
  Placed: 'Placed',
  /** Fleet: its Prods are what spec.prods (and autoscale) ask for. */
  ProdsReady: 'ProdsReady',
  /** Fleet: every tenant is placed with all its copies. */
  TenantsPlaced: 'TenantsPlaced',
  /** Fleet: a MemberCluster it uses is draining (True while any drain is planned, moving or done). */
  Draining: 'Draining',
  /** Fleet: autoscale acts as configured (False: a scale-in would strand tenants). */
  Autoscaling: 'Autoscaling',
  /** Fleet: its source answers and offers a valid version. */
  SourceReady: 'SourceReady',
  /** MirrorPolicy: every selected load balancer has its mirror (False: a conflict or none yet). */
  Mirrored: 'Mirrored',
  /** MirrorPolicy: the AMQP listener of spec.notifications is connected. */
  Notifications: 'Notifications',
  /** Release: rolling out (False once it ends, whichever way). */
  Progressing: 'Progressing',
  /** Release: every Prod runs the version and the Fleet's spec.version is it. */
  Complete: 'Complete',
  /** Release: a gate failed, or a Prod could not take the version. */
  Failed: 'Failed',
  /** Release: stopped by spec.paused (or by onFailure: Pause). */
  Paused: 'Paused',
  /** Release: the tenants of the updated Prods are back on the good version. */
  RolledBack: 'RolledBack',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // any kind
  Reconciling: 'Reconciling',
  ReconcileError: 'ReconcileError',
  InvalidSpec: 'InvalidSpec',
  Deleting: 'Deleting',
  SecretNotFound: 'SecretNotFound',
  // LoadBalancerMirror
  InSync: 'InSync',
  OctaviaUnreachable: 'OctaviaUnreachable',
  /** Octavia's answers disagree (a list cut short, a pool that 404s mid-read): nothing planned. */
  OctaviaIncomplete: 'OctaviaIncomplete',
  OctaviaPending: 'OctaviaPending',
  LoadBalancerNotFound: 'LoadBalancerNotFound',
  AuthenticationFailed: 'AuthenticationFailed',
  AWSUnreachable: 'AWSUnreachable',
  SubnetNotInVPC: 'SubnetNotInVPC',
  DuplicateMirror: 'DuplicateMirror',
  PartiallyMirrored: 'PartiallyMirrored',
  // LoadBalancerMirror, spec.dns
  HostedZoneNotFound: 'HostedZoneNotFound',
  RecordConflict: 'RecordConflict',
  SideUnhealthy: 'SideUnhealthy',
  BothSidesUnhealthy: 'BothSidesUnhealthy',
  Maintenance: 'Maintenance',
  // MemberCluster
  ProbeSucceeded: 'ProbeSucceeded',
  ProbeFailed: 'ProbeFailed',
  KubeconfigMissing: 'KubeconfigMissing',
  KubeconfigInvalid: 'KubeconfigInvalid',
  SecretNotReadable: 'SecretNotReadable',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  CredentialsFailed: 'CredentialsFailed',
  NoReadyNodes: 'NoReadyNodes',
  Cordoned: 'Cordoned',
  // Prod
  ClusterNotFound: 'ClusterNotFound',
  NoClusterAvailable: 'NoClusterAvailable',
  ClusterUnreachable: 'ClusterUnreachable',
  ClusterReachable: 'ClusterReachable',
  TemplateError: 'TemplateError',
  Provisioning: 'Provisioning',
  WarmingUp: 'WarmingUp',
  WarmupFailed: 'WarmupFailed',
  ComponentsAvailable: 'ComponentsAvailable',
  ComponentsUnavailable: 'ComponentsUnavailable',
  Draining: 'Draining',
  Retired: 'Retired',
  // Fleet, Tenant
  Placed: 'Placed',
  Unschedulable: 'Unschedulable',
  FleetNotFound: 'FleetNotFound',
  HostConflict: 'HostConflict',
  NoCapacity: 'NoCapacity',
  SingleDomain: 'SingleDomain',
  NoProds: 'NoProds',
  PartiallyPlaced: 'PartiallyPlaced',
  AllPlaced: 'AllPlaced',
  ProdsShort: 'ProdsShort',
  NoClusterSelected: 'NoClusterSelected',
  DrainBlocked: 'DrainBlocked',
  DrainPlanned: 'DrainPlanned',
  Drained: 'Drained',
  NotDraining: 'NotDraining',
  ProdsReady: 'ProdsReady',
  Steady: 'Steady',
  ScaleUp: 'ScaleUp',
  ScaleIn: 'ScaleIn',
  ScaleInBlocked: 'ScaleInBlocked',
  // Router
  Programmed: 'Programmed',
  RouterUnreachable: 'RouterUnreachable',
  RouterRejected: 'RouterRejected',
  ConfigMismatch: 'ConfigMismatch',
  SlotsExhausted: 'SlotsExhausted',
  EndpointsMissing: 'EndpointsMissing',
  Unrouted: 'Unrouted',
  HoldBlocked: 'HoldBlocked',
  // MirrorPolicy
  Listed: 'Listed',
  ListFailed: 'ListFailed',
  AllMirrored: 'AllMirrored',
  MirrorConflict: 'MirrorConflict',
  Listening: 'Listening',
  NotificationsUnreachable: 'NotificationsUnreachable',
  NotificationsOff: 'NotificationsOff',
  // Fleet source
  SourceFound: 'SourceFound',
  SourceUnreachable: 'SourceUnreachable',
  SourceAuthFailed: 'SourceAuthFailed',
  SourceNotFound: 'SourceNotFound',
  NoMatchingVersion: 'NoMatchingVersion',
  InvalidPolicy: 'InvalidPolicy',
  // Release
  WavePending: 'WavePending',
  WaveRunning: 'WaveRunning',
  Baking: 'Baking',
  GateFailed: 'GateFailed',
  GateError: 'GateError',
  ProdFailed: 'ProdFailed',
  Superseded: 'Superseded',
  Succeeded: 'Succeeded',
  PausedBySpec: 'PausedBySpec',
  Aborted: 'Aborted',
  RollingBack: 'RollingBack',
  RolledBack: 'RolledBack',
  VersionNotFound: 'VersionNotFound',
  WaitingForRelease: 'WaitingForRelease',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

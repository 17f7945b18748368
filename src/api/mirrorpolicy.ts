// MirrorPolicy (namespaced): stamps out one LoadBalancerMirror per Octavia load balancer it
// selects (by tags, project, name pattern, or all of a cloud), from a template (issue 16). The
// mirrors it makes are owned by it and labelled; a mirror made by hand for the same load balancer
// wins. New load balancers are found at once from Octavia's event notifications (AMQP) when
// spec.notifications is set, and at every listInterval whatever happens to the notifications.
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import { Duration, ObjectName, StringEnum, Timestamp, validations } from './schema.js';
import { AwsSpec, DnsSpec, OctaviaSpec } from './loadbalancermirror.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

/** Labels on every mirror a policy made: which policy, and which Octavia load balancer. */
export const POLICY_LABEL = 'kachiku.io/mirror-policy';
export const LOAD_BALANCER_LABEL = 'kachiku.io/octavia-load-balancer';

/** A record-name template: a host name with {{name}}, {{id}} and {{zone}} in it. */
export const RECORD_TEMPLATE = '^([a-z0-9.-]|\\{\\{(name|id|zone)\\}\\})+$';

export const PolicySelector = Type.Object(
  {
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
        description: 'load balancers carrying every one of these Octavia tags',
        maxItems: 16,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    projectID: Type.Optional(
      Type.String({
        description: 'load balancers of this project (an admin credential sees every project)',
        pattern: '^[0-9a-f-]{32,36}$',
      }),
    ),
    namePattern: Type.Optional(
      Type.String({
        description: 'load balancers whose name matches this glob (* any run, ? one character)',
        minLength: 1,
        maxLength: 255,
      }),
    ),
    all: Type.Optional(
      Type.Boolean({ description: 'every load balancer the credentials can see' }),
    ),
  },
  {
    description: 'which load balancers: all the criteria set must hold',
    ...validations({
      rule: '(has(self.all) && self.all) != (has(self.tags) || has(self.projectID) || has(self.namePattern))',
      message: 'set all: true, or at least one of tags, projectID and namePattern (not both)',
    }),
  },
);
export type PolicySelector = Static<typeof PolicySelector>;

const dnsProps = { ...DnsSpec.properties } as Partial<typeof DnsSpec.properties>;
delete dnsProps.recordNames;

export const DnsTemplate = Type.Object(
  {
    ...(dnsProps as Omit<typeof DnsSpec.properties, 'recordNames'>),
    recordNames: Type.Array(Type.String({ pattern: RECORD_TEMPLATE, maxLength: 253 }), {
      description:
        "record-name templates: {{name}} is the load balancer's name (as a DNS label), {{id}} its id, {{zone}} the hosted zone's name (spec.template.dns.hostedZone.name)",
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
    }),
  },
  {
    description: "each mirror's spec.dns, with record names made from templates",
    'x-kubernetes-validations': (DnsSpec as unknown as Record<string, unknown>)[
      'x-kubernetes-validations'
    ],
  },
);
export type DnsTemplate = Static<typeof DnsTemplate>;

export const MirrorTemplate = Type.Object(
  {
    aws: AwsSpec,
    dns: Type.Optional(DnsTemplate),
    syncInterval: Type.Optional(
      Duration({ description: "each mirror's spec.syncInterval", default: '60s', min: '5s' }),
    ),
    deletionPolicy: Type.Optional(
      StringEnum(['Delete', 'Retain'], {
        description:
          "each mirror's spec.deletionPolicy: what becomes of its AWS resources when its load balancer is gone from Octavia or the policy goes",
        default: 'Delete',
      }),
    ),
  },
  { description: 'what each mirror is made of' },
);
export type MirrorTemplate = Static<typeof MirrorTemplate>;

export const MirrorPolicySpec = Type.Object(
  {
    octavia: Type.Object(
      {
        cloud: OctaviaSpec.properties.cloud,
        credentialsSecretRef: OctaviaSpec.properties.credentialsSecretRef,
        selector: PolicySelector,
      },
      {
        description: 'where to list load balancers (the credentials every mirror uses too)',
        ...validations({
          rule: 'has(self.cloud) != has(self.credentialsSecretRef)',
          message:
            'exactly one of spec.octavia.cloud and spec.octavia.credentialsSecretRef must be set',
        }),
      },
    ),
    template: MirrorTemplate,
    listInterval: Type.Optional(
      Duration({
        description: 'how often Octavia is listed (the safety net under notifications)',
        default: '5m',
        min: '5s',
      }),
    ),
    gracePeriod: Type.Optional(
      Duration({
        description:
          'how long a load balancer must be missing from every successful list before its mirror is deleted (a failed list never counts as missing)',
        default: '5m',
      }),
    ),
    notifications: Type.Optional(
      Type.Object(
        {
          secretRef: Type.Object(
            {
              name: ObjectName({ description: "a Secret in the policy's namespace" }),
              key: Type.Optional(
                Type.String({
                  description:
                    'the key holding the AMQP URL (amqp://user:password@host:port/vhost)',
                  default: 'url',
                  maxLength: 253,
                }),
              ),
            },
            { description: "the broker Octavia's notifications go to" },
          ),
          exchange: Type.Optional(
            Type.String({
              description: "Octavia's control_exchange",
              default: 'octavia',
              minLength: 1,
              maxLength: 255,
            }),
          ),
          topic: Type.Optional(
            Type.String({
              description: '[oslo_messaging_notifications] topics',
              default: 'notifications',
              minLength: 1,
              maxLength: 255,
            }),
          ),
        },
        {
          description:
            "Octavia's event notifications ([oslo_messaging_notifications] driver = messagingv2): a load balancer created, updated or deleted lists at once",
        },
      ),
    ),
  },
  { description: 'which load balancers get a mirror, and what the mirror is' },
);
export type MirrorPolicySpec = Static<typeof MirrorPolicySpec>;

const LoadBalancerRef = {
  loadBalancerID: Type.String(),
  mirror: Type.String({ description: 'the LoadBalancerMirror' }),
};

export const MirrorPolicyStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    conditions: Type.Optional(Conditions),
    matched: Type.Optional(
      Type.Integer({ minimum: 0, description: 'load balancers selected by the last list' }),
    ),
    mirrors: Type.Optional(
      Type.Integer({ minimum: 0, description: 'mirrors this policy has made (and owns)' }),
    ),
    conflicts: Type.Optional(
      Type.Array(Type.Object({ ...LoadBalancerRef, reason: Type.String() }), {
        description: 'selected load balancers mirrored by a mirror this policy did not make',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['loadBalancerID'],
      }),
    ),
    missing: Type.Optional(
      Type.Array(
        Type.Object({
          ...LoadBalancerRef,
          since: Timestamp({ description: 'first successful list without it' }),
        }),
        {
          description:
            'mirrored load balancers no longer listed: their mirrors go after the grace period',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['loadBalancerID'],
        },
      ),
    ),
    lastListTime: Type.Optional(Timestamp({ description: 'the last successful list' })),
    lastNotification: Type.Optional(
      Timestamp({ description: 'the last Octavia notification that triggered a list' }),
    ),
  },
  { description: 'what the last list matched and what the policy made of it' },
);
export type MirrorPolicyStatus = Static<typeof MirrorPolicyStatus>;

export type MirrorPolicy = KachikuObject<'MirrorPolicy', MirrorPolicySpec, MirrorPolicyStatus>;

export const mirrorPolicyKind = defineKind({
  kind: 'MirrorPolicy',
  plural: 'mirrorpolicies',
  singular: 'mirrorpolicy',
  shortNames: ['lbmp'],
  scope: 'Namespaced',
  description:
    'Makes one LoadBalancerMirror per Octavia load balancer it selects, from a template, and removes it when the load balancer is gone.',
  printerColumns: [
    conditionColumn('Ready'),
    { name: 'Matched', type: 'integer', jsonPath: '.status.matched' },
    { name: 'Mirrors', type: 'integer', jsonPath: '.status.mirrors' },
    { name: 'Last list', type: 'string', jsonPath: '.status.lastListTime', priority: 1 },
    ageColumn,
  ],
  spec: MirrorPolicySpec,
  status: MirrorPolicyStatus,
});

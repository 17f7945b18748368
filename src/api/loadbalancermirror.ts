// LoadBalancerMirror: one Octavia load balancer mirrored as one AWS Network Load Balancer, with
// optional Route 53 weighted records that fail traffic over between the two (issues 4 and 5).
import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import {
  Duration,
  IntegerEnum,
  ObjectName,
  StringEnum,
  StringMap,
  Timestamp,
  immutable,
  validations,
} from './schema.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const HOSTNAME = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.?$';
const Port = (description: string) => Type.Integer({ description, minimum: 1, maximum: 65535 });

export const OctaviaSpec = Type.Object(
  {
    loadBalancerID: Type.String({
      description: 'the Octavia load balancer to mirror (its UUID); immutable',
      pattern: UUID,
      maxLength: 36,
      ...validations(immutable('loadBalancerID is immutable: create another LoadBalancerMirror')),
    }),
    cloud: Type.Optional(
      Type.String({
        description:
          "a cloud of the controller's own clouds.yaml (OS_CLIENT_CONFIG_FILE or the standard search path)",
        minLength: 1,
        maxLength: 253,
      }),
    ),
    credentialsSecretRef: Type.Optional(
      Type.Object(
        {
          name: ObjectName({ description: "a Secret in the mirror's namespace" }),
          key: Type.Optional(
            Type.String({
              description: 'the key holding a clouds.yaml',
              default: 'clouds.yaml',
              maxLength: 253,
            }),
          ),
          cloud: Type.Optional(
            Type.String({
              description: 'the cloud of that clouds.yaml to use; default its only cloud',
              maxLength: 253,
            }),
          ),
        },
        { description: 'credentials as a clouds.yaml in a Secret, instead of `cloud`' },
      ),
    ),
  },
  {
    description: 'the Octavia side: which load balancer, and how to reach Keystone',
    ...validations({
      rule: 'has(self.cloud) != has(self.credentialsSecretRef)',
      message:
        'exactly one of spec.octavia.cloud and spec.octavia.credentialsSecretRef must be set',
    }),
  },
);

/** An AWS region name. */
export const AwsRegion = (options: SchemaOptions) =>
  Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$', maxLength: 32, ...options });

/** AWS credentials in a Secret of the namespace of the object (`owner`) naming it. */
export const AwsCredentialsRef = (owner: string) =>
  Type.Object(
    { name: ObjectName({ description: `a Secret in the ${owner}'s namespace` }) },
    {
      description:
        "a Secret with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); default: the SDK's credential chain",
    },
  );

export const AwsSpec = Type.Object(
  {
    region: AwsRegion({
      description: 'AWS region of the NLB; immutable',
      ...validations(immutable('region is immutable: an NLB cannot move')),
    }),
    vpcID: Type.String({
      description: 'VPC of the NLB and its target groups; immutable',
      pattern: '^vpc-[0-9a-f]{8,17}$',
      maxLength: 21,
      ...validations(immutable('vpcID is immutable: an NLB cannot change VPC')),
    }),
    subnetIDs: Type.Array(Type.String({ pattern: '^subnet-[0-9a-f]{8,17}$' }), {
      description: 'subnets of the NLB, at most one per availability zone',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
    }),
    scheme: Type.Optional(
      StringEnum(['internal', 'internet-facing'], {
        description: 'NLB scheme; immutable',
        default: 'internal',
        ...validations(immutable('scheme is immutable: an NLB cannot change scheme')),
      }),
    ),
    credentialsSecretRef: Type.Optional(AwsCredentialsRef('mirror')),
    tags: Type.Optional(
      StringMap({
        description: "extra tags on every AWS resource, besides kachiku's ownership tags",
        maxProperties: 40,
        ...validations({
          rule: "self.all(k, size(k) <= 128 && !k.startsWith('aws:') && !k.startsWith('kachiku.io/'))",
          message:
            'tag keys are at most 128 characters and must not start with aws: or kachiku.io/',
        }),
      }),
    ),
  },
  { description: 'the AWS side: where the NLB goes' },
);

/** How a Route 53 health check probes, wherever it points (the mirror's sides, a Prod). */
export const healthCheckProbe = {
  type: Type.Optional(
    StringEnum(['TCP', 'HTTP', 'HTTPS'], { description: 'what a probe does', default: 'TCP' }),
  ),
  path: Type.Optional(
    Type.String({ description: 'HTTP(S) path probed', pattern: '^/', maxLength: 255 }),
  ),
  interval: Type.Optional(
    IntegerEnum([10, 30], {
      description: "seconds between probes (Route 53's only choices)",
      default: 30,
    }),
  ),
  failureThreshold: Type.Optional(
    Type.Integer({
      description: 'consecutive failures that make a target unhealthy (and successes to recover)',
      minimum: 1,
      maximum: 10,
      default: 3,
    }),
  ),
};
export const healthCheckPathRule = validations({
  rule: "self.type != 'TCP' || !has(self.path)",
  message: 'path is only for HTTP and HTTPS health checks',
  fieldPath: '.path',
});

export const HealthCheck = Type.Object(
  {
    ...healthCheckProbe,
    port: Port('the port probed'),
    host: Type.Optional(
      Type.String({
        description:
          "IPv4 address or host name probed; default the side's own: the Octavia address, or the NLB's DNS name",
        pattern: '^[A-Za-z0-9.-]+$',
        maxLength: 253,
      }),
    ),
  },
  { description: 'how one side is probed', ...healthCheckPathRule },
);
export type HealthCheck = Static<typeof HealthCheck>;

/** A Route 53 hosted zone by id or by name; `path` names the field in the CEL message. */
export const HostedZoneRef = (path: string) =>
  Type.Object(
    {
      id: Type.Optional(
        Type.String({
          description: 'hosted zone id, e.g. Z0123456789ABC',
          pattern: '^(/hostedzone/)?[A-Z0-9]{1,32}$',
        }),
      ),
      name: Type.Optional(
        Type.String({
          description: 'hosted zone name, e.g. example.com',
          pattern: HOSTNAME,
          maxLength: 253,
        }),
      ),
    },
    {
      description: 'the Route 53 hosted zone, by id or by name',
      ...validations({
        rule: 'has(self.id) != has(self.name)',
        message: `exactly one of ${path}.id and ${path}.name must be set`,
      }),
    },
  );

/** A record's TTL in seconds. */
export const RecordTTL = (description: string) =>
  Type.Integer({ description, minimum: 0, maximum: 86400, default: 60 });

export const DnsSpec = Type.Object(
  {
    hostedZone: HostedZoneRef('spec.dns.hostedZone'),
    recordNames: Type.Array(Type.String({ pattern: HOSTNAME, maxLength: 253 }), {
      description: 'the names that get the weighted records',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
    }),
    ttl: Type.Optional(RecordTTL('TTL of the A records')),
    weights: Type.Optional(
      Type.Object(
        {
          octavia: Type.Optional(
            Type.Integer({
              description: 'weight of the Octavia address',
              minimum: 0,
              maximum: 255,
              default: 90,
            }),
          ),
          nlb: Type.Optional(
            Type.Integer({
              description: 'weight of the NLB alias',
              minimum: 0,
              maximum: 255,
              default: 10,
            }),
          ),
        },
        {
          description: 'Route 53 weights of each side while both are healthy',
          default: { octavia: 90, nlb: 10 },
          ...validations({
            rule: 'self.octavia > 0 || self.nlb > 0',
            message: 'spec.dns.weights.octavia and spec.dns.weights.nlb must not both be 0',
          }),
        },
      ),
    ),
    octaviaAddress: Type.Optional(
      Type.String({
        description: "the Octavia side's public IPv4 address (its floating IP); default the VIP",
        format: 'ipv4',
        maxLength: 15,
      }),
    ),
    healthChecks: Type.Optional(
      Type.Object(
        {
          octavia: Type.Optional(HealthCheck),
          nlb: Type.Optional(HealthCheck),
        },
        {
          description:
            'per side; the NLB record also evaluates target health, and in controller mode the NLB side defaults to the Octavia check',
        },
      ),
    ),
    failoverMode: Type.Optional(
      StringEnum(['route53', 'controller', 'maintenance'], {
        description:
          'route53: Route 53 health checks decide; controller: kachiku probes both sides and zeroes the weight of an unhealthy one (never both); maintenance: the weights as written, no failover',
        default: 'route53',
      }),
    ),
  },
  {
    description: 'Route 53 weighted records that send traffic to both sides and fail over',
    ...validations({
      rule: "self.failoverMode == 'maintenance' || (has(self.healthChecks) && has(self.healthChecks.octavia))",
      message: 'spec.dns.healthChecks.octavia is required unless failoverMode is maintenance',
    }),
  },
);
export type DnsSpec = Static<typeof DnsSpec>;

export const LoadBalancerMirrorSpec = Type.Object(
  {
    octavia: OctaviaSpec,
    aws: AwsSpec,
    dns: Type.Optional(DnsSpec),
    syncInterval: Type.Optional(
      Duration({ description: 'how often to re-sync from Octavia', default: '60s', min: '5s' }),
    ),
    deletionPolicy: Type.Optional(
      StringEnum(['Delete', 'Retain'], {
        description:
          'on deletion, delete the AWS resources (verified gone before the mirror goes), or leave them and remove their tags; with AWS unreachable, Retain lets the mirror go and leaves them tagged (a mirror that never made anything in AWS goes at once either way)',
        default: 'Delete',
      }),
    ),
  },
  { description: 'which Octavia load balancer, where its NLB goes, and optional DNS failover' },
);
export type LoadBalancerMirrorSpec = Static<typeof LoadBalancerMirrorSpec>;

const Side = StringEnum(['octavia', 'nlb']);
const Serving = StringEnum(['both', 'octavia', 'nlb', 'none']);

export const DnsStatus = Type.Object({
  hostedZoneID: Type.Optional(Type.String({ description: 'the hosted zone the records are in' })),
  octaviaAddress: Type.Optional(
    Type.String({ description: "the address the Octavia side's records point at" }),
  ),
  records: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ description: 'record name' }),
        setIdentifier: Type.String({ description: 'Route 53 SetIdentifier, unique per name' }),
        side: Side,
        weight: Type.Integer({ minimum: 0, maximum: 255 }),
        healthCheckID: Type.Optional(Type.String()),
      }),
      {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name', 'setIdentifier'],
      },
    ),
  ),
  healthChecks: Type.Optional(
    Type.Array(
      Type.Object({
        side: Side,
        id: Type.Optional(Type.String({ description: 'Route 53 health check id (route53 mode)' })),
        state: StringEnum(['Healthy', 'Unhealthy', 'Unknown']),
        lastChecked: Type.Optional(Timestamp()),
      }),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['side'] },
    ),
  ),
  servingSide: Type.Optional(Serving),
  servingSince: Type.Optional(Timestamp({ description: 'when servingSide last changed' })),
  lastFailover: Type.Optional(
    Type.Object({
      time: Timestamp(),
      from: Serving,
      to: Serving,
      reason: Type.String(),
    }),
  ),
});
export type DnsStatus = Static<typeof DnsStatus>;

export const LoadBalancerMirrorStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    conditions: Type.Optional(Conditions),
    loadBalancer: Type.Optional(
      Type.Object(
        {
          arn: Type.String(),
          dnsName: Type.String({
            description: 'the NLB DNS name clients (or the alias record) use',
          }),
          canonicalHostedZoneID: Type.Optional(
            Type.String({ description: 'the NLB hosted zone, for alias records' }),
          ),
        },
        { description: 'the NLB' },
      ),
    ),
    listeners: Type.Optional(
      Type.Array(
        Type.Object({
          port: Port('listener port, the same on both sides'),
          protocol: StringEnum(['TCP', 'UDP', 'TCP_UDP'], { description: 'NLB protocol' }),
          octaviaListenerID: Type.String(),
          octaviaProtocol: Type.String(),
          targetGroupARN: Type.Optional(Type.String()),
          targets: Type.Optional(Type.Integer({ minimum: 0, description: 'targets registered' })),
        }),
        {
          description:
            'per NLB listener (one per port): the Octavia listener(s) it mirrors and its target group; an Octavia TCP and UDP listener on one port share one TCP_UDP listener, octaviaListenerID then lists both, comma-separated',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
        },
      ),
    ),
    membersSeen: Type.Optional(Type.Integer({ minimum: 0, description: 'Octavia members seen' })),
    targetsRegistered: Type.Optional(
      Type.Integer({ minimum: 0, description: 'targets registered over all target groups' }),
    ),
    lastSyncTime: Type.Optional(
      Timestamp({
        description:
          'end of the last complete sync whose status was written: on any change, else at least once a minute',
      }),
    ),
    notMirrored: Type.Optional(
      Type.Array(
        Type.Object({
          feature: Type.String({ description: 'e.g. "listener protocol SCTP", "L7 policy"' }),
          octaviaID: Type.Optional(Type.String()),
          reason: Type.String(),
        }),
        { description: 'Octavia features that could not be mirrored (or were adjusted), and why' },
      ),
    ),
    lastPutBack: Type.Optional(
      Type.Object(
        {
          time: Timestamp({ description: 'when they were put back' }),
          what: Type.Array(Type.String(), {
            description:
              'each change undone, as its event says (at most 10 named, the rest counted)',
            maxItems: 10,
          }),
        },
        {
          description:
            "the last sync that found AWS changed outside kachiku and put it back: the NLB's attributes; under an unchanged spec its subnets and the tags; when Octavia had not changed either (a drift check), health checks, target-group attributes, targets and listeners too. Kept until a sync puts something back again",
        },
      ),
    ),
    dns: Type.Optional(DnsStatus),
  },
  { description: 'what kachiku made in AWS and how the last sync went' },
);
export type LoadBalancerMirrorStatus = Static<typeof LoadBalancerMirrorStatus>;

export type LoadBalancerMirror = KachikuObject<
  'LoadBalancerMirror',
  LoadBalancerMirrorSpec,
  LoadBalancerMirrorStatus
>;

export const loadBalancerMirrorKind = defineKind({
  kind: 'LoadBalancerMirror',
  plural: 'loadbalancermirrors',
  singular: 'loadbalancermirror',
  shortNames: ['lbm'],
  scope: 'Namespaced',
  description:
    'One Octavia load balancer mirrored as one AWS Network Load Balancer, with optional Route 53 weighted failover records.',
  printerColumns: [
    conditionColumn('Ready'),
    conditionColumn('Synced'),
    { name: 'NLB', type: 'string', jsonPath: '.status.loadBalancer.dnsName' },
    { name: 'Serving', type: 'string', jsonPath: '.status.dns.servingSide', priority: 1 },
    { name: 'Octavia LB', type: 'string', jsonPath: '.spec.octavia.loadBalancerID', priority: 1 },
    ageColumn,
  ],
  spec: LoadBalancerMirrorSpec,
  status: LoadBalancerMirrorStatus,
});

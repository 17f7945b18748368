// Prod (namespaced): one production environment — an app's stack at one version, in one member
// cluster, with a capacity in tenants (issue 6).
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import {
  Duration,
  FreeForm,
  Label,
  ObjectName,
  Quantity,
  StringEnum,
  Timestamp,
  validations,
} from './schema.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

export const PHASES = [
  'Pending',
  'Provisioning',
  'WarmingUp',
  'Ready',
  'InService',
  'Draining',
  'Retired',
] as const;
export type ProdPhase = (typeof PHASES)[number];

/** The variables of images and manifests, written `{{name}}`. */
export const TEMPLATE_VARIABLES = ['name', 'namespace', 'app', 'version', 'cluster'] as const;

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Resources = Type.Object({
  cpu: Type.Optional(Quantity()),
  memory: Type.Optional(Quantity()),
});

export const Component = Type.Object(
  {
    name: Label({ description: 'the Deployment and Service name' }),
    image: Type.String({
      description: 'container image; {{version}} is replaced by spec.version',
      minLength: 1,
      maxLength: 512,
      ...validations({
        rule: "self.contains('{{version}}')",
        message: 'image must contain {{version}}, so that spec.version selects what runs',
      }),
    }),
    replicas: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 1 })),
    ports: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String({ pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: 15 }),
          port: Port,
          protocol: Type.Optional(StringEnum(['TCP', 'UDP'], { default: 'TCP' })),
        }),
        {
          description: 'container ports, also the ports of the Service',
          maxItems: 16,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        },
      ),
    ),
    env: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String({ minLength: 1, maxLength: 256 }),
          value: Type.String({ description: 'may use the template variables' }),
        }),
        {
          description: 'environment variables of the container',
          maxItems: 64,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        },
      ),
    ),
    resources: Type.Optional(
      Type.Object(
        { requests: Type.Optional(Resources), limits: Type.Optional(Resources) },
        { description: 'per replica, as in a container spec' },
      ),
    ),
    readinessProbe: Type.Optional(
      Type.Object(
        {
          httpGet: Type.Optional(
            Type.Object({
              path: Type.String({ pattern: '^/', maxLength: 1024 }),
              port: Port,
            }),
          ),
          tcpSocket: Type.Optional(Type.Object({ port: Port })),
          periodSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 300 })),
          failureThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        },
        {
          description: 'when a replica counts as ready; default: none (ready once running)',
          ...validations({
            rule: 'has(self.httpGet) != has(self.tcpSocket)',
            message: 'a readinessProbe has exactly one of httpGet and tcpSocket',
          }),
        },
      ),
    ),
    expose: Type.Optional(
      StringEnum(['ClusterIP', 'LoadBalancer'], {
        description: 'the type of the Service in front of the ports',
        default: 'ClusterIP',
      }),
    ),
  },
  { description: 'a Deployment-like unit of the stack' },
);
export type Component = Static<typeof Component>;

export const ProdSpec = Type.Object(
  {
    cluster: Type.Optional(
      ObjectName({
        description:
          'the MemberCluster to run in; if empty, kachiku picks a Ready, uncordoned one in the failure domain with the fewest Prods of this app (status.cluster)',
      }),
    ),
    app: Label({ description: 'the application; Prods of one app are a herd' }),
    version: Type.String({
      description: 'the version of the stack, an image tag',
      pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$',
    }),
    role: Type.Optional(
      StringEnum(['test', 'standard'], {
        description:
          'test Prods receive only test tenants (Fleet placement) and are the first wave of a release',
        default: 'standard',
      }),
    ),
    capacity: Type.Optional(
      Type.Integer({
        description:
          "tenant units it may host (a Fleet's placement keeps the tenants' sizes within it)",
        minimum: 0,
        default: 0,
      }),
    ),
    components: Type.Optional(
      Type.Array(Component, {
        description: 'the stack, one Deployment (and Service) per component',
        maxItems: 32,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    manifests: Type.Optional(
      Type.Array(
        FreeForm({
          description: `a raw Kubernetes object, templated with ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
        }),
        { description: 'objects applied besides the components', maxItems: 64 },
      ),
    ),
    warmup: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(
            Type.Object(
              {
                target: Type.Optional(
                  Type.String({
                    description: "base URL of the requests; default the Prod's own endpoint",
                    pattern: '^https?://',
                    maxLength: 2048,
                  }),
                ),
                path: Type.Optional(Type.String({ pattern: '^/', maxLength: 1024, default: '/' })),
                count: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, default: 100 })),
                concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 4 })),
              },
              {
                description: '`count` GET requests, `concurrency` at a time, that must all succeed',
              },
            ),
          ),
          minimumTime: Type.Optional(
            Duration({ description: 'time spent WarmingUp at least', default: '0s' }),
          ),
        },
        { description: 'what happens between every component Available and Ready' },
      ),
    ),
    retired: Type.Optional(
      Type.Boolean({
        description: 'drain and remove the Prod, keeping the object',
        default: false,
        ...validations({
          rule: 'self || !oldSelf',
          message: 'spec.retired cannot go back to false: create a new Prod',
        }),
      }),
    ),
  },
  {
    description: 'what runs, at which version, where',
    ...validations(
      {
        rule: '(has(self.components) && size(self.components) > 0) || (has(self.manifests) && size(self.manifests) > 0)',
        message: 'a Prod needs at least one of spec.components and spec.manifests',
      },
      {
        rule: '!has(oldSelf.cluster) || (has(self.cluster) && self.cluster == oldSelf.cluster)',
        message: 'spec.cluster cannot change once set: a Prod lives in one cluster',
        fieldPath: '.cluster',
      },
    ),
  },
);
export type ProdSpec = Static<typeof ProdSpec>;

export const ProdStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
    conditions: Type.Optional(Conditions),
    phase: Type.Optional(
      StringEnum(PHASES, {
        description:
          'where the Prod is in its lifecycle; InService: warmed up and tenants routed to it (a Router has an Active slot for it and an instance serves that table), else Ready',
      }),
    ),
    phaseSince: Type.Optional(Timestamp({ description: 'when it entered that phase' })),
    cluster: Type.Optional(Type.String({ description: 'the MemberCluster it runs in' })),
    namespace: Type.Optional(Type.String({ description: 'its namespace in that cluster' })),
    version: Type.Optional(Type.String({ description: 'the version running and warmed up' })),
    components: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          image: Type.String({ description: 'the image running' }),
          desired: Type.Integer({ minimum: 0, description: 'replicas wanted' }),
          ready: Type.Integer({ minimum: 0, description: 'replicas ready' }),
        }),
        {
          description: 'per component, as observed in the member cluster',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        },
      ),
    ),
    requests: Type.Optional(
      Type.Object(Resources.properties, { description: 'CPU and memory requested, all replicas' }),
    ),
    usage: Type.Optional(
      Type.Object(Resources.properties, {
        description: 'CPU and memory used, where the cluster serves the metrics API',
      }),
    ),
    endpoints: Type.Optional(
      Type.Array(Type.Object({ component: Type.String(), address: Type.String() }), {
        description: 'where each exposed component answers (host:port)',
      }),
    ),
  },
  { description: 'where the Prod stands, as observed' },
);
export type ProdStatus = Static<typeof ProdStatus>;

export type Prod = KachikuObject<'Prod', ProdSpec, ProdStatus>;

export const prodKind = defineKind({
  kind: 'Prod',
  plural: 'prods',
  singular: 'prod',
  shortNames: ['prod'],
  scope: 'Namespaced',
  description: "One production environment: an app's stack at one version in one member cluster.",
  printerColumns: [
    { name: 'App', type: 'string', jsonPath: '.spec.app' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Cluster', type: 'string', jsonPath: '.status.cluster' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    conditionColumn('Ready'),
    { name: 'Role', type: 'string', jsonPath: '.spec.role', priority: 1 },
    { name: 'Capacity', type: 'integer', jsonPath: '.spec.capacity', priority: 1 },
    { name: 'Running', type: 'string', jsonPath: '.status.version', priority: 1 },
    ageColumn,
  ],
  spec: ProdSpec,
  status: ProdStatus,
});

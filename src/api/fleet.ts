// Fleet (namespaced): a herd of Prods of one app — the Prod template, how many run where, how they
// scale on tenant fill and what a cluster drain does to them (issue 12). Tenants name their Fleet.
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import { ProdSpec } from './prod.js';
import { ReleaseStrategy } from './release.js';
import { RecordTTL } from './loadbalancermirror.js';
import {
  Duration,
  Label,
  ObjectName,
  StringEnum,
  StringMap,
  Timestamp,
  validations,
} from './schema.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

const { components, manifests, warmup } = ProdSpec.properties;

export const FleetTemplate = Type.Object(
  {
    components,
    manifests,
    warmup,
    capacity: Type.Integer({
      description: 'tenant units each Prod may host (a Tenant of size 1 is one unit)',
      minimum: 1,
      maximum: 1000000,
    }),
  },
  {
    description: 'the Prods of the Fleet: a Prod spec without app, cluster, version and role',
    ...validations({
      rule: '(has(self.components) && size(self.components) > 0) || (has(self.manifests) && size(self.manifests) > 0)',
      message: 'a Fleet template needs at least one of components and manifests',
    }),
  },
);
export type FleetTemplate = Static<typeof FleetTemplate>;

export const FleetSpec = Type.Object(
  {
    app: Label({ description: 'the application; its Prods get spec.app' }),
    version: Type.String({
      description: 'the version new Prods run (releases change it)',
      pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$',
    }),
    template: FleetTemplate,
    clusterSelector: Type.Optional(
      Type.Object(
        {
          matchLabels: Type.Optional(
            StringMap({ description: "every pair must be in the MemberCluster's spec.labels" }, 63),
          ),
          providers: Type.Optional(
            Type.Array(StringEnum(['onprem', 'eks', 'other']), {
              description: 'MemberCluster providers allowed; default all',
              maxItems: 3,
              'x-kubernetes-list-type': 'set',
            }),
          ),
        },
        { description: 'the MemberClusters its Prods may run in; default all' },
      ),
    ),
    prods: Type.Object(
      {
        perDomain: Type.Optional(
          Type.Integer({
            description: 'standard Prods in every failure domain that has a selected cluster',
            minimum: 0,
            maximum: 1000,
          }),
        ),
        total: Type.Optional(
          Type.Integer({
            description: 'standard Prods in all, spread evenly over the failure domains',
            minimum: 0,
            maximum: 10000,
          }),
        ),
        minDomains: Type.Optional(
          Type.Integer({
            description:
              'with total: the failure domains they must span at least (Dual tenants need 2)',
            minimum: 1,
            maximum: 100,
            default: 1,
          }),
        ),
        testProds: Type.Optional(
          Type.Integer({
            description: 'Prods with role test, which receive only test tenants',
            minimum: 0,
            maximum: 100,
            default: 0,
          }),
        ),
      },
      {
        description: 'how many Prods and where (without autoscale, or as its starting point)',
        ...validations({
          rule: 'has(self.perDomain) != has(self.total)',
          message: 'spec.prods needs exactly one of perDomain and total',
        }),
      },
    ),
    autoscale: Type.Optional(
      Type.Object(
        {
          minProds: Type.Integer({ minimum: 1, maximum: 10000 }),
          maxProds: Type.Integer({ minimum: 1, maximum: 10000 }),
          highWatermark: Type.Optional(
            Type.Integer({
              description:
                "percent of the standard Prods' capacity used above which a Prod is added",
              minimum: 1,
              maximum: 100,
              default: 80,
            }),
          ),
          lowWatermark: Type.Optional(
            Type.Integer({
              description: 'percent used below which a Prod is drained and retired',
              minimum: 0,
              maximum: 99,
              default: 30,
            }),
          ),
          window: Type.Optional(
            Duration({
              description: 'how long the fill must stay past a watermark before acting',
              default: '1m',
            }),
          ),
        },
        {
          description:
            'standard Prods added when the fill stays above highWatermark, drained and retired below lowWatermark',
          ...validations(
            { rule: 'self.minProds <= self.maxProds', message: 'minProds must be ≤ maxProds' },
            {
              rule: '(has(self.lowWatermark) ? self.lowWatermark : 30) < (has(self.highWatermark) ? self.highWatermark : 80)',
              message: 'lowWatermark must be below highWatermark',
            },
          ),
        },
      ),
    ),
    drain: Type.Optional(
      Type.Object(
        {
          prods: Type.Optional(
            StringEnum(['Retire', 'Keep'], {
              description:
                "what happens to a draining cluster's Prods once their tenants left: Retire (they are removed; replaced elsewhere when the count asks for it) or Keep (they stay, idle, until the drain ends)",
              default: 'Retire',
            }),
          ),
          rebalanceMovesPerMinute: Type.Optional(
            Type.Integer({
              description:
                'tenant copies moved per minute to even out fill after a drain ends or a cluster returns (never a burst)',
              minimum: 0,
              maximum: 100000,
              default: 20,
            }),
          ),
        },
        { description: 'cluster drains and returns' },
      ),
    ),
    source: Type.Optional(
      Type.Object(
        {
          git: Type.Optional(
            Type.Object(
              {
                url: Type.String({
                  description:
                    'the repository (http, https, ssh or git); never cloned, only ls-remote',
                  pattern: '^(https?|ssh|git)://\\S+$',
                  maxLength: 2048,
                }),
                ref: Type.Object(
                  {
                    branch: Type.Optional(
                      Type.String({
                        description:
                          "the branch's head: a version tag pointing at it, else its 12-character short SHA",
                        minLength: 1,
                        maxLength: 255,
                      }),
                    ),
                    tag: Type.Optional(
                      Type.String({
                        description: 'a tag glob (the newest match by name)',
                        minLength: 1,
                        maxLength: 255,
                      }),
                    ),
                    semver: Type.Optional(
                      Type.String({
                        description: 'a semver range over tags',
                        minLength: 1,
                        maxLength: 255,
                      }),
                    ),
                  },
                  {
                    ...validations({
                      rule: '[has(self.branch), has(self.tag), has(self.semver)].filter(x, x).size() == 1',
                      message: 'source.git.ref needs exactly one of branch, tag and semver',
                    }),
                  },
                ),
                secretRef: Type.Optional(
                  ObjectName({
                    description:
                      'a Secret (same namespace) with username and password, or bearerToken',
                  }),
                ),
              },
              { description: 'versions from git refs (Flux GitRepository semantics)' },
            ),
          ),
          image: Type.Optional(
            Type.Object(
              {
                repository: Type.String({
                  description: 'registry host[:port]/name, read through the OCI distribution API',
                  minLength: 1,
                  maxLength: 1024,
                }),
                insecure: Type.Optional(
                  Type.Boolean({ description: 'plain http to the registry', default: false }),
                ),
                secretRef: Type.Optional(
                  ObjectName({
                    description: 'a kubernetes.io/dockerconfigjson Secret (same namespace)',
                  }),
                ),
                policy: Type.Object(
                  {
                    semver: Type.Optional(
                      Type.Object({ range: Type.String({ minLength: 1, maxLength: 255 }) }),
                    ),
                    alphabetical: Type.Optional(
                      Type.Object({ order: Type.Optional(StringEnum(['asc', 'desc'])) }),
                    ),
                    numerical: Type.Optional(
                      Type.Object({ order: Type.Optional(StringEnum(['asc', 'desc'])) }),
                    ),
                  },
                  {
                    description: 'which tag is the newest (Flux ImagePolicy semantics)',
                    ...validations({
                      rule: '[has(self.semver), has(self.alphabetical), has(self.numerical)].filter(x, x).size() == 1',
                      message:
                        'source.image.policy needs exactly one of semver, alphabetical and numerical',
                    }),
                  },
                ),
                filterTags: Type.Optional(
                  Type.Object({
                    pattern: Type.String({ minLength: 1, maxLength: 1024 }),
                    extract: Type.Optional(Type.String({ maxLength: 255 })),
                  }),
                ),
              },
              { description: "versions from a container repository's tags" },
            ),
          ),
          interval: Type.Optional(
            Duration({ description: 'how often the source is polled', default: '1m', min: '1s' }),
          ),
          webhook: Type.Optional(
            Type.Object(
              {
                secretRef: ObjectName({
                  description:
                    "a Secret (same namespace) whose key `token` signs the receiver's requests (HMAC-SHA256 of the body, header X-Signature: sha256=<hex>)",
                }),
              },
              {
                description:
                  "POST /hooks/<namespace>/<fleet> on the controller's HTTP port polls the source at once",
              },
            ),
          ),
        },
        {
          description: 'where new versions come from; a new one makes a Release',
          ...validations({
            rule: 'has(self.git) != has(self.image)',
            message: 'spec.source needs exactly one of git and image',
          }),
        },
      ),
    ),
    release: Type.Optional(
      Type.Object(
        { strategy: Type.Optional(ReleaseStrategy) },
        { description: 'the strategy of the Releases the Fleet makes' },
      ),
    ),
    routing: Type.Optional(
      Type.Object(
        {
          router: ObjectName({
            description:
              'the Router (same namespace) that sends each tenant host to its Prods; its kind of router (HAProxy or Route 53) is the routing mode',
          }),
          endpoint: Type.Optional(
            Type.Object(
              {
                component: Type.Optional(
                  Label({
                    description:
                      "the component whose endpoints (the Prod's status.endpoints) receive the tenants' requests; default the first listed",
                  }),
                ),
                port: Type.Optional(
                  Type.Integer({
                    description: "only that component's endpoints on this port",
                    minimum: 1,
                    maximum: 65535,
                  }),
                ),
              },
              { description: "where a Prod answers its tenants' requests" },
            ),
          ),
          ttl: Type.Optional(
            RecordTTL("DNS mode (a Router with spec.route53): the TTL of the tenants' records"),
          ),
        },
        { description: "how the tenants' requests reach their Prods" },
      ),
    ),
  },
  { description: 'the herd: template, version, count, placement of its Prods' },
);
export type FleetSpec = Static<typeof FleetSpec>;

const PlanSummary = Type.Object(
  {
    tenantsMoved: Type.Integer({ minimum: 0 }),
    copiesMoved: Type.Integer({ minimum: 0 }),
    lowerBound: Type.Integer({ minimum: 0, description: 'the fewest copy moves possible' }),
    lowerBoundReachable: Type.Boolean(),
    dualExposed: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Dual tenants left with one serving copy (first 50)',
        maxItems: 50,
      }),
    ),
    unplaceable: Type.Optional(
      Type.Array(Type.String(), {
        description: 'tenants that cannot be placed, with why (first 50)',
        maxItems: 50,
      }),
    ),
  },
  { description: 'what a disruptive operation does to tenants, computed before it acts' },
);

export const FleetStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  conditions: Type.Optional(Conditions),
  prods: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        cluster: Type.Optional(Type.String()),
        domain: Type.Optional(Type.String()),
        role: Type.Optional(Type.String()),
        phase: Type.Optional(Type.String()),
        version: Type.Optional(Type.String()),
        state: Type.Optional(
          Type.String({ description: 'for placement: open, closed, leaving or down' }),
        ),
        tenants: Type.Optional(Type.Integer({ minimum: 0, description: 'tenant copies hosted' })),
        used: Type.Optional(Type.Integer({ minimum: 0, description: 'units hosted' })),
        capacity: Type.Optional(Type.Integer({ minimum: 0 })),
      }),
      {
        description: 'its Prods',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
    ),
  ),
  readyProds: Type.Optional(
    Type.Integer({ minimum: 0, description: 'standard Prods Ready or InService' }),
  ),
  desiredProds: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        'standard Prods wanted: from spec.prods, then as autoscale sets it (kept here across restarts)',
    }),
  ),
  tenants: Type.Optional(
    Type.Object({
      total: Type.Integer({ minimum: 0 }),
      placed: Type.Integer({ minimum: 0 }),
      unplaced: Type.Integer({ minimum: 0 }),
      exposed: Type.Optional(
        Type.Integer({ minimum: 0, description: 'Dual tenants with one serving copy' }),
      ),
    }),
  ),
  fill: Type.Optional(
    Type.Object(
      {
        percent: Type.Integer({ minimum: 0, description: 'units used / capacity of open Prods' }),
        domains: Type.Optional(
          Type.Array(
            Type.Object({
              domain: Type.String(),
              used: Type.Integer({ minimum: 0 }),
              capacity: Type.Integer({ minimum: 0 }),
            }),
            { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['domain'] },
          ),
        ),
      },
      { description: 'how full the herd is, in all and per failure domain' },
    ),
  ),
  autoscale: Type.Optional(
    Type.Object({
      aboveSince: Type.Optional(Timestamp({ description: 'fill above highWatermark since' })),
      belowSince: Type.Optional(Timestamp({ description: 'fill below lowWatermark since' })),
      lastScaleTime: Type.Optional(Timestamp()),
      lastScale: Type.Optional(Type.String({ description: 'what the last scaling did' })),
    }),
  ),
  drains: Type.Optional(
    Type.Array(
      Type.Object({
        cluster: Type.String(),
        phase: StringEnum(['Planned', 'Blocked', 'Moving', 'Drained'], {
          description:
            'Planned: plan computed; Blocked: it would strand tenants (see plan); Moving; Drained: no tenant left there',
        }),
        startTime: Type.Optional(Timestamp()),
        plan: Type.Optional(PlanSummary),
        tenantsLeft: Type.Optional(Type.Integer({ minimum: 0 })),
        stranded: Type.Optional(
          Type.Array(Type.String(), {
            description: 'tenants that cannot leave, with why',
            maxItems: 50,
          }),
        ),
      }),
      {
        description: 'per draining MemberCluster, the plan and progress for this Fleet',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['cluster'],
      },
    ),
  ),
  lastRebalanceTime: Type.Optional(Timestamp()),
  source: Type.Optional(
    Type.Object(
      {
        version: Type.Optional(
          Type.String({ description: 'the newest version the source offers' }),
        ),
        from: Type.Optional(Type.String({ description: 'the tag or ref it was read from' })),
        foundTime: Type.Optional(Timestamp({ description: 'when that version was first seen' })),
        lastPollTime: Type.Optional(Timestamp()),
      },
      { description: 'what the source offered at the last poll (errors: condition SourceReady)' },
    ),
  ),
  release: Type.Optional(Type.String({ description: 'the Release in progress, if any' })),
});
export type FleetStatus = Static<typeof FleetStatus>;

export type Fleet = KachikuObject<'Fleet', FleetSpec, FleetStatus>;

export const fleetKind = defineKind({
  kind: 'Fleet',
  plural: 'fleets',
  singular: 'fleet',
  shortNames: ['fl'],
  scope: 'Namespaced',
  description: 'A herd of Prods of one app, and the tenants placed on them.',
  printerColumns: [
    { name: 'App', type: 'string', jsonPath: '.spec.app' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Prods', type: 'integer', jsonPath: '.status.readyProds' },
    { name: 'Desired', type: 'integer', jsonPath: '.status.desiredProds' },
    { name: 'Tenants', type: 'integer', jsonPath: '.status.tenants.placed' },
    { name: 'Unplaced', type: 'integer', jsonPath: '.status.tenants.unplaced' },
    { name: 'Fill%', type: 'integer', jsonPath: '.status.fill.percent' },
    conditionColumn('Ready'),
    ageColumn,
  ],
  spec: FleetSpec,
  status: FleetStatus,
});

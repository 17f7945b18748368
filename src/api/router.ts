// Router (namespaced): a tenant router kachiku programs — today an HAProxy (one instance, or an
// HA pair or more fed the same table) reached through its runtime API (issue 13). Fleets in the
// same namespace name it in spec.routing.router; the Router controller publishes their tenants'
// placement to it: one backend slot per Prod, the Prod's endpoints as that slot's servers, and a
// host map whose value names the primary's slot and, for Dual tenants, the secondary's.
//
// Why a kind of its own and not fields of the Fleet: a router is shared by several Fleets (one
// frontend, one map, one set of slots), has instances and a health of its own, and its slot
// assignment is state that must outlive a Fleet and be stable across reconciles; its status is
// where "which table does each instance serve" is answered. The mode (L7 or DNS) follows from
// the Router's own spec (spec.haproxy or spec.route53), so the Fleet has one field to set, not
// two that could disagree.
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import { Duration, Label, StringEnum, Timestamp, validations } from './schema.js';
import {
  AwsCredentialsRef,
  AwsRegion,
  HostedZoneRef,
  healthCheckPathRule,
  healthCheckProbe,
} from './loadbalancermirror.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

/** A backend or server name prefix: what HAProxy accepts in an identifier, short. */
const Prefix = (description: string, def: string) =>
  Type.String({ description, pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: def });

export const HAProxyInstance = Type.Object({
  name: Label({ description: 'the instance, as status reports it' }),
  runtimeAPI: Type.String({
    description:
      'its runtime API (stats socket, level admin): host:port (ipv4@ optional) or a unix socket path',
    pattern: '^((ipv4@)?[A-Za-z0-9.-]+:[0-9]{1,5}|\\[[0-9a-fA-F:.]+\\]:[0-9]{1,5}|(unix@)?/\\S+)$',
    maxLength: 1024,
  }),
});
export type HAProxyInstance = Static<typeof HAProxyInstance>;

export const HAProxyRouter = Type.Object(
  {
    instances: Type.Array(HAProxyInstance, {
      description: 'every HAProxy that serves these tenants: each gets the same table',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    map: Type.String({
      description:
        "the host map as HAProxy names it (the file of its `map()` in the configuration, as `show map` lists it); a value is the primary's backend, then a space and the secondary's for a Dual tenant",
      minLength: 1,
      maxLength: 1024,
      pattern: '^\\S+$',
    }),
    backendPrefix: Type.Optional(
      Prefix('backend slots are named <backendPrefix><i>, i from 0', 'be_slot_'),
    ),
    slots: Type.Integer({
      description:
        'backend slots declared in the configuration (one per routed Prod; more need a reload with a new configuration)',
      minimum: 1,
      maximum: 10000,
    }),
    serverPrefix: Type.Optional(
      Prefix("each slot's servers are <serverPrefix><j>, j from 1 (a server-template)", 's'),
    ),
    serversPerSlot: Type.Integer({
      description: "servers per slot: a Prod's endpoints beyond this are not used",
      minimum: 1,
      maximum: 1000,
    }),
    pollInterval: Type.Optional(
      Duration({
        description:
          'how often each instance is asked `show info` (a restarted HAProxy is re-programmed when seen)',
        default: '1s',
        min: '100ms',
      }),
    ),
    timeout: Type.Optional(
      Duration({
        description: 'bound of one runtime-API command',
        default: '2s',
        min: '100ms',
      }),
    ),
  },
  {
    description: 'an L7 router: HAProxy 2.4+ programmed through its runtime API, never reloaded',
  },
);
export type HAProxyRouter = Static<typeof HAProxyRouter>;

/** spec.haproxy with every default filled in (the apiserver does it too; tests may not). */
export type HAProxySettings = Required<HAProxyRouter>;
export const haproxySettings = (h: HAProxyRouter): HAProxySettings => ({
  ...h,
  backendPrefix: h.backendPrefix ?? 'be_slot_',
  serverPrefix: h.serverPrefix ?? 's',
  pollInterval: h.pollInterval ?? '1s',
  timeout: h.timeout ?? '2s',
});

export const Route53Router = Type.Object(
  {
    region: Type.Optional(
      AwsRegion({
        description: 'the region the Route 53 client signs for (Route 53 is global)',
        default: 'us-east-1',
      }),
    ),
    credentialsSecretRef: Type.Optional(AwsCredentialsRef('Router')),
    hostedZone: HostedZoneRef('spec.route53.hostedZone'),
    healthCheck: Type.Optional(
      Type.Object(
        {
          ...healthCheckProbe,
          port: Type.Optional(
            Type.Integer({
              description: "the port probed; default the endpoint's own",
              minimum: 1,
              maximum: 65535,
            }),
          ),
        },
        {
          description:
            "how the Route 53 health check of a Dual tenant's primary probes the primary Prod's endpoint",
          ...healthCheckPathRule,
        },
      ),
    ),
    resyncInterval: Type.Optional(
      Duration({
        description:
          'how often the zone is read back to find records changed by hand (a table change is written at once)',
        default: '1m',
        min: '1s',
      }),
    ),
  },
  {
    description:
      "a DNS router: per tenant host an A record to its Prod's endpoints in a Route 53 zone (TTL from the Fleet's spec.routing.ttl), a failover pair for a Dual tenant",
  },
);
export type Route53Router = Static<typeof Route53Router>;

export const RouterSpec = Type.Object(
  { haproxy: Type.Optional(HAProxyRouter), route53: Type.Optional(Route53Router) },
  {
    description: 'the router and how to reach it: exactly one of haproxy (L7) and route53 (DNS)',
    ...validations(
      {
        rule: 'has(self.haproxy) != has(self.route53)',
        message: 'exactly one of spec.haproxy and spec.route53 must be set',
      },
      {
        rule: 'has(self.route53) == has(oldSelf.route53)',
        message: "a Router's mode (haproxy or route53) is immutable: create another Router",
      },
    ),
  },
);
export type RouterSpec = Static<typeof RouterSpec>;

export const SlotStates = ['Active', 'Releasing'] as const;

export const RouterStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  conditions: Type.Optional(Conditions),
  table: Type.Optional(
    Type.Object(
      {
        version: Type.String({
          description: 'a hash of the table (map entries and servers): what each instance serves',
        }),
        fleets: Type.Integer({ minimum: 0, description: 'Fleets routed here' }),
        hosts: Type.Integer({ minimum: 0, description: 'map entries' }),
        prods: Type.Integer({ minimum: 0, description: 'Prods with a slot' }),
        unrouted: Type.Optional(
          Type.Array(Type.String(), {
            description: 'hosts that have no entry, with why (first 50)',
            maxItems: 50,
          }),
        ),
      },
      { description: 'the table the placement asks for' },
    ),
  ),
  slots: Type.Optional(
    Type.Array(
      Type.Object({
        slot: Type.Integer({ minimum: 0 }),
        prod: Type.String({ description: 'the Prod it serves (same namespace)' }),
        state: StringEnum(SlotStates, {
          description:
            'Active: in the table; Releasing: no longer in the table, but some instance may still route to it (free once every instance was seen without it)',
        }),
      }),
      {
        description: 'which backend slot serves which Prod: stable across reconciles',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['slot'],
      },
    ),
  ),
  dns: Type.Optional(
    Type.Object(
      {
        hostedZoneID: Type.Optional(Type.String({ description: 'the zone the records are in' })),
        records: Type.Integer({ minimum: 0, description: 'record sets kachiku keeps there' }),
        healthChecks: Type.Integer({
          minimum: 0,
          description: "Route 53 health checks (one per Dual tenant's primary)",
        }),
        prods: Type.Optional(
          Type.Array(Type.String(), {
            description: 'the Prods the records in Route 53 send tenants to',
            'x-kubernetes-list-type': 'set',
          }),
        ),
        conflicts: Type.Optional(
          Type.Array(Type.String(), {
            description: 'hosts left alone: records kachiku does not own are there (first 50)',
            maxItems: 50,
          }),
        ),
        lastChange: Type.Optional(
          Timestamp({ description: 'when records were last written to Route 53' }),
        ),
      },
      { description: 'DNS mode: what Route 53 holds of this Router' },
    ),
  ),
  held: Type.Optional(
    Type.Array(Type.String(), {
      description:
        'Prods annotated kachiku.io/hold whose Dual tenants every reachable instance already sends to their other Prod (a Release waits for this before updating the Prod)',
      'x-kubernetes-list-type': 'set',
    }),
  ),
  instances: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        reachable: Type.Boolean(),
        instance: Type.Optional(
          Type.String({ description: 'pid@start of the HAProxy process: changes on a restart' }),
        ),
        version: Type.Optional(Type.String({ description: "HAProxy's version" })),
        tableVersion: Type.Optional(
          Type.String({ description: 'the table this instance was last programmed with' }),
        ),
        lastProgrammed: Type.Optional(
          Timestamp({ description: 'when commands were last sent to it' }),
        ),
        message: Type.Optional(Type.String({ description: 'what went wrong, if anything' })),
      }),
      {
        description: 'per instance: which table it serves',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
    ),
  ),
});
export type RouterStatus = Static<typeof RouterStatus>;
export type SlotRecord = NonNullable<RouterStatus['slots']>[number];
export type InstanceStatus = NonNullable<RouterStatus['instances']>[number];

export type Router = KachikuObject<'Router', RouterSpec, RouterStatus>;

export const routerKind = defineKind({
  kind: 'Router',
  plural: 'routers',
  singular: 'router',
  shortNames: ['rt'],
  scope: 'Namespaced',
  description:
    "A tenant router (HAProxy, or Route 53 records) that kachiku programs with its Fleets' placement.",
  printerColumns: [
    { name: 'Table', type: 'string', jsonPath: '.status.table.version' },
    { name: 'Hosts', type: 'integer', jsonPath: '.status.table.hosts' },
    { name: 'Prods', type: 'integer', jsonPath: '.status.table.prods' },
    conditionColumn('Ready'),
    conditionColumn('Degraded'),
    ageColumn,
  ],
  spec: RouterSpec,
  status: RouterStatus,
});

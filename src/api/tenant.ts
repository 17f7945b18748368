// Tenant (namespaced): one user of a Fleet's app, placed by kachiku on one Prod (Single) or on two
// Prods in two failure domains (Dual); its status says which Prods serve it (issue 12).
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import { Label, ObjectName, StringEnum, Timestamp, validations } from './schema.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

/** A host name the router recognises a tenant by: a lower-case DNS name, optionally `*.` first. */
export const HOST_PATTERN =
  '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const TenantSpec = Type.Object(
  {
    fleet: ObjectName({
      description: 'the Fleet (same namespace) whose Prods serve it',
      ...validations({ rule: 'self == oldSelf', message: 'spec.fleet cannot change' }),
    }),
    redundancy: Type.Optional(
      StringEnum(['Single', 'Dual'], {
        description: 'Single: one Prod; Dual: two Prods in two different failure domains',
        default: 'Single',
      }),
    ),
    size: Type.Optional(
      Type.Integer({
        description: 'capacity units it takes on each Prod that serves it',
        minimum: 1,
        maximum: 1000000,
        default: 1,
      }),
    ),
    hosts: Type.Optional(
      Type.Array(
        Type.String({
          description: 'a lower-case DNS name, optionally starting with *.',
          pattern: HOST_PATTERN,
          maxLength: 253,
        }),
        {
          description:
            'the names the router recognises it by; unique within the Fleet (a second Tenant claiming one is not placed)',
          maxItems: 32,
          'x-kubernetes-list-type': 'set',
        },
      ),
    ),
    test: Type.Optional(
      Type.Boolean({
        description: "a test tenant: placed on the Fleet's test Prods first, first to get releases",
        default: false,
      }),
    ),
    pin: Type.Optional(
      Type.Object(
        {
          domain: Type.Optional(Label({ description: 'a failure domain to prefer' })),
          cluster: Type.Optional(ObjectName({ description: 'a MemberCluster to prefer' })),
        },
        {
          description: 'where to place it by preference (not a constraint)',
          ...validations({
            rule: 'has(self.domain) || has(self.cluster)',
            message: 'spec.pin needs domain or cluster',
          }),
        },
      ),
    ),
  },
  { description: 'who the tenant is and what it needs' },
);
export type TenantSpec = Static<typeof TenantSpec>;

export const TenantStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  conditions: Type.Optional(Conditions),
  prods: Type.Optional(
    Type.Object(
      {
        primary: Type.Optional(Type.String({ description: 'the Prod its requests go to' })),
        secondary: Type.Optional(
          Type.String({ description: 'Dual: the Prod in another failure domain' }),
        ),
      },
      { description: 'the Prods that serve it' },
    ),
  ),
  placedSince: Type.Optional(Timestamp({ description: 'when its Prods last changed' })),
});
export type TenantStatus = Static<typeof TenantStatus>;

export type Tenant = KachikuObject<'Tenant', TenantSpec, TenantStatus>;

export const tenantKind = defineKind({
  kind: 'Tenant',
  plural: 'tenants',
  singular: 'tenant',
  shortNames: ['tn'],
  scope: 'Namespaced',
  description: "A user of a Fleet's app, placed on one or two of its Prods.",
  printerColumns: [
    { name: 'Fleet', type: 'string', jsonPath: '.spec.fleet' },
    { name: 'Redundancy', type: 'string', jsonPath: '.spec.redundancy' },
    { name: 'Primary', type: 'string', jsonPath: '.status.prods.primary' },
    { name: 'Secondary', type: 'string', jsonPath: '.status.prods.secondary' },
    conditionColumn('Placed'),
    { name: 'Size', type: 'integer', jsonPath: '.spec.size', priority: 1 },
    { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', priority: 1 },
    ageColumn,
  ],
  spec: TenantSpec,
  status: TenantStatus,
});

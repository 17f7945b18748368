// Release (namespaced): one version rolled across a Fleet's Prods in waves ordered by user impact
// (src/fleet/waves.ts), each gated on Alertmanager after a bake time, rolled back by moving users
// to Prods still on the last good version (issue 14). Made by the Fleet when its source offers a
// new version (deterministic name: `<fleet>-<version>`), or by hand.
//
// How a Release talks to the rest, all through objects (any replica can take over mid-release):
// - Prod annotation `kachiku.io/hold: <release>`: the router sends the Prod's Dual tenants to
//   their other Prod before the Prod is updated (assignment unchanged: they come back when the
//   hold is lifted). Router status.held lists the held Prods whose Dual tenants every instance
//   already routes away — the Release waits for that before it changes spec.version.
// - Prod annotation `kachiku.io/avoid: <release>`: the Prod runs a version that failed a gate;
//   the Fleet's placement treats it as down (its tenants move at once to other Prods, the ones
//   still on the good version) until it is back on the good version and Ready.
// - Fleet spec.version: set to the Release's version when it succeeds (new Prods take it).
import { Type, type Static } from '@sinclair/typebox';
import { Conditions } from './conditions.js';
import { Duration, ObjectName, StringEnum, Timestamp, validations } from './schema.js';
import { ageColumn, conditionColumn, defineKind, type KachikuObject } from './kind.js';

export const HOLD_ANNOTATION = 'kachiku.io/hold';
export const AVOID_ANNOTATION = 'kachiku.io/avoid';
/**
 * On a Release: `"<wave index>"` ends that wave's bake now instead of after bakeTime (`kubectl
 * kachiku release promote`). Its gates still decide: one already failing fails the wave, and a
 * wave with gates passes only after a check that found no alert.
 */
export const PROMOTE_ANNOTATION = 'kachiku.io/promote';
/** On a Release made by a Fleet: the Fleet's name (also its owner). */
export const RELEASE_FLEET_LABEL = 'kachiku.io/fleet';

const VERSION_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';

export const Gate = Type.Object(
  {
    name: Type.String({
      description: 'the gate, as status reports it',
      pattern: '^[A-Za-z0-9_.-]{1,63}$',
    }),
    matchers: Type.Array(
      Type.String({
        description:
          'an Alertmanager matcher (name="value", name=~"regex", != and !~); {{prod}}, {{cluster}}, {{domain}}, {{app}}, {{version}}, {{fleet}} and {{namespace}} are filled in per Prod',
        minLength: 1,
        maxLength: 1024,
      }),
      { minItems: 1, maxItems: 32 },
    ),
  },
  {
    description:
      'fails a wave when an active, unsilenced, uninhibited alert matches, for any of its Prods',
  },
);
export type Gate = Static<typeof Gate>;

export const ReleaseStrategy = Type.Object(
  {
    bakeTime: Type.Optional(
      Duration({
        description:
          "how long a wave's Prods run the new version, gates watched, before the next wave",
        default: '1m',
      }),
    ),
    maxProdsPerWave: Type.Optional(
      Type.Integer({ description: 'at most this many Prods per wave', minimum: 1, maximum: 10000 }),
    ),
    canaryProds: Type.Optional(
      Type.Integer({
        description: 'standard Prods in the canary wave (the fewest tenants)',
        minimum: 1,
        maximum: 10000,
        default: 1,
      }),
    ),
    gates: Type.Optional(
      Type.Array(Gate, {
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    alertmanager: Type.Optional(
      Type.String({
        description:
          "Alertmanager's base URL for the gates (API v2); default the controller's --alertmanager-url",
        pattern: '^https?://\\S+$',
        maxLength: 1024,
      }),
    ),
    gateInterval: Type.Optional(
      Duration({
        description: 'how often the gates are asked during a bake',
        default: '5s',
        min: '100ms',
      }),
    ),
    onFailure: Type.Optional(
      StringEnum(['Rollback', 'Pause'], {
        description:
          "Rollback: move the failed Prods' tenants to Prods on the good version at once, then set the failed Prods back; Pause: stop where it is",
        default: 'Rollback',
      }),
    ),
    standbyProds: Type.Optional(
      Type.Integer({
        description:
          "Prods kept on the good version until the release completes, taking no tenants except in a rollback (room for the last waves' tenants)",
        minimum: 0,
        maximum: 100,
        default: 0,
      }),
    ),
  },
  { description: 'how a version is rolled out' },
);
export type ReleaseStrategy = Static<typeof ReleaseStrategy>;

export const ReleaseSpec = Type.Object(
  {
    fleet: ObjectName({
      description: 'the Fleet (same namespace) to release',
      ...validations({ rule: 'self == oldSelf', message: 'spec.fleet cannot change' }),
    }),
    version: Type.String({
      description: 'the version to roll out (a Prod version: an image tag)',
      pattern: VERSION_PATTERN,
      ...validations({ rule: 'self == oldSelf', message: 'spec.version cannot change' }),
    }),
    strategy: Type.Optional(ReleaseStrategy),
    paused: Type.Optional(
      Type.Boolean({
        description: 'stop before the next step (a Prod mid-update finishes warming)',
        default: false,
      }),
    ),
    aborted: Type.Optional(
      Type.Boolean({ description: 'roll back what was updated and stop for good', default: false }),
    ),
    source: Type.Optional(
      Type.String({
        description: 'where the version was found (set by the Fleet)',
        maxLength: 2048,
      }),
    ),
  },
  { description: 'which version goes to which Fleet, and how' },
);
export type ReleaseSpec = Static<typeof ReleaseSpec>;

export const ReleasePhases = [
  'Pending',
  'Progressing',
  'Paused',
  'RollingBack',
  'Succeeded',
  'Failed',
  'RolledBack',
  'Aborted',
  'Superseded',
] as const;
export type ReleasePhase = (typeof ReleasePhases)[number];

export const ProdReleaseStates = [
  'Pending',
  'Holding',
  'Updating',
  'WarmingUp',
  'Baking',
  'Passed',
  'Failed',
  'RollingBack',
  'RolledBack',
] as const;
export type ProdReleaseState = (typeof ProdReleaseStates)[number];

export const ReleaseStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: 'int64' })),
  conditions: Type.Optional(Conditions),
  phase: Type.Optional(StringEnum(ReleasePhases)),
  message: Type.Optional(Type.String()),
  fromVersion: Type.Optional(
    Type.String({ description: 'the last good version: what a rollback returns to' }),
  ),
  startTime: Type.Optional(Timestamp()),
  completionTime: Type.Optional(Timestamp()),
  currentWave: Type.Optional(Type.Integer({ minimum: 0, description: 'index into waves' })),
  waves: Type.Optional(
    Type.Array(
      Type.Object({
        step: StringEnum(['test', 'canary', 'redundant', 'single', 'rest'], {
          description:
            "the seed's order: test Prods, fewest tenants, all-Dual, Single; rest: Prods that joined during the release",
        }),
        prods: Type.Array(
          Type.Object({
            name: Type.String(),
            reason: Type.String({ description: 'why the Prod is in this wave' }),
            tenants: Type.Integer({ minimum: 0 }),
          }),
        ),
        state: StringEnum(['Pending', 'Running', 'Baking', 'Passed', 'Failed']),
        startTime: Type.Optional(Timestamp()),
        bakeStart: Type.Optional(
          Timestamp({ description: 'when all its Prods were Ready on the version' }),
        ),
        endTime: Type.Optional(Timestamp()),
      }),
      { description: 'planned once, at the start (the plan is kept: a restart resumes it)' },
    ),
  ),
  prods: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        wave: Type.Integer({ minimum: 0 }),
        state: StringEnum(ProdReleaseStates),
        since: Type.Optional(Timestamp()),
        message: Type.Optional(Type.String()),
      }),
      {
        description: 'per Prod in the plan: where it is in the release',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
    ),
  ),
  gates: Type.Optional(
    Type.Array(
      Type.Object({
        wave: Type.Integer({ minimum: 0 }),
        gate: Type.String(),
        result: StringEnum(['Passing', 'Passed', 'Failed', 'Error']),
        alerts: Type.Optional(
          Type.Array(Type.String(), {
            description: 'alert names that fired (first 20)',
            maxItems: 20,
          }),
        ),
        message: Type.Optional(Type.String()),
        checkedAt: Type.Optional(Timestamp()),
      }),
      { description: 'the last result of each gate of each wave that baked' },
    ),
  ),
  rollback: Type.Optional(
    Type.Object({
      startTime: Timestamp(),
      tenantsMoved: Type.Optional(Type.Integer({ minimum: 0 })),
      routedTime: Type.Optional(
        Timestamp({ description: 'when every moved tenant was routed to a good-version Prod' }),
      ),
      reason: Type.String(),
    }),
  ),
});
export type ReleaseStatus = Static<typeof ReleaseStatus>;

export type Release = KachikuObject<'Release', ReleaseSpec, ReleaseStatus>;

export const releaseKind = defineKind({
  kind: 'Release',
  plural: 'releases',
  singular: 'release',
  shortNames: ['rel'],
  scope: 'Namespaced',
  description: "One version rolled out over a Fleet's Prods in waves, gated on alerts.",
  printerColumns: [
    { name: 'Fleet', type: 'string', jsonPath: '.spec.fleet' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'From', type: 'string', jsonPath: '.status.fromVersion' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Wave', type: 'integer', jsonPath: '.status.currentWave' },
    conditionColumn('Progressing'),
    ageColumn,
  ],
  spec: ReleaseSpec,
  status: ReleaseStatus,
});

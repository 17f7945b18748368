// Fixtures for the Release controller's unit and property tests: a Release, and a small world
// that does what the rest of kachiku would do with decide()'s actions — Prods roll and warm up
// over two ticks, the Router lists held Prods a tick after the hold, placement moves tenants off
// avoided Prods, Alertmanager answers from a table.
import {
  AVOID_ANNOTATION,
  HOLD_ANNOTATION,
  type Release,
  type ReleaseSpec,
} from '../../api/release.js';
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import { NS, T0, at, fleetOf } from '../fleet/testing.js';
import { serving } from '../fleet/prods.js';
import { decide, type Action, type Decision, type GateCheck, type VersionCheck } from './plan.js';

export function releaseOf(
  spec: Partial<ReleaseSpec> = {},
  opts: { name?: string; created?: number; status?: Release['status'] } = {},
): Release {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Release',
    metadata: {
      name: opts.name ?? 'web-2.0.0',
      namespace: NS,
      generation: 1,
      uid: `uid-${opts.name ?? 'web-2.0.0'}`,
      creationTimestamp: at(opts.created ?? T0 - 60_000),
    },
    spec: { fleet: 'web', version: '2.0.0', ...spec },
    ...(opts.status && { status: opts.status }),
  };
}

export const routedFleet = (): Fleet => fleetOf({ routing: { router: 'edge' } });

export interface WorldOptions {
  /** Alert names firing for a Prod at a time (ms). */
  alerts?: (prod: string, now: number) => string[];
  /** Gate queries fail (Alertmanager down). */
  gateDown?: (now: number) => boolean;
  /** Ticks a Prod takes to warm up after its version changes (default 2). */
  warmTicks?: number;
  /** The image source's registry: is this version there (default: every version is). */
  registry?: (version: string, now: number) => boolean;
}

/** One Fleet, its Prods and Tenants, Releases, and the world's reaction to their actions. */
export class World {
  now = T0;
  held: string[] = [];
  gateCheck = new Map<string, GateCheck>();
  versionCheck = new Map<string, VersionCheck>();
  /** Versions looked up in the registry, in order. */
  readonly lookups: string[] = [];
  /** Every setProdVersion done, in order. */
  readonly versionWrites: { prod: string; version: string }[] = [];
  readonly decisions: Decision[] = [];
  private warming = new Map<string, number>();

  constructor(
    public fleet: Fleet | undefined,
    public prods: Prod[],
    public tenants: Tenant[],
    public releases: Release[],
    readonly opts: WorldOptions = {},
  ) {}

  prod(name: string): Prod {
    return this.prods.find((p) => p.metadata.name === name)!;
  }
  release(name = 'web-2.0.0'): Release {
    return this.releases.find((r) => r.metadata.name === name)!;
  }

  /** decide() for one Release, its actions applied and its status stored. */
  reconcile(name = 'web-2.0.0'): Decision {
    const release = this.release(name);
    const d = decide({
      release,
      fleet: this.fleet,
      prods: this.prods,
      tenants: this.tenants,
      held: this.fleet?.spec.routing?.router ? this.held : undefined,
      gateCheck: this.gateCheck.get(name),
      ...(this.versionCheck.has(name) && { versionCheck: this.versionCheck.get(name)! }),
      others: this.releases.filter((r) => r.metadata.name !== name),
      defaultAlertmanager: 'http://alertmanager.test',
      now: this.now,
    });
    for (const a of d.actions) this.apply(name, a);
    release.status = structuredClone(d.status);
    this.decisions.push(d);
    return d;
  }

  private apply(release: string, a: Action) {
    if (a.kind === 'setFleetVersion') {
      this.fleet!.spec.version = a.version;
      return;
    }
    if (a.kind === 'checkVersion') {
      this.lookups.push(a.version);
      const found = this.opts.registry?.(a.version, this.now) ?? true;
      this.versionCheck.set(release, {
        version: a.version,
        at: this.now,
        found,
        ...(!found && {
          reason: 'VersionNotFound',
          message: `registry.test/shop:${a.version} is not in the registry`,
        }),
      });
      return;
    }
    if (a.kind === 'queryGates') {
      const down = this.opts.gateDown?.(this.now) ?? false;
      const prev = this.gateCheck.get(release);
      const gates = [...new Set(a.queries.map((q) => q.gate))];
      this.gateCheck.set(release, {
        wave: a.wave,
        at: this.now,
        results: gates.map((g) => ({
          gate: g,
          alerts: down
            ? []
            : a.queries
                .filter((q) => q.gate === g)
                .flatMap((q) => this.opts.alerts?.(q.prod, this.now) ?? []),
          ...(down && { error: 'cannot reach alertmanager.test: ECONNREFUSED' }),
        })),
        errorsInRow: down ? (prev?.errorsInRow ?? 0) + 1 : 0,
      });
      return;
    }
    const p = this.prod(a.prod);
    if (a.kind === 'annotate')
      p.metadata.annotations = { ...p.metadata.annotations, [a.key]: a.value };
    else if (a.kind === 'unannotate') {
      const rest = { ...p.metadata.annotations };
      delete rest[a.key];
      p.metadata.annotations = rest;
    } else {
      this.versionWrites.push({ prod: a.prod, version: a.version });
      p.spec.version = a.version;
    }
  }

  /** Time passes: Prods roll and warm up, the Router and placement catch up. */
  tick(ms = 1000) {
    this.now += ms;
    for (const p of this.prods) {
      if (p.spec.version !== p.status?.version || p.status?.phase !== 'Ready') {
        const left = this.warming.get(p.metadata.name) ?? this.opts.warmTicks ?? 2;
        if (left > 1) {
          this.warming.set(p.metadata.name, left - 1);
          p.status = { ...p.status, phase: 'WarmingUp', conditions: [] };
        } else {
          this.warming.delete(p.metadata.name);
          p.status = {
            ...p.status,
            phase: 'Ready',
            version: p.spec.version,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                lastTransitionTime: at(this.now),
                reason: 'x',
                message: '',
              },
            ],
          };
        }
      }
    }
    this.held = this.prods
      .filter((p) => p.metadata.annotations?.[HOLD_ANNOTATION] !== undefined)
      .map((p) => p.metadata.name);
    // Placement: an avoided Prod is down, its tenants go to a serving Prod that is not avoided.
    const avoided = (n?: string) =>
      n !== undefined && this.prod(n)?.metadata.annotations?.[AVOID_ANNOTATION] !== undefined;
    const good = this.prods.filter(
      (p) => serving(p) && p.metadata.annotations?.[AVOID_ANNOTATION] === undefined,
    );
    for (const t of this.tenants) {
      const pl = t.status?.prods;
      if (!pl?.primary) continue;
      if (avoided(pl.primary)) {
        const to =
          pl.secondary && !avoided(pl.secondary)
            ? pl.secondary
            : good.find((g) => g.metadata.name !== pl.secondary)?.metadata.name;
        if (to)
          t.status = {
            ...t.status,
            prods: {
              primary: to,
              ...(to !== pl.secondary && pl.secondary ? { secondary: pl.secondary } : {}),
            },
          };
      }
      const now = t.status?.prods;
      if (now?.secondary && avoided(now.secondary)) {
        const to = good.find((g) => g.metadata.name !== now.primary)?.metadata.name;
        t.status = {
          ...t.status,
          prods: to ? { primary: now.primary, secondary: to } : { primary: now.primary },
        };
      }
    }
  }

  /** Reconcile and tick until the Release is finished (or `max` steps). */
  runToEnd(name = 'web-2.0.0', max = 200): Release {
    for (let i = 0; i < max; i++) {
      this.reconcile(name);
      const phase = this.release(name).status?.phase;
      if (phase && ['Succeeded', 'RolledBack', 'Aborted', 'Superseded', 'Failed'].includes(phase))
        return this.release(name);
      this.tick();
    }
    return this.release(name);
  }
}

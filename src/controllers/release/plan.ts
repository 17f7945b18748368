// The Release controller's pure core: from a Release, its Fleet, the Fleet's Prods and Tenants,
// the Router's held list, the last gate check and the Fleet's other Releases, one step — the
// status to write, the writes to make (annotations, versions, gate queries) and when to look
// again. Everything a step builds on is in the Release's status and in the Prods (annotations,
// spec.version), so a restart resumes where it was: a version already set is never set again, a
// bake that was running asks the gates once more before it passes.
//
// One Release at a time per Fleet: a Release waits (Pending, WaitingForRelease) while an older
// one is active. A newer Release supersedes an older one between waves (the older's current wave
// settled, Passed): the older becomes Superseded, its updated Prods stay on its version and the
// newer updates them in its own waves. A failed wave is not superseded: the version is bad, its
// rollback runs to its end first. An older Release not started yet is Superseded at once.
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { parseDuration } from '../../runtime/duration.js';
import {
  AVOID_ANNOTATION,
  HOLD_ANNOTATION,
  PROMOTE_ANNOTATION,
  type Release,
  type ReleasePhase,
  type ReleaseStatus,
  type ProdReleaseState,
} from '../../api/release.js';
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import { parseMatcher, type Matcher } from '../../clouds/alertmanager/matchers.js';
import { renderMatchers } from '../../fleet/gates.js';
import { planWaves, type WaveStep } from '../../fleet/waves.js';
import type { Assignment } from '../../fleet/types.js';
import { clusterOfProd, retiring, roleOf, serving } from '../fleet/prods.js';

/**
 * On a Fleet's standby Prods (the avoid work's kachiku.io/standby, in fleet/prods.ts once merged):
 * kept on the good version for a rollback, never in a Release's waves.
 */
export const STANDBY_LABEL = 'kachiku.io/standby';
const standby = (p: Prod) => p.metadata.labels?.[STANDBY_LABEL] === 'true';

/** Without routerrest's status.held, or a Router that never lists a Prod: hold this long, then go on. */
export const HOLD_BOUND_MS = 30_000;
/** Tenants still on avoided Prods this long after a rollback began: set the versions back anyway. */
export const ROUTED_BOUND_MS = 60_000;
/** Gate queries failing in a row before the wave counts as failed. */
export const GATE_ERRORS_TO_FAIL = 5;
/** While something moves without an event that brings the Release back: look again this soon. */
export const POLL_MS = 1000;

export type AnnotationKey = typeof HOLD_ANNOTATION | typeof AVOID_ANNOTATION;

export interface GateQuery {
  gate: string;
  prod: string;
  matchers: Matcher[];
}

export type Action =
  | { kind: 'annotate'; prod: string; key: AnnotationKey; value: string }
  | { kind: 'unannotate'; prod: string; key: AnnotationKey }
  | { kind: 'setProdVersion'; prod: string; version: string }
  | { kind: 'setFleetVersion'; version: string }
  | { kind: 'queryGates'; wave: number; queries: GateQuery[] }
  /** Ask the Fleet's image source whether the version exists (before any Prod is touched). */
  | { kind: 'checkVersion'; version: string };

/** What the registry said of the Release's version (kept in memory by the shell). */
export interface VersionCheck {
  version: string;
  /** When it was asked (ms). */
  at: number;
  found: boolean;
  /** When not found or not asked: the condition's reason and message. */
  reason?: string;
  message?: string;
}

/** A version not found (or a registry not answering) is asked again this often. */
export const VERSION_RECHECK_MS = 30_000;

/** The last gate check of this Release (kept in memory by the shell; a restart asks again). */
export interface GateCheck {
  wave: number;
  /** When it was made (ms). */
  at: number;
  /** Per gate: alert names found over the wave's Prods, or why the gate could not be asked. */
  results: { gate: string; alerts: string[]; error?: string }[];
  /** Checks in a row with an error (this one included). */
  errorsInRow: number;
}

export interface ReleaseEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export interface Observation {
  metric: 'waveDuration' | 'rollback';
  seconds: number;
}

export interface PlanInput {
  release: Release;
  fleet: Fleet | undefined;
  /** The Fleet's Prods. */
  prods: readonly Prod[];
  /** The Fleet's Tenants. */
  tenants: readonly Tenant[];
  /** The Fleet's Router's status.held; undefined when the Router is not there (yet). */
  held: readonly string[] | undefined;
  gateCheck: GateCheck | undefined;
  /** The last lookup of the version in the Fleet's image source (spec.source.image only). */
  versionCheck?: VersionCheck;
  /** The other Releases of the same Fleet. */
  others: readonly Release[];
  /** MemberCluster → failure domain, for the gates' {{domain}}. */
  domains?: ReadonlyMap<string, string>;
  /** How long a hold waits for the Router's held list (default HOLD_BOUND_MS). */
  holdBoundMs?: number;
  /** The controller's --alertmanager-url. */
  defaultAlertmanager?: string;
  now: number;
}

export interface Decision {
  status: ReleaseStatus;
  actions: Action[];
  events: ReleaseEvent[];
  observations: Observation[];
  requeueAfterMs?: number;
}

type ProdEntry = NonNullable<ReleaseStatus['prods']>[number];
type GateEntry = NonNullable<ReleaseStatus['gates']>[number];

const TERMINAL: readonly ReleasePhase[] = [
  'Succeeded',
  'Failed',
  'RolledBack',
  'Aborted',
  'Superseded',
];
export const isTerminal = (r: Release) => TERMINAL.includes(r.status?.phase ?? 'Pending');
/** Started and not finished: it owns its Fleet's Prods for now. */
export const isActive = (r: Release) => Boolean(r.status?.startTime) && !isTerminal(r);

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (t: string | undefined) => (t ? Date.parse(t) : NaN);
const olderThan = (a: Release, b: Release) => {
  const ta = ms(a.metadata.creationTimestamp);
  const tb = ms(b.metadata.creationTimestamp);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta < tb;
  return a.metadata.name < b.metadata.name;
};

export function settings(r: Release, defaultAlertmanager?: string) {
  const s = r.spec.strategy ?? {};
  return {
    bakeMs: parseDuration(s.bakeTime ?? '1m'),
    gateIntervalMs: parseDuration(s.gateInterval ?? '5s'),
    gates: s.gates ?? [],
    alertmanager: s.alertmanager ?? defaultAlertmanager,
    onFailure: s.onFailure ?? 'Rollback',
    maxProdsPerWave: s.maxProdsPerWave,
    canaryProds: s.canaryProds ?? 1,
  };
}

/** The tenants' Prods as placement knows them (status.prods). */
export function assignmentOf(tenants: readonly Tenant[]): Assignment {
  const a: Assignment = {};
  for (const t of tenants)
    if (t.status?.prods?.primary)
      a[t.metadata.name] = { primary: t.status.prods.primary, secondary: t.status.prods.secondary };
  return a;
}

/** The Prods sharing a Dual tenant with `prod` (its tenants' other copies). */
export function partnersOf(prod: string, tenants: readonly Tenant[]): string[] {
  const out = new Set<string>();
  for (const t of tenants) {
    if (t.spec.redundancy !== 'Dual') continue;
    const p = t.status?.prods;
    if (!p?.primary || !p.secondary || p.primary === p.secondary) continue;
    if (p.primary === prod) out.add(p.secondary);
    if (p.secondary === prod) out.add(p.primary);
  }
  return [...out];
}

/** A Prod whose Dual tenants must not lose their other copy now: held, or not serving. */
const isHeld = (p: Prod | undefined) => p?.metadata.annotations?.[HOLD_ANNOTATION] !== undefined;

const onVersion = (p: Prod, version: string) => p.status?.version === version && serving(p);

/** The template variables of a gate's matchers for one Prod. */
export function gateVars(
  r: Release,
  fleet: Fleet,
  p: Prod,
  domains: ReadonlyMap<string, string> = new Map(),
) {
  return {
    prod: p.metadata.name,
    cluster: clusterOfProd(p),
    domain: domains.get(clusterOfProd(p)) ?? '',
    app: p.spec.app,
    version: r.spec.version,
    fleet: fleet.metadata.name,
    namespace: p.metadata.namespace ?? '',
  };
}

/** The gate queries of one wave: each gate's matchers rendered for each of its Prods. */
export function gateQueries(
  r: Release,
  fleet: Fleet,
  prods: readonly Prod[],
  domains?: ReadonlyMap<string, string>,
): { ok: true; queries: GateQuery[] } | { ok: false; message: string } {
  const queries: GateQuery[] = [];
  for (const g of settings(r).gates) {
    const parsed: Matcher[] = [];
    for (const text of g.matchers) {
      const m = parseMatcher(text);
      if (typeof m === 'string') return { ok: false, message: `gate ${g.name}: ${m}` };
      parsed.push(m);
    }
    for (const p of prods) {
      const rendered = renderMatchers(parsed, gateVars(r, fleet, p, domains));
      if (!rendered.ok) return { ok: false, message: `gate ${g.name}: ${rendered.message}` };
      queries.push({ gate: g.name, prod: p.metadata.name, matchers: rendered.matchers });
    }
  }
  return { ok: true, queries };
}

export function decide(input: PlanInput): Decision {
  return new Step(input).run();
}

class Step {
  readonly r: Release;
  readonly s: ReleaseStatus;
  readonly actions: Action[] = [];
  readonly events: ReleaseEvent[] = [];
  readonly observations: Observation[] = [];
  private requeue: number | undefined;
  readonly prodByName: Map<string, Prod>;
  readonly cfg: ReturnType<typeof settings>;
  /** Holds annotated (true) or lifted (false) by this step: not in the input yet. */
  private readonly holdsNow = new Map<string, boolean>();
  /** The gates could not be asked in this bake's last check. */
  private gateError: string | undefined;

  constructor(readonly input: PlanInput) {
    this.r = input.release;
    this.s = structuredClone(input.release.status ?? {});
    this.prodByName = new Map(input.prods.map((p) => [p.metadata.name, p]));
    this.cfg = settings(this.r, input.defaultAlertmanager);
  }

  private get now() {
    return this.input.now;
  }
  private after(msFromNow: number) {
    const v = Math.max(0, Math.ceil(msFromNow));
    this.requeue = this.requeue === undefined ? v : Math.min(this.requeue, v);
  }
  private cond(type: string, status: Condition['status'], reason: string, message: string) {
    this.s.conditions = setCondition(
      this.s.conditions,
      { type, status, reason, message },
      this.r.metadata.generation,
      new Date(this.now),
    );
  }
  private event(type: ReleaseEvent['type'], reason: string, note: string) {
    this.events.push({ type, reason, action: 'Release', note });
  }
  private done(): Decision {
    this.s.observedGeneration = this.r.metadata.generation;
    return {
      status: this.s,
      actions: this.actions,
      events: this.events,
      observations: this.observations,
      ...(this.requeue !== undefined ? { requeueAfterMs: this.requeue } : {}),
    };
  }
  private setPhase(phase: ReleasePhase, message: string) {
    this.s.phase = phase;
    this.s.message = message;
  }

  run(): Decision {
    const { fleet } = this.input;
    if (isTerminal(this.r)) return this.done();
    if (!fleet) {
      this.setPhase('Pending', `Fleet ${this.r.spec.fleet} not found`);
      this.cond('Progressing', 'False', 'FleetNotFound', this.s.message!);
      return this.done();
    }
    if (!this.s.startTime) return this.start(fleet);
    if (this.s.phase === 'RollingBack') return this.rollingBack();
    if (this.r.spec.aborted) return this.fail('Aborted', 'aborted by spec.aborted');
    return this.progress(fleet);
  }

  // ------------------------------------------------------------------------------------------
  // Start: one at a time per Fleet; waves planned once.

  private start(fleet: Fleet): Decision {
    const newer = this.input.others.find((o) => !isTerminal(o) && olderThan(this.r, o));
    if (newer) return this.supersede(newer.metadata.name);
    const active = this.input.others.find((o) => isActive(o));
    if (active) {
      this.setPhase('Pending', `waiting for Release ${active.metadata.name} of the Fleet`);
      this.cond('Progressing', 'False', 'WaitingForRelease', this.s.message!);
      return this.done();
    }
    if (this.r.spec.aborted) {
      this.setPhase('Aborted', 'aborted before it started: nothing touched');
      this.cond('Progressing', 'False', 'Aborted', this.s.message!);
      this.s.completionTime = iso(this.now);
      return this.done();
    }
    // The gates must render for any Prod: a gate that cannot be asked never passes a wave.
    const sample = this.input.prods[0];
    if (sample) {
      const q = gateQueries(this.r, fleet, [sample], this.input.domains);
      if (!q.ok) {
        this.setPhase('Pending', q.message);
        this.cond('Progressing', 'False', 'InvalidGate', q.message);
        return this.done();
      }
    }
    if (this.cfg.gates.length > 0 && !this.cfg.alertmanager) {
      const m = 'gates need an Alertmanager: spec.strategy.alertmanager or --alertmanager-url';
      this.setPhase('Pending', m);
      this.cond('Progressing', 'False', 'NoAlertmanager', m);
      return this.done();
    }
    const version = this.r.spec.version;
    // An image source: the version must be in the registry before a Prod is asked to run it.
    const image = fleet.spec.source?.image;
    if (image) {
      const vc = this.input.versionCheck;
      const stale = !vc || vc.version !== version;
      if (stale || (!vc.found && this.now - vc.at >= VERSION_RECHECK_MS))
        this.actions.push({ kind: 'checkVersion', version });
      if (stale) {
        this.setPhase('Pending', `looking up ${image.repository}:${version}`);
        return this.done();
      }
      if (!vc.found) {
        const m = `${vc.message ?? `${image.repository}:${version} not found`}; nothing touched, asked again every ${VERSION_RECHECK_MS / 1000} s`;
        this.setPhase('Pending', m);
        this.cond('Progressing', 'False', vc.reason ?? 'VersionNotFound', m);
        this.after(VERSION_RECHECK_MS - Math.min(VERSION_RECHECK_MS, this.now - vc.at));
        return this.done();
      }
    }
    const todo = this.input.prods.filter(
      (p) => !retiring(p) && !standby(p) && p.spec.version !== version,
    );
    const waves = planWaves({
      prods: todo.map((p) => ({ name: p.metadata.name, role: roleOf(p) })),
      tenants: this.input.tenants.map((t) => ({
        name: t.metadata.name,
        redundancy: t.spec.redundancy ?? 'Single',
      })),
      assignment: assignmentOf(this.input.tenants),
      maxProdsPerWave: this.cfg.maxProdsPerWave,
      canaryProds: this.cfg.canaryProds,
    });
    this.s.fromVersion = fleet.spec.version;
    this.s.startTime = iso(this.now);
    this.s.currentWave = 0;
    this.s.waves = waves.map((w) => ({
      step: w.step,
      prods: w.prods.map((m) => ({ name: m.prod, reason: m.reason, tenants: m.tenants })),
      state: 'Pending',
    }));
    this.s.prods = waves.flatMap((w, i) =>
      w.prods.map((m) => ({ name: m.prod, wave: i, state: 'Pending' as const })),
    );
    this.s.gates = [];
    this.setPhase('Progressing', `${waves.length} waves planned from ${fleet.spec.version}`);
    this.cond('Progressing', 'True', 'Started', this.s.message!);
    this.event(
      'Normal',
      'Started',
      `${fleet.spec.version} → ${version}: ${waves.map((w) => w.prods.map((p) => p.prod).join(',')).join(' | ')}`,
    );
    return this.progress(fleet);
  }

  private supersede(by: string): Decision {
    for (const p of this.input.prods)
      if (p.metadata.annotations?.[HOLD_ANNOTATION] === this.r.metadata.name)
        this.actions.push({ kind: 'unannotate', prod: p.metadata.name, key: HOLD_ANNOTATION });
    this.setPhase('Superseded', `superseded by Release ${by}`);
    this.cond('Progressing', 'False', 'Superseded', this.s.message!);
    this.s.completionTime = iso(this.now);
    this.event('Normal', 'Superseded', this.s.message!);
    return this.done();
  }

  // ------------------------------------------------------------------------------------------
  // Waves

  private entry(name: string): ProdEntry {
    return this.s.prods!.find((p) => p.name === name)!;
  }
  private setProd(e: ProdEntry, state: ProdReleaseState, message?: string) {
    if (e.state !== state) e.since = iso(this.now);
    e.state = state;
    if (message !== undefined) e.message = message;
    else delete e.message;
  }

  private progress(fleet: Fleet): Decision {
    const waves = this.s.waves!;
    const paused = Boolean(this.r.spec.paused);
    let i = this.s.currentWave ?? 0;
    while (i < waves.length) {
      const w = waves[i]!;
      if (w.state === 'Passed') {
        i++;
        this.s.currentWave = i;
        continue;
      }
      if ((w.state as string) === 'Failed') return this.failed(fleet, i);
      if (w.state === 'Pending') {
        if (paused) break;
        // Between waves: the previous one settled, a newer Release takes over from here.
        const newer = this.input.others.find((o) => !isTerminal(o) && olderThan(this.r, o));
        if (newer) return this.supersede(newer.metadata.name);
        w.state = 'Running';
        w.startTime = iso(this.now);
        this.event(
          'Normal',
          'WaveStarted',
          `wave ${i} (${w.step}): ${w.prods.map((p) => p.name).join(', ')}`,
        );
      }
      const settled = this.runWave(fleet, i);
      // Failed in this step: the rollback (or the pause) begins in this step too.
      if ((w.state as string) === 'Failed') return this.failed(fleet, i);
      if (!settled) break;
    }
    if (i >= waves.length) {
      if (paused) return this.pausedAt(i);
      // Prods that joined meanwhile, not on the version: a last wave.
      const planned = new Set(this.s.prods!.map((p) => p.name));
      const rest = this.input.prods.filter(
        (p) =>
          !planned.has(p.metadata.name) &&
          !retiring(p) &&
          !standby(p) &&
          p.spec.version !== this.r.spec.version,
      );
      if (rest.length > 0) {
        const step: WaveStep | 'rest' = 'rest';
        waves.push({
          step,
          prods: rest.map((p) => ({
            name: p.metadata.name,
            reason: 'joined the Fleet during the release',
            tenants: this.tenantsOn(p.metadata.name),
          })),
          state: 'Pending',
        });
        for (const p of rest)
          this.s.prods!.push({ name: p.metadata.name, wave: waves.length - 1, state: 'Pending' });
        return this.progress(fleet);
      }
      return this.succeed(fleet);
    }
    if (paused) return this.pausedAt(i);
    this.s.phase = 'Progressing';
    this.s.message = `wave ${i} of ${waves.length}: ${waves[i]!.state}`;
    if (this.gateError) this.s.message += `; gates not answering: ${this.gateError}`;
    this.cond('Progressing', 'True', this.gateError ? 'GateError' : 'Wave', this.s.message);
    this.cond('Paused', 'False', 'Resumed', 'not paused');
    return this.done();
  }

  private pausedAt(i: number): Decision {
    this.s.phase = 'Paused';
    this.s.message = `paused before ${i < (this.s.waves?.length ?? 0) ? `wave ${i}` : 'the end'}`;
    this.cond('Paused', 'True', 'Paused', this.s.message);
    this.cond('Progressing', 'False', 'Paused', this.s.message);
    // A Prod mid-update finishes warming: keep looking.
    this.after(POLL_MS);
    return this.done();
  }

  private tenantsOn(prod: string): number {
    return this.input.tenants.filter(
      (t) => t.status?.prods?.primary === prod || t.status?.prods?.secondary === prod,
    ).length;
  }

  /** One wave's step; true when it has settled (Passed; Failed is handled by the caller). */
  private runWave(fleet: Fleet, i: number): boolean {
    const w = this.s.waves![i]!;
    const version = this.r.spec.version;
    const paused = Boolean(this.r.spec.paused);
    let allThere = true;
    for (const m of w.prods) {
      const e = this.entry(m.name);
      const p = this.prodByName.get(m.name);
      if (!p || retiring(p)) {
        // Gone or leaving: nothing to update.
        if (p) this.unhold(p);
        if (e.state !== 'Passed') this.setProd(e, 'Passed', 'left the Fleet during the release');
        continue;
      }
      if (e.state === 'Pending' || e.state === 'Holding') {
        if (p.spec.version === version) {
          // Set by this Release before a restart (or by hand): never set twice.
          this.setProd(e, 'Updating');
        } else if (paused) {
          if (e.state === 'Holding') {
            this.unhold(p);
            this.setProd(e, 'Pending', 'paused');
          }
          allThere = false;
          continue;
        } else {
          // Never both Prods of a Dual tenant held or updating: the plan keeps partners in
          // different waves, and this keeps it when tenants moved since.
          const busy = partnersOf(m.name, this.input.tenants).filter((q) => this.busy(q));
          // Held, and a partner is busy (placement paired them since): step back — always
          // when the partner is rolling, by name when both are only held.
          const partnerRolling = (q: string) => {
            const pq = this.prodByName.get(q);
            return !!pq && !serving(pq);
          };
          if (e.state === 'Holding' && busy.some((q) => partnerRolling(q) || q < m.name)) {
            this.unhold(p);
            this.setProd(e, 'Pending');
          }
          if (busy.length > 0) {
            const why = `the other copy of its Dual tenants is busy: ${busy.join(', ')}`;
            if (e.state === 'Pending') this.setProd(e, 'Pending', why);
            else e.message = why;
            this.after(POLL_MS);
            allThere = false;
            continue;
          }
          if (e.state === 'Pending') {
            this.hold(p);
            this.setProd(e, 'Holding');
          }
          const ready = this.holdReady(fleet, p, e);
          if (!ready.ok) {
            allThere = false;
            continue;
          }
          this.actions.push({ kind: 'setProdVersion', prod: m.name, version });
          this.setProd(e, 'Updating', ready.message);
          this.after(POLL_MS);
          allThere = false;
          continue;
        }
      }
      if (e.state === 'Updating' || e.state === 'WarmingUp') {
        if (onVersion(p, version)) {
          this.unhold(p);
          this.setProd(e, 'Baking');
        } else {
          const warming = p.status?.phase === 'WarmingUp' || p.status?.phase === 'Provisioning';
          if (warming && e.state === 'Updating') this.setProd(e, 'WarmingUp');
          this.after(POLL_MS);
          allThere = false;
          continue;
        }
      }
      if (e.state === 'Baking' && !onVersion(p, version)) {
        // It stopped serving the version during the bake: wait, it counts as not there.
        allThere = false;
        this.after(POLL_MS);
      }
    }
    if (!allThere) return false;
    if (w.state === 'Running') {
      w.state = 'Baking';
      w.bakeStart = iso(this.now);
    }
    return this.bake(fleet, i);
  }

  private hold(p: Prod) {
    const n = p.metadata.name;
    if (!isHeld(p) || this.holdsNow.get(n) === false)
      this.actions.push({
        kind: 'annotate',
        prod: n,
        key: HOLD_ANNOTATION,
        value: this.r.metadata.name,
      });
    this.holdsNow.set(n, true);
  }
  private unhold(p: Prod) {
    const n = p.metadata.name;
    if (isHeld(p) && p.metadata.annotations?.[HOLD_ANNOTATION] !== this.r.metadata.name) return;
    if ((isHeld(p) && this.holdsNow.get(n) !== false) || this.holdsNow.get(n) === true)
      this.actions.push({ kind: 'unannotate', prod: n, key: HOLD_ANNOTATION });
    this.holdsNow.set(n, false);
  }
  /** Held (as of this step) or not serving: its Dual tenants' other copy must stay. */
  private busy(name: string): boolean {
    const p = this.prodByName.get(name);
    if (!p) return false;
    const held = this.holdsNow.get(name) ?? isHeld(p);
    return held || !serving(p);
  }

  /** Whether a held Prod's Dual tenants are away (router status.held), or need not be. */
  private holdReady(fleet: Fleet, p: Prod, e: ProdEntry): { ok: boolean; message?: string } {
    if (!fleet.spec.routing?.router) return { ok: true };
    if (partnersOf(p.metadata.name, this.input.tenants).length === 0) return { ok: true };
    if (this.input.held?.includes(p.metadata.name)) return { ok: true };
    const since = ms(e.since);
    const waited = this.now - (Number.isNaN(since) ? this.now : since);
    const bound = this.input.holdBoundMs ?? HOLD_BOUND_MS;
    if (waited >= bound)
      return {
        ok: true,
        message: `the Router did not list it as held within ${bound / 1000} s: updated anyway`,
      };
    e.message = `waiting for Router ${fleet.spec.routing.router} to route its Dual tenants away`;
    this.after(Math.min(POLL_MS, bound - waited));
    return { ok: false };
  }

  /** The bake of a wave whose Prods are all on the version; true when it passed. */
  private bake(fleet: Fleet, i: number): boolean {
    const w = this.s.waves![i]!;
    const start = ms(w.bakeStart);
    // Promoted: the bake time is over at once; the gates below still have their say.
    const promoted = this.r.metadata.annotations?.[PROMOTE_ANNOTATION] === String(i);
    const end = promoted ? start : start + this.cfg.bakeMs;
    const gates = this.cfg.gates;
    const check = this.input.gateCheck;
    const fresh = check && check.wave === i && check.at >= start ? check : undefined;
    if (fresh) this.recordGates(i, fresh, this.now >= end && fresh.at >= end);
    if (fresh) {
      const firing = fresh.results.filter((r) => r.alerts.length > 0);
      if (firing.length > 0) {
        w.state = 'Failed';
        w.endTime = iso(this.now);
        const names = [...new Set(firing.flatMap((r) => r.alerts))];
        this.failWave(
          i,
          'GateFailed',
          `gate ${firing.map((r) => r.gate).join(', ')}: ${names.join(', ')}`,
        );
        return false;
      }
      if (fresh.results.some((r) => r.error)) {
        const why = fresh.results.find((r) => r.error)!.error!;
        if (fresh.errorsInRow >= GATE_ERRORS_TO_FAIL) {
          w.state = 'Failed';
          w.endTime = iso(this.now);
          this.failWave(
            i,
            'GateError',
            `the gates could not be asked ${fresh.errorsInRow} times in a row: ${why}`,
          );
          return false;
        }
        this.gateError = why;
      }
    }
    const due =
      gates.length > 0 &&
      (!fresh ||
        this.now - fresh.at >= this.cfg.gateIntervalMs ||
        (this.now >= end && fresh.at < end));
    const ok = fresh && fresh.results.every((r) => !r.error && r.alerts.length === 0);
    if (this.now >= end && (gates.length === 0 || (ok && fresh!.at >= end))) {
      w.state = 'Passed';
      w.endTime = iso(this.now);
      for (const m of w.prods) {
        const e = this.entry(m.name);
        if (e.state === 'Baking') this.setProd(e, 'Passed');
      }
      this.observations.push({
        metric: 'waveDuration',
        seconds: (this.now - ms(w.startTime)) / 1000,
      });
      this.event(
        'Normal',
        'WavePassed',
        `wave ${i} (${w.step}) passed: ${w.prods.map((p) => p.name).join(', ')}`,
      );
      return true;
    }
    if (due) {
      const prods = w.prods.map((m) => this.prodByName.get(m.name)).filter((p): p is Prod => !!p);
      const q = gateQueries(this.r, fleet, prods, this.input.domains);
      if (q.ok) this.actions.push({ kind: 'queryGates', wave: i, queries: q.queries });
      else {
        w.state = 'Failed';
        w.endTime = iso(this.now);
        this.failWave(i, 'InvalidGate', q.message);
        return false;
      }
    } else if (gates.length > 0) {
      this.after(Math.min(fresh!.at + this.cfg.gateIntervalMs, end) - this.now);
    } else this.after(end - this.now);
    if (due) this.after(this.cfg.gateIntervalMs);
    return false;
  }

  private recordGates(i: number, check: GateCheck, final: boolean) {
    const others = (this.s.gates ?? []).filter(
      (g) => g.wave !== i || !check.results.some((r) => r.gate === g.gate),
    );
    const mine: GateEntry[] = check.results.map((r) => ({
      wave: i,
      gate: r.gate,
      result: r.error ? 'Error' : r.alerts.length > 0 ? 'Failed' : final ? 'Passed' : 'Passing',
      ...(r.alerts.length ? { alerts: r.alerts.slice(0, 20) } : {}),
      ...(r.error ? { message: r.error } : {}),
      checkedAt: iso(check.at),
    }));
    this.s.gates = [...others, ...mine].sort(
      (a, b) => a.wave - b.wave || (a.gate < b.gate ? -1 : 1),
    );
  }

  private failWave(i: number, reason: string, message: string) {
    const w = this.s.waves![i]!;
    for (const m of w.prods) {
      const e = this.entry(m.name);
      if (e.state !== 'Pending') this.setProd(e, 'Failed', message);
    }
    this.cond('Failed', 'True', reason, `wave ${i}: ${message}`);
    this.event('Warning', 'WaveFailed', `wave ${i} (${w.step}) failed: ${message}`);
  }

  /** The current wave failed: Pause stops here, Rollback moves users off the version. */
  private failed(fleet: Fleet, i: number): Decision {
    void fleet;
    const reason = this.s.conditions?.find((c) => c.type === 'Failed')?.reason ?? 'GateFailed';
    if (this.cfg.onFailure === 'Pause') {
      // Resumed: the spec changed since the pause (spec.paused set, then cleared) and is not
      // paused now. The operator judged the failure (the alert was spurious, or fixed): the
      // wave bakes again from the start and its gates are asked anew.
      const was = this.s.conditions?.find((c) => c.type === 'Paused');
      const pausedAt =
        was?.status === 'True' && was.reason === 'WaveFailed' ? was.observedGeneration : undefined;
      if (
        pausedAt !== undefined &&
        (this.r.metadata.generation ?? 0) > pausedAt &&
        !this.r.spec.paused
      )
        return this.retry(fleet, i);
      this.s.phase = 'Paused';
      this.s.message = `wave ${i} failed: paused (onFailure Pause), nothing moved; to bake it again set spec.paused true, then false; to roll back set spec.aborted`;
      this.cond('Paused', 'True', 'WaveFailed', this.s.message);
      this.cond('Progressing', 'False', 'WaveFailed', this.s.message);
      return this.done();
    }
    return this.fail(
      reason,
      this.s.conditions?.find((c) => c.type === 'Failed')?.message ?? 'failed',
    );
  }

  /** A wave failed under onFailure Pause, resumed: its bake starts over (nothing else moved). */
  private retry(fleet: Fleet, i: number): Decision {
    const w = this.s.waves![i]!;
    w.state = 'Baking';
    w.bakeStart = iso(this.now);
    delete w.endTime;
    for (const m of w.prods) {
      const e = this.entry(m.name);
      if (e.state === 'Failed') this.setProd(e, 'Baking', 'baking again: resumed');
    }
    this.s.gates = (this.s.gates ?? []).filter((g) => g.wave !== i);
    const m = `wave ${i} resumed after its failure: baking again, gates asked anew`;
    this.cond('Failed', 'False', 'Resumed', m);
    this.event('Normal', 'Resumed', m);
    return this.progress(fleet);
  }

  // ------------------------------------------------------------------------------------------
  // Success, failure, rollback

  private succeed(fleet: Fleet): Decision {
    if (fleet.spec.version !== this.r.spec.version)
      this.actions.push({ kind: 'setFleetVersion', version: this.r.spec.version });
    this.setPhase('Succeeded', `every Prod on ${this.r.spec.version}`);
    this.s.completionTime = iso(this.now);
    this.cond('Progressing', 'False', 'Complete', this.s.message!);
    this.cond('Complete', 'True', 'Succeeded', this.s.message!);
    this.cond('Paused', 'False', 'Complete', 'done');
    this.event('Normal', 'Succeeded', this.s.message!);
    return this.done();
  }

  /** Starts the rollback (a failed gate, too many gate errors, or spec.aborted). */
  private fail(reason: string, message: string): Decision {
    const name = this.r.metadata.name;
    const version = this.r.spec.version;
    for (const p of this.input.prods)
      if (p.metadata.annotations?.[HOLD_ANNOTATION] === name)
        this.actions.push({ kind: 'unannotate', prod: p.metadata.name, key: HOLD_ANNOTATION });
    // Every Prod on the new version, earlier waves too: the version is bad.
    const bad = this.input.prods.filter(
      (p) => p.spec.version === version || p.status?.version === version,
    );
    const badNames = new Set(bad.map((p) => p.metadata.name));
    for (const p of bad)
      if (p.metadata.annotations?.[AVOID_ANNOTATION] === undefined)
        this.actions.push({
          kind: 'annotate',
          prod: p.metadata.name,
          key: AVOID_ANNOTATION,
          value: name,
        });
    const moved = this.input.tenants.filter(
      (t) =>
        badNames.has(t.status?.prods?.primary ?? '') ||
        badNames.has(t.status?.prods?.secondary ?? ''),
    ).length;
    this.s.rollback = { startTime: iso(this.now), tenantsMoved: moved, reason };
    for (const e of this.s.prods ?? [])
      if (badNames.has(e.name)) this.setProd(e, 'RollingBack', e.message);
    this.s.phase = 'RollingBack';
    this.s.message = `rolling back ${bad.length} Prods to ${this.s.fromVersion}: ${message}`;
    if (reason === 'Aborted') this.cond('Failed', 'True', 'Aborted', message);
    this.cond('Progressing', 'True', 'RollingBack', this.s.message);
    this.event('Warning', 'RollingBack', this.s.message);
    return this.rollingBack();
  }

  private rollingBack(): Decision {
    const name = this.r.metadata.name;
    const from = this.s.fromVersion ?? '';
    const rb = this.s.rollback!;
    const avoided = this.input.prods.filter(
      (p) => p.metadata.annotations?.[AVOID_ANNOTATION] === name,
    );
    // Annotations written this step are not in the input yet: count the Prods being avoided.
    const avoiding = new Set([
      ...avoided.map((p) => p.metadata.name),
      ...this.actions.flatMap((a) =>
        a.kind === 'annotate' && a.key === AVOID_ANNOTATION ? [a.prod] : [],
      ),
    ]);
    if (!rb.routedTime) {
      const stuck = this.input.tenants.filter((t) => {
        const p = t.status?.prods;
        if (!p?.primary) return false;
        const dual = t.spec.redundancy === 'Dual' && p.secondary && !avoiding.has(p.secondary);
        return avoiding.has(p.primary) ? !dual : !dual && avoiding.has(p.secondary ?? '');
      });
      const waited = this.now - ms(rb.startTime);
      if (stuck.length > 0 && waited < ROUTED_BOUND_MS) {
        this.s.message = `moving ${stuck.length} tenants off ${this.r.spec.version}`;
        this.after(Math.min(POLL_MS, ROUTED_BOUND_MS - waited));
        return this.done();
      }
      rb.routedTime = iso(this.now);
      this.observations.push({ metric: 'rollback', seconds: waited / 1000 });
      this.event(
        stuck.length ? 'Warning' : 'Normal',
        'Routed',
        stuck.length
          ? `${stuck.length} tenants still on avoided Prods after ${ROUTED_BOUND_MS / 1000} s: setting the versions back anyway`
          : `every tenant routed off ${this.r.spec.version} in ${(waited / 1000).toFixed(1)} s`,
      );
    }
    let left = 0;
    for (const n of avoiding) {
      const p = this.prodByName.get(n);
      if (!p) continue;
      const e = this.s.prods?.find((x) => x.name === n);
      if (p.spec.version !== from) {
        this.actions.push({ kind: 'setProdVersion', prod: n, version: from });
        left++;
      } else if (onVersion(p, from)) {
        this.actions.push({ kind: 'unannotate', prod: n, key: AVOID_ANNOTATION });
        if (e && e.state !== 'RolledBack') this.setProd(e, 'RolledBack', `back on ${from}`);
      } else left++;
    }
    if (left > 0) {
      this.s.message = `${left} Prods returning to ${from}`;
      this.after(POLL_MS);
      return this.done();
    }
    const aborted = this.s.rollback?.reason === 'Aborted';
    this.s.phase = aborted ? 'Aborted' : 'RolledBack';
    this.s.message = `${aborted ? 'aborted: ' : ''}every Prod back on ${from}`;
    this.s.completionTime = iso(this.now);
    this.cond('Progressing', 'False', this.s.phase, this.s.message);
    this.cond('RolledBack', 'True', rb.reason, this.s.message);
    this.event('Normal', this.s.phase, this.s.message);
    return this.done();
  }
}

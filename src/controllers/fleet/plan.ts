// The Fleet controller's pure core. From the Fleet, its Tenants and Prods, the MemberClusters and
// the clock, decide() says which Prods to create, adopt, scale in, retire and remove, which
// Tenant statuses change (only those), the Fleet's status (only if it changed), the events, and
// when to look again. Placement itself (src/fleet) is handed in, so that the CLI's plans, the
// benchmarks and this controller run the same algorithm. No I/O and no clock here.
//
// One reconcile is one placement step: place() moves at most one copy of a Dual tenant per step
// (make before break), the shell writes the step, and decide() asks to run again soon while
// copies are left on leaving or down Prods.
import { isDeepStrictEqual } from 'node:util';
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { timestamp } from '../../runtime/time.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { Fleet, FleetStatus } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Release } from '../../api/release.js';
import type { TenantSlice } from '../../api/tenantslice.js';
import type { Tenant } from '../../api/tenant.js';
import type { PlacementInput, PlacementResult, ProdState } from '../../fleet/types.js';
import { clusterFacts, selectedDomains, type ClusterFacts } from './clusters.js';
import {
  SCALE_IN_ANNOTATION,
  avoided,
  clusterOfProd,
  counted,
  desiredProds,
  drainPolicy,
  kindOf,
  ownership,
  retiring,
  roleOf,
  scaledIn,
  serving,
} from './prods.js';
import {
  fleetMissingChanges,
  outcomes,
  placementInput,
  sliceChanges,
  tenantStatusChanges,
  type SliceChange,
  type Excluded,
  type TenantChange,
} from './tenants.js';
import { autoscale, type AutoscaleMemory } from './autoscale.js';
import { carryForeign } from './foreign.js';
import {
  drainProgress,
  drainStages,
  planSummary,
  type DrainStage,
  rebalanceBudget,
  unplacedText,
  type DrainEntry,
} from './drain.js';

/** Run again as soon as the cache holds this step's writes. */
export const SOON_MS = 1;
/** Copies stuck on leaving or down Prods, or a blocked drain: look again this often. */
export const STUCK_RETRY_MS = 30_000;
/** Rebalancing: look again at least this often while moves are left. */
export const REBALANCE_INTERVAL_MS = 10_000;
/** Without any event, a Fleet is looked at again this often. */
export const RESYNC_MS = 5 * 60_000;
/** A new Fleet waits at most this long for its first Prods before placing tenants on the Ready ones. */
export const COLD_START_MS = 2 * 60_000;

/** The placement algorithms (src/fleet), handed in. */
export interface Placer {
  place(input: PlacementInput): PlacementResult;
  planDrain(input: PlacementInput, cluster: string): PlacementResult;
  planRetire(input: PlacementInput, prod: string): PlacementResult;
}

export interface Observed {
  key: { namespace: string; name: string };
  /** undefined: no Fleet of that name (its Tenants are told). */
  fleet?: Fleet;
  /** The Tenants whose spec.fleet names it. */
  tenants: readonly Tenant[];
  /** The Prods labelled for it in its namespace. */
  prods: readonly Prod[];
  /** Every Prod name in the namespace. */
  taken: ReadonlySet<string>;
  clusters: readonly MemberCluster[];
  /** The Releases whose spec.fleet names it (their standbyProds while active). */
  releases?: readonly Release[];
  /** Its TenantSlices (the assignment in force). */
  slices?: readonly TenantSlice[];
  now: number;
}

export interface FleetEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export interface Decision {
  create: Prod[];
  /** Prods labelled for the Fleet without a controller: the Fleet becomes theirs. */
  adopt: string[];
  /** Annotate kachiku.io/scale-in (their tenants move off; retired once empty). */
  scaleIn: { name: string; why: string }[];
  /** spec.retired = true (they host nothing). */
  retire: { name: string; why: string }[];
  /** Retired and gone from their cluster: delete the object (its name is free again). */
  remove: string[];
  /** TenantSlices to write: before the Tenants' statuses (the routers read the slices). */
  slices: SliceChange[];
  tenants: TenantChange[];
  /** The Fleet's status, when it differs from the stored one. */
  status?: FleetStatus;
  events: FleetEvent[];
  requeueAfterMs?: number;
}

const none = (): Decision => ({
  create: [],
  adopt: [],
  scaleIn: [],
  retire: [],
  remove: [],
  slices: [],
  tenants: [],
  events: [],
});

/** The Fleet's view of one step, before placement runs: what decide() and the CLI's plans share. */
export interface Step {
  clusters: ClusterFacts[];
  clusterOf: Map<string, ClusterFacts>;
  /** The Fleet's own Prods (owned and to adopt), deleting ones too. */
  prods: Prod[];
  /** Those not retired nor deleting. */
  live: Prod[];
  stages: Map<string, DrainStage>;
  ended: DrainEntry[];
  /** Clusters whose Prods are leaving for this Fleet (drains moving or done). */
  moving: Set<string>;
  /** The step's input, with the rebalance budget. */
  input: PlacementInput;
  /** The same without rebalancing: what plans (drain, retire) start from. */
  planInput: PlacementInput;
  excluded: Map<string, Excluded>;
  stateOf: Map<string, ProdState>;
  perMinute: number;
  budget: { moves: number; nextInMs: number };
  /** Standby Prods wanted: the most any active Release of the Fleet asks for. */
  standby: number;
}

/** A Release that is not over (no phase yet: just made). */
export const ACTIVE_RELEASE_PHASES: readonly (string | undefined)[] = [
  undefined,
  'Pending',
  'Progressing',
  'Paused',
  'RollingBack',
];

/** standbyProds of the Fleet's active Releases (their strategy, else the Fleet's), the most. */
export function standbyWanted(fleet: Fleet, releases: readonly Release[]): number {
  let n = 0;
  for (const r of releases)
    if (
      r.spec.fleet === fleet.metadata.name &&
      !r.metadata.deletionTimestamp &&
      ACTIVE_RELEASE_PHASES.includes(r.status?.phase)
    )
      n = Math.max(
        n,
        r.spec.strategy?.standbyProds ?? fleet.spec.release?.strategy?.standbyProds ?? 0,
      );
  return n;
}

/** The placement input of a Fleet as it stands (its drains' stages, the rebalance budget). */
export function prepare(fleet: Fleet, obs: Omit<Observed, 'fleet' | 'key'>): Step {
  const status = fleet.status ?? {};
  const clusters = obs.clusters.map((mc) => clusterFacts(fleet, mc));
  const clusterOf = new Map(clusters.map((c) => [c.name, c]));
  const prods = obs.prods.filter((p) => ownership(fleet, p) !== 'foreign');
  const live = prods.filter((p) => !retiring(p));
  const { stages, ended } = drainStages(
    clusters,
    new Set(live.map(clusterOfProd)),
    status.drains ?? [],
  );
  const moving = new Set([...stages].filter(([, s]) => s !== 'plan').map(([cluster]) => cluster));
  const perMinute = fleet.spec.drain?.rebalanceMovesPerMinute ?? 20;
  // No rebalancing while a drain is being planned or moving: it would move tenants the plan
  // does not (a drain moves only what must leave).
  const draining = [...stages.values()].some((s) => s !== 'drained');
  const budget = draining
    ? { moves: 0, nextInMs: Infinity }
    : rebalanceBudget(perMinute, status.lastRebalanceTime, obs.now);
  const { input, excluded } = placementInput(
    obs.tenants,
    prods,
    clusters,
    selectedDomains(clusters),
    // A rollback: standby Prods open up for the avoided Prods' tenants.
    {
      draining: moving,
      rebalanceMoves: budget.moves,
      rollback: live.some(avoided),
      ...(obs.slices && { slices: obs.slices }),
    },
  );
  return {
    clusters,
    clusterOf,
    prods,
    live,
    stages,
    ended,
    moving,
    input,
    planInput: { ...input, rebalanceMoves: 0 },
    excluded,
    stateOf: new Map(input.prods.map((p) => [p.name, p.state])),
    perMinute,
    budget,
    standby: standbyWanted(fleet, obs.releases ?? []),
  };
}

export function decide(obs: Observed, placer: Placer): Decision {
  const { fleet, now } = obs;
  if (!fleet) return { ...none(), tenants: fleetMissingChanges(obs.tenants, obs.key, now) };
  // Deleting: the garbage collector takes its Prods; its Tenants hear of it once it is gone.
  if (fleet.metadata.deletionTimestamp) return none();
  const d = none();
  const status = fleet.status ?? {};
  const step = prepare(fleet, obs);
  const { clusters, clusterOf, prods, live, stages, moving, input, planInput, excluded } = step;
  const { stateOf, perMinute, budget } = step;
  const facts = (p: Prod) => clusterOf.get(clusterOfProd(p));
  d.adopt = prods
    .filter((p) => ownership(fleet, p) === 'adopt' && !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.name);

  // Drains: the stage each is at decides which Prods are leaving in this step.
  const entries = new Map((status.drains ?? []).map((e) => [e.cluster, e]));
  for (const e of step.ended) {
    entries.delete(e.cluster);
    d.events.push({
      type: 'Normal',
      reason: 'DrainEnded',
      action: 'Drain',
      note: `cluster ${e.cluster} no longer draining (was ${e.phase}): tenants return gradually`,
    });
  }

  let requeue = RESYNC_MS;
  const soon = (ms: number) => (requeue = Math.min(requeue, ms));

  for (const [cluster, stage] of stages) {
    const prev = entries.get(cluster);
    if (stage === 'plan') {
      // Its Prods may all be gone already (a blocked drain whose Prods were deleted): nothing moves.
      const plan = planSummary(
        planInput.prods.some((p) => p.cluster === cluster)
          ? placer.planDrain(planInput, cluster)
          : placer.place(planInput),
      );
      const blocked = (plan.unplaceable?.length ?? 0) > 0;
      const entry: DrainEntry = {
        cluster,
        phase: blocked ? 'Blocked' : 'Planned',
        startTime: prev?.startTime ?? timestamp(new Date(now)),
        plan,
      };
      entries.set(cluster, entry);
      if (prev?.phase !== entry.phase)
        d.events.push(
          blocked
            ? {
                type: 'Warning',
                reason: Reason.DrainBlocked,
                action: 'Drain',
                note: `drain of ${cluster} would strand tenants: ${plan.unplaceable?.slice(0, 3).join('; ')}`,
              }
            : {
                type: 'Normal',
                reason: Reason.DrainPlanned,
                action: 'Drain',
                note: `drain of ${cluster}: ${plan.tenantsMoved} tenants (${plan.copiesMoved} copies) to move, lower bound ${plan.lowerBound}${plan.lowerBoundReachable ? '' : ' (not reachable without other moves)'}`,
              },
        );
      soon(blocked ? STUCK_RETRY_MS : SOON_MS);
    } else if (stage === 'start' && prev) {
      entries.set(cluster, { ...prev, phase: 'Moving' });
      d.events.push({
        type: 'Normal',
        reason: 'DrainStarted',
        action: 'Drain',
        note: `moving tenants off cluster ${cluster}`,
      });
    }
  }

  // The step; a new Fleet waits for its first Prods (coldStart).
  const cold = coldStart(fleet, live, clusterOf, input, now);
  const result = cold ? cold.result : placer.place(input);
  if (cold) soon(cold.retryMs);
  const copies = new Map<string, number>();
  for (const a of Object.values(result.assignment))
    for (const p of [a.primary, a.secondary])
      if (p !== undefined) copies.set(p, (copies.get(p) ?? 0) + 1);

  for (const cluster of moving) {
    const prev = entries.get(cluster);
    if (!prev) continue;
    const there = new Set(
      prods.filter((p) => clusterOfProd(p) === cluster).map((p) => p.metadata.name),
    );
    const next = drainProgress(prev, result, there);
    if (prev.phase !== 'Drained' && next.phase === 'Drained')
      d.events.push({
        type: 'Normal',
        reason: Reason.Drained,
        action: 'Drain',
        note: `no tenant left on cluster ${cluster}; its Prods are ${drainPolicy(fleet) === 'Retire' ? 'retired' : 'kept, idle'}`,
      });
    entries.set(cluster, next);
  }

  // Fill of the open standard Prods after the step.
  const open = input.prods.filter((p) => p.state === 'open' && p.role === 'standard');
  const capacity = open.reduce((s, p) => s + p.capacity, 0);
  const usedOpen = open.reduce((s, p) => s + (result.used[p.name] ?? 0), 0);
  const fill = capacity > 0 ? Math.round((100 * usedOpen) / capacity) : undefined;

  // How many standard Prods: spec.prods, or autoscale's count.
  const desiredInput = {
    prods,
    clusters,
    taken: obs.taken,
    used: result.used,
    standby: step.standby,
  };
  const baseline = desiredProds(fleet, desiredInput);
  const scale = fleet.spec.autoscale;
  let standard: number | undefined;
  let memory: AutoscaleMemory | undefined;
  let blockedScaleIn: string | undefined;
  if (scale) {
    const current = status.desiredProds ?? baseline.standard;
    const now0 = desiredProds(fleet, { ...desiredInput, standard: current });
    const steady =
      now0.create.length === 0 &&
      now0.surplus.length === 0 &&
      !live.some(scaledIn) &&
      live.filter((p) => kindOf(p) === 'standard' && counted(fleet, p, facts(p))).every(serving);
    const step = autoscale({
      spec: scale,
      memory: status.autoscale ?? {},
      desired: current,
      fill,
      steady,
      now,
    });
    standard = step.desired;
    memory = step.memory;
    if (step.requeueAfterMs !== undefined) soon(step.requeueAfterMs);
    if (step.action === 'in') {
      const candidate = desiredProds(fleet, { ...desiredInput, standard: step.desired }).surplus[0];
      const retirePlan = candidate ? placer.planRetire(planInput, candidate) : undefined;
      if (!candidate || !retirePlan || retirePlan.unplaced.length > 0) {
        standard = current;
        memory = status.autoscale ?? {};
        blockedScaleIn = candidate
          ? `scaling in would retire Prod ${candidate} and strand ${retirePlan?.unplaced.length} tenant copies: ${unplacedText(
              retirePlan as PlacementResult,
            )
              .slice(0, 3)
              .join('; ')}`
          : 'no standard Prod to scale in';
        soon(STUCK_RETRY_MS);
      }
    }
    if (standard !== current && step.message)
      d.events.push({
        type: 'Normal',
        reason: standard > current ? Reason.ScaleUp : Reason.ScaleIn,
        action: 'Autoscale',
        note: step.message,
      });
  }
  const want =
    standard === undefined ? baseline : desiredProds(fleet, { ...desiredInput, standard });
  d.create = want.create;
  for (const p of want.create)
    d.events.push({
      type: 'Normal',
      reason: 'ProdCreated',
      action: 'Create',
      note: `Prod ${p.metadata.name} (${kindOf(p)}) in cluster ${p.spec.cluster} (domain ${clusterOf.get(p.spec.cluster ?? '')?.domain})`,
    });
  const surplusWhy = scale
    ? `autoscale: ${want.standard} standard Prods wanted`
    : `spec.prods: ${want.standard} standard and ${fleet.spec.prods.testProds ?? 0} test Prods wanted`;
  const byName = new Map(prods.map((p) => [p.metadata.name, p]));
  const standbyWhy =
    step.standby > 0
      ? `${step.standby} standby Prods wanted while a Release is active`
      : 'no Release of the Fleet is active: standby Prods are not needed';
  d.scaleIn = want.surplus.map((name) => {
    const p = byName.get(name);
    return { name, why: p && kindOf(p) === 'standby' ? standbyWhy : surplusWhy };
  });
  for (const s of d.scaleIn)
    d.events.push({
      type: 'Normal',
      reason: Reason.ScaleIn,
      action: 'ScaleIn',
      note: `Prod ${s.name} is emptied and retired: ${s.why}`,
    });
  for (const name of d.adopt)
    d.events.push({ type: 'Normal', reason: 'ProdAdopted', action: 'Adopt', note: `Prod ${name}` });

  // Retire what hosts nothing and is on its way out; remove what is retired and gone.
  for (const p of live) {
    if ((copies.get(p.metadata.name) ?? 0) > 0) continue;
    const c = facts(p);
    const name = clusterOfProd(p);
    const drained = entries.get(name)?.phase === 'Drained' && drainPolicy(fleet) === 'Retire';
    const why = scaledIn(p)
      ? `scaled in (${p.metadata.annotations?.[SCALE_IN_ANNOTATION]})`
      : !c
        ? `MemberCluster ${name || '(none)'} does not exist`
        : !c.selected
          ? `MemberCluster ${name} is no longer selected by the Fleet`
          : drained
            ? `cluster ${name} drained`
            : undefined;
    if (why) d.retire.push({ name: p.metadata.name, why });
  }
  for (const r of d.retire)
    d.events.push({
      type: 'Normal',
      reason: Reason.Retired,
      action: 'Retire',
      note: `Prod ${r.name}: ${r.why}`,
    });
  d.remove = prods
    .filter((p) => p.spec.retired && !p.metadata.deletionTimestamp && p.status?.phase === 'Retired')
    .map((p) => p.metadata.name);

  // Tenants: only those whose status changes.
  const liveTenants = obs.tenants.filter((t) => !t.metadata.deletionTimestamp);
  d.slices = sliceChanges(fleet.metadata.name, result.assignment, obs.slices ?? []);
  d.tenants = tenantStatusChanges(obs.tenants, result, excluded, now);

  // Again soon while copies must still move (one Dual copy per step: `pending`), slower when
  // the step moved nothing (stuck until capacity or the operator changes something).
  const forcedLeft = Object.values(result.assignment).some((a) =>
    [a.primary, a.secondary].some((p) => {
      const s = p === undefined ? undefined : stateOf.get(p);
      return s === 'leaving' || s === 'down';
    }),
  );
  const forcedMoves = result.moves.filter((m) => m.reason !== 'Rebalance').length;
  if (forcedLeft || result.pending > 0) soon(forcedMoves > 0 ? SOON_MS : STUCK_RETRY_MS);
  if ([...stages.values()].includes('start')) soon(SOON_MS);
  if (d.create.length || d.adopt.length || d.scaleIn.length || d.retire.length || d.remove.length)
    soon(SOON_MS);
  const rebalanced = result.moves.filter((m) => m.reason === 'Rebalance').length;
  if (budget.moves > 0 && rebalanced >= budget.moves)
    soon(Math.max(REBALANCE_INTERVAL_MS, Math.ceil(60_000 / perMinute)));
  else if (budget.moves === 0 && Number.isFinite(budget.nextInMs))
    soon(Math.max(REBALANCE_INTERVAL_MS, budget.nextInMs));

  // The Fleet's status.
  const drains = [...entries.values()].sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  const next = fleetStatus(fleet, {
    prods,
    clusterOf,
    stateOf,
    copies,
    result,
    tenantCount: liveTenants.length,
    placedCount: [...outcomes(liveTenants, result, excluded).values()].filter(
      (o) => o.kind === 'Placed',
    ).length,
    open,
    fill,
    standard: want.standard,
    creating: want.create.length,
    short: want.short,
    memory,
    blockedScaleIn,
    drains,
    lastRebalanceTime: rebalanced > 0 ? timestamp(new Date(now)) : status.lastRebalanceTime,
    now,
  });
  if (!isDeepStrictEqual(next, fleet.status)) d.status = next;
  d.requeueAfterMs = requeue;
  return d;
}

/**
 * A new Fleet — no tenant placed yet, its Prods still being made or warming up, younger than
 * COLD_START_MS — places no one: otherwise every tenant lands on the first Prod to be Ready and
 * is spread afterwards only at the rebalance rate. Its tenants are told why (NoProds, with a
 * message that does not change as Prods come up: no rewrite per Prod). Derived from the objects
 * alone, so a restart decides the same.
 */
export function coldStart(
  fleet: Fleet,
  live: readonly Prod[],
  clusterOf: ReadonlyMap<string, ClusterFacts>,
  input: PlacementInput,
  now: number,
): { result: PlacementResult; retryMs: number } | undefined {
  const born = Date.parse(fleet.metadata.creationTimestamp ?? '');
  if (Number.isNaN(born) || now - born >= COLD_START_MS) return undefined;
  if (Object.keys(input.previous).length > 0) return undefined;
  const mine = live.filter((p) => counted(fleet, p, clusterOf.get(clusterOfProd(p))));
  if (mine.length > 0 && mine.every(serving)) return undefined;
  const until = timestamp(new Date(born + COLD_START_MS));
  const message = `waiting for the new Fleet's Prods to be Ready (until ${until} at the latest)`;
  return {
    result: {
      assignment: {},
      moves: [],
      unplaced: input.tenants.map((t) => ({
        tenant: t.name,
        copy: 'primary' as const,
        reason: 'NoProds' as const,
        message,
      })),
      exposed: [],
      lowerBound: 0,
      lowerBoundReachable: true,
      used: {},
      pending: 0,
    },
    retryMs: born + COLD_START_MS - now,
  };
}

interface StatusParts {
  prods: readonly Prod[];
  clusterOf: ReadonlyMap<string, ClusterFacts>;
  stateOf: ReadonlyMap<string, string>;
  copies: ReadonlyMap<string, number>;
  result: PlacementResult;
  tenantCount: number;
  placedCount: number;
  open: PlacementInput['prods'];
  fill?: number;
  standard: number;
  creating: number;
  short?: { reason: string; message: string };
  memory?: AutoscaleMemory;
  blockedScaleIn?: string;
  drains: DrainEntry[];
  lastRebalanceTime?: string;
  now: number;
}

function fleetStatus(fleet: Fleet, s: StatusParts): FleetStatus {
  const gen = fleet.metadata.generation;
  const old = fleet.status ?? {};
  let conditions = (old.conditions ?? []) as Condition[];
  const set = (type: string, status: Condition['status'], reason: string, message: string) =>
    (conditions = setCondition(
      conditions,
      { type, status, reason, message },
      gen,
      new Date(s.now),
    ));

  const prods = [...s.prods]
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .map((p) => {
      const cluster = clusterOfProd(p);
      const entry: NonNullable<FleetStatus['prods']>[number] = {
        name: p.metadata.name,
        cluster,
        domain: s.clusterOf.get(cluster)?.domain ?? '',
        // standard, test, or standby (a standard Prod kept for a release's rollback).
        role: kindOf(p),
        phase: p.status?.phase ?? 'Pending',
        state: s.stateOf.get(p.metadata.name) ?? 'down',
        tenants: s.copies.get(p.metadata.name) ?? 0,
        used: s.result.used[p.metadata.name] ?? 0,
        capacity: p.spec.capacity ?? 0,
      };
      if (p.status?.version) entry.version = p.status.version;
      return entry;
    });
  const countedStandard = s.prods.filter(
    (p) => kindOf(p) === 'standard' && counted(fleet, p, s.clusterOf.get(clusterOfProd(p))),
  );
  const readyProds = countedStandard.filter(serving).length;
  const testWanted = fleet.spec.prods.testProds ?? 0;
  const testReady = s.prods.filter(
    (p) =>
      roleOf(p) === 'test' && counted(fleet, p, s.clusterOf.get(clusterOfProd(p))) && serving(p),
  ).length;

  if (s.short) set(ConditionType.ProdsReady, 'False', s.short.reason, s.short.message);
  else if (readyProds < s.standard || testReady < testWanted || s.creating > 0)
    set(
      ConditionType.ProdsReady,
      'False',
      Reason.Provisioning,
      `${readyProds}/${s.standard} standard and ${testReady}/${testWanted} test Prods Ready`,
    );
  else
    set(
      ConditionType.ProdsReady,
      'True',
      Reason.ProdsReady,
      `${readyProds} standard and ${testReady} test Prods Ready`,
    );

  const placedTenants = s.placedCount;
  const unplaced = s.tenantCount - placedTenants;
  if (unplaced === 0)
    set(ConditionType.TenantsPlaced, 'True', Reason.AllPlaced, `${s.tenantCount} tenants placed`);
  else
    set(
      ConditionType.TenantsPlaced,
      'False',
      Reason.PartiallyPlaced,
      `${unplaced} of ${s.tenantCount} tenants not fully placed (see their Placed condition)`,
    );

  const blocked = s.drains.filter((e) => e.phase === 'Blocked');
  if (s.drains.length === 0) set(ConditionType.Draining, 'False', Reason.NotDraining, 'no drain');
  else if (blocked.length)
    set(
      ConditionType.Draining,
      'True',
      Reason.DrainBlocked,
      blocked
        .map(
          (e) =>
            `drain of ${e.cluster} blocked, it would strand: ${(e.plan?.unplaceable ?? []).slice(0, 3).join('; ')}`,
        )
        .join('; '),
    );
  else if (s.drains.every((e) => e.phase === 'Drained'))
    set(
      ConditionType.Draining,
      'True',
      Reason.Drained,
      `drained: ${s.drains.map((e) => e.cluster).join(', ')}`,
    );
  else
    set(
      ConditionType.Draining,
      'True',
      Reason.Draining,
      s.drains.map((e) => `${e.cluster} ${e.phase}`).join(', '),
    );

  if (fleet.spec.autoscale) {
    if (s.blockedScaleIn)
      set(ConditionType.Autoscaling, 'False', Reason.ScaleInBlocked, s.blockedScaleIn);
    else
      set(
        ConditionType.Autoscaling,
        'True',
        Reason.Steady,
        s.memory?.lastScale ?? 'no scaling yet',
      );
  } else conditions = conditions.filter((c) => c.type !== ConditionType.Autoscaling);

  const notReady = [ConditionType.ProdsReady, ConditionType.TenantsPlaced]
    .map((t) => conditions.find((c) => c.type === t))
    .find((c) => c?.status !== 'True');
  if (blocked.length)
    set(ConditionType.Ready, 'False', Reason.DrainBlocked, `a drain is blocked: see Draining`);
  else if (notReady) set(ConditionType.Ready, 'False', notReady.reason, notReady.message);
  else set(ConditionType.Ready, 'True', Reason.Placed, 'Prods Ready and every tenant placed');

  const domains = new Map<string, { used: number; capacity: number }>();
  for (const p of s.open) {
    const e = domains.get(p.domain) ?? { used: 0, capacity: 0 };
    e.used += s.result.used[p.name] ?? 0;
    e.capacity += p.capacity;
    domains.set(p.domain, e);
  }
  const status: FleetStatus = {
    observedGeneration: gen,
    conditions,
    prods,
    readyProds,
    desiredProds: s.standard,
    tenants: {
      total: s.tenantCount,
      placed: placedTenants,
      unplaced,
      exposed: s.result.exposed.length,
    },
    fill: {
      percent: s.fill ?? 0,
      domains: [...domains]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([domain, e]) => ({ domain, ...e })),
    },
  };
  if (s.memory && Object.keys(s.memory).length) status.autoscale = s.memory;
  if (s.drains.length) status.drains = s.drains;
  if (s.lastRebalanceTime) status.lastRebalanceTime = s.lastRebalanceTime;
  if (gen === undefined) delete status.observedGeneration;
  // The source poller's and the Release controller's parts, as they are.
  return carryForeign(old, status);
}

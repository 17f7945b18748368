// Plans before disruption: what draining a cluster or retiring a Prod would do to each Fleet's
// tenants, computed from the same objects and the same placement input as the Fleet controller's
// (prepare()), without acting. `kachiku plan` prints these; a dashboard can call them too. Pure.
import type { TenantSlice } from '../../api/tenantslice.js';
import type { Fleet } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import type { Move, PlacementResult, Unplaced } from '../../fleet/types.js';
import { countsAgainstBound } from '../../fleet/plan.js';
import { prepare, type Placer } from './plan.js';
import { LIST_MAX, planSummary, type PlanSummary } from './drain.js';
import { FLEET_LABEL, clusterOfProd } from './prods.js';

/** The objects a plan is computed from (as read from the control-plane cluster). */
export interface World {
  fleets: readonly Fleet[];
  tenants: readonly Tenant[];
  prods: readonly Prod[];
  clusters: readonly MemberCluster[];
  /** The TenantSlices (the assignment in force); without them, the Tenants' statuses. */
  slices?: readonly TenantSlice[];
  now: number;
}

export interface FleetPlan {
  namespace: string;
  fleet: string;
  operation: 'drain' | 'retire';
  /** The cluster drained or the Prod retired. */
  target: string;
  tenantsMoved: number;
  copiesMoved: number;
  lowerBound: number;
  lowerBoundReachable: boolean;
  /** The plan moves no more copies than the lower bound. */
  reached: boolean;
  /** The tenants with a copy moving (as tenantsMoved counts them), sorted. */
  tenants: string[];
  /** Every copy that changes Prod (promotions included), in tenant order. */
  moves: Move[];
  /** Dual tenants left with one serving copy. */
  dualExposed: string[];
  unplaceable: Unplaced[];
}

const ns = (o: { metadata: { namespace?: string } }) => o.metadata.namespace ?? '';

function stepOf(world: World, fleet: Fleet) {
  const name = fleet.metadata.name;
  return prepare(fleet, {
    tenants: world.tenants.filter((t) => ns(t) === ns(fleet) && t.spec.fleet === name),
    prods: world.prods.filter(
      (p) => ns(p) === ns(fleet) && p.metadata.labels?.[FLEET_LABEL] === name,
    ),
    taken: new Set(),
    clusters: world.clusters,
    slices: (world.slices ?? []).filter((s) => ns(s) === ns(fleet) && s.spec.fleet === name),
    now: world.now,
  });
}

function summarize(
  fleet: Fleet,
  operation: FleetPlan['operation'],
  target: string,
  result: PlacementResult,
): FleetPlan {
  const s = planSummary(result);
  const counted = result.moves.filter(countsAgainstBound);
  return {
    namespace: ns(fleet),
    fleet: fleet.metadata.name,
    operation,
    target,
    tenantsMoved: s.tenantsMoved,
    copiesMoved: s.copiesMoved,
    lowerBound: s.lowerBound,
    lowerBoundReachable: s.lowerBoundReachable,
    reached: s.copiesMoved <= s.lowerBound,
    tenants: [...new Set(counted.map((m) => m.tenant))].sort(),
    moves: result.moves
      .filter((m) => m.to !== undefined && m.from !== undefined && m.from !== m.to)
      .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0)),
    dualExposed: [...result.exposed].sort(),
    unplaceable: [...result.unplaced].sort((a, b) => (a.tenant < b.tenant ? -1 : 1)),
  };
}

/** Per Fleet with live Prods in `cluster` (optionally one namespace or one Fleet): its drain plan. */
export function drainPlans(
  world: World,
  cluster: string,
  placer: Placer,
  only: { namespace?: string; fleet?: string } = {},
): FleetPlan[] {
  if (!world.clusters.some((c) => c.metadata.name === cluster))
    throw new Error(`MemberCluster ${cluster} not found`);
  const plans: FleetPlan[] = [];
  const fleets = [...world.fleets]
    .filter((f) => !only.namespace || ns(f) === only.namespace)
    .filter((f) => !only.fleet || f.metadata.name === only.fleet)
    .sort((a, b) => (`${ns(a)}/${a.metadata.name}` < `${ns(b)}/${b.metadata.name}` ? -1 : 1));
  if (only.fleet && fleets.length === 0)
    throw new Error(
      `Fleet ${only.fleet} not found${only.namespace ? ` in namespace ${only.namespace}` : ''}`,
    );
  for (const fleet of fleets) {
    const step = stepOf(world, fleet);
    if (!step.live.some((p) => clusterOfProd(p) === cluster)) continue;
    plans.push(summarize(fleet, 'drain', cluster, placer.planDrain(step.planInput, cluster)));
  }
  return plans;
}

/** The plan of retiring Prod `namespace/prod`, for its Fleet. */
export function retirePlan(
  world: World,
  namespace: string,
  prod: string,
  placer: Placer,
): FleetPlan {
  const p = world.prods.find((x) => ns(x) === namespace && x.metadata.name === prod);
  if (!p) throw new Error(`Prod ${prod} not found in namespace ${namespace}`);
  const name = p.metadata.labels?.[FLEET_LABEL];
  if (!name) throw new Error(`Prod ${prod} belongs to no Fleet (no ${FLEET_LABEL} label)`);
  const fleet = world.fleets.find((f) => ns(f) === namespace && f.metadata.name === name);
  if (!fleet) throw new Error(`Prod ${prod} names Fleet ${name}, which does not exist`);
  return summarize(fleet, 'retire', prod, placer.planRetire(stepOf(world, fleet).planInput, prod));
}

/** The plans as `kachiku plan … -o json` prints them. */
export interface PlanDocument {
  operation: FleetPlan['operation'];
  target: string;
  fleets: {
    namespace: string;
    fleet: string;
    /** As a drain's plan in the Fleet's status.drains[], plus the tenants it moves. */
    plan: PlanSummary & { reached: boolean; tenants: string[] };
    /** Every copy that changes Prod. */
    moves: Move[];
    /** Every copy that cannot be placed, with why. */
    unplaced: Unplaced[];
  }[];
}

export function planDocument(
  operation: FleetPlan['operation'],
  target: string,
  plans: readonly FleetPlan[],
): PlanDocument {
  return {
    operation,
    target,
    fleets: plans.map((p) => {
      const plan: PlanDocument['fleets'][number]['plan'] = {
        tenantsMoved: p.tenantsMoved,
        copiesMoved: p.copiesMoved,
        lowerBound: p.lowerBound,
        lowerBoundReachable: p.lowerBoundReachable,
        reached: p.reached,
        tenants: p.tenants,
      };
      if (p.dualExposed.length) plan.dualExposed = p.dualExposed.slice(0, LIST_MAX);
      if (p.unplaceable.length)
        plan.unplaceable = p.unplaceable
          .map((u) => `${u.tenant} (${u.copy}): ${u.message}`)
          .slice(0, LIST_MAX);
      return {
        namespace: p.namespace,
        fleet: p.fleet,
        plan,
        moves: p.moves,
        unplaced: p.unplaceable,
      };
    }),
  };
}

/** A plan as text: what moves (the first `limit`), who is exposed, who cannot be placed. */
export function planText(plan: FleetPlan, limit = 20): string {
  const what =
    plan.operation === 'drain' ? `drain cluster ${plan.target}` : `retire Prod ${plan.target}`;
  const lines = [
    `Fleet ${plan.namespace}/${plan.fleet}: ${what}`,
    `  tenants moved: ${plan.tenantsMoved} (${plan.copiesMoved} copies); lower bound ${plan.lowerBound} copies, ${
      plan.lowerBoundReachable ? 'reachable' : 'not reachable without other moves'
    }; ${plan.reached ? 'reached' : `not reached (+${plan.copiesMoved - plan.lowerBound})`}`,
  ];
  for (const m of plan.moves.slice(0, limit))
    lines.push(
      `    ${m.tenant} (${m.copy}): ${m.from} → ${m.to}${m.reason === 'Promoted' ? ' (promoted)' : ''}`,
    );
  if (plan.moves.length > limit) lines.push(`    … and ${plan.moves.length - limit} more`);
  lines.push(
    `  Dual tenants exposed (one serving copy): ${plan.dualExposed.length ? plan.dualExposed.join(', ') : 'none'}`,
  );
  if (plan.unplaceable.length === 0) lines.push('  cannot be placed: none');
  else {
    lines.push(`  cannot be placed: ${plan.unplaceable.length}`);
    for (const u of plan.unplaceable.slice(0, limit))
      lines.push(`    ${u.tenant} (${u.copy}): ${u.reason}: ${u.message}`);
    if (plan.unplaceable.length > limit)
      lines.push(`    … and ${plan.unplaceable.length - limit} more`);
  }
  return lines.join('\n');
}

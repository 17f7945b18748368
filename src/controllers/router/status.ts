// The Router's status after a reconcile (pure): the table asked for, the slots, which table each
// instance serves, and two conditions. Ready: every instance that answers serves the table (and
// at least one answers). Degraded: something short of that, or of routing every host — an
// instance away, slots exhausted, Prods without endpoints, hosts without an entry. Nothing in it
// moves unless the routing does, so an unchanged router is not written. `held`: the held Prods
// the table routes every Dual tenant away from, once every instance that answers serves it.
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type {
  HAProxySettings,
  InstanceStatus,
  Router,
  RouterStatus,
  SlotRecord,
} from '../../api/router.js';
import type { InstanceMemory } from './instance.js';
import type { Table } from './table.js';

/** Lists in status are cut here (the schema's maxItems). */
export const LIST_MAX = 50;

export interface StatusInput {
  router: Router;
  spec: HAProxySettings;
  table: Table;
  /** The slot records once settled. */
  records: SlotRecord[];
  /** Per instance of spec.haproxy.instances, in order. */
  instances: { name: string; memory: InstanceMemory }[];
  fleets: number;
  now: Date;
}

export function routerStatus(input: StatusInput): RouterStatus {
  const { router, spec, table, now } = input;
  const prev = router.status;
  const generation = router.metadata.generation;
  const prevInstances = new Map((prev?.instances ?? []).map((i) => [i.name, i]));

  const instances: InstanceStatus[] = input.instances.map(({ name, memory: m }) => {
    const before = prevInstances.get(name);
    const s: InstanceStatus = { name, reachable: m.reachable };
    const instance = m.instance ?? before?.instance;
    const version = m.haproxyVersion ?? before?.version;
    // Unknown after a restart of kachiku with the router away: the last one recorded stands.
    const tableVersion = m.tableVersion ?? (m.reachable ? undefined : before?.tableVersion);
    const lastProgrammed = m.lastProgrammed ?? before?.lastProgrammed;
    if (instance) s.instance = instance;
    if (version) s.version = version;
    if (tableVersion) s.tableVersion = tableVersion;
    if (lastProgrammed) s.lastProgrammed = lastProgrammed;
    if (m.problem) s.message = m.problem.message;
    return s;
  });

  let conditions: Condition[] = [...(prev?.conditions ?? [])] as Condition[];
  const set = (type: string, status: 'True' | 'False', reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status, reason, message }, generation, now);
  };

  const answering = input.instances.filter((i) => i.memory.reachable);
  const away = input.instances.filter((i) => !i.memory.reachable);
  const failing = answering.filter((i) => i.memory.problem);
  const serving = answering.filter(
    (i) => !i.memory.problem && i.memory.tableVersion === table.version,
  );
  const names = (xs: { name: string }[]) => xs.map((x) => x.name).join(', ');
  const problems = (xs: { name: string; memory: InstanceMemory }[]) =>
    xs.map((x) => `${x.name}: ${x.memory.problem?.message ?? 'not programmed'}`).join('; ');

  if (answering.length === 0)
    set(
      ConditionType.Ready,
      'False',
      Reason.RouterUnreachable,
      `no instance answers: ${problems(away)}`,
    );
  else if (failing.length) {
    const reason = failing.some((i) => i.memory.problem?.reason === 'ConfigMismatch')
      ? Reason.ConfigMismatch
      : Reason.RouterRejected;
    set(ConditionType.Ready, 'False', reason, problems(failing));
  } else if (serving.length < answering.length)
    set(
      ConditionType.Ready,
      'False',
      Reason.Reconciling,
      `not yet programmed: ${names(answering.filter((i) => !serving.includes(i)))}`,
    );
  else
    set(
      ConditionType.Ready,
      'True',
      Reason.Programmed,
      `${serving.length} of ${input.instances.length} instances serve the table`,
    );

  const degraded: { reason: string; message: string }[] = [];
  if (away.length)
    degraded.push({
      reason: Reason.RouterUnreachable,
      message: `unreachable, keeping the last table it was given: ${problems(away)}`,
    });
  if (table.exhausted.length)
    degraded.push({
      reason: Reason.SlotsExhausted,
      message: `${table.slotsNeeded} slots needed, ${spec.slots} configured: no slot for ${cut(table.exhausted).join(', ')}; their tenants go to their other Prod if it has one, else are not routed. A reload with at least ${table.slotsNeeded} backend slots (spec.haproxy.slots and the HAProxy configuration) is needed`,
    });
  if (table.noEndpoints.length || table.badEndpoints.length)
    degraded.push({
      reason: Reason.EndpointsMissing,
      message: cut([...table.noEndpoints, ...table.badEndpoints]).join('; '),
    });
  if (table.unrouted.length)
    degraded.push({
      reason: Reason.Unrouted,
      message: `${table.unrouted.length} hosts not routed, e.g. ${table.unrouted.slice(0, 3).join('; ')}`,
    });
  if (degraded.length)
    set(
      ConditionType.Degraded,
      'True',
      degraded[0]!.reason,
      degraded.map((d) => d.message).join('. '),
    );
  else set(ConditionType.Degraded, 'False', Reason.Programmed, '');

  // Unreachable instances are not waited for (as for Ready): a router that does not answer is
  // reprogrammed with the current table before anything else once it is seen again.
  const served = answering.length > 0 && serving.length === answering.length;
  const held = served ? cut(table.held) : [];

  const status: RouterStatus = {
    observedGeneration: generation,
    conditions,
    table: {
      version: table.version,
      fleets: input.fleets,
      hosts: table.entries.length,
      prods: table.slots.size,
      ...(table.unrouted.length ? { unrouted: cut(table.unrouted) } : {}),
    },
    slots: input.records,
    ...(held.length ? { held } : {}),
    instances,
  };
  return status;
}

const cut = (xs: readonly string[]) => xs.slice(0, LIST_MAX);

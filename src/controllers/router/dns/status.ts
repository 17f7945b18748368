// DNS mode, pure: the Router's status after a sync (or a failed one). Ready: Route 53 holds the
// records of every host that can be routed. Degraded: hosts left out (records of others in the
// way, Prods without addresses, not placed) or Route 53 away. The table version is a hash of
// the records asked for, so an unchanged Router is not written.
import { createHash } from 'node:crypto';
import { setCondition, type Condition } from '../../../runtime/conditions.js';
import { timestamp } from '../../../runtime/time.js';
import { ConditionType, Reason } from '../../../api/conditions.js';
import type { Router, RouterStatus } from '../../../api/router.js';
import type { DnsRoutes } from './routes.js';

const LIST_MAX = 50;
const cut = (xs: readonly string[]) => xs.slice(0, LIST_MAX);

export const tableVersion = (routes: DnsRoutes): string =>
  createHash('sha256')
    .update(JSON.stringify(routes.routes.map((r) => [r.host, r.ttl, r.targets])))
    .digest('hex')
    .slice(0, 12);

export interface DnsStatusInput {
  router: Router;
  fleets: number;
  /** Undefined when the zone is not known (not found, or Route 53 away before it was). */
  routes: DnsRoutes | undefined;
  zoneId: string | undefined;
  sync?: {
    conflicts: ReadonlyMap<string, string>;
    records: number;
    healthChecks: number;
    changed: boolean;
    /** The Prods the records now in Route 53 name (sorted). */
    prods: string[];
  };
  /** Why the sync did not happen or did not finish. */
  problem?: { reason: string; message: string };
  now: Date;
}

export function dnsRouterStatus(input: DnsStatusInput): RouterStatus {
  const { router, routes, sync, problem, now } = input;
  const prev = router.status;
  const generation = router.metadata.generation;
  let conditions = [...(prev?.conditions ?? [])] as Condition[];
  const set = (type: string, status: 'True' | 'False', reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status, reason, message }, generation, now);
  };

  const conflicts = sync ? [...sync.conflicts].map(([h, what]) => `${h}: ${what}`).sort() : [];
  if (problem) set(ConditionType.Ready, 'False', problem.reason, problem.message);
  else
    set(
      ConditionType.Ready,
      'True',
      Reason.Programmed,
      `${(routes?.routes.length ?? 0) - conflicts.length} hosts in the hosted zone ${input.zoneId}`,
    );

  // The first cause names the reason; the message has them all.
  const causes = [
    problem,
    conflicts.length > 0 && {
      reason: Reason.RecordConflict,
      message: `${conflicts.length} hosts have records kachiku does not own, left as they are: ${conflicts.slice(0, 5).join('; ')}`,
    },
    routes?.noEndpoints.length && {
      reason: Reason.EndpointsMissing,
      message: cut(routes.noEndpoints).join('; '),
    },
    routes?.noFailover.length && {
      // A Dual tenant served by its primary alone: its secondary has no endpoint of that type.
      reason: Reason.EndpointsMissing,
      message: cut(routes.noFailover).join('; '),
    },
    routes?.unrouted.length && {
      reason: Reason.Unrouted,
      message: `${routes.unrouted.length} hosts not routed, e.g. ${routes.unrouted.slice(0, 3).join('; ')}`,
    },
  ].filter((c): c is { reason: string; message: string } => Boolean(c));
  set(
    ConditionType.Degraded,
    causes.length ? 'True' : 'False',
    causes[0]?.reason ?? Reason.Programmed,
    causes.map((c) => c.message).join('. '),
  );

  const status: RouterStatus = { observedGeneration: generation, conditions };
  if (routes)
    status.table = {
      version: tableVersion(routes),
      fleets: input.fleets,
      hosts: routes.routes.length - conflicts.length,
      prods: routes.prods,
      ...(routes.unrouted.length ? { unrouted: cut(routes.unrouted) } : {}),
    };
  else if (prev?.table) status.table = prev.table;
  if (sync) {
    const lastChange = sync.changed ? timestamp(now) : prev?.dns?.lastChange;
    status.dns = {
      ...(input.zoneId && { hostedZoneID: input.zoneId }),
      records: sync.records,
      healthChecks: sync.healthChecks,
      ...(sync.prods.length ? { prods: sync.prods } : {}),
      ...(conflicts.length ? { conflicts: cut(conflicts) } : {}),
      ...(lastChange && { lastChange }),
    };
  } else if (prev?.dns) status.dns = prev.dns;
  // Held Prods whose tenants Route 53 now sends elsewhere first (resolvers may hold the old
  // answer for the record's TTL).
  if (sync && !problem && routes?.held.length) status.held = routes.held;
  else if (!sync && prev?.held) status.held = prev.held;
  return status;
}

// The shell around dns.ts: find the zone, read what kachiku owns in it, create or reuse the
// health checks, write every record change in one atomic batch, delete health checks no
// record uses any more (after the records), and report status.dns.
//
// Route 53 allows five requests a second per account, so reads are spared as the NLB's are:
// a sync whose plan equals the last one Route 53 was found or made to match reads nothing,
// except every `checkEvery` syncs to find edits made by hand; a changed plan (a failover) is
// written straight from what the last sync left.
import type { DnsStatus } from '../../api/loadbalancermirror.js';
import { Reason } from '../../api/conditions.js';
import { timestamp } from '../../runtime/time.js';
import { TerminalError } from '../../runtime/controller.js';
import {
  fqdn,
  sameHealthCheck,
  sameRecord,
  type HealthCheckSpec,
  type HealthState,
  type HostedZone,
  type RecordChange,
  type RecordSet,
  type WeightedRecord,
} from '../../clouds/aws/route53.js';
import {
  SIDES,
  callerPrefix,
  planDns,
  servingSide,
  setIdentifier,
  type DnsInput,
  type DnsPlan,
  type Side,
} from './dns.js';
import type { DnsApi } from './ports.js';

/** What the last successful DNS sync of a mirror left in Route 53 (in memory only). */
export interface DnsMemo {
  generation: number;
  zone: HostedZone;
  planKey: string;
  healthChecks: Map<Side, { id: string; spec: HealthCheckSpec }>;
  records: WeightedRecord[];
  states: Partial<Record<Side, HealthState>>;
  syncsSinceCheck: number;
}

export interface DnsResult {
  status: DnsStatus;
  plan: DnsPlan;
  /** One line per change made, for events. */
  changes: string[];
  memo: DnsMemo;
}

export async function syncDns(
  api: DnsApi,
  input: DnsInput,
  previous: DnsStatus | undefined,
  last: DnsMemo | undefined,
  checkEvery: number,
  probeHealth?: Partial<Record<Side, { state: HealthState; lastChecked?: string }>>,
): Promise<DnsResult> {
  const fresh = last?.generation === input.generation ? last : undefined;
  const zone = fresh?.zone ?? (await findZone(api, input));
  const plan = planDns(input);
  const planKey = JSON.stringify([zone.id, plan.healthChecks.map((h) => h.spec), plan.records]);
  const changes: string[] = [];

  if (fresh && fresh.planKey === planKey && fresh.syncsSinceCheck + 1 < checkEvery) {
    fresh.syncsSinceCheck++;
    return {
      status: statusOf(input, plan, fresh, previous, probeHealth),
      plan,
      changes,
      memo: fresh,
    };
  }
  const check = !fresh || fresh.syncsSinceCheck + 1 >= checkEvery;

  // What Route 53 holds of this mirror: read, or (a plan change between checks) as left.
  let healthChecks: { id: string; side: Side | undefined; spec: HealthCheckSpec }[];
  let records: WeightedRecord[];
  if (check) {
    const prefix = callerPrefix(input.uid);
    healthChecks = (await api.listHealthChecks(prefix)).map((h) => ({
      id: h.id,
      side: sideOfReference(h.callerReference.slice(prefix.length)),
      spec: h,
    }));
    const names = new Set([
      ...input.spec.recordNames.map(fqdn),
      ...(previous?.records ?? []).map((r) => fqdn(r.name)),
    ]);
    records = [];
    for (const name of names) {
      const ours = new Set(SIDES.map((s) => setIdentifier(input.namespace, input.name, s, name)));
      const wanted = input.spec.recordNames.map(fqdn).includes(name);
      for (const rs of await api.recordsAt(zone.id, name)) {
        if (rs.setIdentifier !== undefined && ours.has(rs.setIdentifier)) {
          if (rs.record) records.push(rs.record);
        } else if (wanted && ['A', 'AAAA', 'CNAME'].includes(rs.type)) {
          throw new TerminalError(
            Reason.RecordConflict,
            `${name} already has a ${rs.type} record kachiku does not own${rs.setIdentifier ? ` (SetIdentifier ${rs.setIdentifier})` : ''}: nothing was changed`,
          );
        }
      }
    }
  } else {
    healthChecks = [...fresh.healthChecks].map(([side, h]) => ({ side, ...h }));
    records = fresh.records;
  }

  // Health checks: reuse one of the same side and settings, else create.
  const kept = new Map<Side, { id: string; spec: HealthCheckSpec }>();
  for (const want of plan.healthChecks) {
    const found = healthChecks.find(
      (h) => h.side === want.side && !kept.has(want.side) && sameHealthCheck(h.spec, want.spec),
    );
    if (found) {
      kept.set(want.side, { id: found.id, spec: want.spec });
      continue;
    }
    const id = await api.createHealthCheck(want.callerReference, want.spec, want.tags);
    kept.set(want.side, { id, spec: want.spec });
    changes.push(`created the ${want.side} health check ${id}`);
  }

  // Records: every difference in one batch, so a failover is one atomic change.
  const desired: WeightedRecord[] = plan.records.map(({ side: _side, healthCheck, ...r }) => ({
    ...r,
    ...(healthCheck && { healthCheckId: kept.get(healthCheck)!.id }),
  }));
  const key = (r: RecordSet) => `${r.name}|${r.setIdentifier}`;
  const have = new Map(records.map((r) => [key(r), r]));
  const want = new Set(desired.map(key));
  const batch: RecordChange[] = [
    ...desired
      .filter((r) => !have.has(key(r)) || !sameRecord(have.get(key(r))!, r))
      .map((record) => ({ action: 'UPSERT' as const, record })),
    ...records
      .filter((r) => !want.has(key(r)))
      .map((record) => ({ action: 'DELETE' as const, record })),
  ];
  if (batch.length > 0) {
    await api.changeRecords(zone.id, batch, `kachiku: ${input.namespace}/${input.name}`);
    for (const c of batch) changes.push(describeChange(c, have.get(key(c.record))));
  }

  // Only now, with no record using them, the health checks kachiku no longer wants.
  const used = new Set([...kept.values()].map((h) => h.id));
  for (const h of healthChecks.filter((h) => !used.has(h.id))) {
    await api.deleteHealthCheck(h.id);
    changes.push(`deleted the health check ${h.id}`);
  }

  let states: Partial<Record<Side, HealthState>> = {};
  if (plan.mode === 'route53') {
    const reuse = fresh && !check ? fresh.states : {};
    for (const [side, h] of kept) states[side] = reuse[side] ?? (await api.healthCheckState(h.id));
  } else if (plan.mode === 'controller') {
    states = Object.fromEntries(SIDES.map((s) => [s, probeHealth?.[s]?.state ?? 'Unknown']));
  }
  const memo: DnsMemo = {
    generation: input.generation,
    zone,
    planKey,
    healthChecks: kept,
    records: desired,
    states,
    syncsSinceCheck: check ? 0 : (fresh?.syncsSinceCheck ?? 0) + 1,
  };
  return { status: statusOf(input, plan, memo, previous, probeHealth), plan, changes, memo };
}

/** Removes the records and then the health checks kachiku made for the mirror. */
export async function removeDns(
  api: DnsApi,
  mirror: { namespace: string; name: string; uid: string },
  zoneId: string | undefined,
  names: string[],
): Promise<number> {
  let removed = 0;
  if (zoneId) {
    const batch: RecordChange[] = [];
    for (const name of new Set(names.map(fqdn))) {
      const ours = new Set(SIDES.map((s) => setIdentifier(mirror.namespace, mirror.name, s, name)));
      for (const rs of await api.recordsAt(zoneId, name))
        if (rs.record && ours.has(rs.record.setIdentifier))
          batch.push({ action: 'DELETE', record: rs.record });
    }
    await api.changeRecords(zoneId, batch, `kachiku: ${mirror.namespace}/${mirror.name} removed`);
    removed += batch.length;
  }
  for (const h of await api.listHealthChecks(callerPrefix(mirror.uid))) {
    await api.deleteHealthCheck(h.id);
    removed++;
  }
  return removed;
}

async function findZone(api: DnsApi, input: DnsInput): Promise<HostedZone> {
  const by = input.spec.hostedZone;
  const zone = await api.findHostedZone({ id: by.id, name: by.name });
  if (!zone)
    throw new TerminalError(
      Reason.HostedZoneNotFound,
      `no Route 53 hosted zone ${by.id ? `with id ${by.id}` : `named ${by.name}`}: nothing was created`,
    );
  return zone;
}

function sideOfReference(rest: string): Side | undefined {
  return rest.startsWith('o:') ? 'octavia' : rest.startsWith('n:') ? 'nlb' : undefined;
}

function describeChange(c: RecordChange, before: WeightedRecord | undefined): string {
  const r = c.record as WeightedRecord;
  const what = `${r.name} ${r.alias ? 'alias' : (r.values ?? []).join(',')} (${r.setIdentifier})`;
  if (c.action === 'DELETE') return `deleted ${what}`;
  if (!before) return `created ${what} weight ${r.weight}`;
  return before.weight !== r.weight
    ? `weight of ${what} ${before.weight} → ${r.weight}`
    : `corrected ${what}`;
}

function statusOf(
  input: DnsInput,
  plan: DnsPlan,
  memo: DnsMemo,
  previous: DnsStatus | undefined,
  probeHealth?: Partial<Record<Side, { state: HealthState; lastChecked?: string }>>,
): DnsStatus {
  const now = timestamp();
  const serving = servingSide(plan.weights, memo.states);
  const changed = previous?.servingSide !== undefined && previous.servingSide !== serving;
  const sides = plan.mode === 'controller' ? SIDES : [...memo.healthChecks.keys()];
  return {
    hostedZoneID: memo.zone.id,
    octaviaAddress: input.octaviaAddress,
    records: plan.records.map((r) => ({
      name: r.name,
      setIdentifier: r.setIdentifier,
      side: r.side,
      weight: r.weight,
      ...(r.healthCheck && { healthCheckID: memo.healthChecks.get(r.healthCheck)?.id }),
    })),
    healthChecks: sides.map((side) => ({
      side,
      ...(memo.healthChecks.get(side) && { id: memo.healthChecks.get(side)!.id }),
      state: memo.states[side] ?? 'Unknown',
      ...(probeHealth?.[side]?.lastChecked && { lastChecked: probeHealth[side]!.lastChecked }),
    })),
    servingSide: serving,
    servingSince: changed || !previous?.servingSince ? now : previous.servingSince,
    ...(changed
      ? {
          lastFailover: {
            time: now,
            from: previous!.servingSide!,
            to: serving,
            reason:
              plan.note?.message ??
              (plan.mode === 'maintenance'
                ? `maintenance: weights set to octavia ${plan.weights.octavia}, nlb ${plan.weights.nlb}`
                : 'both sides healthy again: weights as in spec.dns'),
          },
        }
      : previous?.lastFailover && { lastFailover: previous.lastFailover }),
  };
}

// DNS mode, the shell around plan.ts: read what the zone holds (or, between resyncs, take what
// the last sync left), create the health checks the failover pairs need, write the record
// changes in atomic batches, and only then delete the health checks no record uses. Route 53
// takes five requests a second per account: a sync that changes nothing reads nothing until
// the next resync, and one that changes a tenant writes only that tenant's records.
import type { Route53Router } from '../../../api/router.js';
import type {
  HostedZone,
  ObservedHealthCheck,
  RecordAtName,
  RecordChange,
  RecordSet,
  Route53Api,
} from '../../../clouds/aws/route53.js';
import {
  batches,
  callerPrefix,
  callerReference,
  matchHealthChecks,
  recordChanges,
  recordsOf,
  viewZone,
  wantedHealthChecks,
  type Owner,
} from './plan.js';
import type { DnsRoutes } from './routes.js';

/** What the last sync of a Router read or made (in memory only). */
export interface DnsMemory {
  /** The generation and zone it was for. */
  generation: number;
  zone: HostedZone;
  records: RecordAtName[];
  healthChecks: ObservedHealthCheck[];
  /** When the zone was last read (Date.now()). */
  readAt: number;
}

export interface DnsSyncResult {
  memory: DnsMemory;
  /** Hosts left alone, with the records in the way. */
  conflicts: Map<string, string>;
  /** Record sets the Router keeps in the zone, and health checks. */
  records: number;
  healthChecks: number;
  /** One line per change, for the log and events. */
  changes: string[];
}

export interface DnsSyncInput {
  owner: Owner;
  generation: number;
  zone: HostedZone;
  spec: Route53Router;
  routes: DnsRoutes;
  /** Memory of the last sync, if it is of this zone and generation. */
  last: DnsMemory | undefined;
  now: number;
  resyncMs: number;
}

export async function syncDns(api: Route53Api, input: DnsSyncInput): Promise<DnsSyncResult> {
  const { owner, zone, routes, now } = input;
  const fresh =
    input.last?.generation === input.generation &&
    input.last.zone.id === zone.id &&
    now - input.last.readAt < input.resyncMs
      ? input.last
      : undefined;
  const prefix = callerPrefix(owner);
  let records = fresh?.records ?? (await api.listRecords(zone.id));
  let healthChecks = fresh?.healthChecks ?? (await api.listHealthChecks(prefix));
  const changes: string[] = [];

  const wantedHosts = new Set(routes.routes.map((r) => r.host));
  const view = viewZone(owner, records, wantedHosts);
  const routed = routes.routes.filter((r) => !view.conflicts.has(r.host));

  // Health checks first: a record names its check by id.
  const wantedChecks = wantedHealthChecks(owner, routed, input.spec.healthCheck);
  const matched = matchHealthChecks(wantedChecks, healthChecks);
  for (const w of matched.create) {
    const ref = callerReference(owner, w.spec, Date.now());
    const id = await api.createHealthCheck(ref, w.spec, w.tags);
    matched.ids.set(w.key, id);
    healthChecks = [...healthChecks, { id, callerReference: ref, ...w.spec }];
    changes.push(`created the health check ${id} of ${w.prod} (${w.key})`);
  }

  const wanted = new Map(
    routed.map((r) => [r.host, recordsOf(owner, r, (key) => matched.ids.get(key))]),
  );
  for (const batch of batches(recordChanges(wanted, view.owned, routes.unroutedHosts))) {
    await api.changeRecords(zone.id, batch, `kachiku: Router ${owner.namespace}/${owner.name}`);
    records = applied(records, batch);
    for (const c of batch) changes.push(describe(c));
  }

  // Then the checks no record of the Router uses any more (one left on a record kept as it
  // was, e.g. of a host whose Prods lost their addresses, stays).
  const after = viewZone(owner, records, wantedHosts);
  const inUse = new Set(
    [...after.owned.values()].flat().flatMap((r) => (r.healthCheckId ? [r.healthCheckId] : [])),
  );
  for (const id of matched.spare.filter((id) => !inUse.has(id))) {
    await api.deleteHealthCheck(id);
    healthChecks = healthChecks.filter((h) => h.id !== id);
    changes.push(`deleted the health check ${id}`);
  }

  return {
    memory: {
      generation: input.generation,
      zone,
      records,
      healthChecks,
      readAt: fresh?.readAt ?? now,
    },
    conflicts: view.conflicts,
    records: [...after.owned.values()].reduce((n, rs) => n + rs.length, 0),
    healthChecks: healthChecks.length,
    changes,
  };
}

/**
 * Removes every record and health check of the Router, then reads the zone and the checks
 * again: true when none is left (the finalizer may go).
 */
export async function removeDns(
  api: Route53Api,
  owner: Owner,
  zone: HostedZone | undefined,
): Promise<{ removed: number; gone: boolean }> {
  let removed = 0;
  const prefix = callerPrefix(owner);
  const owned = async () =>
    zone ? viewZone(owner, await api.listRecords(zone.id), new Set()).owned : new Map();
  if (zone) {
    const perHost = recordChanges(new Map(), await owned(), new Set());
    for (const batch of batches(perHost)) {
      await api.changeRecords(
        zone.id,
        batch,
        `kachiku: Router ${owner.namespace}/${owner.name} deleted`,
      );
      removed += batch.length;
    }
  }
  for (const h of await api.listHealthChecks(prefix)) {
    await api.deleteHealthCheck(h.id);
    removed++;
  }
  const left = (await owned()).size + (await api.listHealthChecks(prefix)).length;
  return { removed, gone: left === 0 };
}

/** The zone's record sets once a batch went through. */
export function applied(records: readonly RecordAtName[], batch: readonly RecordChange[]) {
  const key = (name: string, type: string, id: string | undefined) => `${name}|${type}|${id ?? ''}`;
  const of = (r: RecordSet) => key(r.name, r.type ?? 'A', r.setIdentifier);
  const touched = new Set(batch.map((c) => of(c.record)));
  return [
    ...records.filter((r) => !touched.has(key(r.name, r.type, r.setIdentifier))),
    ...batch
      .filter((c) => c.action === 'UPSERT')
      .map((c): RecordAtName => ({
        name: c.record.name,
        type: c.record.type ?? 'A',
        ...(c.record.setIdentifier !== undefined && { setIdentifier: c.record.setIdentifier }),
        set: c.record,
      })),
  ];
}

function describe(c: RecordChange): string {
  const r = c.record;
  const policy = r.failover ? ` ${r.failover}` : '';
  return `${c.action === 'DELETE' ? 'deleted' : 'wrote'} ${r.type ?? 'A'} ${r.name}${policy} ${(r.values ?? []).join(',')}`;
}

// Route 53 for the mirror's DNS failover and the Router's DNS mode: hosted zones, records
// (weighted, failover or simple; A or TXT) and health checks.
//
// Records cannot carry tags, so kachiku knows its own by SetIdentifier (the mirror) or by a TXT
// ownership record at the name (the Router: a simple record has no SetIdentifier); health checks
// are found by a CallerReference prefix (ListHealthChecks returns it, so no tag read per check is
// needed) and are tagged as well for the humans and tools reading the account.
import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHealthCheckCommand,
  DeleteHealthCheckCommand,
  GetHealthCheckStatusCommand,
  GetHostedZoneCommand,
  ListHealthChecksCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type HealthCheckConfig,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { call, isAwsError } from './errors.js';

type Client = Route53Client;

export interface HostedZone {
  /** Without the "/hostedzone/" prefix. */
  id: string;
  /** Fully qualified, with the trailing dot. */
  name: string;
}

export interface HealthCheckSpec {
  type: 'TCP' | 'HTTP' | 'HTTPS';
  /** One of ipAddress and fqdn. */
  ipAddress?: string;
  fqdn?: string;
  port: number;
  path?: string;
  requestInterval: 10 | 30;
  failureThreshold: number;
}

export interface ObservedHealthCheck extends HealthCheckSpec {
  id: string;
  callerReference: string;
}

export type HealthState = 'Healthy' | 'Unhealthy' | 'Unknown';

/**
 * One A, CNAME or TXT record set (an address, a name, an alias or text), as kachiku writes and
 * reads them: simple (no SetIdentifier), weighted (weight) or failover (failover).
 */
export interface RecordSet {
  /** Fully qualified, with the trailing dot, lower case. */
  name: string;
  /** Default A. A CNAME holds one value, a fully qualified name. */
  type?: 'A' | 'TXT' | 'CNAME';
  setIdentifier?: string;
  weight?: number;
  failover?: 'PRIMARY' | 'SECONDARY';
  /** Value records only; aliases have no TTL. */
  ttl?: number;
  /** TXT values are quoted as Route 53 stores them. */
  values?: string[];
  alias?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
  healthCheckId?: string;
}

/** One weighted A record (the mirror's). */
export type WeightedRecord = RecordSet & { setIdentifier: string; weight: number };

/** Any record set at a name, reduced to what a conflict check needs. */
export interface RecordAtName {
  name: string;
  type: string;
  setIdentifier?: string;
  /** Weighted A records. */
  record?: WeightedRecord;
  /** Every A or TXT record set, whatever its policy. */
  set?: RecordSet;
}

export type RecordChange = { action: 'UPSERT' | 'DELETE'; record: RecordSet };

/** What kachiku's DNS code needs of Route 53: the functions below on one client. */
export interface Route53Api {
  findHostedZone(by: { id?: string; name?: string }): Promise<HostedZone | undefined>;
  listHealthChecks(callerReferencePrefix: string): Promise<ObservedHealthCheck[]>;
  createHealthCheck(
    callerReference: string,
    spec: HealthCheckSpec,
    tags: Record<string, string>,
  ): Promise<string>;
  deleteHealthCheck(id: string): Promise<void>;
  healthCheckState(id: string): Promise<HealthState>;
  recordsAt(zoneId: string, name: string): Promise<RecordAtName[]>;
  /** Every record set of the zone (a page of 300 per call). */
  listRecords(zoneId: string): Promise<RecordAtName[]>;
  changeRecords(zoneId: string, changes: RecordChange[], comment: string): Promise<void>;
}

/** The API on a client, with one change batcher per client (so per account and region). */
export function route53Api(client: Client): Route53Api {
  const batched = changeBatcher((zoneId, changes, comment) =>
    changeRecords(client, zoneId, changes, comment),
  );
  return {
    findHostedZone: (by) => findHostedZone(client, by),
    listHealthChecks: (prefix) => listHealthChecks(client, prefix),
    createHealthCheck: (ref, spec, tags) => createHealthCheck(client, ref, spec, tags),
    deleteHealthCheck: (id) => deleteHealthCheck(client, id),
    healthCheckState: (id) => healthCheckState(client, id),
    recordsAt: (zoneId, name) => recordsAt(client, zoneId, name),
    listRecords: (zoneId) => listRecords(client, zoneId),
    changeRecords: batched,
  };
}

/**
 * A name as Route 53 returns it: lower case, with the trailing dot, and its octal escapes (a
 * wildcard's `*` comes back as `\052`) decoded.
 */
export const fqdn = (name: string): string =>
  (name.endsWith('.') ? name : `${name}.`)
    .replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))
    .toLowerCase();

const stripZonePrefix = (id: string) => id.replace(/^\/hostedzone\//, '');

// ---- zones

/** The zone by id or by name; undefined when there is none. */
export async function findHostedZone(
  r53: Client,
  by: { id?: string; name?: string },
): Promise<HostedZone | undefined> {
  if (by.id) {
    try {
      const out = await call('GetHostedZone', () =>
        r53.send(new GetHostedZoneCommand({ Id: by.id })),
      );
      const z = out.HostedZone!;
      return { id: stripZonePrefix(z.Id!), name: fqdn(z.Name!) };
    } catch (err) {
      if (isAwsError(err, 'NotFound')) return undefined;
      throw err;
    }
  }
  const name = fqdn(by.name ?? '');
  const out = await call('ListHostedZonesByName', () =>
    r53.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 1 })),
  );
  const z = (out.HostedZones ?? []).find((z) => fqdn(z.Name ?? '') === name);
  return z ? { id: stripZonePrefix(z.Id!), name } : undefined;
}

// ---- health checks

/** Every health check whose CallerReference starts with `prefix`. */
export async function listHealthChecks(
  r53: Client,
  prefix: string,
): Promise<ObservedHealthCheck[]> {
  const found: ObservedHealthCheck[] = [];
  let marker: string | undefined;
  do {
    const out = await call('ListHealthChecks', () =>
      r53.send(new ListHealthChecksCommand({ Marker: marker, MaxItems: 1000 })),
    );
    for (const hc of out.HealthChecks ?? []) {
      if (!hc.CallerReference?.startsWith(prefix) || !hc.Id || !hc.HealthCheckConfig) continue;
      found.push({
        id: hc.Id,
        callerReference: hc.CallerReference,
        ...fromConfig(hc.HealthCheckConfig),
      });
    }
    marker = out.IsTruncated ? out.NextMarker : undefined;
  } while (marker);
  return found;
}

/**
 * Creates a health check and tags it. Route 53 answers a repeated CallerReference with the
 * same settings by returning the existing check, so a retry after a crash makes no twin
 * (moto does not: callers look first).
 */
export async function createHealthCheck(
  r53: Client,
  callerReference: string,
  spec: HealthCheckSpec,
  tags: Record<string, string>,
): Promise<string> {
  const out = await call('CreateHealthCheck', () =>
    r53.send(
      new CreateHealthCheckCommand({
        CallerReference: callerReference,
        HealthCheckConfig: toConfig(spec),
      }),
    ),
  );
  const id = out.HealthCheck!.Id!;
  await call('ChangeTagsForResource', () =>
    r53.send(
      new ChangeTagsForResourceCommand({
        ResourceType: 'healthcheck',
        ResourceId: id,
        AddTags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    ),
  );
  return id;
}

/** Deletes a health check; gone already is fine. Records using it must go first. */
export async function deleteHealthCheck(r53: Client, id: string): Promise<void> {
  try {
    await call('DeleteHealthCheck', () =>
      r53.send(new DeleteHealthCheckCommand({ HealthCheckId: id })),
    );
  } catch (err) {
    if (!isAwsError(err, 'NotFound')) throw err;
  }
}

/** Healthy when most of Route 53's checkers last saw success, as Route 53 itself decides. */
export async function healthCheckState(r53: Client, id: string): Promise<HealthState> {
  const out = await call('GetHealthCheckStatus', () =>
    r53.send(new GetHealthCheckStatusCommand({ HealthCheckId: id })),
  );
  const seen = out.HealthCheckObservations ?? [];
  if (seen.length === 0) return 'Unknown';
  const ok = seen.filter((o) => o.StatusReport?.Status?.startsWith('Success')).length;
  return ok * 2 > seen.length ? 'Healthy' : 'Unhealthy';
}

export function sameHealthCheck(a: HealthCheckSpec, b: HealthCheckSpec): boolean {
  return (
    a.type === b.type &&
    (a.ipAddress ?? '') === (b.ipAddress ?? '') &&
    fqdn(a.fqdn ?? '') === fqdn(b.fqdn ?? '') &&
    a.port === b.port &&
    (a.type === 'TCP' || (a.path ?? '/') === (b.path ?? '/')) &&
    a.requestInterval === b.requestInterval &&
    a.failureThreshold === b.failureThreshold
  );
}

function toConfig(s: HealthCheckSpec): HealthCheckConfig {
  return {
    Type: s.type,
    ...(s.ipAddress ? { IPAddress: s.ipAddress } : { FullyQualifiedDomainName: s.fqdn }),
    Port: s.port,
    ...(s.type !== 'TCP' && { ResourcePath: s.path ?? '/' }),
    RequestInterval: s.requestInterval,
    FailureThreshold: s.failureThreshold,
  };
}

function fromConfig(c: HealthCheckConfig): HealthCheckSpec {
  return {
    type: (c.Type ?? 'TCP') as HealthCheckSpec['type'],
    ...(c.IPAddress ? { ipAddress: c.IPAddress } : { fqdn: c.FullyQualifiedDomainName ?? '' }),
    port: c.Port ?? 0,
    ...(c.ResourcePath !== undefined && { path: c.ResourcePath }),
    requestInterval: (c.RequestInterval ?? 30) as 10 | 30,
    failureThreshold: c.FailureThreshold ?? 3,
  };
}

// ---- records

/** Every record set at exactly `name` (all types), read from one page at that name. */
export async function recordsAt(
  r53: Client,
  zoneId: string,
  name: string,
): Promise<RecordAtName[]> {
  const want = fqdn(name);
  const found: RecordAtName[] = [];
  let start: { name?: string; type?: string; id?: string } = { name: want };
  for (;;) {
    const out = await call('ListResourceRecordSets', () =>
      r53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          StartRecordName: start.name,
          ...(start.type && { StartRecordType: start.type as 'A' }),
          ...(start.id && { StartRecordIdentifier: start.id }),
          MaxItems: 300,
        }),
      ),
    );
    const sets = out.ResourceRecordSets ?? [];
    for (const rs of sets) if (fqdn(rs.Name ?? '') === want) found.push(atName(rs));
    // Sorted by name: once past it (or at the end), there is no more of it.
    const last = sets[sets.length - 1];
    if (!out.IsTruncated || !last || fqdn(last.Name ?? '') !== want) return found;
    start = { name: out.NextRecordName, type: out.NextRecordType, id: out.NextRecordIdentifier };
  }
}

/** Every record set of a zone, page by page. */
export async function listRecords(r53: Client, zoneId: string): Promise<RecordAtName[]> {
  const found: RecordAtName[] = [];
  let start: { name?: string; type?: string; id?: string } = {};
  for (;;) {
    const out = await call('ListResourceRecordSets', () =>
      r53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ...(start.name && { StartRecordName: start.name }),
          ...(start.type && { StartRecordType: start.type as 'A' }),
          ...(start.id && { StartRecordIdentifier: start.id }),
          MaxItems: 300,
        }),
      ),
    );
    for (const rs of out.ResourceRecordSets ?? []) found.push(atName(rs));
    if (!out.IsTruncated) return found;
    start = { name: out.NextRecordName, type: out.NextRecordType, id: out.NextRecordIdentifier };
  }
}

function atName(rs: ResourceRecordSet): RecordAtName {
  const set =
    rs.Type === 'A' || rs.Type === 'TXT' || rs.Type === 'CNAME' ? fromRecordSet(rs) : undefined;
  return {
    name: fqdn(rs.Name ?? ''),
    type: rs.Type ?? '',
    ...(rs.SetIdentifier !== undefined && { setIdentifier: rs.SetIdentifier }),
    ...(set &&
      rs.Type === 'A' &&
      set.setIdentifier !== undefined &&
      set.weight !== undefined && { record: set as WeightedRecord }),
    ...(set && { set }),
  };
}

/**
 * Route 53's limits of one ChangeResourceRecordSets: at most 1000 record values (an alias counts
 * one) and 32,000 characters of values, an UPSERT counting twice; and at most 1000 changes.
 */
export const BATCH_LIMITS = { records: 1000, chars: 32_000, changes: 1000 };

/** What one change takes of a batch's limits. */
export function changeSize(c: RecordChange): { records: number; chars: number } {
  const times = c.action === 'UPSERT' ? 2 : 1;
  const values = c.record.values ?? [];
  return {
    records: times * Math.max(1, values.length),
    chars: times * values.reduce((n, v) => n + v.length, 0),
  };
}

/** Whether changes fit in one batch. */
export function fitsOneBatch(changes: readonly RecordChange[]): boolean {
  let records = 0;
  let chars = 0;
  for (const c of changes) {
    const size = changeSize(c);
    records += size.records;
    chars += size.chars;
  }
  return (
    changes.length <= BATCH_LIMITS.changes &&
    records <= BATCH_LIMITS.records &&
    chars <= BATCH_LIMITS.chars
  );
}

/** Applies the changes in one atomic batch (within BATCH_LIMITS). */
export async function changeRecords(
  r53: Client,
  zoneId: string,
  changes: RecordChange[],
  comment: string,
): Promise<void> {
  if (changes.length === 0) return;
  await call('ChangeResourceRecordSets', () =>
    r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Comment: comment,
          Changes: changes.map((c) => ({
            Action: c.action,
            ResourceRecordSet: toRecordSet(c.record),
          })),
        },
      }),
    ),
  );
}

type ChangeFn = (zoneId: string, changes: RecordChange[], comment: string) => Promise<void>;

/**
 * Joins record changes to one zone: changes asked for while an earlier call to that zone is in
 * flight (or waiting for a rate-limit token) go out together in the next call, within Route
 * 53's limits of a batch. Route 53 takes five requests a second per account, so a hundred mirrors
 * failing over at once would otherwise queue for 20 s. A batch is atomic: one Route 53 refuses
 * is sent again caller by caller, so each caller gets its own answer.
 */
export function changeBatcher(send: ChangeFn): ChangeFn {
  interface Pending {
    changes: RecordChange[];
    comment: string;
    resolve: () => void;
    reject: (err: unknown) => void;
  }
  const queues = new Map<string, Pending[]>();
  async function drain(zoneId: string, queue: Pending[]): Promise<void> {
    while (queue.length > 0) {
      const batch: Pending[] = [];
      while (
        queue.length > 0 &&
        (batch.length === 0 || fitsOneBatch([...batch, queue[0]!].flatMap((p) => p.changes)))
      )
        batch.push(queue.shift()!);
      const one = async (p: Pending) => {
        try {
          await send(zoneId, p.changes, p.comment);
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      };
      if (batch.length === 1) {
        await one(batch[0]!);
        continue;
      }
      try {
        await send(
          zoneId,
          batch.flatMap((p) => p.changes),
          `kachiku: ${batch.length} change sets`,
        );
        for (const p of batch) p.resolve();
      } catch {
        for (const p of batch) await one(p);
      }
    }
    queues.delete(zoneId);
  }
  return (zoneId, changes, comment) =>
    new Promise<void>((resolve, reject) => {
      if (changes.length === 0) return resolve();
      let queue = queues.get(zoneId);
      const idle = !queue;
      if (!queue) queues.set(zoneId, (queue = []));
      queue.push({ changes, comment, resolve, reject });
      if (idle) void drain(zoneId, queue);
    });
}

export function sameRecord(a: RecordSet, b: RecordSet): boolean {
  return (
    a.name === b.name &&
    (a.type ?? 'A') === (b.type ?? 'A') &&
    a.setIdentifier === b.setIdentifier &&
    a.weight === b.weight &&
    a.failover === b.failover &&
    (a.alias ? undefined : a.ttl) === (b.alias ? undefined : b.ttl) &&
    [...(a.values ?? [])].sort().join() === [...(b.values ?? [])].sort().join() &&
    (a.healthCheckId ?? '') === (b.healthCheckId ?? '') &&
    Boolean(a.alias) === Boolean(b.alias) &&
    (!a.alias ||
      (a.alias.hostedZoneId === b.alias!.hostedZoneId &&
        fqdn(a.alias.dnsName) === fqdn(b.alias!.dnsName) &&
        a.alias.evaluateTargetHealth === b.alias!.evaluateTargetHealth))
  );
}

function toRecordSet(r: RecordSet): ResourceRecordSet {
  return {
    Name: r.name,
    Type: r.type ?? 'A',
    ...(r.setIdentifier !== undefined && { SetIdentifier: r.setIdentifier }),
    ...(r.weight !== undefined && { Weight: r.weight }),
    ...(r.failover && { Failover: r.failover }),
    ...(r.alias
      ? {
          AliasTarget: {
            HostedZoneId: r.alias.hostedZoneId,
            DNSName: r.alias.dnsName,
            EvaluateTargetHealth: r.alias.evaluateTargetHealth,
          },
        }
      : { TTL: r.ttl, ResourceRecords: (r.values ?? []).map((Value) => ({ Value })) }),
    ...(r.healthCheckId && { HealthCheckId: r.healthCheckId }),
  };
}

function fromRecordSet(rs: ResourceRecordSet): RecordSet {
  return {
    name: fqdn(rs.Name ?? ''),
    ...((rs.Type === 'TXT' || rs.Type === 'CNAME') && { type: rs.Type }),
    ...(rs.SetIdentifier !== undefined && { setIdentifier: rs.SetIdentifier }),
    ...(rs.Weight !== undefined && { weight: Number(rs.Weight) }),
    ...(rs.Failover && { failover: rs.Failover as 'PRIMARY' | 'SECONDARY' }),
    ...(rs.AliasTarget
      ? {
          alias: {
            hostedZoneId: rs.AliasTarget.HostedZoneId ?? '',
            dnsName: fqdn(rs.AliasTarget.DNSName ?? ''),
            evaluateTargetHealth: rs.AliasTarget.EvaluateTargetHealth ?? false,
          },
        }
      : {
          ttl: Number(rs.TTL ?? 0),
          values: (rs.ResourceRecords ?? []).map((v) => v.Value ?? ''),
        }),
    ...(rs.HealthCheckId && { healthCheckId: rs.HealthCheckId }),
  };
}

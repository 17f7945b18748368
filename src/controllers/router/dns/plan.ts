// DNS mode, pure: the routes (routes.ts) against what Route 53 holds → the health checks to
// create, the record changes (in batches that never split one host) and the health checks to
// delete once no record uses them.
//
// Ownership. Route 53 records carry no tags and a simple record has no SetIdentifier, so a host
// is the Router's when a TXT record at `_kachiku.<host>` (`_kachiku-wildcard.<zone part>` for
// `*.<zone part>`) holds its owner value; it is written in the same atomic batch as the host's
// first records and deleted with its last ones, so no crash leaves one without the other. At a
// host it owns, the Router's records are the simple A or CNAME record and the failover pair
// (A or CNAME) whose SetIdentifiers it derives from its own name and the host (moto deletes every
// record of a SetIdentifier whatever its name, so they are unique per host). Any other A, AAAA
// or CNAME record at a wanted host, or another owner's TXT, is a conflict: that host is left
// alone. A host whose Prod moved between an IP and a name changes type in one batch: the old
// records deleted first, then the new (Route 53 allows no CNAME beside other records of a name).
//
// Health checks: one per primary Prod endpoint of a Dual tenant (shared by its tenants; by IP
// address, or by FullyQualifiedDomainName when the Prod answers at a name), found
// again by the CallerReference prefix of the Router and matched by their settings; a new one's
// reference ends with a time, since Route 53 refuses a reference a deleted check once had.
import { createHash } from 'node:crypto';
import type { Route53Router } from '../../../api/router.js';
import {
  BATCH_LIMITS,
  changeSize,
  fqdn,
  sameHealthCheck,
  sameRecord,
  type HealthCheckSpec,
  type ObservedHealthCheck,
  type RecordAtName,
  type RecordChange,
  type RecordSet,
} from '../../../clouds/aws/route53.js';
import type { DnsRoute, Target } from './routes.js';

export const OWNER_TAG = 'kachiku.io/router';
export const MANAGED_BY_TAG = 'kachiku.io/managed-by';

export interface Owner {
  namespace: string;
  name: string;
}

const hash = (v: unknown, n: number) =>
  createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, n);

/** The TXT value that marks a host as the Router's (a TXT string holds 255 characters). */
export const ownerValue = (o: Owner) => {
  const name = `${o.namespace}/${o.name}`;
  return `"kachiku router ${name.length <= 200 ? name : hash(name, 32)}"`;
};

/** Where a host's ownership record is. */
export const ownerName = (host: string): string => {
  const h = fqdn(host);
  return h.startsWith('*.') ? `_kachiku-wildcard.${h.slice(2)}` : `_kachiku.${h}`;
};

/** The host an ownership record name stands for, or undefined. */
export function hostOfOwnerName(name: string): string | undefined {
  const n = fqdn(name);
  if (n.startsWith('_kachiku-wildcard.')) return `*.${n.slice('_kachiku-wildcard.'.length)}`;
  if (n.startsWith('_kachiku.')) return n.slice('_kachiku.'.length);
  return undefined;
}

export const setIdentifier = (o: Owner, host: string, role: 'primary' | 'secondary') =>
  `kachiku-${role}-${hash([o.namespace, o.name, fqdn(host)], 12)}`;

/** The prefix of the CallerReference of every health check of the Router. */
export const callerPrefix = (o: Owner) => `kr:${hash([o.namespace, o.name], 16)}:`;

/** A new check's reference: the Router's prefix, its settings, and a time (never reused). */
export const callerReference = (o: Owner, spec: HealthCheckSpec, nowMs: number) =>
  `${callerPrefix(o)}${hash(spec, 8)}:${nowMs.toString(36)}`;

export interface WantedHealthCheck {
  /** The Prod endpoint it probes, `ip:port` or `name:port` (the record's, not the check's port). */
  key: string;
  prod: string;
  spec: HealthCheckSpec;
  tags: Record<string, string>;
}

/** The health check of a Prod's endpoint, as spec.route53.healthCheck says. */
export function healthCheckOf(
  settings: Route53Router['healthCheck'],
  address: string,
  port: number,
  kind: Target['kind'] = 'ip',
): HealthCheckSpec {
  const type = settings?.type ?? 'TCP';
  return {
    type,
    ...(kind === 'ip' ? { ipAddress: address } : { fqdn: address }),
    port: settings?.port ?? port,
    ...(type !== 'TCP' && { path: settings?.path ?? '/' }),
    requestInterval: (settings?.interval ?? 30) as 10 | 30,
    failureThreshold: settings?.failureThreshold ?? 3,
  };
}

/** The health checks the routes need: the first address of each Dual tenant's primary. */
export function wantedHealthChecks(
  owner: Owner,
  routes: readonly DnsRoute[],
  settings: Route53Router['healthCheck'],
): WantedHealthCheck[] {
  const out = new Map<string, WantedHealthCheck>();
  for (const r of routes) {
    if (r.targets.length < 2) continue;
    const p = r.targets[0];
    const spec = healthCheckOf(settings, p.addresses[0]!, p.port, p.kind);
    const key = checkKey(p);
    if (!out.has(key))
      out.set(key, {
        key,
        prod: p.prod,
        spec,
        tags: {
          Name: `${owner.namespace}/${owner.name} ${p.prod} ${key}`,
          [OWNER_TAG]: `${owner.namespace}/${owner.name}`,
          [MANAGED_BY_TAG]: 'kachiku',
        },
      });
  }
  return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** The key of a primary target's health check (as recordsOf looks it up). */
const checkKey = (t: Target) => `${t.addresses[0]}:${t.port}`;

/** Which observed health check serves each wanted one (same settings), and which are spare. */
export function matchHealthChecks(
  wanted: readonly WantedHealthCheck[],
  observed: readonly ObservedHealthCheck[],
): { ids: Map<string, string>; create: WantedHealthCheck[]; spare: string[] } {
  const ids = new Map<string, string>();
  const free = [...observed].sort((a, b) => (a.id < b.id ? -1 : 1));
  const create: WantedHealthCheck[] = [];
  for (const w of wanted) {
    const i = free.findIndex((h) => sameHealthCheck(h, w.spec));
    if (i < 0) create.push(w);
    else ids.set(w.key, free.splice(i, 1)[0]!.id);
  }
  return { ids, create, spare: free.map((h) => h.id) };
}

/** The records of one route; `checkId` gives the health check of a primary endpoint. */
export function recordsOf(
  owner: Owner,
  route: DnsRoute,
  checkId: (key: string) => string | undefined,
): RecordSet[] {
  const owned: RecordSet = {
    name: ownerName(route.host),
    type: 'TXT',
    ttl: 300,
    values: [ownerValue(owner)],
  };
  const [p, s] = route.targets;
  // routes.ts pairs only targets of one kind.
  const type = p.kind === 'name' ? { type: 'CNAME' as const } : {};
  if (!s) return [{ name: route.host, ...type, ttl: route.ttl, values: p.addresses }, owned];
  const id = checkId(checkKey(p));
  return [
    {
      name: route.host,
      ...type,
      setIdentifier: setIdentifier(owner, route.host, 'primary'),
      failover: 'PRIMARY',
      ttl: route.ttl,
      values: p.addresses,
      ...(id && { healthCheckId: id }),
    },
    {
      name: route.host,
      ...type,
      setIdentifier: setIdentifier(owner, route.host, 'secondary'),
      failover: 'SECONDARY',
      ttl: route.ttl,
      values: s.addresses,
    },
    owned,
  ];
}

export interface ZoneView {
  /** Hosts the Router owns, with its records there (ownership TXT included). */
  owned: Map<string, RecordSet[]>;
  /** Wanted hosts where records kachiku does not own stand, with what they are. */
  conflicts: Map<string, string>;
}

/** What of the zone is the Router's, and where others' records stand in its way. */
export function viewZone(
  owner: Owner,
  records: readonly RecordAtName[],
  wantedHosts: ReadonlySet<string>,
): ZoneView {
  const at = new Map<string, RecordAtName[]>();
  for (const r of records) at.set(r.name, [...(at.get(r.name) ?? []), r]);
  const owned = new Map<string, RecordSet[]>();
  const conflicts = new Map<string, string>();
  const value = ownerValue(owner);
  const hosts = new Set(wantedHosts);
  for (const r of records) {
    const h = r.type === 'TXT' ? hostOfOwnerName(r.name) : undefined;
    if (h && r.set?.values?.includes(value)) hosts.add(h);
  }
  for (const host of hosts) {
    const txt = (at.get(ownerName(host)) ?? []).find((r) => r.type === 'TXT');
    const ours = new Set(
      (['primary', 'secondary'] as const).map((role) => setIdentifier(owner, host, role)),
    );
    const isOwned = Boolean(txt?.set?.values?.includes(value));
    const mine: RecordSet[] = isOwned ? [txt!.set!] : [];
    const foreign: string[] = [];
    if (txt && !isOwned) foreign.push(`TXT ${ownerName(host)} ${txt.set?.values?.join(' ')}`);
    for (const r of at.get(host) ?? []) {
      if (!['A', 'AAAA', 'CNAME'].includes(r.type)) continue;
      const kind = r.type === 'A' || r.type === 'CNAME';
      const oursById = kind && r.setIdentifier !== undefined && ours.has(r.setIdentifier);
      const oursSimple = kind && r.setIdentifier === undefined && isOwned;
      if (r.set && (oursById || oursSimple)) mine.push(r.set);
      else foreign.push(`${r.type}${r.setIdentifier ? ` (SetIdentifier ${r.setIdentifier})` : ''}`);
    }
    if (foreign.length && wantedHosts.has(host)) conflicts.set(host, foreign.join(', '));
    else if (mine.length) owned.set(host, mine);
  }
  return { owned, conflicts };
}

/**
 * The changes that bring the owned records to the wanted ones, per host: deletions first (a
 * simple record gives way to a failover pair in the same atomic batch), then upserts. Hosts in
 * `keep` (unrouted now: no address, not placed) are left as they are.
 */
export function recordChanges(
  wanted: ReadonlyMap<string, RecordSet[]>,
  owned: ReadonlyMap<string, RecordSet[]>,
  keep: ReadonlySet<string>,
): RecordChange[][] {
  const key = (r: RecordSet) => `${r.name}|${r.type ?? 'A'}|${r.setIdentifier ?? ''}`;
  const perHost: RecordChange[][] = [];
  const hosts = [...new Set([...wanted.keys(), ...owned.keys()])].sort();
  for (const host of hosts) {
    if (!wanted.has(host) && keep.has(host)) continue;
    const want = wanted.get(host) ?? [];
    const have = new Map((owned.get(host) ?? []).map((r) => [key(r), r]));
    const wantKeys = new Set(want.map(key));
    // A simple record and a failover pair, or an A and a CNAME, differ in key: the old are
    // deleted before the new are written, in one batch.
    const changes: RecordChange[] = [
      ...[...have.values()]
        .filter((r) => !wantKeys.has(key(r)))
        .map((record) => ({ action: 'DELETE' as const, record })),
      ...want
        .filter((r) => !have.has(key(r)) || !sameRecord(have.get(key(r))!, r))
        .map((record) => ({ action: 'UPSERT' as const, record })),
    ];
    if (changes.length) perHost.push(changes);
  }
  return perHost;
}

/** Batches within Route 53's limits, a host's changes never split. */
export function batches(perHost: readonly RecordChange[][]): RecordChange[][] {
  const out: RecordChange[][] = [];
  let current: RecordChange[] = [];
  let used = { records: 0, chars: 0 };
  for (const h of perHost) {
    const size = h
      .map(changeSize)
      .reduce((a, b) => ({ records: a.records + b.records, chars: a.chars + b.chars }), {
        records: 0,
        chars: 0,
      });
    const fits =
      current.length + h.length <= BATCH_LIMITS.changes &&
      used.records + size.records <= BATCH_LIMITS.records &&
      used.chars + size.chars <= BATCH_LIMITS.chars;
    if (current.length && !fits) {
      out.push(current);
      current = [];
      used = { records: 0, chars: 0 };
    }
    current.push(...h);
    used = { records: used.records + size.records, chars: used.chars + size.chars };
  }
  if (current.length) out.push(current);
  return out;
}

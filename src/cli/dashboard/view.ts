// The dashboard's view logic: the objects the server's informers hold → the view models the page
// renders (the page itself only draws them). Pure: no I/O, the clock passed in. The page imports
// the types and searchTenants(); the server computes everything else and pushes it.
import type { Fleet } from '../../api/fleet.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Release } from '../../api/release.js';
import type { Router } from '../../api/router.js';
import type { Tenant } from '../../api/tenant.js';

/** What the server's informers hold, and when it was read. */
export interface State {
  fleets: readonly Fleet[];
  prods: readonly Prod[];
  tenants: readonly Tenant[];
  clusters: readonly MemberCluster[];
  releases: readonly Release[];
  routers: readonly Router[];
  mirrors: readonly LoadBalancerMirror[];
  now: number;
}

export interface ProdView {
  namespace: string;
  name: string;
  fleet: string;
  role: string;
  phase: string;
  /** status.version (running and warmed up), else spec.version. */
  version: string;
  /** spec.version when it differs from the running one (being updated). */
  updatingTo?: string;
  /** Index of the version in MapView.versions: its colour. */
  versionIndex: number;
  /** Tenant copies it serves (primary or secondary), from the Tenants' statuses. */
  tenants: number;
  used?: number;
  capacity?: number;
  /** used / capacity in percent, when both are known. */
  fill?: number;
  held: boolean;
  avoided: boolean;
  retiring: boolean;
}

export interface ClusterView {
  name: string;
  provider: string;
  region?: string;
  /** Ready condition: true, false or unknown (no MemberCluster: a Prod names a cluster not known). */
  ready: 'True' | 'False' | 'Unknown';
  cordoned: boolean;
  draining: boolean;
  /** Per Fleet with a drain of this cluster in its status: `<ns>/<fleet>: <phase> (<left> left)`. */
  drains: string[];
  prods: ProdView[];
}

export interface DomainView {
  name: string;
  clusters: ClusterView[];
}

export interface FleetSummary {
  namespace: string;
  name: string;
  app: string;
  version: string;
  readyProds: number;
  desiredProds?: number;
  tenants: { total: number; placed: number; unplaced: number; exposed: number };
  fill?: number;
  release?: string;
}

export interface MapView {
  domains: DomainView[];
  fleets: FleetSummary[];
  /** Every version a Prod runs or is going to, sorted (semver-ish, then as text). */
  versions: string[];
}

export interface WaveView {
  index: number;
  step: string;
  state: string;
  current: boolean;
  startTime?: string;
  endTime?: string;
  prods: { name: string; reason: string; tenants: number; state: string; message?: string }[];
  gates: { gate: string; result: string; alerts: string[]; message?: string }[];
}

export interface ReleaseView {
  namespace: string;
  name: string;
  fleet: string;
  version: string;
  fromVersion?: string;
  phase: string;
  message?: string;
  paused: boolean;
  aborted: boolean;
  active: boolean;
  currentWave?: number;
  startTime?: string;
  /** Seconds from start to completion (or to now). */
  elapsed?: number;
  waves: WaveView[];
  /** The alerts of failed gates: what stopped it. */
  stoppedBy: string[];
  rollback?: { reason: string; tenantsMoved?: number; routed: boolean };
  can: { pause: boolean; resume: boolean; abort: boolean };
}

export interface PlacementEntry {
  time: string;
  primary?: string;
  secondary?: string;
}

export interface TenantView {
  namespace: string;
  name: string;
  fleet: string;
  hosts: string[];
  redundancy: string;
  test: boolean;
  primary?: string;
  secondary?: string;
  placed: string;
  placedMessage?: string;
  placedSince?: string;
  /** Placements the server saw since it started, oldest first. */
  history: PlacementEntry[];
}

export interface MirrorView {
  namespace: string;
  name: string;
  ready: string;
  readyMessage?: string;
  octavia: { loadBalancerID: string; address?: string; members?: number };
  nlb?: { dnsName: string; targets?: number };
  listeners: {
    port: number;
    protocol: string;
    octaviaListenerID: string;
    targets?: number;
  }[];
  dns?: {
    failoverMode: string;
    records: { name: string; side: string; weight: number }[];
    health: { side: string; state: string }[];
    servingSide?: string;
    servingSince?: string;
    lastFailover?: { time: string; from: string; to: string; reason: string };
  };
  lastSyncTime?: string;
}

export interface RouterView {
  namespace: string;
  name: string;
  ready: string;
  hosts?: number;
  prods?: number;
  unrouted: string[];
}

export interface Model {
  generatedAt: string;
  /** Namespace watched, or undefined for all. */
  namespace?: string;
  map: MapView;
  releases: ReleaseView[];
  tenants: TenantView[];
  mirrors: MirrorView[];
  routers: RouterView[];
  /** Kinds whose informer is not synced yet or failing, with why. */
  syncing: string[];
}

type Cond = { type: string; status: string; reason?: string; message?: string };
const condition = (o: { status?: { conditions?: unknown } }, type: string): Cond | undefined =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const ns = (o: { metadata: { namespace?: string } }) => o.metadata.namespace ?? '';
const byName = <T extends { name: string }>(a: T, b: T) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
const FLEET_LABEL = 'kachiku.io/fleet';
const HOLD = 'kachiku.io/hold';
const AVOID = 'kachiku.io/avoid';

/** Versions in order: numeric parts compared as numbers, so 1.10.0 comes after 1.9.0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Tenant copies per Prod (`ns/prod`), from the Tenants' statuses. */
function copiesPerProd(tenants: readonly Tenant[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const t of tenants)
    for (const p of [t.status?.prods?.primary, t.status?.prods?.secondary])
      if (p) n.set(`${ns(t)}/${p}`, (n.get(`${ns(t)}/${p}`) ?? 0) + 1);
  return n;
}

export function fleetMap(state: State): MapView {
  const versions = new Set<string>();
  for (const p of state.prods) {
    versions.add(p.status?.version ?? p.spec.version);
    versions.add(p.spec.version);
  }
  const sorted = [...versions].sort(compareVersions);
  const copies = copiesPerProd(state.tenants);
  const fleetProd = new Map<string, { used?: number; capacity?: number; domain?: string }>();
  for (const f of state.fleets)
    for (const p of f.status?.prods ?? []) fleetProd.set(`${ns(f)}/${p.name}`, p);

  const clusters = new Map<string, ClusterView & { domain: string }>();
  for (const c of state.clusters) {
    const ready = condition(c, 'Ready')?.status;
    clusters.set(c.metadata.name, {
      name: c.metadata.name,
      domain: c.spec.failureDomain,
      provider: c.spec.provider,
      region: c.spec.region,
      ready: ready === 'True' || ready === 'False' ? ready : 'Unknown',
      cordoned: Boolean(c.spec.cordoned || c.spec.drain),
      draining: Boolean(c.spec.drain),
      drains: [],
      prods: [],
    });
  }
  for (const f of state.fleets)
    for (const d of f.status?.drains ?? []) {
      const c = clusters.get(d.cluster);
      if (c)
        c.drains.push(
          `${ns(f)}/${f.metadata.name}: ${d.phase}${d.tenantsLeft !== undefined ? ` (${d.tenantsLeft} left)` : ''}`,
        );
    }
  for (const p of state.prods) {
    const key = `${ns(p)}/${p.metadata.name}`;
    const fp = fleetProd.get(key);
    const clusterName = p.spec.cluster || p.status?.cluster || '';
    let c = clusters.get(clusterName);
    if (!c) {
      c = {
        name: clusterName || '(not scheduled)',
        domain: fp?.domain ?? '?',
        provider: '?',
        ready: 'Unknown',
        cordoned: false,
        draining: false,
        drains: [],
        prods: [],
      };
      clusters.set(clusterName, c);
    }
    const version = p.status?.version ?? p.spec.version;
    const fill =
      fp?.used !== undefined && fp.capacity ? Math.round((100 * fp.used) / fp.capacity) : undefined;
    c.prods.push({
      namespace: ns(p),
      name: p.metadata.name,
      fleet: p.metadata.labels?.[FLEET_LABEL] ?? '',
      role: p.spec.role ?? 'standard',
      phase: p.status?.phase ?? 'Pending',
      version,
      updatingTo: p.spec.version !== version ? p.spec.version : undefined,
      versionIndex: sorted.indexOf(version),
      tenants: copies.get(key) ?? 0,
      used: fp?.used,
      capacity: fp?.capacity,
      fill,
      held: p.metadata.annotations?.[HOLD] !== undefined,
      avoided: p.metadata.annotations?.[AVOID] !== undefined,
      retiring: Boolean(p.spec.retired || p.metadata.deletionTimestamp),
    });
  }
  const domains = new Map<string, ClusterView[]>();
  for (const { domain, ...c } of clusters.values()) {
    c.prods.sort((a, b) => byName(a, b) || (a.namespace < b.namespace ? -1 : 1));
    c.drains.sort();
    domains.set(domain, [...(domains.get(domain) ?? []), c]);
  }
  return {
    domains: [...domains].map(([name, cs]) => ({ name, clusters: cs.sort(byName) })).sort(byName),
    fleets: state.fleets
      .map((f) => ({
        namespace: ns(f),
        name: f.metadata.name,
        app: f.spec.app,
        version: f.spec.version,
        readyProds: f.status?.readyProds ?? 0,
        desiredProds: f.status?.desiredProds,
        tenants: {
          total: f.status?.tenants?.total ?? 0,
          placed: f.status?.tenants?.placed ?? 0,
          unplaced: f.status?.tenants?.unplaced ?? 0,
          exposed: f.status?.tenants?.exposed ?? 0,
        },
        fill: f.status?.fill?.percent,
        release: f.status?.release,
      }))
      .sort((a, b) => byName(a, b) || (a.namespace < b.namespace ? -1 : 1)),
    versions: sorted,
  };
}

const ENDED = new Set(['Succeeded', 'Failed', 'RolledBack', 'Aborted', 'Superseded']);

export function releaseView(r: Release, now: number): ReleaseView {
  const s = r.status ?? {};
  const phase = s.phase ?? 'Pending';
  const active = !ENDED.has(phase);
  const prodState = new Map((s.prods ?? []).map((p) => [p.name, p]));
  const gates = s.gates ?? [];
  const start = s.startTime ? Date.parse(s.startTime) : undefined;
  const end = s.completionTime ? Date.parse(s.completionTime) : now;
  const stoppedBy = [
    ...new Set(gates.filter((g) => g.result === 'Failed').flatMap((g) => g.alerts ?? [])),
  ].sort();
  const paused = Boolean(r.spec.paused);
  const aborted = Boolean(r.spec.aborted);
  return {
    namespace: ns(r),
    name: r.metadata.name,
    fleet: r.spec.fleet,
    version: r.spec.version,
    fromVersion: s.fromVersion,
    phase,
    message: s.message,
    paused,
    aborted,
    active,
    currentWave: s.currentWave,
    startTime: s.startTime,
    elapsed: start !== undefined ? Math.max(0, Math.round((end - start) / 1000)) : undefined,
    waves: (s.waves ?? []).map((w, index) => ({
      index,
      step: w.step,
      state: w.state,
      current: active && s.currentWave === index,
      startTime: w.startTime,
      endTime: w.endTime,
      prods: w.prods.map((p) => ({
        name: p.name,
        reason: p.reason,
        tenants: p.tenants,
        state: prodState.get(p.name)?.state ?? 'Pending',
        message: prodState.get(p.name)?.message,
      })),
      gates: gates
        .filter((g) => g.wave === index)
        .map((g) => ({
          gate: g.gate,
          result: g.result,
          alerts: g.alerts ?? [],
          message: g.message,
        })),
    })),
    stoppedBy,
    rollback: s.rollback
      ? {
          reason: s.rollback.reason,
          tenantsMoved: s.rollback.tenantsMoved,
          routed: s.rollback.routedTime !== undefined,
        }
      : undefined,
    can: {
      pause: active && !paused && !aborted,
      resume: active && paused && !aborted,
      abort: active && !aborted,
    },
  };
}

/** Releases in progress first, then the newest. */
export function releasesView(state: State): ReleaseView[] {
  return state.releases
    .map((r) => releaseView(r, state.now))
    .sort(
      (a, b) =>
        Number(b.active) - Number(a.active) ||
        (b.startTime ?? '').localeCompare(a.startTime ?? '') ||
        a.name.localeCompare(b.name),
    );
}

/** The history after seeing `tenant` at `now`: an entry added when its Prods changed. */
export function nextHistory(
  history: readonly PlacementEntry[],
  tenant: Tenant,
  now: number,
  max = 50,
): PlacementEntry[] {
  const primary = tenant.status?.prods?.primary;
  const secondary = tenant.status?.prods?.secondary;
  const last = history[history.length - 1];
  if (last && last.primary === primary && last.secondary === secondary) return [...history];
  if (!last && !primary && !secondary) return [];
  return [...history, { time: new Date(now).toISOString(), primary, secondary }].slice(-max);
}

export function tenantsView(
  state: State,
  history: ReadonlyMap<string, readonly PlacementEntry[]>,
): TenantView[] {
  return state.tenants
    .map((t) => {
      const placed = condition(t, 'Placed');
      return {
        namespace: ns(t),
        name: t.metadata.name,
        fleet: t.spec.fleet,
        hosts: [...(t.spec.hosts ?? [])],
        redundancy: t.spec.redundancy ?? 'Single',
        test: Boolean(t.spec.test),
        primary: t.status?.prods?.primary,
        secondary: t.status?.prods?.secondary,
        placed: placed?.status ?? 'Unknown',
        placedMessage: placed?.status === 'True' ? undefined : placed?.message,
        placedSince: t.status?.placedSince,
        history: [...(history.get(`${ns(t)}/${t.metadata.name}`) ?? [])],
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Does `host` match the tenant's host `pattern` (exact, or `*.` one label or more deep)? */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  return (
    pattern.startsWith('*.') && host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
  );
}

/**
 * The tenants a search finds: those a host is routed to (exact host first, then wildcards), or
 * else those whose name or a host contains the text. Empty query: all.
 */
export function searchTenants(tenants: readonly TenantView[], query: string): TenantView[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...tenants];
  const exact = tenants.filter((t) => t.hosts.includes(q));
  if (exact.length) return exact;
  const wild = tenants.filter((t) => t.hosts.some((h) => hostMatches(h, q)));
  if (wild.length) return wild;
  return tenants.filter((t) => t.name.includes(q) || t.hosts.some((h) => h.includes(q)));
}

export function mirrorsView(state: State): MirrorView[] {
  return state.mirrors
    .map((m) => {
      const s = m.status ?? {};
      const ready = condition(m, 'Ready');
      const dns = m.spec.dns;
      return {
        namespace: ns(m),
        name: m.metadata.name,
        ready: ready?.status ?? 'Unknown',
        readyMessage: ready?.status === 'True' ? undefined : ready?.message,
        octavia: {
          loadBalancerID: m.spec.octavia.loadBalancerID,
          address: s.dns?.octaviaAddress,
          members: s.membersSeen,
        },
        nlb: s.loadBalancer
          ? { dnsName: s.loadBalancer.dnsName, targets: s.targetsRegistered }
          : undefined,
        listeners: (s.listeners ?? []).map((l) => ({
          port: l.port,
          protocol: l.protocol,
          octaviaListenerID: l.octaviaListenerID,
          targets: l.targets,
        })),
        dns: dns
          ? {
              failoverMode: dns.failoverMode ?? 'route53',
              records: (s.dns?.records ?? []).map((r) => ({
                name: r.name,
                side: r.side,
                weight: r.weight,
              })),
              health: (s.dns?.healthChecks ?? []).map((h) => ({ side: h.side, state: h.state })),
              servingSide: s.dns?.servingSide,
              servingSince: s.dns?.servingSince,
              lastFailover: s.dns?.lastFailover,
            }
          : undefined,
        lastSyncTime: s.lastSyncTime,
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function routersView(state: State): RouterView[] {
  return state.routers
    .map((r) => ({
      namespace: ns(r),
      name: r.metadata.name,
      ready: condition(r, 'Ready')?.status ?? 'Unknown',
      hosts: r.status?.table?.hosts,
      prods: r.status?.table?.prods,
      unrouted: [...(r.status?.table?.unrouted ?? [])],
    }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function model(
  state: State,
  history: ReadonlyMap<string, readonly PlacementEntry[]>,
  extra: { namespace?: string; syncing: string[] },
): Model {
  return {
    generatedAt: new Date(state.now).toISOString(),
    namespace: extra.namespace,
    map: fleetMap(state),
    releases: releasesView(state),
    tenants: tenantsView(state, history),
    mirrors: mirrorsView(state),
    routers: routersView(state),
    syncing: extra.syncing,
  };
}

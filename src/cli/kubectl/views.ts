// The views of `kubectl kachiku get`: objects in, lines out. Pure (the time and the colours are
// arguments), so that each view is tested case by case; the commands only read and print.
import type { Fleet } from '../../api/fleet.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Release } from '../../api/release.js';
import type { Router } from '../../api/router.js';
import type { Tenant } from '../../api/tenant.js';
import type { Condition } from '../../api/conditions.js';
import { age, since, status, table, type Colours } from './output.js';

export interface ViewOptions {
  now: number;
  colours: Colours;
  /** -o wide: more columns. */
  wide?: boolean;
}

interface Node {
  cells: string[];
  children?: Node[];
}

/** A tree as table rows: the first cell of each row prefixed with its branch (├── └── │). */
export function treeRows(root: Node, dim: (s: string) => string = (s) => s): string[][] {
  const rows: string[][] = [];
  const walk = (n: Node, indent: string, branch: string) => {
    const [name = '', ...rest] = n.cells;
    rows.push([dim(indent + branch) + name, ...rest]);
    const kids = n.children ?? [];
    const next = branch === '' ? '' : indent + (branch.startsWith('└') ? '   ' : '│  ');
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1 ? '└──' : '├──'));
  };
  walk(root, '', '');
  return rows;
}

const cond = (conditions: readonly Condition[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

/** "True (Reason: message)" for a condition, "" without it. */
function condLine(c: Colours, x: Condition | undefined): string {
  if (!x) return '';
  return `${status(c, x.status)} (${x.reason}${x.message ? `: ${x.message}` : ''})`;
}

/** "Key:  value" lines, aligned; lines with an empty value are left out. */
function fields(pairs: [string, string | undefined][]): string[] {
  const shown = pairs.filter((p): p is [string, string] => Boolean(p[1]));
  const w = Math.max(...shown.map(([k]) => k.length)) + 3;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(w)}${v}`);
}

const ns = (o: { metadata: { namespace?: string } }) => o.metadata.namespace ?? '';

/** A MemberCluster's state as a Fleet sees it. */
export function clusterState(mc: MemberCluster | undefined): string {
  if (!mc) return 'Unknown';
  if (mc.spec.drain) return 'Draining';
  if (mc.spec.cordoned) return 'Cordoned';
  const ready = cond(mc.status?.conditions, 'Ready');
  return ready?.status === 'True' ? 'Ready' : 'NotReady';
}

/**
 * `get fleet NAME`: the header, then the tree failure domains → clusters → Prods (phase,
 * version, tenant copies, fill) from the Fleet's status; clusters' states from the MemberClusters.
 */
export function fleetView(
  fleet: Fleet,
  clusters: readonly MemberCluster[],
  o: ViewOptions,
): string[] {
  const c = o.colours;
  const s = fleet.status ?? {};
  const prods = [...(s.prods ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  const t = s.tenants;
  const domainFill = new Map((s.fill?.domains ?? []).map((d) => [d.domain, d]));
  const drains = (s.drains ?? []).map(
    (d) =>
      `${d.cluster}: ${d.phase}${d.tenantsLeft !== undefined ? `, ${d.tenantsLeft} tenants left` : ''}`,
  );
  const head = fields([
    ['Name', fleet.metadata.name],
    ['Namespace', ns(fleet)],
    ['App', fleet.spec.app],
    ['Version', fleet.spec.version],
    ['Prods', `${s.readyProds ?? 0} ready, ${s.desiredProds ?? '?'} desired`],
    [
      'Tenants',
      t
        ? `${t.placed} placed, ${t.unplaced} unplaced${t.exposed ? `, ${t.exposed} Dual exposed` : ''}`
        : undefined,
    ],
    ['Fill', s.fill ? `${s.fill.percent}%` : undefined],
    ['Release', s.release],
    ['Drains', drains.join('; ')],
    ['Ready', condLine(c, cond(s.conditions, 'Ready'))],
  ]);

  const byName = new Map(clusters.map((m) => [m.metadata.name, m]));
  const domains = new Map<string, Map<string, typeof prods>>();
  for (const p of prods) {
    const d = p.domain ?? '(none)';
    const cl = p.cluster ?? '(unscheduled)';
    if (!domains.has(d)) domains.set(d, new Map());
    const m = domains.get(d)!;
    m.set(cl, [...(m.get(cl) ?? []), p]);
  }
  // A drained cluster whose Prods were retired still shows, under its domain, as Draining.
  for (const d of s.drains ?? []) {
    if (prods.some((p) => p.cluster === d.cluster)) continue;
    const domain = byName.get(d.cluster)?.spec.failureDomain ?? '(none)';
    if (!domains.has(domain)) domains.set(domain, new Map());
    domains.get(domain)!.set(d.cluster, []);
  }
  const sum = (xs: typeof prods, f: (p: (typeof prods)[number]) => number | undefined) =>
    xs.reduce((n, p) => n + (f(p) ?? 0), 0);
  const wide = (...cells: string[]) => (o.wide ? cells : []);
  const root: Node = {
    cells: [
      c.bold(fleet.metadata.name),
      'Fleet',
      status(c, cond(s.conditions, 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'),
      fleet.spec.version,
      String(t?.placed ?? sum(prods, (p) => p.tenants)),
      s.fill ? `${s.fill.percent}%` : '',
      ...wide('', ''),
    ],
    children: [...domains.keys()].sort().map((d) => {
      const cls = domains.get(d)!;
      const all = [...cls.values()].flat();
      const df = domainFill.get(d);
      return {
        cells: [
          `domain ${d}`,
          'Domain',
          '',
          '',
          String(sum(all, (p) => p.tenants)),
          df ? `${df.used}/${df.capacity}` : '',
          ...wide('', ''),
        ],
        children: [...cls.keys()].sort().map((cl) => ({
          cells: [
            cl,
            'Cluster',
            status(c, clusterState(byName.get(cl))),
            '',
            String(sum(cls.get(cl)!, (p) => p.tenants)),
            '',
            ...wide(byName.get(cl)?.spec.provider ?? '', ''),
          ],
          children: cls.get(cl)!.map((p) => ({
            cells: [
              p.name,
              'Prod',
              status(c, p.phase ?? 'Pending'),
              p.version ?? '',
              String(p.tenants ?? 0),
              p.capacity !== undefined ? `${p.used ?? 0}/${p.capacity}` : '',
              ...wide(p.role ?? '', p.state ?? ''),
            ],
          })),
        })),
      };
    }),
  };
  const header = ['NAME', 'KIND', 'STATUS', 'VERSION', 'TENANTS', 'FILL', ...wide('ROLE', 'STATE')];
  return [...head, '', ...table([header, ...treeRows(root, c.dim)])];
}

/** `get release NAME`: the header, then waves → Prods and gates (alert names), with elapsed times. */
export function releaseView(r: Release, o: ViewOptions): string[] {
  const c = o.colours;
  const s = r.status ?? {};
  const st = r.spec.strategy ?? {};
  const start = s.startTime ? Date.parse(s.startTime) : NaN;
  const end = s.completionTime ? Date.parse(s.completionTime) : o.now;
  const requested = [
    r.spec.paused ? 'pause requested' : '',
    r.spec.aborted ? 'abort requested' : '',
  ]
    .filter(Boolean)
    .join(', ');
  const waves = s.waves ?? [];
  const head = fields([
    ['Name', r.metadata.name],
    ['Namespace', ns(r)],
    ['Fleet', r.spec.fleet],
    ['Version', `${s.fromVersion ? `${s.fromVersion} → ` : ''}${r.spec.version}`],
    ['Phase', `${status(c, s.phase ?? 'Pending')}${requested ? ` (${requested})` : ''}`],
    ['Message', s.message],
    [
      'Wave',
      waves.length && s.currentWave !== undefined
        ? `${Math.min(s.currentWave + 1, waves.length)} of ${waves.length}`
        : undefined,
    ],
    ['Started', s.startTime],
    ['Elapsed', Number.isNaN(start) ? undefined : age(end - start)],
    [
      'Strategy',
      [
        `bake ${st.bakeTime ?? '1m'}`,
        `on failure ${st.onFailure ?? 'Rollback'}`,
        `gates: ${st.gates?.length ? st.gates.map((g) => g.name).join(', ') : 'none'}`,
      ].join(', '),
    ],
    [
      'Rollback',
      s.rollback
        ? `${s.rollback.reason}, ${s.rollback.tenantsMoved ?? 0} tenants moved${
            s.rollback.routedTime
              ? `, routed in ${age(Date.parse(s.rollback.routedTime) - Date.parse(s.rollback.startTime))}`
              : ''
          }`
        : undefined,
    ],
  ]);
  const prodState = new Map((s.prods ?? []).map((p) => [p.name, p]));
  const gates = s.gates ?? [];
  const elapsed = (from?: string, to?: string) =>
    from ? age((to ? Date.parse(to) : o.now) - Date.parse(from)) : '';
  const root: Node = {
    cells: [
      c.bold(r.metadata.name),
      'Release',
      status(c, s.phase ?? 'Pending'),
      '',
      elapsed(s.startTime, s.completionTime),
      '',
    ],
    children: waves.map((w, i) => ({
      cells: [
        `wave ${i} (${w.step})${i === s.currentWave && !s.completionTime ? ' ◀' : ''}`,
        'Wave',
        status(c, w.state),
        String(w.prods.reduce((n, p) => n + p.tenants, 0)),
        elapsed(w.startTime, w.endTime),
        w.bakeStart && !w.endTime ? `baking ${since(w.bakeStart, o.now)}` : '',
      ],
      children: [
        ...w.prods.map((p) => {
          const e = prodState.get(p.name);
          return {
            cells: [
              p.name,
              'Prod',
              status(c, e?.state ?? 'Pending'),
              String(p.tenants),
              e?.since ? since(e.since, o.now) : '',
              e?.message ?? (o.wide ? p.reason : ''),
            ],
          };
        }),
        ...gates
          .filter((g) => g.wave === i)
          .map((g) => ({
            cells: [
              `gate ${g.gate}`,
              'Gate',
              status(c, g.result),
              '',
              g.checkedAt ? `checked ${since(g.checkedAt, o.now)} ago` : '',
              g.alerts?.length ? `alerts: ${g.alerts.join(', ')}` : (g.message ?? ''),
            ],
          })),
      ],
    })),
  };
  const header = ['NAME', 'KIND', 'STATUS', 'TENANTS', 'ELAPSED', 'INFO'];
  return [...head, '', ...table([header, ...treeRows(root, c.dim)])];
}

/** Where a tenant's requests go now, and why: its Router's status over its own. */
export function requestsGoTo(t: Tenant, router: Router | undefined, routerName?: string): string {
  const primary = t.status?.prods?.primary;
  const secondary = t.status?.prods?.secondary;
  if (!primary) return 'nowhere: not placed';
  if (!routerName) return `${primary} (as placed; the Fleet names no Router)`;
  if (!router) return `${primary} as placed, but Router ${routerName} does not exist`;
  const rs = router.status ?? {};
  if (router.spec.route53) {
    const inDns = rs.dns?.prods ?? [];
    if (inDns.includes(primary)) return `${primary} (Route 53 records of Router ${routerName})`;
    if (secondary && inDns.includes(secondary))
      return `${secondary} (Route 53 has no record for its primary ${primary} yet)`;
    return `nowhere yet: Route 53 has no record for ${primary}`;
  }
  if (secondary && (rs.held ?? []).includes(primary))
    return `${secondary} (its primary ${primary} is held for a release by Router ${routerName})`;
  const active = (p: string) => rs.slots?.some((x) => x.prod === p && x.state === 'Active');
  if (active(primary)) return `${primary} (primary, Router ${routerName})`;
  if (secondary && active(secondary))
    return `${secondary} (Router ${routerName} has no active slot for its primary ${primary})`;
  return `nowhere yet: Router ${routerName} has no active slot for ${primary}`;
}

/** `get tenant NAME`: who it is, its Prods (phase, version, routed), where requests go now. */
export function tenantView(
  t: Tenant,
  prods: readonly Prod[],
  router: Router | undefined,
  routerName: string | undefined,
  o: ViewOptions,
): string[] {
  const c = o.colours;
  const placed = cond(t.status?.conditions, 'Placed');
  const head = fields([
    ['Name', t.metadata.name],
    ['Namespace', ns(t)],
    ['Fleet', t.spec.fleet],
    ['Redundancy', t.spec.redundancy ?? 'Single'],
    ['Size', String(t.spec.size ?? 1)],
    ['Test', t.spec.test ? 'yes' : undefined],
    ['Hosts', (t.spec.hosts ?? []).join(', ') || '(none)'],
    ['Placed', condLine(c, placed)],
    ['Since', t.status?.placedSince ? `${since(t.status.placedSince, o.now)} ago` : undefined],
    ['Requests go to', requestsGoTo(t, router, routerName)],
  ]);
  const byName = new Map(prods.map((p) => [p.metadata.name, p]));
  const routed = (name: string): string => {
    if (!router) return '';
    if (router.spec.route53)
      return router.status?.dns?.prods?.includes(name) ? 'in Route 53' : 'no';
    const slot = router.status?.slots?.find((x) => x.prod === name);
    const held = router.status?.held?.includes(name) ? ', held' : '';
    return slot ? `slot ${slot.slot} ${slot.state}${held}` : 'no slot';
  };
  const copies = [
    ['primary', t.status?.prods?.primary],
    ['secondary', t.status?.prods?.secondary],
  ].filter((x): x is [string, string] => Boolean(x[1]));
  const rows = copies.map(([copy, name]) => {
    const p = byName.get(name);
    return [
      copy,
      name,
      p?.status?.cluster ?? p?.spec.cluster ?? '',
      p ? status(c, p.status?.phase ?? 'Pending') : c.red('NotFound'),
      p?.status?.version ?? '',
      routed(name),
    ];
  });
  if (rows.length === 0) return head;
  return [
    ...head,
    '',
    ...table([['COPY', 'PROD', 'CLUSTER', 'PHASE', 'VERSION', 'ROUTED'], ...rows]),
  ];
}

/**
 * `get mirror NAME`: the Octavia load balancer ↔ NLB, its listeners and target counts, then the
 * DNS records (weights, health), the serving side and the last failover.
 */
export function mirrorView(m: LoadBalancerMirror, o: ViewOptions): string[] {
  const c = o.colours;
  const s = m.status ?? {};
  const d = s.dns;
  const head = fields([
    ['Name', m.metadata.name],
    ['Namespace', ns(m)],
    ['Octavia LB', m.spec.octavia.loadBalancerID],
    ['NLB', s.loadBalancer?.dnsName ?? '(not made yet)'],
    ['Ready', condLine(c, cond(s.conditions, 'Ready'))],
    ['Synced', condLine(c, cond(s.conditions, 'Synced'))],
    ['Last sync', s.lastSyncTime ? `${since(s.lastSyncTime, o.now)} ago` : undefined],
    [
      'Targets',
      s.targetsRegistered !== undefined || s.membersSeen !== undefined
        ? `${s.targetsRegistered ?? 0} registered, ${s.membersSeen ?? 0} Octavia members seen`
        : undefined,
    ],
    [
      'Not mirrored',
      s.notMirrored?.length
        ? s.notMirrored.map((n) => `${n.feature} (${n.reason})`).join('; ')
        : undefined,
    ],
  ]);
  const out = [...head];
  const listeners = [...(s.listeners ?? [])].sort((a, b) => a.port - b.port);
  if (listeners.length) {
    out.push(
      '',
      ...table([
        [
          'PORT',
          'OCTAVIA',
          'NLB',
          'TARGETS',
          ...(o.wide ? ['OCTAVIA LISTENER', 'TARGET GROUP'] : []),
        ],
        ...listeners.map((l) => [
          String(l.port),
          l.octaviaProtocol,
          l.protocol,
          String(l.targets ?? 0),
          ...(o.wide ? [l.octaviaListenerID, l.targetGroupARN ?? ''] : []),
        ]),
      ]),
    );
  }
  if (m.spec.dns) {
    const health = new Map((d?.healthChecks ?? []).map((h) => [h.side, h.state]));
    out.push(
      '',
      ...fields([
        ['DNS', `${m.spec.dns.recordNames.join(', ')} (zone ${d?.hostedZoneID ?? '?'})`],
        ['Failover mode', m.spec.dns.failoverMode ?? 'route53'],
        [
          'Serving',
          d?.servingSide
            ? `${status(c, d.servingSide)}${
                d.servingSince ? ` (since ${since(d.servingSince, o.now)} ago)` : ''
              }`
            : undefined,
        ],
        [
          'Last failover',
          d?.lastFailover
            ? `${d.lastFailover.from} → ${d.lastFailover.to} ${since(d.lastFailover.time, o.now)} ago: ${d.lastFailover.reason}`
            : 'none',
        ],
      ]),
    );
    const records = [...(d?.records ?? [])].sort((a, b) =>
      a.name === b.name ? (a.side < b.side ? 1 : -1) : a.name < b.name ? -1 : 1,
    );
    if (records.length)
      out.push(
        '',
        ...table([
          ['RECORD', 'SIDE', 'WEIGHT', 'HEALTH'],
          ...records.map((r) => [
            r.name,
            r.side,
            String(r.weight),
            status(c, health.get(r.side) ?? 'Unknown'),
          ]),
        ]),
      );
  }
  return out;
}

/** `get KIND` without a name: one row per object, as kubectl lists. */
export function listView(
  kind: Kind,
  items: readonly (Fleet | Release | Tenant | LoadBalancerMirror)[],
  o: ViewOptions & { allNamespaces?: boolean },
): string[] {
  const c = o.colours;
  const nsCol = (x: { metadata: { namespace?: string } }) => (o.allNamespaces ? [ns(x)] : []);
  const created = (x: { metadata: { creationTimestamp?: string } }) =>
    since(x.metadata.creationTimestamp, o.now);
  const headNs = o.allNamespaces ? ['NAMESPACE'] : [];
  const sorted = [...items].sort((a, b) =>
    `${ns(a)}/${a.metadata.name}` < `${ns(b)}/${b.metadata.name}` ? -1 : 1,
  );
  switch (kind) {
    case 'fleet':
      return table([
        [...headNs, 'NAME', 'APP', 'VERSION', 'PRODS', 'TENANTS', 'FILL', 'RELEASE', 'AGE'],
        ...(sorted as Fleet[]).map((f) => [
          ...nsCol(f),
          f.metadata.name,
          f.spec.app,
          f.spec.version,
          `${f.status?.readyProds ?? 0}/${f.status?.desiredProds ?? '?'}`,
          String(f.status?.tenants?.placed ?? 0),
          f.status?.fill ? `${f.status.fill.percent}%` : '',
          f.status?.release ?? '',
          created(f),
        ]),
      ]);
    case 'release':
      return table([
        [...headNs, 'NAME', 'FLEET', 'VERSION', 'PHASE', 'WAVE', 'AGE'],
        ...(sorted as Release[]).map((r) => [
          ...nsCol(r),
          r.metadata.name,
          r.spec.fleet,
          r.spec.version,
          status(c, r.status?.phase ?? 'Pending'),
          r.status?.currentWave !== undefined && r.status.waves?.length
            ? `${Math.min(r.status.currentWave + 1, r.status.waves.length)}/${r.status.waves.length}`
            : '',
          created(r),
        ]),
      ]);
    case 'tenant':
      return table([
        [...headNs, 'NAME', 'FLEET', 'REDUNDANCY', 'PRIMARY', 'SECONDARY', 'AGE'],
        ...(sorted as Tenant[]).map((t) => [
          ...nsCol(t),
          t.metadata.name,
          t.spec.fleet,
          t.spec.redundancy ?? 'Single',
          t.status?.prods?.primary ?? '',
          t.status?.prods?.secondary ?? '',
          created(t),
        ]),
      ]);
    case 'mirror':
      return table([
        [...headNs, 'NAME', 'READY', 'NLB', 'SERVING', 'AGE'],
        ...(sorted as LoadBalancerMirror[]).map((m) => [
          ...nsCol(m),
          m.metadata.name,
          status(c, cond(m.status?.conditions, 'Ready')?.status ?? 'Unknown'),
          m.status?.loadBalancer?.dnsName ?? '',
          m.status?.dns?.servingSide ?? '',
          created(m),
        ]),
      ]);
  }
}

export type Kind = 'fleet' | 'release' | 'tenant' | 'mirror';

/** The names kubectl users type for each kind (singular, plural, short, the full kind). */
export const KIND_NAMES: Record<Kind, readonly string[]> = {
  fleet: ['fleet', 'fleets', 'fl'],
  release: ['release', 'releases', 'rel'],
  tenant: ['tenant', 'tenants', 'tn'],
  mirror: ['mirror', 'mirrors', 'loadbalancermirror', 'loadbalancermirrors', 'lbm'],
};

export function kindOf(word: string): Kind | undefined {
  const w = word.toLowerCase().replace(/\.kachiku\.io$/, '');
  return (Object.keys(KIND_NAMES) as Kind[]).find((k) => KIND_NAMES[k].includes(w));
}

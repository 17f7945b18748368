// The Fleet's Prods: which are its own, what each can do for tenants (prodState), how many it
// wants per failure domain and which to create, scale in, retire and remove. Pure.
import { findCondition } from '../../runtime/conditions.js';
import type { OwnerReference } from '../../runtime/rest.js';
import { API_VERSION } from '../../api/kind.js';
import { ConditionType } from '../../api/conditions.js';
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import { AVOID_ANNOTATION, HOLD_ANNOTATION } from '../../api/release.js';
import type { ProdState } from '../../fleet/types.js';
import { eligible, type ClusterFacts } from './clusters.js';

/** On every Prod of a Fleet: the Fleet's name (how a Prod made by hand is adopted). */
export const FLEET_LABEL = 'kachiku.io/fleet';
/** On every Prod of a Fleet: standard or test. */
export const ROLE_LABEL = 'kachiku.io/role';
/**
 * On the Fleet's standby Prods (value "true"): extra standard Prods on the Fleet's spec.version
 * kept while a Release of it is active (strategy.standbyProds), taking tenants only in a rollback.
 * Never in a release's waves: the Release controller leaves out Prods with this label.
 */
export const STANDBY_LABEL = 'kachiku.io/standby';
/** On a Prod being emptied to be retired (autoscale, or a count lowered); the value says why. */
export const SCALE_IN_ANNOTATION = 'kachiku.io/scale-in';

export type Role = 'standard' | 'test';

export const roleOf = (p: Prod): Role => (p.spec.role === 'test' ? 'test' : 'standard');
export const isStandby = (p: Prod) => p.metadata.labels?.[STANDBY_LABEL] === 'true';
/** The Prods the spec's counts are about: test, standard, or standby (a standard Prod kept for a rollback). */
export type Kind = Role | 'standby';
export const kindOf = (p: Prod): Kind => (isStandby(p) ? 'standby' : roleOf(p));
export const retiring = (p: Prod) => Boolean(p.spec.retired || p.metadata.deletionTimestamp);
export const scaledIn = (p: Prod) => p.metadata.annotations?.[SCALE_IN_ANNOTATION] !== undefined;
/** Serving tenants: warmed up (Ready or InService) and not reported broken since. */
export const serving = (p: Prod) =>
  (p.status?.phase === 'Ready' || p.status?.phase === 'InService') &&
  findCondition(p.status?.conditions, ConditionType.Ready)?.status !== 'False';
export const clusterOfProd = (p: Prod) => p.spec.cluster || p.status?.cluster || '';
/** Runs a version that failed a release's gate (set and lifted by the Release controller). */
export const avoided = (p: Prod) => p.metadata.annotations?.[AVOID_ANNOTATION] !== undefined;
export const held = (p: Prod) => p.metadata.annotations?.[HOLD_ANNOTATION] !== undefined;
export const drainPolicy = (fleet: Fleet) => fleet.spec.drain?.prods ?? 'Retire';

/** Whose the Prod is: this Fleet's, one to adopt (labelled, no controller), or another's. */
export function ownership(fleet: Fleet, p: Prod): 'owned' | 'adopt' | 'foreign' {
  const controller = p.metadata.ownerReferences?.find((r) => r.controller);
  if (!controller) return 'adopt';
  return controller.kind === 'Fleet' &&
    controller.apiVersion === API_VERSION &&
    controller.uid === fleet.metadata.uid
    ? 'owned'
    : 'foreign';
}

/** The ownerReference that makes the Fleet its Prods' controller (deleting it deletes them). */
export function ownerReference(fleet: Fleet): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: 'Fleet',
    name: fleet.metadata.name,
    uid: fleet.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * What the Prod can do for tenants now (src/fleet/types.ts): `down` when its cluster is gone or
 * unreachable, it is avoided (a release's rollback: its version failed a gate, so its tenants
 * move at once, without make-before-break, and it takes none until the annotation is lifted),
 * or it stopped serving while hosting tenants; `leaving` when it serves but must be
 * emptied (retired, scaled in, its cluster draining for this Fleet or no longer selected);
 * `closed` while it warms up, rolls a version out, or its cluster is cordoned or not Ready, and
 * a standby Prod unless a rollback is under way (`rollback`: some Prod of the Fleet is avoided;
 * the standby Prods are the room it needs); otherwise `open`. `draining`: the Fleet's drain of
 * its cluster is moving tenants.
 */
export function prodState(
  p: Prod,
  cluster: ClusterFacts | undefined,
  opts: { hosting: boolean; draining: boolean; rollback?: boolean },
): ProdState {
  if (!cluster || cluster.reachable === 'False' || avoided(p)) return 'down';
  if (!serving(p)) {
    if (retiring(p)) return 'down';
    if (!opts.hosting) return 'closed';
    // Warmed before, now rolling a version out: it keeps its tenants (releases move them first).
    const rollingOut =
      Boolean(p.status?.version) &&
      (p.status?.phase === 'Provisioning' || p.status?.phase === 'WarmingUp');
    return rollingOut ? 'closed' : 'down';
  }
  if (retiring(p) || scaledIn(p) || opts.draining || !cluster.selected) return 'leaving';
  if (cluster.cordoned || !cluster.ready || cluster.reachable !== 'True') return 'closed';
  if (isStandby(p) && !opts.rollback) return 'closed';
  // About to be updated by a Release: it keeps its tenants (the router sends its Dual tenants to
  // their other copy meanwhile) but takes no new copy, which would have to leave again at once
  // and could put a Dual tenant's two copies on Prods updating together.
  if (held(p)) return 'closed';
  return 'open';
}

/**
 * Whether the Prod counts towards the Fleet's number: not on its way out, in a selected cluster
 * that is not being drained with Prods retired. Prods of unreachable or cordoned clusters count
 * (they may come back; replacing them would leave a surplus).
 */
export function counted(fleet: Fleet, p: Prod, cluster: ClusterFacts | undefined): boolean {
  if (retiring(p) || scaledIn(p) || !cluster?.selected) return false;
  return !(cluster.drain && drainPolicy(fleet) === 'Retire');
}

/** `<fleet>-<domain>-<n>` (or `<fleet>-test-<n>`) with the smallest n not taken. */
export function prodName(fleet: string, middle: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const name = `${fleet}-${middle}-${n}`;
    if (!taken.has(name)) return name;
  }
}

export function newProd(fleet: Fleet, name: string, cluster: string, kind: Kind): Prod {
  const { components, manifests, warmup, capacity } = fleet.spec.template;
  const role: Role = kind === 'test' ? 'test' : 'standard';
  return {
    apiVersion: API_VERSION,
    kind: 'Prod',
    metadata: {
      name,
      namespace: fleet.metadata.namespace,
      labels: {
        [FLEET_LABEL]: fleet.metadata.name,
        [ROLE_LABEL]: role,
        ...(kind === 'standby' && { [STANDBY_LABEL]: 'true' }),
      },
      ownerReferences: [ownerReference(fleet)],
    },
    spec: {
      app: fleet.spec.app,
      version: fleet.spec.version,
      cluster,
      role,
      capacity,
      ...(components && { components }),
      ...(manifests && { manifests }),
      ...(warmup && { warmup }),
    },
  };
}

/** The standard Prods the spec asks for before autoscale: per domain × domains, or the total. */
export function baselineProds(fleet: Fleet, domains: number): number {
  const { perDomain, total } = fleet.spec.prods;
  return perDomain !== undefined ? perDomain * domains : (total ?? 0);
}

export interface DesiredInput {
  /** The Fleet's own Prods (owned and to adopt), deleting ones too. */
  prods: readonly Prod[];
  clusters: readonly ClusterFacts[];
  /** Standard Prods wanted in all (spec, or autoscale's count); undefined: spec.prods.perDomain per domain. */
  standard?: number;
  /** Standby Prods wanted (an active Release's standbyProds; default 0: those left are surplus). */
  standby?: number;
  /** Every Prod name in the namespace (whoever's): new names avoid them. */
  taken: ReadonlySet<string>;
  /** Units each Prod hosts (prefers emptier ones when scaling in). */
  used: Readonly<Record<string, number>>;
}

export interface Desired {
  create: Prod[];
  /** Counted Prods beyond the count, emptiest first: to scale in. */
  surplus: string[];
  /** Standard Prods wanted in all (for status.desiredProds). */
  standard: number;
  /** Failure domains the counted standard Prods will span. */
  domains: string[];
  /** Why the count or the spread cannot be met (ProdsShort / NoClusterSelected), if so. */
  short?: { reason: 'ProdsShort' | 'NoClusterSelected'; message: string };
}

/**
 * Which Prods to create and which are surplus. perDomain: that many in every failure domain with
 * an eligible cluster. A count (total, autoscale, testProds): new Prods go to the eligible domain
 * with the fewest, surplus comes from the domain with the most; Prods counted where nothing new
 * may go (a cordoned or unreachable domain) stay and count. In a domain a new Prod goes to the
 * eligible cluster with the fewest Prods of this Fleet, then by name.
 */
export function desiredProds(fleet: Fleet, input: DesiredInput): Desired {
  const byName = new Map(input.clusters.map((c) => [c.name, c]));
  const cluster = (p: Prod) => byName.get(clusterOfProd(p));
  const live = input.prods.filter((p) => !retiring(p));
  const open = input.clusters.filter(eligible);
  const openDomains = [...new Set(open.map((c) => c.domain))].sort();
  const taken = new Set(input.taken);
  const perCluster = new Map<string, number>();
  for (const p of live)
    perCluster.set(clusterOfProd(p), (perCluster.get(clusterOfProd(p)) ?? 0) + 1);
  const create: Prod[] = [];
  const surplus: string[] = [];
  const spanned = new Set<string>();

  const unitsOf = (p: Prod) => input.used[p.metadata.name] ?? 0;
  // Which to let go first: one not serving yet, then the emptiest, then the newest-looking name.
  const emptiestFirst = (a: Prod, b: Prod) =>
    Number(serving(a)) - Number(serving(b)) ||
    unitsOf(a) - unitsOf(b) ||
    (a.metadata.name < b.metadata.name ? 1 : -1);
  const createIn = (domain: string, role: Kind, middle: string): boolean => {
    const where = open
      .filter((c) => c.domain === domain)
      .sort(
        (a, b) =>
          (perCluster.get(a.name) ?? 0) - (perCluster.get(b.name) ?? 0) ||
          (a.name < b.name ? -1 : 1),
      )[0];
    if (!where) return false;
    const name = prodName(fleet.metadata.name, middle, taken);
    taken.add(name);
    perCluster.set(where.name, (perCluster.get(where.name) ?? 0) + 1);
    create.push(newProd(fleet, name, where.name, role));
    return true;
  };

  const plan = (role: Kind, n: number | undefined, middle: (domain: string) => string) => {
    const mine = live.filter((p) => kindOf(p) === role && counted(fleet, p, cluster(p)));
    const inDomain = new Map<string, Prod[]>();
    for (const p of mine) {
      const d = cluster(p)?.domain ?? '';
      inDomain.set(d, [...(inDomain.get(d) ?? []), p]);
    }
    const count = new Map([...inDomain].map(([d, ps]) => [d, ps.length]));
    const add = (d: string, k: number) => count.set(d, (count.get(d) ?? 0) + k);
    if (n === undefined) {
      // perDomain: that many in each domain that can take Prods; the others keep theirs.
      const want = fleet.spec.prods.perDomain ?? 0;
      for (const d of openDomains) {
        for (let i = count.get(d) ?? 0; i < want && createIn(d, role, middle(d)); i++) add(d, 1);
        const extra = (inDomain.get(d) ?? [])
          .sort(emptiestFirst)
          .slice(0, Math.max(0, (count.get(d) ?? 0) - want));
        for (const p of extra) {
          surplus.push(p.metadata.name);
          add(d, -1);
        }
      }
    } else {
      // A count: new Prods go where the fewest are; the Prods there stay where they are (a domain
      // that comes back or goes does not move Prods around: no churn from a flapping cluster).
      let deficit = n - mine.length;
      const byFewest = () =>
        [...openDomains].sort(
          (a, b) => (count.get(a) ?? 0) - (count.get(b) ?? 0) || (a < b ? -1 : 1),
        );
      while (deficit > 0 && openDomains.length) {
        const d = byFewest()[0] as string;
        if (!createIn(d, role, middle(d))) break;
        add(d, 1);
        deficit--;
      }
      // Fewer wanted: from where the most are, the emptiest first.
      const left = new Map([...inDomain].map(([d, ps]) => [d, [...ps].sort(emptiestFirst)]));
      while (deficit < 0) {
        const d = [...left.keys()]
          .filter((k) => (left.get(k)?.length ?? 0) > 0)
          .sort(
            (a, b) =>
              (count.get(b) ?? 0) - (count.get(a) ?? 0) ||
              emptiestFirst(left.get(a)![0]!, left.get(b)![0]!),
          )[0];
        if (d === undefined) break;
        const p = left.get(d)!.shift()!;
        surplus.push(p.metadata.name);
        add(d, -1);
        deficit++;
      }
    }
    if (role === 'standard') for (const [d, k] of count) if (k > 0) spanned.add(d);
  };

  const countedStandard = live.filter(
    (p) => kindOf(p) === 'standard' && counted(fleet, p, cluster(p)),
  );
  const standard =
    input.standard ??
    baselineProds(
      fleet,
      new Set([...openDomains, ...countedStandard.map((p) => cluster(p)?.domain ?? '')]).size,
    );
  // A count: autoscale's, else spec.prods.total (undefined only for perDomain).
  const { perDomain, total } = fleet.spec.prods;
  plan(
    'standard',
    input.standard ?? (perDomain === undefined ? (total ?? 0) : undefined),
    (d) => d,
  );
  plan('test', fleet.spec.prods.testProds ?? 0, () => 'test');
  plan('standby', input.standby ?? 0, () => 'standby');
  const domains = [...spanned].sort();
  const minDomains = fleet.spec.prods.total !== undefined ? (fleet.spec.prods.minDomains ?? 1) : 1;
  let short: Desired['short'];
  if (open.length === 0 && (countedStandard.length < standard || countedStandard.length === 0))
    short = {
      reason: 'NoClusterSelected',
      message: `no selected MemberCluster is Ready, Reachable, uncordoned and not draining (${describe(input.clusters)})`,
    };
  else if (standard < minDomains)
    short = {
      reason: 'ProdsShort',
      message: `${standard} standard Prods cannot span minDomains ${minDomains} failure domains`,
    };
  else if (domains.length < minDomains)
    short = {
      reason: 'ProdsShort',
      message: `the Prods span ${domains.length} failure domain${domains.length === 1 ? '' : 's'} (${domains.join(', ') || 'none'}) but minDomains is ${minDomains}: too few selected clusters can take Prods (${describe(input.clusters)})`,
    };
  return { create, surplus, standard, domains, short };
}

function describe(clusters: readonly ClusterFacts[]): string {
  if (clusters.length === 0) return 'there is no MemberCluster';
  return clusters
    .map(
      (c) =>
        `${c.name}: ${
          !c.selected
            ? 'not selected'
            : c.drain
              ? 'draining'
              : c.cordoned
                ? 'cordoned'
                : c.reachable !== 'True'
                  ? 'unreachable'
                  : !c.ready
                    ? 'not Ready'
                    : 'ok'
        }`,
    )
    .join('; ');
}

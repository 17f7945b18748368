// DNS mode, pure: the Tenants of the Fleets routed here → per host, the addresses of the Prods
// that serve it, in the tenant's order (primary first), with the Fleet's TTL.
//
// The same claims as the HAProxy table (table.ts): the older Tenant keeps a shared host, a Prod
// that is gone or not the tenant's Fleet's cannot serve, endpoints as endpointsOf picks them.
// What differs: wildcard hosts are routed (a `*.x` record is DNS's own), a host outside the zone
// is not, and a Prod without an address is left out of the record rather than a slot. As there,
// a Prod annotated kachiku.io/hold, then one annotated kachiku.io/avoid, goes second in its Dual
// tenants' failover pairs; `held` lists the held Prods no pair has first any more.
//
// A Prod whose picked endpoints are all host names (an ELB's, a LoadBalancerMirror's record)
// answers at a name: its hosts get a CNAME to the first name, sorted (a CNAME holds one value;
// the others are ignored). A Prod with IP endpoints keeps its A record (names beside IPs are
// listed as before). Route 53 pairs only records of one type, so a Dual tenant whose Prods
// differ (one IP, one name) gets its primary alone as a simple record, listed in `noFailover`.
// The zone apex cannot hold a CNAME: a host there whose Prod answers at a name is unrouted.
import type { Fleet } from '../../../api/fleet.js';
import type { Prod } from '../../../api/prod.js';
import type { Tenant } from '../../../api/tenant.js';
import { tenantProds, type TenantSlice } from '../../../api/tenantslice.js';
import { fqdn } from '../../../clouds/aws/route53.js';
import { isIP } from 'node:net';
import { endpointsOf } from '../table.js';
import { AVOID_ANNOTATION, HOLD_ANNOTATION } from '../../../api/release.js';

export interface Target {
  prod: string;
  /** `ip`: an A record of the addresses; `name`: a CNAME to the one name. */
  kind: 'ip' | 'name';
  /** IP addresses, sorted, distinct; or the one host name, fully qualified. */
  addresses: string[];
  /** The port the Prod answers on (its first endpoint's), for the health check. */
  port: number;
}

export interface DnsRoute {
  /** Fully qualified, lower case, with the trailing dot. */
  host: string;
  tenant: string;
  ttl: number;
  /** One target: a simple record. Two: a failover pair, the first the primary. */
  targets: [Target] | [Target, Target];
}

export interface DnsRoutes {
  /** By host. */
  routes: DnsRoute[];
  /** Hosts without a record, with why (sorted); their records in Route 53 are left as they are. */
  unrouted: string[];
  /** Those hosts (fully qualified). */
  unroutedHosts: Set<string>;
  /** Prods named by a tenant with no address to publish, with why (sorted). */
  noEndpoints: string[];
  /** Prods routed. */
  prods: number;
  /** Held Prods that no failover pair has first (sorted). */
  held: string[];
  /** Dual tenants' hosts published without failover (one Prod at an IP, one at a name), with why. */
  noFailover: string[];
}

export interface RoutesInput {
  /** The hosted zone's name (any form). */
  zone: string;
  fleets: readonly Fleet[];
  tenants: readonly Tenant[];
  prods: readonly Prod[];
  /** Their TenantSlices: which Prods serve each Tenant (else its status; see tenantProds). */
  slices?: readonly TenantSlice[];
}

export const DEFAULT_TTL = 60;

const inZone = (host: string, zone: string) => host === zone || host.endsWith(`.${zone}`);

export function dnsRoutes(input: RoutesInput): DnsRoutes {
  const zone = fqdn(input.zone);
  const fleets = new Map(input.fleets.map((f) => [f.metadata.name, f]));
  const prods = new Map(input.prods.map((p) => [p.metadata.name, p]));
  const unrouted: string[] = [];
  const unroutedHosts = new Set<string>();
  const noEndpoints = new Set<string>();
  const targets = new Map<string, Target | undefined>();
  const targetOf = (name: string, fleet: Fleet): Target | undefined => {
    if (!targets.has(name)) {
      const prod = prods.get(name)!;
      const picked = endpointsOf(prod, fleet.spec.routing?.endpoint);
      const named = picked.good.length ? undefined : nameOf(prod, fleet);
      if (named) targets.set(name, { prod: name, kind: 'name', ...named });
      else {
        for (const bad of picked.bad) noEndpoints.add(`${name}: ${bad}`);
        if (picked.good.length === 0) noEndpoints.add(`${name}: ${picked.why}`);
        const addresses = [...new Set(picked.good.map((e) => e.addr))];
        targets.set(
          name,
          addresses.length
            ? { prod: name, kind: 'ip', addresses, port: picked.good[0]!.port }
            : undefined,
        );
      }
    }
    return targets.get(name);
  };

  const marked = (p: string, a: string) => prods.get(p)?.metadata.annotations?.[a] !== undefined;
  // First the Prods that serve as usual, then held ones, then avoided ones.
  const rank = (p: string) =>
    marked(p, AVOID_ANNOTATION) ? 2 : marked(p, HOLD_ANNOTATION) ? 1 : 0;
  const claimed = new Map<string, DnsRoute>();
  const noFailover: string[] = [];
  const oldestFirst = input.tenants
    .filter((t) => fleets.has(t.spec.fleet))
    .map((t) => ({
      t,
      key: [t.metadata.creationTimestamp ?? '', t.spec.fleet, t.metadata.name].join('\u0000'),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const prodsOf = tenantProds(input.slices ?? []);
  for (const { t } of oldestFirst) {
    const fleet = fleets.get(t.spec.fleet)!;
    const assigned = prodsOf(t);
    const named = [assigned?.primary, assigned?.secondary].filter((p): p is string => Boolean(p));
    const own = named.filter(
      (p) => prods.get(p)?.metadata.labels?.['kachiku.io/fleet'] === fleet.metadata.name,
    );
    const serving = [...new Set(own)]
      .map((p) => targetOf(p, fleet))
      .filter((x) => x !== undefined)
      .sort((a, b) => rank(a.prod) - rank(b.prod));
    for (const h of t.spec.hosts ?? []) {
      const host = fqdn(h);
      const skip = (why: string) => {
        unrouted.push(`${h} (tenant ${t.metadata.name}): ${why}`);
        unroutedHosts.add(host);
      };
      const first = claimed.get(host);
      if (first) skip(`claimed first by tenant ${first.tenant}`);
      else if (!inZone(host, zone)) skip(`not in the hosted zone ${zone}`);
      else if (named.length === 0) skip('not placed');
      else if (own.length === 0) skip(`its Prods ${named.join(', ')} do not exist in its Fleet`);
      else if (serving.length === 0) skip(`no address for its Prods ${own.join(', ')}`);
      else if (host === zone && serving[0]!.kind === 'name')
        skip(`${serving[0]!.prod} answers at a name and the zone apex cannot hold a CNAME`);
      else {
        const [p, s] = serving;
        const mixed = s !== undefined && s.kind !== p!.kind;
        if (mixed)
          noFailover.push(
            `${h} (tenant ${t.metadata.name}): no failover, ${p!.prod} answers at ${p!.kind === 'ip' ? 'an IP' : 'a name'} and ${s.prod} at ${s.kind === 'ip' ? 'an IP' : 'a name'} (Route 53 pairs records of one type only); ${p!.prod} alone is published`,
          );
        claimed.set(host, {
          host,
          tenant: t.metadata.name,
          ttl: fleet.spec.routing?.ttl ?? DEFAULT_TTL,
          targets: (mixed ? [p] : serving.slice(0, 2)) as DnsRoute['targets'],
        });
      }
    }
  }
  const routes = [...claimed.values()].sort((a, b) => (a.host < b.host ? -1 : 1));
  const used = new Set(routes.flatMap((r) => r.targets.map((x) => x.prod)));
  const first = new Set(routes.filter((r) => r.targets.length > 1).map((r) => r.targets[0].prod));
  const held = input.prods
    .map((p) => p.metadata.name)
    .filter((p) => marked(p, HOLD_ANNOTATION) && !first.has(p))
    .sort();
  return {
    held,
    routes,
    unrouted: unrouted.sort(),
    unroutedHosts,
    noEndpoints: [...noEndpoints].sort(),
    noFailover: noFailover.sort(),
    prods: used.size,
  };
}

/**
 * The name a Prod answers at when its endpoints (picked as endpointsOf picks them: the component
 * and port of the Fleet's spec.routing.endpoint, else the first endpoint's component) are all
 * host names: the first, sorted, fully qualified, with its port. Undefined when any is an IP
 * or none fits.
 */
function nameOf(prod: Prod, fleet: Fleet): { addresses: [string]; port: number } | undefined {
  const all = prod.status?.endpoints ?? [];
  const select = fleet.spec.routing?.endpoint;
  const component = select?.component ?? all[0]?.component;
  const names: { host: string; port: number }[] = [];
  for (const e of all) {
    if (e.component !== component) continue;
    const m = /^([^:[\]]+):(\d{1,5})$/.exec(e.address);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) return undefined;
    if (select?.port !== undefined && port !== select.port) continue;
    if (isIP(m[1]!) !== 0 || !HOST_NAME.test(m[1]!)) return undefined;
    names.push({ host: fqdn(m[1]!), port });
  }
  names.sort((a, b) => (a.host !== b.host ? (a.host < b.host ? -1 : 1) : a.port - b.port));
  const first = names[0];
  return first && { addresses: [first.host], port: first.port };
}

/** A DNS host name (letters, digits, hyphens, dots; no wildcard). */
const HOST_NAME =
  /^(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

// The routing table of one Router, from the placement (pure): every host of every Tenant of the
// Fleets routed here → the backend slot of its primary Prod and, for a Dual tenant, of its
// secondary; every Prod named by a tenant → a slot, whose servers are the Prod's endpoints.
//
// Slots are stable: a Prod keeps the slot recorded in the Router's status for as long as a tenant
// names it; a Prod no longer named leaves its slot Releasing, and only settle() frees it, once
// every instance was seen without a map entry pointing at it. So a slot is never pointed at a new
// Prod while some router may still send a host there for the old one.
//
// A Prod annotated kachiku.io/hold (a Release is about to update it) sends its Dual tenants to
// their secondary: the value lists the secondary's slot first and the held Prod's second, so it
// stays their fallback. The assignment does not change; lifting the hold restores the order.
// A Prod annotated kachiku.io/avoid (it runs a version that failed a gate) goes last the same way,
// at once: its Dual tenants are answered by their good copy without waiting for the Fleet to
// write their new placement (the writes of thousands of Tenant statuses take seconds; this is
// one map swap). Single tenants move when the placement does.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Fleet } from '../../api/fleet.js';
import { AVOID_ANNOTATION, HOLD_ANNOTATION } from '../../api/release.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import { tenantProds, type TenantSlice } from '../../api/tenantslice.js';
import type { HAProxySettings, SlotRecord } from '../../api/router.js';

export interface Endpoint {
  addr: string;
  port: number;
}

export interface TableInput {
  spec: HAProxySettings;
  /** The Fleets routed here (any order). */
  fleets: readonly Fleet[];
  /** Their Tenants (any order; those of other Fleets are ignored). */
  tenants: readonly Tenant[];
  /** Their Prods (same namespace as the Router). */
  prods: readonly Prod[];
  /** Their TenantSlices: which Prods serve each Tenant (else its status; see tenantProds). */
  slices?: readonly TenantSlice[];
  /** The slot records of the Router's status. */
  previous: readonly SlotRecord[];
}

export interface Table {
  /** host → "<primary backend>[ <secondary backend>]", sorted by host. */
  entries: [host: string, value: string][];
  /** Active slots: slot → the Prod and its servers (sorted, at most serversPerSlot). */
  slots: Map<number, { prod: string; servers: Endpoint[] }>;
  /** Active and Releasing slots, by slot: what the status records. */
  records: SlotRecord[];
  /** A hash of what an instance is programmed with (entries, servers, names). */
  version: string;
  /** Hosts without an entry, with why (sorted). */
  unrouted: string[];
  /** Prods a tenant names that got no slot (all slots taken). */
  exhausted: string[];
  /** Prods with a slot but no endpoint to send requests to, with why. */
  noEndpoints: string[];
  /** Endpoints that cannot be a server (not an IP address, too many), with why. */
  badEndpoints: string[];
  /** Slots wanted at this moment: Prods named, plus the Releasing ones. */
  slotsNeeded: number;
  /** Held Prods (annotated kachiku.io/hold) to which no Dual tenant's host goes first (sorted). */
  held: string[];
  /** Why the other held Prods are not: a Dual tenant's host that still goes to them first. */
  holdWaiting: string[];
}

export const backendOf = (spec: HAProxySettings, slot: number) => `${spec.backendPrefix}${slot}`;
export const serverOf = (spec: HAProxySettings, j: number) => `${spec.serverPrefix}${j}`;

/** The slots a map value (or several) points at. */
export function slotsIn(spec: HAProxySettings, values: Iterable<string>): Set<number> {
  const out = new Set<number>();
  const prefix = spec.backendPrefix;
  for (const v of values)
    for (const w of v.split(' '))
      if (w.startsWith(prefix)) {
        const rest = w.slice(prefix.length);
        if (/^(0|[1-9][0-9]*)$/.test(rest)) out.add(Number(rest));
      }
  return out;
}

/** Who keeps a host two Tenants claim: the older one, then by Fleet and name. */
const ageKey = (t: Tenant) =>
  `${t.metadata.creationTimestamp ?? ''}\u0000${t.spec.fleet}\u0000${t.metadata.name}`;
const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export function buildTable(input: TableInput): Table {
  const { spec } = input;
  const fleets = new Map(input.fleets.map((f) => [f.metadata.name, f]));
  // A Prod being deleted still serves while a tenant names it: its endpoints say whether it
  // answers (the Prod controller empties them once its stack is gone), and HAProxy's checks
  // send a Dual tenant to its other Prod when it does not. Only a Prod that is gone is unusable.
  const prods = new Map(input.prods.map((p) => [p.metadata.name, p]));
  const fleetOfProd = (p: Prod) => p.metadata.labels?.['kachiku.io/fleet'];
  const unrouted: string[] = [];

  // 1. Hosts → (primary, secondary) Prods, the first claim of a host winning.
  const routes = new Map<string, { tenant: string; dual: boolean; prods: string[] }>();
  const tenants = input.tenants
    .filter((t) => fleets.has(t.spec.fleet))
    .map((t): [string, Tenant] => [ageKey(t), t])
    .sort(byKey)
    .map(([, t]) => t);
  const prodsOf = tenantProds(input.slices ?? []);
  for (const t of tenants) {
    const name = t.metadata.name;
    const hosts = t.spec.hosts ?? [];
    if (hosts.length === 0) continue;
    const assigned = prodsOf(t);
    const named = [assigned?.primary, assigned?.secondary].filter((p): p is string => Boolean(p));
    // A Prod that is gone (or not the Fleet's) cannot serve: a Dual tenant keeps the other.
    const usable = named.filter((p) => {
      const prod = prods.get(p);
      return prod !== undefined && fleetOfProd(prod) === t.spec.fleet;
    });
    for (const host of hosts) {
      const why = (reason: string) => unrouted.push(`${host} (tenant ${name}): ${reason}`);
      if (host.startsWith('*.')) {
        why('a wildcard host: the HAProxy map matches whole host names');
        continue;
      }
      const holder = routes.get(host);
      if (holder) {
        why(`claimed first by tenant ${holder.tenant}`);
        continue;
      }
      if (named.length === 0) {
        why('not placed');
        continue;
      }
      if (usable.length === 0) {
        why(`its Prods ${named.join(', ')} do not exist in its Fleet`);
        continue;
      }
      routes.set(host, {
        tenant: name,
        dual: t.spec.redundancy === 'Dual',
        prods: [...new Set(usable)],
      });
    }
  }

  // 2. Slots: kept by the Prods that have one, then given out by hosts served, most first.
  const wanted = new Map<string, number>();
  for (const r of routes.values()) for (const p of r.prods) wanted.set(p, (wanted.get(p) ?? 0) + 1);
  const slotOf = new Map<string, number>();
  const taken = new Set<number>();
  const records: SlotRecord[] = [];
  for (const r of input.previous) {
    if (r.slot >= spec.slots || taken.has(r.slot) || slotOf.has(r.prod)) continue;
    taken.add(r.slot);
    if (wanted.has(r.prod)) {
      slotOf.set(r.prod, r.slot);
      records.push({ slot: r.slot, prod: r.prod, state: 'Active' });
    } else {
      records.push({ slot: r.slot, prod: r.prod, state: 'Releasing' });
    }
  }
  const newcomers = [...wanted]
    .filter(([p]) => !slotOf.has(p))
    .sort(([a, na], [b, nb]) => nb - na || (a < b ? -1 : 1))
    .map(([p]) => p);
  const exhausted: string[] = [];
  let next = 0;
  for (const p of newcomers) {
    while (next < spec.slots && taken.has(next)) next++;
    if (next >= spec.slots) {
      exhausted.push(p);
      continue;
    }
    taken.add(next);
    slotOf.set(p, next);
    records.push({ slot: next, prod: p, state: 'Active' });
  }
  records.sort((a, b) => a.slot - b.slot);
  exhausted.sort();

  // 3. Entries: the slots of the Prods that have one, in the tenant's order — unless the first
  // is held and the other is not: then the other first. A Dual tenant whose host still goes
  // first to a held Prod keeps that Prod out of `held`.
  const isHeld = (p: string) => prods.get(p)?.metadata.annotations?.[HOLD_ANNOTATION] !== undefined;
  const heldProds = [...prods.keys()].filter(isHeld).sort();
  const isAvoided = (p: string) =>
    prods.get(p)?.metadata.annotations?.[AVOID_ANNOTATION] !== undefined;
  // First the Prods that serve as usual, then held ones, then avoided ones.
  const rank = (p: string) => (isAvoided(p) ? 2 : isHeld(p) ? 1 : 0);
  const waiting = new Map<string, string>();
  const entries: [string, string][] = [];
  for (const [host, r] of [...routes].sort(byKey)) {
    let order = r.prods.filter((p) => slotOf.has(p));
    if (order.length === 0) {
      unrouted.push(`${host} (tenant ${r.tenant}): no slot for ${r.prods.join(', ')}`);
      continue;
    }
    if (order.length === 2 && rank(order[0]!) > rank(order[1]!)) order = [order[1]!, order[0]!];
    const first = order[0]!;
    if (r.dual && isHeld(first) && !waiting.has(first))
      waiting.set(
        first,
        `${first}: ${host} (tenant ${r.tenant}) ${order.length === 2 ? `has its other Prod ${order[1]} held too` : 'has no other Prod with a slot'}`,
      );
    entries.push([host, order.map((p) => backendOf(spec, slotOf.get(p)!)).join(' ')]);
  }

  // 4. Servers: each Prod's endpoints, as the Fleet selects them.
  const slots = new Map<number, { prod: string; servers: Endpoint[] }>();
  const noEndpoints: string[] = [];
  const badEndpoints: string[] = [];
  for (const [prod, slot] of [...slotOf].sort(([, a], [, b]) => a - b)) {
    const p = prods.get(prod)!;
    const fleet = fleets.get(fleetOfProd(p) ?? '');
    const picked = endpointsOf(p, fleet?.spec.routing?.endpoint);
    const servers: Endpoint[] = [];
    for (const e of picked.bad) badEndpoints.push(`${prod}: ${e}`);
    for (const e of picked.good.slice(spec.serversPerSlot)) {
      badEndpoints.push(
        `${prod}: ${e.addr}:${e.port} beyond the ${spec.serversPerSlot} servers of a slot`,
      );
    }
    servers.push(...picked.good.slice(0, spec.serversPerSlot));
    if (servers.length === 0) noEndpoints.push(`${prod}: ${picked.why}`);
    slots.set(slot, { prod, servers });
  }

  const version = hash({
    map: spec.map,
    backendPrefix: spec.backendPrefix,
    serverPrefix: spec.serverPrefix,
    serversPerSlot: spec.serversPerSlot,
    entries,
    slots: [...slots].map(([s, v]) => [s, v.servers.map((e) => `${e.addr}:${e.port}`)]),
  });
  return {
    entries,
    slots,
    records,
    version,
    unrouted: unrouted.sort(),
    exhausted,
    noEndpoints,
    badEndpoints,
    slotsNeeded: wanted.size + records.filter((r) => r.state === 'Releasing').length,
    held: heldProds.filter((p) => !waiting.has(p)),
    holdWaiting: [...waiting.values()].sort(),
  };
}

/**
 * The records once every instance has been seen: a Releasing slot no map points at any more is
 * free. `referenced` undefined: some instance was not seen, nothing is freed.
 */
export function settle(
  records: readonly SlotRecord[],
  referenced: ReadonlySet<number> | undefined,
): SlotRecord[] {
  if (!referenced) return [...records];
  return records.filter((r) => r.state === 'Active' || referenced.has(r.slot));
}

/**
 * A Prod's endpoints for its tenants' requests: those of the Fleet's routing component (default
 * the first one listed) and port, as IP addresses (HAProxy's `set server addr` takes no name).
 */
export function endpointsOf(
  prod: Prod,
  select: { component?: string; port?: number } | undefined,
): { good: Endpoint[]; bad: string[]; why: string } {
  const all = prod.status?.endpoints ?? [];
  if (all.length === 0) return { good: [], bad: [], why: 'no endpoint in its status yet' };
  const component = select?.component ?? all[0]!.component;
  const good = new Map<string, Endpoint>();
  const bad: string[] = [];
  for (const e of all) {
    if (e.component !== component) continue;
    const hp = splitHostPort(e.address);
    if (!hp) {
      bad.push(`${e.address}: not host:port`);
      continue;
    }
    if (select?.port !== undefined && hp.port !== select.port) continue;
    if (isIP(hp.host) === 0) {
      bad.push(`${e.address}: ${hp.host} is not an IP address`);
      continue;
    }
    good.set(`${hp.host}:${hp.port}`, { addr: hp.host, port: hp.port });
  }
  const sorted = [...good.values()].sort((a, b) =>
    a.addr !== b.addr ? (a.addr < b.addr ? -1 : 1) : a.port - b.port,
  );
  const port = select?.port !== undefined ? ` port ${select.port}` : '';
  return { good: sorted, bad, why: `no endpoint of component ${component}${port}` };
}

function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:]+):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}

function hash(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 12);
}

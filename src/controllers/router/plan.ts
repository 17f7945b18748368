// What one HAProxy instance must be told so that it serves a table (pure): the table against
// what the instance reports (`show map`, `show servers state`), as runtime-API commands, none
// when it is up to date.
//
// Order, make before break: first every server that must take traffic (its address, then
// `state ready`), so that no host is ever pointed at a slot before its Prod's endpoints are in;
// then the map, replaced whole and atomically (prepare → add → commit) when it differs at all;
// last the servers that leave (`state maint`), once the committed map no longer sends anyone
// to them. Releasing slots (a map on some instance may still point at them) are left as they are.
import type { AdminState, MapEntry, ServerState } from '../../clouds/haproxy/index.js';
import type { HAProxySettings } from '../../api/router.js';
import { backendOf, serverOf, slotsIn, type Endpoint, type Table } from './table.js';

export type Command =
  | { kind: 'SetServerAddr'; backend: string; server: string; addr: string; port: number }
  | { kind: 'SetServerState'; backend: string; server: string; state: AdminState }
  | { kind: 'ReplaceMap'; map: string; entries: [string, string][] };

export interface Observed {
  /** `show map <map>`: the current version's entries. */
  map: readonly Pick<MapEntry, 'key' | 'value'>[];
  /** `show servers state`. */
  servers: readonly ServerState[];
}

export interface InstancePlan {
  commands: Command[];
  /** The configuration lacks what the table needs (a slot or server): nothing may be sent. */
  mismatches: string[];
  /** The slots its map points at once the plan is carried out. */
  referenced: Set<number>;
}

export function planInstance(
  spec: HAProxySettings,
  table: Pick<Table, 'entries' | 'slots' | 'records'>,
  observed: Observed,
): InstancePlan {
  const byBackend = new Map<string, Map<string, ServerState>>();
  for (const s of observed.servers) {
    let m = byBackend.get(s.backend);
    if (!m) byBackend.set(s.backend, (m = new Map()));
    m.set(s.name, s);
  }
  const releasing = new Set(
    table.records.filter((r) => r.state === 'Releasing').map((r) => r.slot),
  );
  const make: Command[] = [];
  const brk: Command[] = [];
  const mismatches: string[] = [];

  for (let slot = 0; slot < spec.slots; slot++) {
    if (releasing.has(slot)) continue;
    const backend = backendOf(spec, slot);
    const servers = byBackend.get(backend);
    const wanted = table.slots.get(slot)?.servers ?? [];
    if (!servers) {
      // A slot nobody uses may be missing (a router configured with fewer): only used ones count.
      if (table.slots.has(slot)) mismatches.push(`backend ${backend} is not in its configuration`);
      continue;
    }
    const names = Array.from({ length: spec.serversPerSlot }, (_, j) => serverOf(spec, j + 1));
    const missing = names.filter((n) => !servers.has(n));
    if (missing.length && table.slots.has(slot)) {
      mismatches.push(`${backend} has no server ${missing.join(', ')}`);
      continue;
    }
    const { ready, maint } = planSlot(
      backend,
      names.filter((n) => servers.has(n)).map((n) => servers.get(n)!),
      wanted,
    );
    make.push(...ready);
    brk.push(...maint);
  }

  const entries = table.entries;
  const map: Command[] = sameMap(observed.map, entries)
    ? []
    : [{ kind: 'ReplaceMap', map: spec.map, entries: entries.map(([k, v]) => [k, v]) }];
  if (mismatches.length) {
    return {
      commands: [],
      mismatches,
      referenced: slotsIn(
        spec,
        observed.map.map((e) => e.value),
      ),
    };
  }
  return {
    commands: [...make, ...map, ...brk],
    mismatches,
    referenced: slotsIn(
      spec,
      entries.map(([, v]) => v),
    ),
  };
}

/**
 * One slot's servers onto its endpoints, changing as few as possible: a server already at an
 * endpoint keeps it (in service first, then one in maintenance, which needs only `state ready`);
 * the others take the free servers in order; servers at no endpoint go to maintenance.
 */
export function planSlot(
  backend: string,
  servers: readonly ServerState[],
  wanted: readonly Endpoint[],
): { ready: Command[]; maint: Command[] } {
  const at = (s: ServerState) => `${s.addr ?? ''}:${s.port}`;
  const used = new Set<string>();
  const assigned = new Map<string, ServerState>();
  const todo: Endpoint[] = [];
  for (const e of wanted) {
    const key = `${e.addr}:${e.port}`;
    const match =
      servers.find((s) => !used.has(s.name) && s.admin !== 'maint' && at(s) === key) ??
      servers.find((s) => !used.has(s.name) && at(s) === key);
    if (match) {
      used.add(match.name);
      assigned.set(key, match);
    } else todo.push(e);
  }
  const ready: Command[] = [];
  const maint: Command[] = [];
  for (const [, s] of assigned)
    if (s.admin !== 'ready') ready.push(state(backend, s.name, 'ready'));
  // Free servers, those in maintenance first: one still in service may be finishing requests.
  const free = servers
    .filter((s) => !used.has(s.name))
    .sort((a, b) => Number(a.admin !== 'maint') - Number(b.admin !== 'maint') || a.id - b.id);
  for (const e of todo) {
    const s = free.shift();
    if (!s) break; // the table caps endpoints at serversPerSlot: not reached
    used.add(s.name);
    ready.push({ kind: 'SetServerAddr', backend, server: s.name, addr: e.addr, port: e.port });
    // One in service with no endpoint left is simply re-pointed.
    if (s.admin !== 'ready') ready.push(state(backend, s.name, 'ready'));
  }
  for (const s of servers)
    if (!used.has(s.name) && s.admin !== 'maint') maint.push(state(backend, s.name, 'maint'));
  return { ready, maint };
}

const state = (backend: string, server: string, s: AdminState): Command => ({
  kind: 'SetServerState',
  backend,
  server,
  state: s,
});

/** The same entries, whatever their order (a key given twice on the router is a difference). */
export function sameMap(
  observed: readonly Pick<MapEntry, 'key' | 'value'>[],
  wanted: readonly [string, string][],
): boolean {
  if (observed.length !== wanted.length) return false;
  const want = new Map(wanted);
  const seen = new Set<string>();
  for (const e of observed) {
    if (seen.has(e.key) || want.get(e.key) !== e.value) return false;
    seen.add(e.key);
  }
  return true;
}

/** A command as one line for logs and tests. */
export function describe(c: Command): string {
  switch (c.kind) {
    case 'SetServerAddr':
      return `set server ${c.backend}/${c.server} addr ${c.addr} port ${c.port}`;
    case 'SetServerState':
      return `set server ${c.backend}/${c.server} state ${c.state}`;
    case 'ReplaceMap':
      return `replace map ${c.map} (${c.entries.length} entries)`;
  }
}

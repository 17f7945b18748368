// One HAProxy instance, one reconcile: poll it (`show info`, `show map`), and when it may not
// serve the table — another process since last time (a restart loads the files on disk and
// forgets every runtime change), its map changed by someone else, a new table, or a resync due —
// read it in full, plan, and send what the plan says. Everything outside goes through
// src/clouds/haproxy.
import {
  RuntimeApiError,
  findMap,
  replaceMap,
  runtimeClient,
  setServerAddr,
  setServerState,
  showInfo,
  showMap,
  showServersState,
  type RuntimeClient,
} from '../../clouds/haproxy/index.js';
import type { HAProxyInstance, HAProxySettings } from '../../api/router.js';
import { parseDuration } from '../../runtime/duration.js';
import { timestamp } from '../../runtime/time.js';
import { planInstance, type Command } from './plan.js';
import type { Table } from './table.js';

/** Even an instance that looks unchanged is read in full this often (a `set map` by hand). */
export const RESYNC_MS = 30_000;

/** What the controller remembers of an instance between reconciles. */
export interface InstanceMemory {
  /** The runtime API it was reached at (a new address forgets the rest). */
  target: string;
  reachable: boolean;
  /** pid@start of the process last seen. */
  instance?: string;
  haproxyVersion?: string;
  /** The table it serves, as last read back or programmed. */
  tableVersion?: string;
  /** The map's current version and entry count after our last look or commit. */
  mapVersion?: number;
  mapEntries?: number;
  /** The slots its map points at, when known. */
  referenced?: Set<number>;
  /**
   * The entries of its map as last read or committed, valid while the map's version and entry
   * count are those above: then they stand in for `show map` (10,000 entries are ~400 KiB to
   * read and parse); any other writer changes the version or the count (`add`/`del`/`clear`/
   * `commit`), and a `set map` by hand is caught by the full read every RESYNC_MS.
   */
  entries?: readonly { key: string; value: string }[];
  /** When it was last read in full (ms). */
  verifiedAt?: number;
  /** When commands were last sent to it (ISO). */
  lastProgrammed?: string;
  /** What went wrong in this reconcile, if anything. */
  problem?: { reason: 'RouterUnreachable' | 'RouterRejected' | 'ConfigMismatch'; message: string };
}

export interface SyncReport {
  memory: InstanceMemory;
  /** Commands sent in this reconcile, in order (for logs and metrics). */
  sent: Command[];
  /** This reconcile found another process than the one last seen. */
  restarted: boolean;
  /** Read in full in this reconcile. */
  observed: boolean;
}

export type ClientFactory = (target: string, timeoutMs: number) => RuntimeClient;
export const defaultClient: ClientFactory = (target, timeoutMs) =>
  runtimeClient(target, { timeoutMs });

export async function syncInstance(
  spec: HAProxySettings,
  inst: HAProxyInstance,
  table: Table,
  previous: InstanceMemory | undefined,
  now: number,
  makeClient: ClientFactory = defaultClient,
): Promise<SyncReport> {
  const mem: InstanceMemory =
    previous && previous.target === inst.runtimeAPI
      ? { ...previous, problem: undefined }
      : { target: inst.runtimeAPI, reachable: false };
  const client = makeClient(inst.runtimeAPI, parseDuration(spec.timeout));
  const sent: Command[] = [];
  let restarted = false;
  let observed = false;
  try {
    const info = await showInfo(client);
    restarted = mem.instance !== undefined && mem.instance !== info.instance;
    if (mem.instance !== info.instance) {
      // Another process: what it serves is whatever its files held. Nothing is known.
      mem.tableVersion = undefined;
      mem.referenced = undefined;
      mem.mapVersion = undefined;
      mem.entries = undefined;
      mem.verifiedAt = undefined;
    }
    mem.instance = info.instance;
    mem.haproxyVersion = info.version;
    mem.reachable = true;
    const map = await findMap(client, spec.map);
    if (!map) {
      mem.problem = {
        reason: 'ConfigMismatch',
        message: `no map ${spec.map} in its configuration (show map)`,
      };
      return { memory: mem, sent, restarted, observed };
    }
    const upToDate =
      mem.tableVersion === table.version &&
      mem.mapVersion === map.currentVersion &&
      mem.mapEntries === map.entryCount &&
      mem.verifiedAt !== undefined &&
      now - mem.verifiedAt < RESYNC_MS;
    if (upToDate) return { memory: mem, sent, restarted, observed };

    // Read, then plan against what it says: the servers always; the map's entries unless its
    // version and count show it is the one this controller committed or read last.
    const known =
      mem.entries !== undefined &&
      mem.mapVersion === map.currentVersion &&
      mem.mapEntries === map.entryCount &&
      mem.verifiedAt !== undefined &&
      now - mem.verifiedAt < RESYNC_MS;
    const entries = known ? mem.entries! : await showMap(client, spec.map);
    const servers = await showServersState(client);
    observed = true;
    if (!known) mem.verifiedAt = now;
    mem.entries = entries;
    mem.mapVersion = map.currentVersion;
    mem.mapEntries = map.entryCount;
    const plan = planInstance(spec, table, { map: entries, servers });
    if (plan.mismatches.length) {
      mem.referenced = plan.referenced;
      mem.tableVersion = undefined;
      mem.problem = { reason: 'ConfigMismatch', message: plan.mismatches.slice(0, 5).join('; ') };
      return { memory: mem, sent, restarted, observed };
    }
    // From the first command on, its map may be either the old one or the new one.
    if (plan.commands.length) {
      mem.referenced = undefined;
      mem.entries = undefined;
    }
    for (const c of plan.commands) {
      const version = await send(client, c);
      sent.push(c);
      if (c.kind === 'ReplaceMap') {
        mem.mapVersion = version!;
        mem.mapEntries = c.entries.length;
        mem.entries = c.entries.map(([key, value]) => ({ key, value }));
      }
    }
    mem.entries ??= entries;
    mem.referenced = plan.referenced;
    mem.tableVersion = table.version;
    if (sent.length) mem.lastProgrammed = timestamp(new Date(now));
    return { memory: mem, sent, restarted, observed };
  } catch (err) {
    if (!(err instanceof RuntimeApiError)) throw err;
    if (err.retryable || err.kind === 'NoAnswer') {
      mem.reachable = false;
      mem.problem = { reason: 'RouterUnreachable', message: err.message };
      // If it comes back as the same process, it is read again before being trusted.
      mem.verifiedAt = undefined;
    } else {
      mem.problem = { reason: 'RouterRejected', message: err.message };
      mem.verifiedAt = undefined;
    }
    // Commands may have been half sent: what its map points at is not known.
    if (sent.length) mem.referenced = undefined;
    return { memory: mem, sent, restarted, observed };
  }
}

/** Sends one command; for a map replacement, resolves to the version now current. */
async function send(client: RuntimeClient, c: Command): Promise<number | undefined> {
  switch (c.kind) {
    case 'SetServerAddr':
      await setServerAddr(client, c.backend, c.server, c.addr, c.port);
      return undefined;
    case 'SetServerState':
      await setServerState(client, c.backend, c.server, c.state);
      return undefined;
    case 'ReplaceMap':
      return (await replaceMap(client, c.map, c.entries)).version;
  }
}

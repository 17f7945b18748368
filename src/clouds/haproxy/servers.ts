// Servers through the runtime API: read their state, point a pre-declared server at an address,
// and set its administrative state or health checks. Backends cannot be created at runtime in
// HAProxy 2.6, so a router pre-declares backend slots, each with a server-template whose servers
// start in maintenance; programming a Prod's endpoints is `set server … addr` then `state ready`.
import { RuntimeApiError, answerError } from './errors.js';
import { word, type RuntimeClient } from './socket.js';

/** What the operator asked: in rotation, out of rotation but finishing (drain), or off. */
export type AdminState = 'ready' | 'drain' | 'maint';
/** What checks say: SRV_ST_STOPPED, STARTING, RUNNING, STOPPING. */
export type OpState = 'down' | 'starting' | 'up' | 'stopping';
export type CheckResult = 'unknown' | 'neutral' | 'failed' | 'passed' | 'condpass';

/** One line of `show servers state` (format 1), the fields a router's programmer needs. */
export interface ServerState {
  backendId: number;
  backend: string;
  id: number;
  name: string;
  /** Undefined when the server has no address. */
  addr: string | undefined;
  port: number;
  admin: AdminState;
  /** srv_admin_state as HAProxy keeps it (a mask: 0x01 forced maint, 0x04 config, 0x08 drain…). */
  adminFlags: number;
  op: OpState;
  /** The weight in force (srv_uweight). */
  weight: number;
  checkResult: CheckResult;
  /** A health check is configured (`check`) and enabled (not `disable health`). */
  checkEnabled: boolean;
  /** The FQDN the server was declared with, if any. */
  fqdn: string | undefined;
}

const opStates: OpState[] = ['down', 'starting', 'up', 'stopping'];
const checkResults: CheckResult[] = ['unknown', 'neutral', 'failed', 'passed', 'condpass'];
// server-t.h: SRV_ADMF_MAINT = FMAINT|IMAINT|RMAINT (CMAINT only records `disabled` in the
// configuration: a server leaving maintenance keeps it); FDRAIN|IDRAIN.
const MAINT = 0x01 | 0x02 | 0x20;
const DRAIN = 0x08 | 0x10;
const CHK_ST_CONFIGURED = 0x02;
const CHK_ST_ENABLED = 0x04;

/** Every server's state, or one backend's. */
export async function showServersState(
  client: RuntimeClient,
  backend?: string,
): Promise<ServerState[]> {
  return parseServersState(await dumpServersState(client, backend));
}

/**
 * The raw `show servers state` text: what HAProxy's `server-state-file` holds. Written to that
 * file before a restart, it makes the new process start with the servers as they were.
 */
export async function dumpServersState(client: RuntimeClient, backend?: string): Promise<string> {
  const command = `show servers state${backend ? ` ${word('show servers state', backend)}` : ''}`;
  const answer = await client.send(command);
  if (!/^\d+\n#/.test(answer)) throw answerError(command, answer);
  return `${answer}\n`;
}

export function parseServersState(answer: string): ServerState[] {
  const lines = answer.split('\n');
  if (lines[0]?.trim() !== '1') {
    throw new RuntimeApiError(
      'BadResponse',
      'show servers state',
      `format ${lines[0]} (this client reads format 1)`,
    );
  }
  const out: ServerState[] = [];
  for (const line of lines.slice(1)) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(' ');
    if (f.length < 19) {
      throw new RuntimeApiError('BadResponse', 'show servers state', `short line: ${line}`);
    }
    const n = (i: number) => Number(f[i]);
    const adminFlags = n(6);
    const checkState = n(13);
    out.push({
      backendId: n(0),
      backend: f[1]!,
      id: n(2),
      name: f[3]!,
      addr: f[4] === '-' ? undefined : f[4],
      port: n(18),
      admin: adminFlags & MAINT ? 'maint' : adminFlags & DRAIN ? 'drain' : 'ready',
      adminFlags,
      op: opStates[n(5)] ?? 'down',
      weight: n(7),
      checkResult: checkResults[n(11)] ?? 'unknown',
      checkEnabled: (checkState & (CHK_ST_CONFIGURED | CHK_ST_ENABLED)) === 0x06,
      fqdn: f[17] === '-' ? undefined : f[17],
    });
  }
  return out;
}

/**
 * Points a server at `addr` (an IP address) and, if given, `port`. HAProxy answers in words
 * ("IP changed from …", "no need to change the addr…"): anything else is an error.
 */
export async function setServerAddr(
  client: RuntimeClient,
  backend: string,
  server: string,
  addr: string,
  port?: number,
): Promise<void> {
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new RuntimeApiError('Invalid', 'set server addr', `bad port ${port}`);
  }
  const command = `set server ${srv(backend, server)} addr ${word('set server', addr)}${
    port === undefined ? '' : ` port ${port}`
  }`;
  const answer = await client.send(command);
  if (!/^(IP changed from|no need to change the addr)/.test(answer.trim())) {
    throw answerError(command, answer);
  }
}

/** ready: in rotation; drain: no new traffic but checked and finishing; maint: off, unchecked. */
export async function setServerState(
  client: RuntimeClient,
  backend: string,
  server: string,
  state: AdminState,
): Promise<void> {
  await expectSilence(client, `set server ${srv(backend, server)} state ${state}`);
}

/** Turns a configured health check back on (a server that has none answers with an error). */
export async function enableHealth(
  client: RuntimeClient,
  backend: string,
  server: string,
): Promise<void> {
  await expectSilence(client, `enable health ${srv(backend, server)}`);
}

/** Stops health checks: the server keeps the operational state it had. */
export async function disableHealth(
  client: RuntimeClient,
  backend: string,
  server: string,
): Promise<void> {
  await expectSilence(client, `disable health ${srv(backend, server)}`);
}

const srv = (backend: string, server: string) =>
  `${word('set server', backend)}/${word('set server', server)}`;

async function expectSilence(client: RuntimeClient, command: string): Promise<void> {
  const answer = await client.send(command);
  if (answer.trim() !== '') throw answerError(command, answer);
}

// Stopping and starting the lab's tenant router while the rest of the lab runs, for the tests
// of whoever programs it: a restart (the server states saved first, as an orderly restart of
// HAProxy does), or a kill (nothing saved, as a crash). Either way the new process loads its
// map file and server-state file and forgets every runtime-API change.
import { writeFile, rename } from 'node:fs/promises';
import { readState } from './context.js';
import { startLabProcess, stopLabProcess } from './lab.js';
import { isAlive } from './proc.js';
import {
  ROUTER_PROCESS,
  waitForRouter,
  writeRouterConfig,
  type RouterState,
} from './parts/haproxy.js';
import {
  dumpServersState,
  runtimeClient,
  showInfo,
  type RouterInfo,
} from '../../src/clouds/haproxy/index.js';
import type { HAProxyRouter } from '../../src/api/router.js';

export interface RouterStopOptions {
  /** SIGKILL the master and worker, saving nothing: a crash. Default: an orderly stop. */
  kill?: boolean;
}

/** Stops the router of the lab in `dir`; an orderly stop writes the servers' state file first. */
export async function stopRouter(dir: string, opts: RouterStopOptions = {}): Promise<void> {
  const { proc } = recorded(dir);
  if (opts.kill) {
    if (isAlive(proc)) process.kill(-proc.pid, 'SIGKILL');
  } else {
    await saveServerState(dir);
  }
  await stopLabProcess(dir, ROUTER_PROCESS);
}

/** Writes the running router's `show servers state` to the server-state file it loads at start. */
export async function saveServerState(dir: string): Promise<void> {
  const { router } = recorded(dir);
  const text = await dumpServersState(runtimeClient({ socket: router.socket }));
  await writeFile(`${router.serverStateFile}.tmp`, text);
  await rename(`${router.serverStateFile}.tmp`, router.serverStateFile);
}

/**
 * Starts the stopped router again, as it was started first (its configuration written again by
 * the code of this checkout: same ports and files); resolves once it answers.
 */
export async function startRouterAgain(dir: string, previous?: RouterInfo): Promise<RouterInfo> {
  const { router } = recorded(dir);
  writeRouterConfig(router);
  const proc = await startLabProcess(dir, ROUTER_PROCESS);
  return waitForRouter(router.socket, proc, previous);
}

/** Stops and starts the router; resolves to the new process's `show info`. */
export async function restartRouter(
  dir: string,
  opts: RouterStopOptions = {},
): Promise<RouterInfo> {
  const { router } = recorded(dir);
  const before = await showInfo(runtimeClient({ socket: router.socket }));
  await stopRouter(dir, opts);
  return startRouterAgain(dir, before);
}

function recorded(dir: string) {
  const state = readState(dir);
  const router: RouterState | undefined = state?.router;
  const proc = state?.processes.find((p) => p.name === ROUTER_PROCESS);
  if (!router || !proc) throw new Error(`no tenant router in the lab at ${dir}`);
  return { router, proc };
}

/** A Router's spec.haproxy for the lab's HAProxy: its runtime API, map, slots and servers. */
export function labHAProxy(r: RouterState, pollInterval?: string): HAProxyRouter {
  return {
    instances: [{ name: 'lab', runtimeAPI: r.adminAddress }],
    map: r.mapFile,
    slots: r.slots,
    serversPerSlot: r.serversPerSlot,
    ...(pollInterval && { pollInterval }),
  };
}

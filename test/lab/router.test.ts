// The lab's tenant router as a part: `lab env` names it, `lab status` checks it through its
// runtime API and frontend, and a stopped router is reported, then started again as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { labState } from '../support/lab.js';
import { labEnv, labHealth } from '../../lab/src/lab.js';
import { readState } from '../../lab/src/context.js';
import { startRouterAgain, stopRouter } from '../../lab/src/router.js';
import { runtimeClient, showInfo } from '../../src/clouds/haproxy/index.js';

test('lab env names the router; its files are in the lab directory', () => {
  const state = labState();
  const r = state.router!;
  const env = labEnv(state);
  assert.equal(env.KACHIKU_ROUTER_URL, r.url);
  assert.equal(env.KACHIKU_ROUTER_SOCKET, r.socket);
  assert.equal(env.KACHIKU_ROUTER_ADMIN, r.adminAddress);
  assert.equal(env.KACHIKU_ROUTER_MAP, r.mapFile);
  for (const f of [r.socket, r.mapFile, r.config, r.serverStateFile, r.pidFile])
    assert.ok(f.startsWith(state.dir) && existsSync(f), f);
  const config = readFileSync(r.config, 'utf8');
  assert.match(config, new RegExp(`backend be_slot_${r.slots - 1}\\n`));
  assert.doesNotMatch(config, new RegExp(`backend be_slot_${r.slots}\\n`));
  assert.doesNotMatch(config, /^\s*(chroot|user|group|daemon)\b/m);
  // Failover to a tenant's secondary: one rule per slot, on the slot's servers up.
  for (let i = 0; i < r.slots; i++)
    assert.match(config, new RegExp(`\\{ nbsrv\\(be_slot_${i}\\) eq 0 \\}`));
});

test('lab status checks the router: ok while it runs, failing while it is stopped', async () => {
  const dir = labState().dir;
  const routerHealth = async () =>
    (await labHealth(readState(dir)!)).find((h) => h.part === 'router')!;
  assert.equal((await routerHealth()).ok, true);
  const before = await showInfo(runtimeClient({ socket: labState().router!.socket }));
  await stopRouter(dir);
  try {
    const down = await routerHealth();
    assert.equal(down.ok, false);
    assert.match(down.detail, /Unreachable/);
  } finally {
    const again = await startRouterAgain(dir, before);
    assert.notEqual(again.instance, before.instance);
  }
  assert.equal((await routerHealth()).ok, true);
  const pid = Number(readFileSync(labState().router!.pidFile, 'utf8'));
  const master = readState(dir)!.processes.find((p) => p.name === 'haproxy')!;
  assert.equal(pid, master.pid, 'the pidfile names the master the lab recorded');
});

// kachiku's HAProxy runtime-API client against the lab's tenant router, a real HAProxy 2.6:
// routing by host through a map to a pre-declared backend slot whose server the client points
// at a loopback HTTP server (standing in for a Prod's pods, which the lab's kwok clusters do not
// run), atomic map replacement under traffic, server state, typed errors, and what a restarted
// or killed router comes back with. The map is the router's one table: these tests own it, and
// leave it empty with every server of the slots they used back in maintenance.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { labState } from '../support/lab.js';
import { standIn, viaRouter, type Routed } from '../support/router.js';
import { restartRouter, saveServerState } from '../../lab/src/router.js';
import {
  clearMap,
  commitMap,
  disableHealth,
  enableHealth,
  findMap,
  isRuntimeApiError,
  replaceMap,
  runtimeClient,
  setServerAddr,
  setServerState,
  showInfo,
  showMap,
  showServersState,
  writeMapFile,
  type ServerState,
} from '../../src/clouds/haproxy/index.js';

const lab = labState();
const router = lab.router!;
const client = runtimeClient(
  { socket: router.socket },
  { maxRequestBytes: router.maxRequestBytes },
);
const MAP = router.mapFile;
const USED_SLOTS = ['be_slot_0', 'be_slot_1', 'be_slot_2', 'be_slot_3', 'be_slot_4'];

/** An empty map and every server of the slots used in maintenance. */
async function reset(): Promise<void> {
  await writeMapFile(MAP, []);
  await replaceMap(client, MAP, []);
  for (const be of USED_SLOTS)
    for (const s of await showServersState(client, be))
      if (s.admin !== 'maint') await setServerState(client, be, s.name, 'maint');
  await saveServerState(lab.dir);
}
// Before too: a reused lab's router may hold what the Router tests programmed last.
before(reset);
after(reset);

const server = async (be: string, name: string): Promise<ServerState> => {
  const s = (await showServersState(client, be)).find((x) => x.name === name);
  assert.ok(s, `${be}/${name} exists`);
  return s;
};

/** Points `be`'s first server at a stand-in and puts it in rotation. */
async function program(be: string, port: number): Promise<void> {
  await setServerAddr(client, be, 's1', '127.0.0.1', port);
  await setServerState(client, be, 's1', 'ready');
}

test('the runtime API answers on the unix socket and on loopback TCP, from the same HAProxy 2.6', async () => {
  const info = await showInfo(client);
  assert.match(info.version, /^2\.6\./);
  const overTcp = await showInfo(runtimeClient(router.adminAddress));
  assert.equal(overTcp.instance, info.instance);
  const map = await findMap(client, MAP);
  assert.ok(map, 'the map file of the configuration is a map of the router');
});

test("a host routed to a slot reaches the server it is pointed at; unknown hosts get be_default's 404", async () => {
  const prod = await standIn('prod-a v1');
  await program('be_slot_0', prod.port);
  await replaceMap(client, MAP, [['tenant-a.example', 'be_slot_0']]);

  // Host is matched lower-cased and without its port.
  const r = await viaRouter(router.url, 'Tenant-A.example:8080');
  assert.deepEqual(r, { status: 200, body: 'prod-a v1' });
  assert.equal(prod.hits(), 1);
  const unknown = await viaRouter(router.url, 'nobody.example');
  assert.equal(unknown.status, 404);
  assert.match(unknown.body, /no tenant is routed/);

  // Out of rotation: the slot has no server left, so HAProxy answers 503 itself.
  await setServerState(client, 'be_slot_0', 's1', 'maint');
  assert.equal((await viaRouter(router.url, 'tenant-a.example')).status, 503);
  assert.equal(prod.hits(), 1);
});

test('set server addr/port and state ready, drain, maint, health on and off: show servers state says so', async () => {
  const before = await server('be_slot_1', 's2');
  assert.equal(before.admin, 'maint', 'a slot server starts in maintenance');
  const prod = await standIn('prod-b v1');
  await setServerAddr(client, 'be_slot_1', 's2', '127.0.0.1', prod.port);
  let s = await server('be_slot_1', 's2');
  assert.deepEqual([s.addr, s.port, s.admin], ['127.0.0.1', prod.port, 'maint']);

  await setServerState(client, 'be_slot_1', 's2', 'ready');
  s = await server('be_slot_1', 's2');
  assert.deepEqual([s.admin, s.op], ['ready', 'up']);
  await setServerState(client, 'be_slot_1', 's2', 'drain');
  assert.equal((await server('be_slot_1', 's2')).admin, 'drain');
  await disableHealth(client, 'be_slot_1', 's2');
  assert.equal((await server('be_slot_1', 's2')).checkEnabled, false);
  await enableHealth(client, 'be_slot_1', 's2');
  assert.equal((await server('be_slot_1', 's2')).checkEnabled, true);
  await setServerState(client, 'be_slot_1', 's2', 'maint');
  assert.equal((await server('be_slot_1', 's2')).admin, 'maint');

  // A server pointed at a port where nothing listens is found down by its checks.
  await setServerAddr(client, 'be_slot_1', 's3', '127.0.0.1', 1);
  await setServerState(client, 'be_slot_1', 's3', 'ready');
  const deadline = Date.now() + 10_000;
  while ((await server('be_slot_1', 's3')).op !== 'down') {
    assert.ok(Date.now() < deadline, 'checks mark a dead endpoint down within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await server('be_slot_1', 's3')).checkResult, 'failed');
});

test("HAProxy's refusals are typed errors", async () => {
  const kind = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: unknown) => (isRuntimeApiError(e) ? e.kind : `untyped: ${String(e)}`),
    );
  assert.equal(await kind(setServerState(client, 'be_nope', 's1', 'ready')), 'NotFound');
  assert.equal(await kind(setServerState(client, 'be_slot_0', 's99', 'ready')), 'NotFound');
  assert.equal(await kind(setServerAddr(client, 'be_slot_0', 's1', 'not-an-ip')), 'Rejected');
  assert.equal(await kind(showServersState(client, 'be_nope')), 'NotFound');
  assert.equal(await kind(showMap(client, '/no/such.map')), 'NotFound');
  assert.equal(await kind(replaceMap(client, '/no/such.map', [['a', 'b']])), 'NotFound');
  const map = await findMap(client, MAP);
  assert.equal(
    await kind(replaceMap(client, `#${map!.id}`, [['a.example', 'be_slot_0']])),
    'resolved',
  );
  assert.equal(await kind(commitMap(client, MAP, map!.nextVersion + 100)), 'BadVersion');
  const bogus = await client.send('show kachiku');
  assert.match(bogus, /^Unknown command/);
});

test('a 2000-entry map replaced atomically while requests run: every answer comes from a table that was current', async (t) => {
  const slots = ['be_slot_2', 'be_slot_3', 'be_slot_4'];
  const names = slots.map((s) => `prod-${s}`);
  for (const [i, be] of slots.entries()) await program(be, (await standIn(names[i]!)).port);
  const hosts = Array.from({ length: 2000 }, (_, i) => `t${i}.tenants.example`);
  // Table k sends host i to slot (i + k) mod 3: each replacement moves every host.
  const table = (k: number) => hosts.map((h, i): [string, string] => [h, slots[(i + k) % 3]!]);
  const answer = (k: number, i: number) => names[(i + k) % 3]!;
  await replaceMap(client, MAP, table(0));

  // commits[k] = [start, end] of the call that made table k current.
  const commits: [number, number][] = [[0, performance.now()]];
  let running = true;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const seen: { i: number; start: number; end: number; r: Routed }[] = [];
  const loop = async () => {
    while (running) {
      const i = Math.floor(Math.random() * hosts.length);
      const start = performance.now();
      const r = await viaRouter(router.url, hosts[i]!, agent);
      seen.push({ i, start, end: performance.now(), r });
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  const rounds = 8;
  let batches = 0;
  for (let k = 1; k <= rounds; k++) {
    const start = performance.now();
    const res = await replaceMap(client, MAP, table(k));
    commits.push([start, performance.now()]);
    batches = res.batches;
    const m = await findMap(client, MAP);
    assert.equal(m?.currentVersion, res.version);
    assert.equal(m?.entryCount, 2000, 'older versions are dropped at commit');
  }
  running = false;
  await Promise.all(loops);

  // Table k may have served a request if it could be current at some moment of it: committed
  // (at the latest) before the request ended, and not yet replaced when it started.
  const possible = (start: number, end: number) =>
    commits
      .map((_, k) => k)
      .filter((k) => commits[k]![0] <= end && (k === rounds || commits[k + 1]![1] >= start));
  const overlapping = seen.filter(
    (s) =>
      possible(s.start, s.end).length > 1 || commits.some(([a, b]) => s.start < b && s.end > a),
  );
  const bad = seen.filter(
    (s) => s.r.status !== 200 || !possible(s.start, s.end).some((k) => answer(k, s.i) === s.r.body),
  );
  assert.deepEqual(
    bad.slice(0, 5),
    [],
    `${bad.length} of ${seen.length} answers from no current table`,
  );
  t.diagnostic(
    `${seen.length} requests, ${overlapping.length} during a replacement; ${rounds} replacements of ${batches} payloads`,
  );
  assert.ok(seen.length >= 200, `enough requests ran (${seen.length})`);
  assert.ok(overlapping.length >= 20, `requests overlapped replacements (${overlapping.length})`);
  assert.ok(batches > 1, `2000 entries took several payloads (${batches})`);

  // Afterwards every host is served by its slot of the last table.
  const final = await Promise.all(
    hosts.map((h, i) => viaRouter(router.url, h, agent).then((r) => r.body === answer(rounds, i))),
  );
  assert.equal(final.filter((ok) => !ok).length, 0);
  agent.destroy();
});

test('the check above can fail: a table cleared then refilled (not atomic) shows hosts with no route', async () => {
  const hosts = Array.from({ length: 50 }, (_, i) => `half${i}.tenants.example`);
  await replaceMap(
    client,
    MAP,
    hosts.map((h) => [h, 'be_slot_2']),
  );
  assert.equal((await viaRouter(router.url, hosts[49]!)).status, 200);
  await clearMap(client, MAP); // what a non-atomic update does first
  assert.equal((await viaRouter(router.url, hosts[49]!)).status, 404);
});

test('a restarted router loads the map file and saved server states; a killed one loses what was not saved', async () => {
  const prod = await standIn('prod-c v2');
  const onDisk: [string, string][] = [
    ['disk-1.example', 'be_slot_0'],
    ['disk-2.example', 'be_slot_1'],
  ];
  await writeMapFile(MAP, onDisk);
  await replaceMap(client, MAP, [...onDisk, ['runtime-only.example', 'be_slot_0']]);
  await program('be_slot_0', prod.port);
  assert.equal((await viaRouter(router.url, 'runtime-only.example')).body, 'prod-c v2');
  const before = await showInfo(client);

  const after1 = await restartRouter(lab.dir);
  assert.notEqual(after1.instance, before.instance, 'a new process, told apart by show info');
  assert.ok(after1.uptimeSec <= 5, `just started (${after1.uptimeSec} s)`);
  const loaded = (await showMap(client, MAP)).map((e): [string, string] => [e.key, e.value]);
  assert.deepEqual(loaded, onDisk, 'the map is the file, not what the runtime API had set');
  assert.equal(readFileSync(MAP, 'utf8'), 'disk-1.example be_slot_0\ndisk-2.example be_slot_1\n');
  assert.equal((await viaRouter(router.url, 'runtime-only.example')).status, 404);
  let s = await server('be_slot_0', 's1');
  assert.deepEqual([s.addr, s.port, s.admin], ['127.0.0.1', prod.port, 'ready'], 'state file');
  assert.equal((await viaRouter(router.url, 'disk-1.example')).body, 'prod-c v2');

  // A change after the last save, then a crash: the server comes back as last saved.
  await setServerState(client, 'be_slot_0', 's1', 'maint');
  const after2 = await restartRouter(lab.dir, { kill: true });
  assert.notEqual(after2.instance, after1.instance);
  s = await server('be_slot_0', 's1');
  assert.equal(s.admin, 'ready', 'the maint set after the last save is lost');
});

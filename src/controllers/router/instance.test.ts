// syncInstance() against a small in-memory imitation of HAProxy 2.6's runtime API (the answers in
// the shapes src/clouds/haproxy parses, as read off the lab's router): which commands a
// reconcile sends, and which it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeApiError, type RuntimeClient } from '../../clouds/haproxy/index.js';
import { syncInstance, RESYNC_MS, type InstanceMemory } from './instance.js';
import { buildTable } from './table.js';
import { fleet, prod, settings, tenant } from './testing.js';

const spec = settings({ slots: 2, serversPerSlot: 2 });
const MAP = spec.map;

class FakeHAProxy {
  pid = 100;
  start = 1_700_000_000;
  up = true;
  version = 1;
  next = 1;
  map = new Map<string, string>();
  pending = new Map<number, Map<string, string>>();
  servers = new Map<string, { addr: string; port: number; admin: 'ready' | 'maint' }>();
  /** Every command received, first words only. */
  log: string[] = [];

  constructor() {
    for (let i = 0; i < spec.slots; i++)
      for (let j = 1; j <= spec.serversPerSlot; j++)
        this.servers.set(`be_slot_${i}/s${j}`, { addr: '127.0.0.1', port: 1, admin: 'maint' });
  }

  restart(): void {
    this.pid++;
    this.start++;
    this.map = new Map();
    this.version = 1;
    this.next = 1;
    for (const s of this.servers.values())
      Object.assign(s, { addr: '127.0.0.1', port: 1, admin: 'maint' });
  }

  client(): RuntimeClient {
    return {
      target: 'fake',
      maxRequestBytes: 15360,
      send: (command, payload) => {
        if (!this.up)
          return Promise.reject(new RuntimeApiError('Unreachable', command, 'ECONNREFUSED'));
        this.log.push(command);
        return Promise.resolve(this.answer(command, payload));
      },
    };
  }

  private answer(command: string, payload?: readonly string[]): string {
    let m: RegExpExecArray | null;
    if (command === 'show info')
      return `Name: HAProxy\nVersion: 2.6.12\nPid: ${this.pid}\nUptime_sec: 5\nStart_time_sec: ${this.start}`;
    if (command === 'show map')
      return `# id (file) description\n1 (${MAP}) pattern loaded from file '${MAP}' used by map at file '/etc/haproxy.cfg' line 20. curr_ver=${this.version} next_ver=${this.next} entry_cnt=${this.map.size}`;
    if (command === `show map ${MAP}`)
      return [...this.map].map(([k, v], i) => `0x${(i + 1).toString(16)} ${k} ${v}`).join('\n');
    if (command === `prepare map ${MAP}`) {
      this.next++;
      this.pending.set(this.next, new Map());
      return `New version created: ${this.next}`;
    }
    if ((m = /^add map @(\d+) (\S+)$/.exec(command))) {
      for (const l of payload ?? []) {
        const i = l.indexOf(' ');
        this.pending.get(Number(m[1]))!.set(l.slice(0, i), l.slice(i + 1));
      }
      return '';
    }
    if ((m = /^commit map @(\d+) (\S+)$/.exec(command))) {
      this.map = this.pending.get(Number(m[1]))!;
      this.version = Number(m[1]);
      return '';
    }
    if (command === 'show servers state') {
      const lines = [...this.servers].map(([bs, s], i) => {
        const [b, n] = bs.split('/');
        const admin = s.admin === 'maint' ? 5 : 4;
        return `3 ${b} ${i + 1} ${n} ${s.addr} ${s.admin === 'maint' ? 0 : 2} ${admin} 1 1 1 1 0 0 14 0 0 0 unassigned.invalid ${s.port} - 0 0 - - 0`;
      });
      return `1\n# be_id be_name srv_id srv_name …\n${lines.join('\n')}`;
    }
    if ((m = /^set server (\S+) addr (\S+) port (\d+)$/.exec(command))) {
      Object.assign(this.servers.get(m[1]!)!, { addr: m[2], port: Number(m[3]) });
      return `IP changed from '127.0.0.1' to '${m[2]}', port changed from '1' to '${m[3]}' by 'stats socket command'`;
    }
    if ((m = /^set server (\S+) state (\S+)$/.exec(command))) {
      this.servers.get(m[1]!)!.admin = m[2] as 'ready' | 'maint';
      return '';
    }
    return 'Unknown command.';
  }
}

const table = (primary: string) =>
  buildTable({
    spec,
    fleets: [fleet('f')],
    tenants: [tenant('t1', ['a.example'], primary), tenant('t2', ['b.example'], 'p2', 'p1')],
    prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])],
    previous: [
      { slot: 0, prod: 'p1', state: 'Active' },
      { slot: 1, prod: 'p2', state: 'Active' },
    ],
  });
const inst = { name: 'a', runtimeAPI: '127.0.0.1:9999' };
const writes = (log: string[]) => log.filter((c) => !c.startsWith('show '));

test('first sync: read in full, servers in, map replaced; then polls only, no command', async () => {
  const h = new FakeHAProxy();
  const t = table('p1');
  const now = 1_000_000;
  const r1 = await syncInstance(spec, inst, t, undefined, now, () => h.client());
  assert.equal(r1.observed, true);
  assert.deepEqual(h.log.slice(0, 4), [
    'show info',
    'show map',
    `show map ${MAP}`,
    'show servers state',
  ]);
  assert.deepEqual(writes(h.log), [
    'set server be_slot_0/s1 addr 127.0.0.2 port 80',
    'set server be_slot_0/s1 state ready',
    'set server be_slot_1/s1 addr 127.0.0.3 port 80',
    'set server be_slot_1/s1 state ready',
    `prepare map ${MAP}`,
    `add map @2 ${MAP}`,
    `commit map @2 ${MAP}`,
  ]);
  assert.deepEqual(
    [...h.map],
    [
      ['a.example', 'be_slot_0'],
      ['b.example', 'be_slot_1 be_slot_0'],
    ],
  );
  assert.equal(r1.memory.tableVersion, t.version);
  assert.equal(r1.memory.instance, '100@1700000000');
  assert.deepEqual([...r1.memory.referenced!].sort(), [0, 1]);

  h.log = [];
  const r2 = await syncInstance(spec, inst, t, r1.memory, now + 1000, () => h.client());
  assert.deepEqual(h.log, ['show info', 'show map'], 'a poll: two reads');
  assert.equal(r2.sent.length, 0);
  assert.equal(r2.observed, false);
});

test('a new table: no `show map <map>` (the committed entries are known), only the map replaced', async () => {
  const h = new FakeHAProxy();
  const now = 1_000_000;
  const r1 = await syncInstance(spec, inst, table('p1'), undefined, now, () => h.client());
  h.log = [];
  const moved = table('p2');
  const r2 = await syncInstance(spec, inst, moved, r1.memory, now + 1000, () => h.client());
  assert.deepEqual(h.log, [
    'show info',
    'show map',
    'show servers state',
    `prepare map ${MAP}`,
    `add map @3 ${MAP}`,
    `commit map @3 ${MAP}`,
  ]);
  assert.equal(h.map.get('a.example'), 'be_slot_1');
  assert.equal(r2.memory.tableVersion, moved.version);
});

test('someone else changed the map: it is read again and put right', async () => {
  const h = new FakeHAProxy();
  const now = 1_000_000;
  const t = table('p1');
  const r1 = await syncInstance(spec, inst, t, undefined, now, () => h.client());
  h.map.set('a.example', 'be_slot_1');
  h.map.set('x.example', 'be_slot_1');
  h.log = [];
  const r2 = await syncInstance(spec, inst, t, r1.memory, now + 1000, () => h.client());
  assert.ok(h.log.includes(`show map ${MAP}`), 'entry count changed: read');
  assert.deepEqual(
    [...h.map],
    [
      ['a.example', 'be_slot_0'],
      ['b.example', 'be_slot_1 be_slot_0'],
    ],
  );
  // A value changed in place (same count, same version) is caught by the resync.
  h.map.set('a.example', 'be_slot_1');
  h.log = [];
  const r3 = await syncInstance(spec, inst, t, r2.memory, now + 2000, () => h.client());
  assert.deepEqual(h.log, ['show info', 'show map']);
  await syncInstance(spec, inst, t, r3.memory, now + RESYNC_MS + 2000, () => h.client());
  assert.equal(h.map.get('a.example'), 'be_slot_0');
});

test('a restarted HAProxy (another pid@start) is reprogrammed at once, and said to be', async () => {
  const h = new FakeHAProxy();
  const now = 1_000_000;
  const t = table('p1');
  const r1 = await syncInstance(spec, inst, t, undefined, now, () => h.client());
  h.restart();
  h.log = [];
  const r2 = await syncInstance(spec, inst, t, r1.memory, now + 1000, () => h.client());
  assert.equal(r2.restarted, true);
  assert.equal(r2.observed, true);
  assert.ok(h.log.includes(`show map ${MAP}`));
  assert.equal(writes(h.log).length, 7);
  assert.equal(h.map.size, 2);
  assert.equal(r2.memory.instance, '101@1700000001');
});

test('unreachable: reported, the last table kept in memory, read in full once back', async () => {
  const h = new FakeHAProxy();
  const now = 1_000_000;
  const t = table('p1');
  const r1 = await syncInstance(spec, inst, t, undefined, now, () => h.client());
  h.up = false;
  const r2 = await syncInstance(spec, inst, table('p2'), r1.memory, now + 1000, () => h.client());
  assert.equal(r2.memory.reachable, false);
  assert.equal(r2.memory.problem?.reason, 'RouterUnreachable');
  assert.equal(r2.memory.tableVersion, t.version, 'what it serves: the last table it was given');
  h.up = true;
  h.log = [];
  const back: InstanceMemory = r2.memory;
  const r3 = await syncInstance(spec, inst, table('p2'), back, now + 2000, () => h.client());
  assert.equal(r3.memory.problem, undefined);
  assert.equal(h.map.get('a.example'), 'be_slot_1');
});

test('a router without the map: ConfigMismatch, nothing sent', async () => {
  const h = new FakeHAProxy();
  const other = { ...spec, map: '/elsewhere.map' };
  const r = await syncInstance(other, inst, table('p1'), undefined, 0, () => h.client());
  assert.equal(r.memory.problem?.reason, 'ConfigMismatch');
  assert.deepEqual(writes(h.log), []);
});

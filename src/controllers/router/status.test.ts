import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routerStatus, type StatusInput } from './status.js';
import { buildTable } from './table.js';
import { fleet, prod, settings, tenant } from './testing.js';
import type { Router } from '../../api/router.js';
import type { InstanceMemory } from './instance.js';

const spec = settings({
  instances: [
    { name: 'a', runtimeAPI: '127.0.0.1:1' },
    { name: 'b', runtimeAPI: '127.0.0.1:2' },
  ],
  slots: 2,
});
const table = buildTable({
  spec,
  fleets: [fleet('f')],
  tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p2', 'p1')],
  prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])],
  previous: [],
});
const router: Router = {
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Router',
  metadata: { name: 'r', namespace: 'shop', generation: 3 },
  spec: { haproxy: spec },
};
const serving = (over: Partial<InstanceMemory> = {}): InstanceMemory => ({
  target: 'x',
  reachable: true,
  instance: '42@1700000000',
  haproxyVersion: '2.6.12',
  tableVersion: table.version,
  lastProgrammed: '2025-01-01T00:00:00Z',
  ...over,
});
const input = (a: InstanceMemory, b: InstanceMemory, r: Router = router): StatusInput => ({
  router: r,
  spec,
  table,
  records: table.records,
  instances: [
    { name: 'a', memory: a },
    { name: 'b', memory: b },
  ],
  fleets: 1,
  now: new Date('2025-01-01T00:00:10Z'),
});
const cond = (s: ReturnType<typeof routerStatus>, type: string) =>
  s.conditions?.find((c) => c.type === type);

test('both instances serve the table: Ready, not Degraded; the table and slots are recorded', () => {
  const s = routerStatus(input(serving(), serving()));
  assert.equal(cond(s, 'Ready')?.status, 'True');
  assert.equal(cond(s, 'Ready')?.reason, 'Programmed');
  assert.equal(cond(s, 'Degraded')?.status, 'False');
  assert.deepEqual(s.table, { version: table.version, fleets: 1, hosts: 2, prods: 2 });
  assert.deepEqual(s.slots, table.records);
  assert.deepEqual(s.instances?.[0], {
    name: 'a',
    reachable: true,
    instance: '42@1700000000',
    version: '2.6.12',
    tableVersion: table.version,
    lastProgrammed: '2025-01-01T00:00:00Z',
  });
  assert.equal(s.observedGeneration, 3);
});

test('the same facts again: the same status, transition times kept (no write)', () => {
  const first = routerStatus(input(serving(), serving()));
  const later = routerStatus({
    ...input(serving(), serving(), { ...router, status: first }),
    now: new Date('2025-01-01T01:00:00Z'),
  });
  assert.deepEqual(later, first);
});

test('one instance away: still Ready (the other serves), Degraded RouterUnreachable; its last table stays', () => {
  const away = serving({
    reachable: false,
    problem: {
      reason: 'RouterUnreachable',
      message: 'haproxy "show info": Unreachable: ECONNREFUSED',
    },
  });
  const s = routerStatus(input(serving(), away));
  assert.equal(cond(s, 'Ready')?.status, 'True');
  assert.equal(cond(s, 'Degraded')?.reason, 'RouterUnreachable');
  assert.match(
    cond(s, 'Degraded')!.message,
    /unreachable, keeping the last table it was given: b: /,
  );
  assert.equal(s.instances?.[1]?.reachable, false);
  assert.equal(s.instances?.[1]?.tableVersion, table.version);
  assert.match(s.instances?.[1]?.message ?? '', /ECONNREFUSED/);
});

test('no instance answers: not Ready, RouterUnreachable; after a kachiku restart the recorded table stands', () => {
  const away = (): InstanceMemory => ({
    target: 'x',
    reachable: false,
    problem: { reason: 'RouterUnreachable', message: 'ECONNREFUSED' },
  });
  const before = routerStatus(input(serving(), serving()));
  const s = routerStatus(input(away(), away(), { ...router, status: before }));
  assert.equal(cond(s, 'Ready')?.status, 'False');
  assert.equal(cond(s, 'Ready')?.reason, 'RouterUnreachable');
  assert.equal(s.instances?.[0]?.tableVersion, table.version);
  assert.equal(s.instances?.[0]?.instance, '42@1700000000');
});

test('a configuration lacking slots, a rejected command: not Ready, with the reason', () => {
  const mismatch = serving({
    tableVersion: undefined,
    problem: { reason: 'ConfigMismatch', message: 'backend be_slot_1 is not in its configuration' },
  });
  const s = routerStatus(input(serving(), mismatch));
  assert.equal(cond(s, 'Ready')?.reason, 'ConfigMismatch');
  assert.match(cond(s, 'Ready')!.message, /b: backend be_slot_1/);
  const rejected = serving({ problem: { reason: 'RouterRejected', message: 'Rejected: no' } });
  assert.equal(cond(routerStatus(input(rejected, serving())), 'Ready')?.reason, 'RouterRejected');
});

test('slots exhausted: Degraded says how many slots a reload needs', () => {
  const small = settings({ slots: 1 });
  const t = buildTable({
    spec: small,
    fleets: [fleet('f')],
    tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p2')],
    prods: [prod('p1', ['127.0.0.2:80']), prod('p2', ['127.0.0.3:80'])],
    previous: [],
  });
  const s = routerStatus({
    ...input(serving(), serving()),
    spec: small,
    table: t,
    records: t.records,
  });
  assert.equal(cond(s, 'Degraded')?.reason, 'SlotsExhausted');
  assert.match(cond(s, 'Degraded')!.message, /2 slots needed, 1 configured: no slot for p2/);
  assert.match(cond(s, 'Degraded')!.message, /A reload with at least 2 backend slots/);
  assert.deepEqual(s.table?.unrouted, ['b.example (tenant t2): no slot for p2']);
});

const heldTable = buildTable({
  spec,
  fleets: [fleet('f')],
  tenants: [tenant('t1', ['a.example'], 'p1'), tenant('t2', ['b.example'], 'p1', 'p2')],
  prods: [prod('p1', ['127.0.0.2:80'], { held: true }), prod('p2', ['127.0.0.3:80'])],
  previous: [],
});
const withHeld = (a: InstanceMemory, b: InstanceMemory): StatusInput => ({
  ...input(a, b),
  table: heldTable,
  records: heldTable.records,
});

test('held: listed once every instance serves the table that routes its Dual tenants away', () => {
  const on = { tableVersion: heldTable.version };
  assert.deepEqual(routerStatus(withHeld(serving(on), serving(on))).held, ['p1']);
  // One instance still on the table before: not yet.
  const before = serving({ tableVersion: 'the-one-before' });
  assert.equal(routerStatus(withHeld(serving(on), before)).held, undefined);
  // One that failed to take it: not yet either.
  const failed = serving({ problem: { reason: 'RouterRejected', message: 'Rejected: no' } });
  assert.equal(routerStatus(withHeld(serving(on), failed)).held, undefined);
});

test('held: an unreachable instance is not waited for; none reachable, nothing is held', () => {
  const on = { tableVersion: heldTable.version };
  const away = serving({
    reachable: false,
    problem: { reason: 'RouterUnreachable', message: 'ECONNREFUSED' },
  });
  assert.deepEqual(routerStatus(withHeld(serving(on), away)).held, ['p1']);
  assert.equal(routerStatus(withHeld(away, away)).held, undefined);
});

test('held: a held Prod whose Dual tenant cannot go elsewhere is not listed', () => {
  const t = buildTable({
    spec,
    fleets: [fleet('f')],
    tenants: [tenant('t2', ['b.example'], 'p1', 'p2')],
    prods: [
      prod('p1', ['127.0.0.2:80'], { held: true }),
      prod('p2', ['127.0.0.3:80'], { held: true }),
    ],
    previous: [],
  });
  const on = serving({ tableVersion: t.version });
  const s = routerStatus({ ...input(on, on), table: t, records: t.records });
  assert.deepEqual(s.held, ['p2']);
});

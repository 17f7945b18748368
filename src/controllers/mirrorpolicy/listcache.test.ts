import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListedLoadBalancer } from './plan.js';
import { ListCache } from './listcache.js';

const lb = (id: string, tags: string[] = []): ListedLoadBalancer =>
  ({
    id,
    name: id,
    project_id: 'p',
    vip_address: '10.0.0.1',
    admin_state_up: true,
    provisioning_status: 'ACTIVE',
    operating_status: 'ONLINE',
    listeners: [],
    pools: [],
    tags,
  }) as ListedLoadBalancer;
const ids = (lbs: ListedLoadBalancer[] | undefined) => (lbs ?? []).map((l) => l.id).sort();
const list = (startedAt: number) => ({ startedAt, at: startedAt + 5, generation: 1 });

test('a read merges into the last list', () => {
  const c = new ListCache();
  c.listed('ns/p', list(100), [lb('a')]);
  assert.equal(c.read('ns/p', lb('b'), 200), true);
  assert.deepEqual(ids(c.get('ns/p')?.lbs), ['a', 'b']);
  // Read again, newer: replaces its entry.
  assert.equal(c.read('ns/p', lb('a', ['x']), 300), true);
  assert.deepEqual(c.get('ns/p')?.lbs.find((l) => l.id === 'a')?.tags, ['x']);
});

test('a list begun before a read keeps the read (a load balancer tagged meanwhile stays)', () => {
  const c = new ListCache();
  c.listed('ns/p', list(0), []);
  // The list begins at 100 (the load balancer not yet tagged); the fast path reads it tagged
  // at 150 and merges; the list ends without it.
  assert.equal(c.read('ns/p', lb('a', ['mirror']), 150), true);
  const known = c.listed('ns/p', list(100), [lb('b')]);
  assert.deepEqual(ids(known), ['a', 'b']);
  assert.deepEqual(ids(c.get('ns/p')?.lbs), ['a', 'b']);
  // The read is carried only while no newer list began: one begun after it decides.
  assert.deepEqual(ids(c.listed('ns/p', list(200), [lb('b')])), ['b']);
});

test('a read begun before the last list is refused (a load balancer deleted meanwhile stays gone)', () => {
  const c = new ListCache();
  // The fast path's GET begins at 100; a list begins at 120 and ends without the load balancer
  // (deleted); the GET answers after, with the load balancer as it was.
  c.listed('ns/p', list(120), [lb('b')]);
  assert.equal(c.read('ns/p', lb('a'), 100), false);
  assert.deepEqual(ids(c.get('ns/p')?.lbs), ['b']);
});

test('of two reads of one load balancer that cross, the one begun later stays', () => {
  const c = new ListCache();
  c.listed('ns/p', list(0), []);
  assert.equal(c.read('ns/p', lb('a', ['new']), 200), true);
  assert.equal(c.read('ns/p', lb('a', ['old']), 150), false);
  assert.deepEqual(c.get('ns/p')?.lbs[0]?.tags, ['new']);
});

test('reads before any list are merged into the first', () => {
  const c = new ListCache();
  assert.equal(c.read('ns/p', lb('a'), 50), true);
  assert.equal(c.get('ns/p'), undefined);
  assert.deepEqual(ids(c.listed('ns/p', list(40), [])), ['a']);
});

test('policies are apart, and drop forgets one', () => {
  const c = new ListCache();
  c.listed('ns/p', list(0), [lb('a')]);
  c.listed('ns/q', list(0), [lb('b')]);
  c.read('ns/q', lb('c'), 10);
  assert.deepEqual(ids(c.get('ns/p')?.lbs), ['a']);
  c.drop('ns/q');
  assert.equal(c.get('ns/q'), undefined);
  assert.deepEqual(ids(c.listed('ns/q', list(5), [])), []);
});

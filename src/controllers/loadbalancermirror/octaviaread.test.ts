import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OctaviaLoadBalancer, OctaviaTree } from '../../clouds/openstack/types.js';
import { AGREE_AFTER_MS, afterWholeRead, treeRead, type TreeSeen } from './octaviaread.js';

const lb = (over: Partial<OctaviaLoadBalancer> = {}): OctaviaLoadBalancer => ({
  id: 'lb-1',
  name: 'web',
  project_id: 'p',
  vip_address: '10.0.0.10',
  admin_state_up: true,
  provisioning_status: 'ACTIVE',
  operating_status: 'ONLINE',
  listeners: [],
  pools: [],
  updated_at: '2026-11-30T20:39:02',
  ...over,
});
const tree = (over: Partial<OctaviaLoadBalancer> = {}): OctaviaTree => ({
  loadBalancer: lb(over),
  listeners: [],
  pools: [],
});
/** What is remembered after `n` whole reads of the same tree, a second apart. */
const readTimes = (n: number, t = tree()): TreeSeen | undefined => {
  let seen: TreeSeen | undefined;
  for (let i = 0; i < n; i++) seen = afterWholeRead(seen, t, 50_000 + i * AGREE_AFTER_MS);
  return seen;
};

test('treeRead: whole when nothing is known, or it is of another load balancer', () => {
  assert.equal(treeRead(undefined, lb(), 10), 'whole');
  assert.equal(treeRead(readTimes(2), lb({ id: 'lb-2' }), 10), 'whole');
});

test('treeRead: whole after one read; known once two reads found the same updated_at', () => {
  // updated_at has whole seconds: a change in the second of the first read, after it, would
  // leave it as it was, so one read is not enough.
  assert.equal(treeRead(readTimes(1), lb(), 10), 'whole');
  assert.equal(treeRead(readTimes(2), lb(), 10), 'known');
});

test('treeRead: whole when the load balancer names other listeners or pools than the tree read', () => {
  // Made or removed in the second of the last read: updated_at did not move, the ids did.
  const t = tree({ listeners: [{ id: 'l-1' }], pools: [{ id: 'p-1' }] });
  const seen = readTimes(2, t);
  const same = { listeners: [{ id: 'l-1' }], pools: [{ id: 'p-1' }] };
  assert.equal(treeRead(seen, lb(same), 10), 'known');
  assert.equal(treeRead(seen, lb({ ...same, pools: [{ id: 'p-1' }, { id: 'p-2' }] }), 10), 'whole');
  assert.equal(treeRead(seen, lb({ ...same, pools: [] }), 10), 'whole');
  assert.equal(treeRead(seen, lb({ ...same, listeners: [{ id: 'l-2' }] }), 10), 'whole');
  // The same ids in another order are the same.
  const two = tree({ pools: [{ id: 'p-1' }, { id: 'p-2' }] });
  assert.equal(
    treeRead(readTimes(2, two), lb({ pools: [{ id: 'p-2' }, { id: 'p-1' }] }), 10),
    'known',
  );
});

test('treeRead: whole when updated_at moved, is missing, or the load balancer is not ACTIVE', () => {
  const seen = readTimes(3);
  assert.equal(treeRead(seen, lb({ updated_at: '2026-11-30T20:39:03' }), 10), 'whole');
  assert.equal(treeRead(seen, lb({ updated_at: null }), 10), 'whole');
  assert.equal(treeRead(seen, lb({ updated_at: undefined }), 10), 'whole');
  assert.equal(treeRead(seen, lb({ provisioning_status: 'PENDING_UPDATE' }), 10), 'whole');
  assert.equal(treeRead(seen, lb({ provisioning_status: 'ERROR' }), 10), 'whole');
});

test('treeRead: the readEvery-th sync since the last whole read reads it whole', () => {
  const seen = readTimes(2)!;
  for (let sync = 1; sync < 10; sync++) {
    assert.equal(treeRead(seen, lb(), 10), 'known', `sync ${sync}`);
    seen.syncsSinceRead++;
  }
  assert.equal(treeRead(seen, lb(), 10), 'whole');
  // readEvery 1: every sync reads the whole tree.
  assert.equal(treeRead(readTimes(5), lb(), 1), 'whole');
});

test('afterWholeRead: counts reads of one updated_at, starts again when it moves', () => {
  const first = afterWholeRead(undefined, tree(), 1000);
  assert.equal(first?.reads, 1);
  const second = afterWholeRead({ ...first!, syncsSinceRead: 4 }, tree(), 2000);
  assert.deepEqual([second?.reads, second?.syncsSinceRead], [2, 0]);
  const moved = afterWholeRead(second, tree({ updated_at: '2026-11-30T20:40:00' }), 3000);
  assert.deepEqual([moved?.reads, moved?.updatedAt], [1, '2026-11-30T20:40:00']);
  // Another load balancer (the spec now names it): its reads count from one.
  assert.equal(afterWholeRead(second, tree({ id: 'lb-2' }), 3000)?.reads, 1);
  // Nothing to trust without updated_at.
  assert.equal(afterWholeRead(second, tree({ updated_at: null }), 3000), undefined);
});

test('afterWholeRead: a read begun under a second after the last that counted does not count', () => {
  // Both may lie in the second of updated_at: a change after the second read, in that second,
  // would not move it. A retry after an AWS error or a spec edit comes that soon.
  const first = afterWholeRead(undefined, tree(), 10_000)!;
  const soon = afterWholeRead(first, tree({ name: 'newer' }), 10_000 + AGREE_AFTER_MS - 1)!;
  assert.deepEqual([soon.reads, soon.readAt, soon.tree.loadBalancer.name], [1, 10_000, 'newer']);
  assert.equal(treeRead(soon, lb(), 10), 'whole');
  // Measured from the read that counted, not from the one that did not.
  const later = afterWholeRead(soon, tree(), 10_000 + AGREE_AFTER_MS)!;
  assert.equal(later.reads, 2);
  assert.equal(treeRead(later, lb(), 10), 'known');
});

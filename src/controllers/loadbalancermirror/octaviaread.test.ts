import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OctaviaLoadBalancer, OctaviaTree } from '../../clouds/openstack/types.js';
import { afterWholeRead, treeRead, type TreeSeen } from './octaviaread.js';

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
/** What is remembered after `n` whole reads of the same tree. */
const readTimes = (n: number, t = tree()): TreeSeen | undefined => {
  let seen: TreeSeen | undefined;
  for (let i = 0; i < n; i++) seen = afterWholeRead(seen, t);
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
  const first = afterWholeRead(undefined, tree());
  assert.equal(first?.reads, 1);
  const second = afterWholeRead({ ...first!, syncsSinceRead: 4 }, tree());
  assert.deepEqual([second?.reads, second?.syncsSinceRead], [2, 0]);
  const moved = afterWholeRead(second, tree({ updated_at: '2026-11-30T20:40:00' }));
  assert.deepEqual([moved?.reads, moved?.updatedAt], [1, '2026-11-30T20:40:00']);
  // Another load balancer (the spec now names it): its reads count from one.
  assert.equal(afterWholeRead(second, tree({ id: 'lb-2' }))?.reads, 1);
  // Nothing to trust without updated_at.
  assert.equal(afterWholeRead(second, tree({ updated_at: null })), undefined);
});

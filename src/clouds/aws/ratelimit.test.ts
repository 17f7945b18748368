import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultLimits, limitClass, limiter } from './ratelimit.js';

test('operations fall into aws-load-balancer-controller-style classes', () => {
  assert.equal(limitClass('elbv2', 'RegisterTargets'), 'elbv2.targets');
  assert.equal(limitClass('elbv2', 'DeregisterTargets'), 'elbv2.targets');
  for (const op of ['DescribeTargetHealth', 'DescribeTags', 'DescribeLoadBalancers'])
    assert.equal(limitClass('elbv2', op), 'elbv2.describe');
  for (const op of [
    'CreateTargetGroup',
    'ModifyListener',
    'DeleteLoadBalancer',
    'AddTags',
    'RemoveTags',
    'SetSubnets',
  ])
    assert.equal(limitClass('elbv2', op), 'elbv2.write');
  assert.equal(limitClass('ec2', 'DescribeSubnets'), 'ec2.describe');
  assert.equal(limitClass('ec2', 'CreateTags'), 'ec2.write');
  assert.equal(limitClass('route53', 'ChangeResourceRecordSets'), 'route53');
  assert.deepEqual(defaultLimits['elbv2.targets'], { rps: 4, burst: 20 });
  assert.deepEqual(defaultLimits['elbv2.describe'], { rps: 50, burst: 200 });
  assert.deepEqual(defaultLimits['elbv2.write'], { rps: 3, burst: 20 });
});

test('a burst goes at once, then requests are spaced at the rate', () => {
  let now = 0;
  const l = limiter({}, () => now);
  const waits = Array.from({ length: 24 }, () => l.reserve('elbv2', 'RegisterTargets'));
  assert.deepEqual(waits.slice(0, 20), Array(20).fill(0));
  // 4 rps: each further request waits a quarter of a second more than the one before.
  assert.deepEqual(waits.slice(20), [250, 500, 750, 1000]);
  // After 10 quiet seconds the bucket is full again (never above its burst).
  now += 10_000;
  const again = Array.from({ length: 21 }, () => l.reserve('elbv2', 'DeregisterTargets'));
  assert.deepEqual(again.slice(0, 20), Array(20).fill(0));
  assert.equal(again[20], 250);
});

test('classes have their own buckets; limits can be overridden', () => {
  const now = 0;
  const l = limiter({ 'elbv2.write': { rps: 1, burst: 2 } }, () => now);
  for (let i = 0; i < 20; i++) l.reserve('elbv2', 'RegisterTargets');
  assert.equal(l.reserve('elbv2', 'RegisterTargets'), 250);
  assert.equal(l.reserve('elbv2', 'DescribeTargetHealth'), 0);
  assert.equal(l.reserve('elbv2', 'CreateListener'), 0);
  assert.equal(l.reserve('elbv2', 'CreateListener'), 0);
  assert.equal(l.reserve('elbv2', 'ModifyListener'), 1000);
  assert.equal(l.reserve('route53', 'ChangeResourceRecordSets'), 0);
});

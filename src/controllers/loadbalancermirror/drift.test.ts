import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Target, TargetHealth } from '../../clouds/aws/types.js';
import { syncPath, targetDrift, targetHealthOf, type TargetGroupRead } from './drift.js';

const target = (ip: string, port = 443): Target => ({ ip, port, availabilityZone: '' });
const healthy = (ip: string, port = 443, state = 'healthy'): TargetHealth => ({ ip, port, state });
const group = (planned: Target[], read: TargetHealth[] | undefined): TargetGroupRead => ({
  name: 'k-web-tcp443',
  planned,
  read,
});

test('syncPath: full when nothing matched yet, when the plan changed, when the check is due', () => {
  assert.equal(syncPath(undefined, 'p', 10), 'full');
  assert.equal(syncPath({ planKey: 'old', syncsSinceCheck: 0 }, 'p', 10), 'full');
  assert.equal(syncPath({ planKey: 'p', syncsSinceCheck: 0 }, 'p', 10), 'targets');
  assert.equal(syncPath({ planKey: 'p', syncsSinceCheck: 8 }, 'p', 10), 'targets');
  // The tenth sync since the last full one reads AWS whole.
  assert.equal(syncPath({ planKey: 'p', syncsSinceCheck: 9 }, 'p', 10), 'full');
  // awsCheckEvery 1: every sync is a full one.
  assert.equal(syncPath({ planKey: 'p', syncsSinceCheck: 0 }, 'p', 1), 'full');
});

test('targetDrift: the planned targets, all registered, match', () => {
  const planned = [target('10.0.0.1'), target('10.0.0.2')];
  // Health does not matter, nor the order AWS answers in.
  const read = [healthy('10.0.0.2', 443, 'unhealthy'), healthy('10.0.0.1', 443, 'initial')];
  assert.deepEqual(targetDrift([group(planned, read)]), []);
  // An empty target group that is meant to be empty matches too.
  assert.deepEqual(targetDrift([group([], [])]), []);
});

test('targetDrift: a target group gone (TargetGroupNotFound, or its ARN unknown)', () => {
  assert.deepEqual(targetDrift([group([target('10.0.0.1')], undefined)]), [
    'target group k-web-tcp443 is gone',
  ]);
  assert.deepEqual(targetDrift([group([], undefined)]), ['target group k-web-tcp443 is gone']);
});

test('targetDrift: a target missing', () => {
  const planned = [target('10.0.0.1'), target('10.0.0.2')];
  assert.deepEqual(targetDrift([group(planned, [healthy('10.0.0.1')])]), [
    'target group k-web-tcp443: 10.0.0.2:443 not registered',
  ]);
});

test('targetDrift: a target registered that the plan does not hold', () => {
  const read = [healthy('10.0.0.1'), healthy('10.0.0.9')];
  assert.deepEqual(targetDrift([group([target('10.0.0.1')], read)]), [
    'target group k-web-tcp443: 10.0.0.9:443 registered but not planned',
  ]);
});

test('targetDrift: missing and extra together, each target group on its own line', () => {
  const a = group([target('10.0.0.1')], [healthy('10.0.0.2')]);
  const b = { ...group([target('10.0.0.3')], [healthy('10.0.0.3')]), name: 'k-web-udp53' };
  const c = { ...group([target('10.0.0.4')], undefined), name: 'k-web-tcp80' };
  assert.deepEqual(targetDrift([a, b, c]), [
    'target group k-web-tcp443: 10.0.0.1:443 not registered; 10.0.0.2:443 registered but not planned',
    'target group k-web-tcp80 is gone',
  ]);
});

test('targetDrift: draining targets are not registered, whether planned or not', () => {
  // A planned member draining (deregistered by hand): it must be registered again.
  const planned = [target('10.0.0.1'), target('10.0.0.2')];
  const read = [healthy('10.0.0.1'), healthy('10.0.0.2', 443, 'draining')];
  assert.deepEqual(targetDrift([group(planned, read)]), [
    'target group k-web-tcp443: 10.0.0.2:443 not registered',
  ]);
  // A removed member still draining is on its way out: nothing to do.
  const leaving = [healthy('10.0.0.1'), healthy('10.0.0.9', 443, 'draining')];
  assert.deepEqual(targetDrift([group([target('10.0.0.1')], leaving)]), []);
});

test('targetDrift: the same IP on another port is another target', () => {
  const planned = [target('10.0.0.1', 443), target('10.0.0.1', 8443)];
  assert.deepEqual(targetDrift([group(planned, [healthy('10.0.0.1', 443)])]), [
    'target group k-web-tcp443: 10.0.0.1:8443 not registered',
  ]);
  assert.deepEqual(targetDrift([group([target('10.0.0.1', 443)], [healthy('10.0.0.1', 80)])]), [
    'target group k-web-tcp443: 10.0.0.1:443 not registered; 10.0.0.1:80 registered but not planned',
  ]);
});

test('targetDrift: a target group no load balancer uses (its NLB or listener deleted)', () => {
  const read = [{ ...healthy('10.0.0.1', 443, 'unused'), reason: 'Target.NotInUse' }];
  assert.deepEqual(targetDrift([group([target('10.0.0.1')], read)]), [
    'target group k-web-tcp443 is not used by a load balancer',
  ]);
});

test('targetHealthOf: healthy of registered, draining left out, gone groups count nothing', () => {
  const read = [
    healthy('10.0.0.1'),
    healthy('10.0.0.2', 443, 'unhealthy'),
    healthy('10.0.0.3', 443, 'draining'),
  ];
  assert.deepEqual(targetHealthOf([group([], read), group([], undefined)]), {
    healthy: 1,
    total: 2,
  });
});

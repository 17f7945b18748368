import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCrashAt } from './crashpoint.js';

test('parseCrashAt: operation, n and when (after by default); off when unset', () => {
  assert.equal(parseCrashAt(undefined), undefined);
  assert.equal(parseCrashAt(''), undefined);
  assert.deepEqual(parseCrashAt('CreateTargetGroup#2'), {
    operation: 'CreateTargetGroup',
    n: 2,
    when: 'after',
  });
  assert.deepEqual(parseCrashAt('DeleteLoadBalancer#1@before'), {
    operation: 'DeleteLoadBalancer',
    n: 1,
    when: 'before',
  });
  for (const bad of ['CreateTargetGroup', 'X#0', 'X#1@during', '#1'])
    assert.throws(() => parseCrashAt(bad), /KACHIKU_FAULT_CRASH_AT/);
});

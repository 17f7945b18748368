import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setCondition, isTrue } from './conditions.js';
import { parseDuration } from './duration.js';
import { parseAddress } from './server.js';

test('lastTransitionTime changes only when the status changes; observedGeneration always follows', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:05:00Z');
  const a = setCondition(
    undefined,
    { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating' },
    1,
    t1,
  );
  assert.equal(a[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
  const b = setCondition(
    a,
    { type: 'Ready', status: 'False', reason: 'Waiting', message: 'still creating' },
    2,
    t2,
  );
  assert.equal(b[0]?.lastTransitionTime, '2026-01-01T00:00:00Z', 'same status: time kept');
  assert.equal(b[0]?.reason, 'Waiting');
  assert.equal(b[0]?.observedGeneration, 2);
  const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, 2, t2);
  assert.equal(c[0]?.lastTransitionTime, '2026-01-01T00:05:00Z');
  assert.ok(isTrue(c, 'Ready'));
  const d = setCondition(
    c,
    { type: 'Synced', status: 'True', reason: 'Synced', message: '' },
    2,
    t2,
  );
  assert.deepEqual(
    d.map((x) => x.type),
    ['Ready', 'Synced'],
    'other conditions kept in order',
  );
  assert.equal(c.length, 1, 'inputs are not mutated');
});

test('durations and addresses parse, and bad ones say what is expected', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('15s'), 15_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  for (const bad of ['', '15', 's', '5 m', '-1s'])
    assert.throws(() => parseDuration(bad), /bad duration/);
  assert.deepEqual(parseAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.throws(() => parseAddress('8080'), /want host:port/);
});

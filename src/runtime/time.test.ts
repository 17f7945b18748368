import { test } from 'node:test';
import assert from 'node:assert/strict';
import { microTime, timestamp } from './time.js';

test('metav1.Time has whole seconds, MicroTime microseconds; both parse back', () => {
  const d = new Date('2025-01-01T10:20:30.456Z');
  assert.equal(timestamp(d), '2025-01-01T10:20:30Z');
  assert.equal(microTime(d), '2025-01-01T10:20:30.456000Z');
  assert.equal(Date.parse(timestamp(d)), Date.parse('2025-01-01T10:20:30Z'));
  assert.equal(Date.parse(microTime(d)), d.getTime());
});

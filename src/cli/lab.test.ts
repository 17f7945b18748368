import { test } from 'node:test';
import assert from 'node:assert/strict';
import { positiveInt } from './lab.js';

test('--members takes whole numbers from 1 up, with a clear message otherwise', () => {
  assert.equal(positiveInt('3'), 3);
  for (const bad of ['0', '-1', '1.5', 'two', ''])
    assert.throws(() => positiveInt(bad), /expected a whole number ≥ 1/);
});

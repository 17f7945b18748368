import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCpu, formatMemory, parseQuantity } from './quantity.js';

test('parseQuantity: SI, binary and exponent suffixes', () => {
  const cases: [string | number, number][] = [
    ['16', 16],
    ['500m', 0.5],
    ['1.5', 1.5],
    ['64Gi', 64 * 2 ** 30],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['123Mi', 123 * 2 ** 20],
    ['1k', 1000],
    ['.5', 0.5],
    [4, 4],
  ];
  for (const [q, want] of cases) assert.equal(parseQuantity(q), want, String(q));
  assert.throws(() => parseQuantity('12 cores'), /not a quantity/);
});

test('formatCpu and formatMemory write what Kubernetes would', () => {
  assert.equal(formatCpu(48), '48');
  assert.equal(formatCpu(1.5), '1500m');
  assert.equal(formatMemory(192 * 2 ** 30), '192Gi');
  assert.equal(formatMemory(1536 * 2 ** 20), '1536Mi');
  assert.equal(formatMemory(1000), '1000');
});

test('quantities parse and format as Kubernetes writes them', () => {
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity('1.5'), 1.5);
  assert.equal(parseQuantity(2), 2);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('2k'), 2000);
  assert.throws(() => parseQuantity('1 GB'), /not a quantity/);
  assert.equal(formatCpu(1.5), '1500m');
  assert.equal(formatCpu(3), '3');
  assert.equal(formatMemory(1.5 * 2 ** 30), '1536Mi');
  assert.equal(formatMemory(2 ** 31), '2Gi');
  assert.equal(formatMemory(1000), '1000');
});

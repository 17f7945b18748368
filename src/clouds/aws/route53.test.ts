import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeBatcher, type RecordChange } from './route53.js';

const change = (name: string, weight = 1): RecordChange => ({
  action: 'UPSERT',
  record: { name, setIdentifier: name, weight, ttl: 60, values: ['192.0.2.1'] },
});

test('changes asked for while a call is in flight go out together in the next call', async () => {
  const calls: string[][] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const batch = changeBatcher(async (_zone, changes) => {
    calls.push(changes.map((c) => c.record.name));
    if (calls.length === 1) await first;
  });
  const a = batch('Z1', [change('a')], 'a');
  const rest = ['b', 'c', 'd'].map((n) => batch('Z1', [change(n)], n));
  const other = batch('Z2', [change('z')], 'z');
  release();
  await Promise.all([a, ...rest, other]);
  assert.deepEqual(calls, [['a'], ['z'], ['b', 'c', 'd']]);
});

test('a batch refused as a whole is sent again caller by caller, each getting its own answer', async () => {
  const calls: string[][] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const batch = changeBatcher(async (_zone, changes) => {
    calls.push(changes.map((c) => c.record.name));
    if (calls.length === 1) await first;
    if (changes.some((c) => c.record.name === 'bad')) throw new Error('InvalidChangeBatch');
  });
  const a = batch('Z1', [change('a')], 'a');
  const good = batch('Z1', [change('good')], 'good');
  const bad = batch('Z1', [change('bad')], 'bad');
  release();
  await a;
  await good;
  await assert.rejects(bad, /InvalidChangeBatch/);
  assert.deepEqual(calls, [['a'], ['good', 'bad'], ['good'], ['bad']]);
});

test("no batch exceeds Route 53's 1000 records, an UPSERT counting twice", async () => {
  const sizes: number[] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const batch = changeBatcher(async (_zone, changes) => {
    sizes.push(changes.length);
    if (sizes.length === 1) await first;
  });
  const all = [batch('Z', [change('x')], 'x')];
  for (let i = 0; i < 5; i++)
    all.push(
      batch(
        'Z',
        Array.from({ length: 200 }, (_, j) => change(`n${i}-${j}`)),
        `${i}`,
      ),
    );
  release();
  await Promise.all(all);
  // 200 UPSERTs of one value are 400 records: two callers fit in a batch, not three.
  assert.deepEqual(sizes, [1, 400, 400, 200]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './queue.js';
import { bucket, itemExponential, maxOf } from './ratelimit.js';

test('a key added several times before it is processed is processed once', async () => {
  const q = new WorkQueue('t');
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  q.done('a');
  q.done('b');
  assert.equal(q.length, 0);
});

test('a key being processed is not handed out again until done, then it is', async () => {
  const q = new WorkQueue('t');
  q.add('a');
  const first = await q.get();
  q.add('a'); // changed while a worker holds it
  assert.equal(q.length, 0, 'not queued while in flight');
  let second: string | undefined;
  void q.get().then((k) => (second = k));
  await sleep(10);
  assert.equal(second, undefined, 'a second worker does not get it');
  q.done(first as string);
  await sleep(0);
  assert.equal(second, 'a', 'processed again after done');
});

test('addAfter delays, and the earliest of two delays wins', async () => {
  const q = new WorkQueue('t');
  q.addAfter('a', 200);
  q.addAfter('a', 20);
  q.addAfter('a', 500);
  const t0 = Date.now();
  assert.equal(await q.get(), 'a');
  const waited = Date.now() - t0;
  assert.ok(waited >= 15 && waited < 150, `waited ${waited} ms`);
  q.done('a');
  await sleep(250);
  assert.equal(q.length, 0, 'the later delays were dropped');
});

test('shutDown wakes waiting workers and, with drain, waits for in-flight keys', async () => {
  const q = new WorkQueue('t');
  q.add('a');
  const key = await q.get();
  const waiting = q.get();
  let drained = false;
  const shut = q.shutDown(true).then(() => (drained = true));
  assert.equal(await waiting, undefined);
  await sleep(10);
  assert.equal(drained, false, 'still waiting for the in-flight key');
  q.done(key as string);
  await shut;
  assert.equal(drained, true);
  q.add('b');
  assert.equal(await q.get(), undefined, 'no keys after shutdown');
});

test('a key changed while in flight is not handed out after shutDown', async () => {
  const q = new WorkQueue('t');
  q.add('a');
  const key = await q.get();
  q.add('a'); // changed while its reconcile runs: normally it would run again after done()
  await q.shutDown(false);
  q.done(key as string);
  assert.equal(await q.get(), undefined);
});

test('per-item exponential backoff doubles per failure and resets on forget', () => {
  const l = itemExponential(5, 1000);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => l.when('k')),
    [5, 10, 20, 40, 80],
  );
  assert.equal(l.numRequeues('k'), 5);
  assert.equal(l.when('other'), 5, 'keys back off independently');
  for (let i = 0; i < 20; i++) l.when('k');
  assert.equal(l.when('k'), 1000, 'capped');
  l.forget('k');
  assert.equal(l.when('k'), 5);
});

test('the overall bucket allows a burst, then spaces keys at its rate', () => {
  let now = 0;
  const b = bucket(10, 3, () => now);
  assert.deepEqual([b.when('a'), b.when('b'), b.when('c')], [0, 0, 0]);
  assert.equal(b.when('d'), 100);
  assert.equal(b.when('e'), 200);
  now = 1000; // ten tokens refilled, capped at the burst
  assert.equal(b.when('f'), 0);
  const both = maxOf(
    itemExponential(5, 1000),
    bucket(10, 100, () => 0),
  );
  assert.equal(both.when('k'), 5);
  assert.equal(both.when('k'), 10);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { within } from './wait.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test("within: the promise's value, its own rejection, or a timeout error naming what was awaited", async () => {
  assert.equal(await within(Promise.resolve(7), 1000, 'seven'), 7);
  await assert.rejects(within(Promise.reject(new Error('own')), 1000, 'x'), /^Error: own$/);
  await assert.rejects(
    within(new Promise(() => {}), 20, 'the slow thing'),
    /^Error: timed out after 20 ms waiting for the slow thing$/,
  );
});

test('within leaves no timer behind once the promise settled (it would hold the process)', async () => {
  const before = timers();
  await within(Promise.resolve(), 60_000, 'nothing');
  await within(Promise.reject(new Error('no')), 60_000, 'nothing').catch(() => undefined);
  assert.equal(timers(), before);
});

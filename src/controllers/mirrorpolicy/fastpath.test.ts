import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { FastPath } from './fastpath.js';

/** A run function whose calls finish when the test says so. */
function gated() {
  const calls: string[] = [];
  const open: (() => void)[] = [];
  const fn = (key: string, id: string) =>
    new Promise<void>((done) => {
      calls.push(`${key} ${id}`);
      open.push(done);
    });
  const finishAll = async () => {
    while (open.length > 0) {
      open.splice(0).forEach((done) => done());
      await tick();
      await tick();
    }
  };
  return { fn, calls, open, finishAll };
}

test('one run per load balancer at a time; a notification during it runs it once more after', async () => {
  const g = gated();
  const fp = new FastPath(g.fn, 8);
  fp.run('ns/p', 'lb1');
  fp.run('ns/p', 'lb1');
  fp.run('ns/p', 'lb1');
  await tick();
  assert.deepEqual(g.calls, ['ns/p lb1']);
  await g.finishAll();
  // The two notifications during the first run made one more run, not two.
  assert.deepEqual(g.calls, ['ns/p lb1', 'ns/p lb1']);
  fp.run('ns/p', 'lb1');
  await tick();
  assert.equal(g.calls.length, 3);
  await g.finishAll();
});

test('at most `limit` runs together; the others wait in order', async () => {
  const g = gated();
  const fp = new FastPath(g.fn, 2);
  for (const id of ['a', 'b', 'c', 'd']) fp.run('ns/p', id);
  await tick();
  assert.deepEqual(g.calls, ['ns/p a', 'ns/p b']);
  g.open.shift()!();
  await tick();
  await tick();
  assert.deepEqual(g.calls, ['ns/p a', 'ns/p b', 'ns/p c']);
  await g.finishAll();
  assert.deepEqual(g.calls, ['ns/p a', 'ns/p b', 'ns/p c', 'ns/p d']);
});

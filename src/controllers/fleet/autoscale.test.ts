import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoscale, type AutoscaleInput } from './autoscale.js';
import { T0, at } from './testing.js';

const spec = { minProds: 2, maxProds: 4, highWatermark: 80, lowWatermark: 30, window: '1m' };
const input = (over: Partial<AutoscaleInput>): AutoscaleInput => ({
  spec,
  memory: {},
  desired: 3,
  fill: 50,
  steady: true,
  now: T0,
  ...over,
});

test('autoscale: between the watermarks nothing happens and both clocks stop', () => {
  const step = autoscale(input({ memory: { aboveSince: at(T0 - 5000), lastScale: 'x' } }));
  assert.deepEqual(step, { desired: 3, memory: { lastScale: 'x' } });
});

test('autoscale: above the high mark the clock starts, and the window is waited out', () => {
  const first = autoscale(input({ fill: 85 }));
  assert.deepEqual(first, {
    desired: 3,
    memory: { aboveSince: at(T0) },
    requeueAfterMs: 60_000,
  });
  const later = autoscale(input({ fill: 81, memory: first.memory, now: T0 + 20_000 }));
  assert.deepEqual(later, { desired: 3, memory: { aboveSince: at(T0) }, requeueAfterMs: 40_000 });
});

test('autoscale: above for the whole window → one Prod more, the clock reset, the decision recorded', () => {
  const step = autoscale(
    input({ fill: 90, memory: { aboveSince: at(T0 - 60_000), belowSince: at(T0 - 1) } }),
  );
  assert.equal(step.action, 'up');
  assert.equal(step.desired, 4);
  assert.deepEqual(step.memory, {
    lastScaleTime: at(T0),
    lastScale: 'fill 90% above 80% for 1m: a standard Prod added (3 → 4)',
  });
});

test('autoscale: restart-safe — the window counts from status, not from when the process started', () => {
  // A new process reads aboveSince from status: it neither restarts the window nor acts early.
  const early = autoscale(input({ fill: 90, memory: { aboveSince: at(T0 - 30_000) } }));
  assert.equal(early.action, undefined);
  assert.equal(early.requeueAfterMs, 30_000);
  const due = autoscale(input({ fill: 90, memory: { aboveSince: at(T0 - 61_000) } }));
  assert.equal(due.action, 'up');
});

test('autoscale: at maxProds it stays, and says so', () => {
  const step = autoscale(input({ fill: 95, desired: 4, memory: { aboveSince: at(T0 - 120_000) } }));
  assert.equal(step.action, undefined);
  assert.equal(step.desired, 4);
  assert.match(step.message ?? '', /at maxProds 4/);
});

test('autoscale: below the low mark for the window → a scale-in proposal; at minProds none', () => {
  const first = autoscale(input({ fill: 10 }));
  assert.deepEqual(first.memory, { belowSince: at(T0) });
  assert.equal(first.requeueAfterMs, 60_000);
  const due = autoscale(input({ fill: 10, memory: { belowSince: at(T0 - 60_000) } }));
  assert.equal(due.action, 'in');
  assert.equal(due.desired, 2);
  assert.match(due.memory.lastScale ?? '', /fill 10% below 30% for 1m: .* \(3 → 2\)/);
  const atMin = autoscale(input({ fill: 10, desired: 2, memory: { belowSince: at(T0 - 60_000) } }));
  assert.equal(atMin.action, undefined);
  assert.equal(atMin.desired, 2);
});

test('autoscale: while the herd is not steady (a Prod warming or emptying) the clocks do not run', () => {
  const step = autoscale(
    input({ fill: 95, steady: false, memory: { aboveSince: at(T0 - 600_000) } }),
  );
  assert.deepEqual(step, { desired: 3, memory: {} });
  assert.deepEqual(autoscale(input({ fill: undefined, memory: { belowSince: at(T0) } })), {
    desired: 3,
    memory: {},
  });
});

test('autoscale: a count outside minProds..maxProds is brought inside first', () => {
  assert.equal(autoscale(input({ desired: 7 })).desired, 4);
  assert.equal(autoscale(input({ desired: 1 })).desired, 2);
});

test('autoscale: defaults are 80 %, 30 % and one minute', () => {
  const bare = { minProds: 1, maxProds: 9 };
  assert.equal(
    autoscale(input({ spec: bare, fill: 81, memory: { aboveSince: at(T0 - 60_000) } })).action,
    'up',
  );
  assert.equal(
    autoscale(input({ spec: bare, fill: 80, memory: { aboveSince: at(T0 - 60_000) } })).action,
    undefined,
  );
  assert.equal(
    autoscale(input({ spec: bare, fill: 29, memory: { belowSince: at(T0 - 60_000) } })).action,
    'in',
  );
});

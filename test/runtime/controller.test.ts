// The runtime against the lab's real control-plane apiserver, with a test CRD (the runtime
// knows no kachiku kinds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../../src/runtime/manager.js';
import { TerminalError } from '../../src/runtime/controller.js';
import { isNotFound } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { itemExponential } from '../../src/runtime/ratelimit.js';
import {
  addFinalizer,
  hasFinalizer,
  isDeleting,
  removeFinalizer,
  updateStatus,
} from '../../src/runtime/objects.js';
import { TEST_CONTROLLER, widgetTestbed, widget, widgetGvr, type Widget } from '../support/kube.js';
import { until } from '../support/wait.js';

const bed = widgetTestbed('runtime');
const { config, rest } = bed;

/** A manager scoped to the test namespace, no leader election, no servers; stopped by the returned function. */
function startManager(setup: (mgr: Manager) => void): { mgr: Manager; stop: () => Promise<void> } {
  const mgr = new Manager({
    name: TEST_CONTROLLER,
    config,
    namespace: bed.ns,
    log: newLogger('silent'),
  });
  setup(mgr);
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  return { mgr, stop: () => (ctl.abort(), running) };
}

test('a reconciler that succeeds is called once per change and not again without one', async () => {
  const calls: string[] = [];
  const { stop } = startManager((mgr) => {
    mgr
      .controller({
        name: 'once',
        reconcile: async (req) => {
          if (req.name === 'calm') calls.push(req.name);
        },
      })
      .for(mgr.informer<Widget>(widgetGvr));
  });
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'calm', 1));
    await until('first reconcile', () => (calls.length >= 1 ? true : undefined));
    await sleep(1500);
    assert.equal(calls.length, 1, 'no further reconcile without a change');
    await rest.patch(widgetGvr, bed.ns, 'calm', { spec: { size: 2 } }, 'merge');
    await until('second reconcile', () => (calls.length >= 2 ? true : undefined));
    await sleep(1000);
    assert.equal(calls.length, 2);
  } finally {
    await stop();
  }
});

test('a reconciler that errors backs off exponentially instead of looping hot', async () => {
  const times: number[] = [];
  const { mgr, stop } = startManager((mgr) => {
    mgr
      .controller({
        name: 'failing',
        rateLimiter: itemExponential(50, 10_000),
        reconcile: async (req) => {
          if (req.name !== 'broken') return;
          times.push(Date.now());
          throw new Error('boom');
        },
      })
      .for(mgr.informer<Widget>(widgetGvr));
  });
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'broken'));
    await until('first failure', () => (times.length >= 1 ? true : undefined));
    await sleep(2600);
  } finally {
    await stop();
  }
  // 50, 100, 200, 400, 800 ms apart: six calls in 2.6 s, where a hot loop would make thousands.
  assert.ok(times.length >= 5 && times.length <= 7, `calls: ${times.length}`);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  for (let i = 1; i < gaps.length; i++) {
    assert.ok(
      (gaps[i] as number) >= (gaps[i - 1] as number) * 1.5,
      `gaps grow: ${gaps.join(', ')}`,
    );
  }
  const errors = await mgr.metrics.reconcileErrors.get();
  assert.equal(errors.values.find((v) => v.labels.controller === 'failing')?.value, times.length);
});

test('a TerminalError is not retried with backoff: only its requeueAfterMs, or a change, brings the key back', async () => {
  const calls: Record<string, number[]> = { stuck: [], waiting: [] };
  const { mgr, stop } = startManager((mgr) => {
    mgr
      .controller({
        name: 'terminal',
        rateLimiter: itemExponential(50, 10_000),
        reconcile: async (req) => {
          const seen = calls[req.name];
          if (!seen) return;
          seen.push(Date.now());
          if (req.name === 'stuck') throw new TerminalError('InvalidSpec', 'size must be even');
          throw new TerminalError('Waiting', 'not there yet', 700);
        },
      })
      .for(mgr.informer<Widget>(widgetGvr));
  });
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'stuck'));
    await rest.create(widgetGvr, widget(bed.ns, 'waiting'));
    await until('both reconciled', () =>
      calls.stuck!.length && calls.waiting!.length ? true : undefined,
    );
    await sleep(2500);
    // A plain error would have been retried six times by now (50, 100, 200, … ms).
    assert.equal(calls.stuck!.length, 1, 'not retried');
    // Every 700 ms: three or four calls in 2.5 s, never the backoff's quick first retries.
    const gaps = calls.waiting!.slice(1).map((t, i) => t - calls.waiting![i]!);
    assert.ok(gaps.length >= 2 && gaps.length <= 4, `calls: ${calls.waiting!.length}`);
    assert.ok(
      gaps.every((g) => g >= 650),
      `requeued after 700 ms, not backed off: ${gaps.join(', ')}`,
    );
    await rest.patch(widgetGvr, bed.ns, 'stuck', { spec: { size: 2 } }, 'merge');
    await until('a change brings it back', () => (calls.stuck!.length === 2 ? true : undefined));
    const terminal = await mgr.metrics.terminalReconcileErrors.get();
    assert.equal(
      terminal.values.find((v) => v.labels.controller === 'terminal')?.value,
      calls.stuck!.length + calls.waiting!.length,
    );
  } finally {
    await stop();
  }
});

test('a finalizer blocks deletion until the reconciler removes it', async () => {
  const finalizer = 'runtimetest.kachiku.io/cleanup';
  let cleanupAllowed = false;
  const { stop } = startManager((mgr) => {
    const widgets = mgr.informer<Widget>(widgetGvr);
    mgr
      .controller({
        name: 'finalizing',
        reconcile: async (req) => {
          const obj = widgets.get(`${req.namespace}/${req.name}`);
          if (!obj || req.name !== 'guarded') return;
          if (!isDeleting(obj)) {
            await addFinalizer(rest, widgetGvr, obj, finalizer);
            return;
          }
          if (!cleanupAllowed) return { requeueAfterMs: 100 }; // external cleanup still running
          await removeFinalizer(rest, widgetGvr, obj, finalizer);
        },
      })
      .for(widgets);
  });
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'guarded'));
    await until(
      'finalizer added',
      async () =>
        hasFinalizer(await rest.get(widgetGvr, bed.ns, 'guarded'), finalizer) || undefined,
    );
    await rest.delete(widgetGvr, bed.ns, 'guarded');
    await sleep(1000);
    const held = await rest.get<Widget>(widgetGvr, bed.ns, 'guarded');
    assert.ok(held.metadata.deletionTimestamp, 'marked for deletion');
    assert.ok(hasFinalizer(held, finalizer), 'still held by the finalizer');
    cleanupAllowed = true;
    await until('object gone', () =>
      rest.get(widgetGvr, bed.ns, 'guarded').then(
        () => undefined,
        (e) => (isNotFound(e) ? true : undefined),
      ),
    );
  } finally {
    await stop();
  }
});

test('a status write that meets a 409 conflict is retried on the fresh object', async () => {
  let conflicts = 0;
  let written: Widget | undefined;
  const { stop } = startManager((mgr) => {
    const widgets = mgr.informer<Widget>(widgetGvr);
    mgr
      .controller({
        name: 'conflicting',
        reconcile: async (req) => {
          const cached = widgets.get(`${req.namespace}/${req.name}`);
          if (!cached || req.name !== 'contested' || written) return;
          // Someone else changes the object after our cache read: our resourceVersion is stale.
          await rest.patch(
            widgetGvr,
            bed.ns,
            'contested',
            { metadata: { labels: { touched: 'yes' } } },
            'merge',
          );
          written = await updateStatus(
            rest,
            widgetGvr,
            cached,
            (fresh) => ({
              observed: fresh.spec?.size,
              note: fresh.metadata.labels?.touched ?? 'stale',
            }),
            () => conflicts++,
          );
        },
      })
      .for(widgets);
  });
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'contested', 7));
    await until('status written', () => written);
  } finally {
    await stop();
  }
  assert.equal(conflicts, 1, 'one conflict, retried');
  const stored = await rest.get<Widget>(widgetGvr, bed.ns, 'contested');
  assert.deepEqual(stored.status, { observed: 7, note: 'yes' }, 'computed from the fresh object');
});

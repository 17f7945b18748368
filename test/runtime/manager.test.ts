// The manager's surroundings against the lab's apiserver: HTTP endpoints, graceful shutdown,
// JSON logs keyed by object, events with aggregation, and server-side apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../../src/runtime/manager.js';
import type { KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { eventGvr } from '../../src/runtime/events.js';
import { FIELD_MANAGER, apply } from '../../src/runtime/objects.js';
import { TEST_CONTROLLER, widgetTestbed, widget, widgetGvr, type Widget } from '../support/kube.js';
import { until } from '../support/wait.js';

const bed = widgetTestbed('manager');
const { config, rest } = bed;

/** Log lines as parsed JSON objects. */
function captureLogs(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

test('/healthz, /readyz and /metrics answer, with controller-runtime metric names', async () => {
  const mgr = new Manager({
    name: TEST_CONTROLLER,
    config,
    namespace: bed.ns,
    log: newLogger('silent'),
    metricsAddress: '127.0.0.1:0',
    healthAddress: '127.0.0.1:0',
  });
  mgr
    .controller({ name: 'endpoints', reconcile: async () => {} })
    .for(mgr.informer<Widget>(widgetGvr));
  const stop = new AbortController();
  const running = mgr.run(stop.signal);
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'measured'));
    const health = await until('health server', () => mgr.address('health'));
    assert.equal((await fetch(`http://${health}/healthz`)).status, 200);
    await until('ready', async () =>
      (await fetch(`http://${health}/readyz`)).status === 200 ? true : undefined,
    );
    const metrics = await until('a reconcile in the metrics', async () => {
      const text = await (await fetch(`http://${mgr.address('metrics')}/metrics`)).text();
      return text.includes(
        'controller_runtime_reconcile_total{controller="endpoints",result="success"}',
      )
        ? text
        : undefined;
    });
    for (const name of [
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_retries_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'controller_runtime_reconcile_errors_total',
    ]) {
      assert.ok(
        metrics.includes(`${name}{`) || metrics.includes(`# TYPE ${name.replace(/_bucket$/, '')}`),
        `${name} exported`,
      );
    }
    assert.equal((await fetch(`http://${health}/nope`)).status, 404);
  } finally {
    stop.abort();
    await running;
  }
});

test('shutdown lets an in-flight reconcile finish and starts no new one; every log line names its key', async () => {
  const { lines, stream } = captureLogs();
  const mgr = new Manager({
    name: TEST_CONTROLLER,
    config,
    namespace: bed.ns,
    log: newLogger('info', 'kachiku', stream),
  });
  const events: string[] = [];
  mgr
    .controller({
      name: 'slow',
      reconcile: async (req, { log }) => {
        if (req.name !== 'slow-one' && req.name !== 'slow-two') return;
        events.push(`start ${req.name}`);
        log.info('working');
        await sleep(1500);
        events.push(`end ${req.name}`);
      },
    })
    .for(mgr.informer<Widget>(widgetGvr));
  const stop = new AbortController();
  const running = mgr.run(stop.signal);
  await rest.create(widgetGvr, widget(bed.ns, 'slow-one'));
  await until('reconcile started', () => (events.includes('start slow-one') ? true : undefined));
  await rest.create(widgetGvr, widget(bed.ns, 'slow-two')); // queued behind the one in flight
  await sleep(200);
  stop.abort();
  await running;
  assert.deepEqual(
    events,
    ['start slow-one', 'end slow-one'],
    'the in-flight reconcile finished; the queued one did not start',
  );
  const working = lines.filter((l) => l.msg === 'working');
  assert.equal(working.length, 1);
  assert.equal(working[0]?.key, `${bed.ns}/slow-one`);
  assert.equal(working[0]?.controller, 'slow');
  assert.equal(working[0]?.level, 'info');
  assert.ok(lines.some((l) => l.msg === 'manager stopped'));
});

test('events: a repeat updates one Event series; a different event is a new Event', async () => {
  const mgr = new Manager({ name: TEST_CONTROLLER, config, log: newLogger('silent') });
  const obj = await rest.create<Widget>(widgetGvr, widget(bed.ns, 'eventful'));
  const input = {
    regarding: obj,
    type: 'Normal' as const,
    reason: 'Synced',
    action: 'Sync',
    note: 'all in sync',
  };
  await mgr.events.record(input);
  await mgr.events.record(input);
  await mgr.events.record(input);
  await mgr.events.record({
    ...input,
    type: 'Warning',
    reason: 'Degraded',
    note: 'Octavia unreachable',
  });
  interface Ev extends KubeObject {
    reason: string;
    series?: { count: number };
    regarding: { name: string; uid: string };
    reportingController: string;
  }
  const list = await rest.list<Ev>(eventGvr, bed.ns);
  const mine = list.items.filter((e) => e.regarding.uid === obj.metadata.uid);
  assert.deepEqual(mine.map((e) => e.reason).sort(), ['Degraded', 'Synced']);
  assert.equal(mine.find((e) => e.reason === 'Synced')?.series?.count, 3);
  assert.equal(mine[0]?.reportingController, TEST_CONTROLLER);
});

test('server-side apply writes as the kachiku field manager and is idempotent', async () => {
  const desired = widget(bed.ns, 'applied', 4);
  const first = await apply(rest, widgetGvr, desired);
  const second = await apply(rest, widgetGvr, desired);
  assert.equal(
    second.metadata.resourceVersion,
    first.metadata.resourceVersion,
    'no write when nothing changed',
  );
  const stored = await rest.get<Widget>(widgetGvr, bed.ns, 'applied');
  assert.equal(stored.spec?.size, 4);
  assert.ok(
    (stored.metadata.managedFields as { manager: string }[]).some(
      (f) => f.manager === FIELD_MANAGER,
    ),
  );
  const third = await apply(rest, widgetGvr, { ...desired, spec: { size: 5 } });
  assert.notEqual(third.metadata.resourceVersion, first.metadata.resourceVersion);
});

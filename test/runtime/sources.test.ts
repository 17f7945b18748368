// What feeds a controller, against the lab's real clusters: indexers, owned objects, objects
// of another cluster mapped to primary keys, concurrency per controller, and the watchdog
// that replaces a watch which silently stopped delivering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { Manager } from '../../src/runtime/manager.js';
import { Informer } from '../../src/runtime/informer.js';
import { Rest, type Gvr, type KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { RuntimeMetrics } from '../../src/runtime/metrics.js';
import { labState } from '../support/lab.js';
import {
  TEST_CONTROLLER,
  namespaceGvr,
  testNamespace,
  widget,
  widgetGvr,
  widgetTestbed,
  type Widget,
} from '../support/kube.js';
import { until } from '../support/wait.js';
import { freezableProxy } from '../support/tcp.js';

const bed = widgetTestbed('sources');
const { config, rest } = bed;
const configMapGvr: Gvr = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const silent = newLogger('silent');

function run(mgr: Manager): () => Promise<void> {
  const stop = new AbortController();
  const running = mgr.run(stop.signal);
  return () => (stop.abort(), running);
}

test('an index finds objects by a spec field and follows updates and deletes', async () => {
  const informer = new Informer<Widget>(rest, widgetGvr, { namespace: bed.ns });
  informer.addIndex('size', (w) => [String(w.spec?.size)]);
  informer.start();
  try {
    await rest.create(widgetGvr, widget(bed.ns, 'small-a', 1));
    await rest.create(widgetGvr, widget(bed.ns, 'small-b', 1));
    await rest.create(widgetGvr, widget(bed.ns, 'large', 9));
    const names = (size: number) =>
      informer
        .byIndex('size', String(size))
        .map((w) => w.metadata.name)
        .sort();
    await until('indexed', () =>
      names(1).length === 2 && names(9).length === 1 ? true : undefined,
    );
    await rest.patch(widgetGvr, bed.ns, 'small-b', { spec: { size: 9 } }, 'merge');
    await until('re-indexed on update', () =>
      names(9).join() === 'large,small-b' ? true : undefined,
    );
    assert.deepEqual(names(1), ['small-a']);
    await rest.delete(widgetGvr, bed.ns, 'large');
    await until('removed on delete', () => (names(9).join() === 'small-b' ? true : undefined));
  } finally {
    await informer.stop();
  }
});

test('owned objects and objects of another cluster enqueue their primary; concurrency is per controller', async () => {
  const member = labState().kube!.clusters.find((c) => c.name === 'onprem-a')!;
  const memberConfig = new KubeConfig();
  memberConfig.loadFromFile(member.kubeconfig);
  const memberRest = new Rest(memberConfig);
  const memberNs = await testNamespace(memberRest, 'sources');
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const mgr = new Manager({ name: TEST_CONTROLLER, config, namespace: bed.ns, log: silent });
  const memberConfigMaps = new Informer<
    KubeObject & { metadata: { labels?: Record<string, string> } }
  >(memberRest, configMapGvr, {
    namespace: memberNs,
    labelSelector: 'kachiku.io/widget',
  });
  mgr.addSource(memberConfigMaps);
  mgr
    .controller({
      name: 'sources',
      concurrency: 3,
      reconcile: async (req) => {
        calls.push(req.name);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(300);
        inFlight--;
      },
    })
    .for(mgr.informer<Widget>(widgetGvr))
    .owns(mgr.informer(configMapGvr), { apiVersion: 'runtimetest.kachiku.io/v1', kind: 'Widget' })
    .watches(memberConfigMaps, (cm) => [
      { namespace: bed.ns, name: cm.metadata.labels?.['kachiku.io/widget'] ?? '' },
    ]);
  const stop = run(mgr);
  try {
    const owners = await Promise.all(
      ['p1', 'p2', 'p3'].map((n) => rest.create<Widget>(widgetGvr, widget(bed.ns, n))),
    );
    await until('three reconciles', () =>
      ['p1', 'p2', 'p3'].every((n) => calls.includes(n)) ? true : undefined,
    );
    assert.equal(maxInFlight, 3, 'three workers ran at once');
    await sleep(500);
    calls.length = 0;

    const owner = owners[0]!;
    await rest.create(configMapGvr, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'owned',
        namespace: bed.ns,
        ownerReferences: [
          {
            apiVersion: 'runtimetest.kachiku.io/v1',
            kind: 'Widget',
            name: owner.metadata.name,
            uid: owner.metadata.uid!,
            controller: true,
          },
        ],
      },
    });
    await until('the owner is reconciled for its ConfigMap', () =>
      calls.includes('p1') ? true : undefined,
    );
    calls.length = 0;

    await memberRest.create(configMapGvr, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'remote', namespace: memberNs, labels: { 'kachiku.io/widget': 'p2' } },
    });
    await until('a change in the member cluster reconciles its widget', () =>
      calls.includes('p2') ? true : undefined,
    );
    assert.ok(!calls.includes('p3'));
  } finally {
    await stop();
    await memberRest.delete(namespaceGvr, undefined, memberNs);
  }
});

test('a watch that silently stops delivering is replaced, and nothing is missed or doubled', async () => {
  const proxy = await freezableProxy(new URL(config.getCurrentCluster()!.server));
  const viaProxy = new KubeConfig();
  viaProxy.loadFromString(config.exportConfig());
  const cluster = viaProxy.getCurrentCluster()!;
  (cluster as { server: string }).server = `https://127.0.0.1:${proxy.port}`;
  const metrics = new RuntimeMetrics(false);
  const informer = new Informer<Widget>(new Rest(viaProxy), widgetGvr, {
    namespace: bed.ns,
    labelSelector: 'watchdog=yes',
    inactivityMs: 1500,
    metrics,
  });
  const adds: string[] = [];
  informer.addHandler({ add: (w) => adds.push(w.metadata.name) });
  informer.start();
  const labelled = (name: string) => ({
    ...widget(bed.ns, name),
    metadata: { name, namespace: bed.ns, labels: { watchdog: 'yes' } },
  });
  try {
    await informer.waitForSync();
    await rest.create(widgetGvr, labelled('w-before'));
    await until('seen through the proxy', () => (adds.includes('w-before') ? true : undefined));
    proxy.freeze();
    await rest.create(widgetGvr, labelled('w-during'));
    await sleep(500);
    assert.ok(!adds.includes('w-during'), 'the frozen watch delivers nothing');
    await until(
      'the watchdog replaced the watch and the change arrived',
      () => (adds.includes('w-during') ? true : undefined),
      15_000,
    );
    assert.deepEqual(adds.sort(), ['w-before', 'w-during'], 'each object delivered once');
    const errors = await metrics.informerWatchErrors.get();
    assert.ok((errors.values[0]?.value ?? 0) >= 1, 'counted as a watch failure');
  } finally {
    await informer.stop();
    proxy.close();
  }
});

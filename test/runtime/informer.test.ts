// How the informer lists and what it caches, against the lab's control plane: lists served by
// the apiserver's watch cache (any version first, then not older than the last seen, consistent
// after a failure) with only differences delivered; and metadata-only informers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../src/runtime/informer.js';
import {
  ApiError,
  Rest,
  type Gvr,
  type KubeList,
  type KubeObject,
  type Query,
  type RequestOptions,
} from '../../src/runtime/rest.js';
import { widget, widgetGvr, widgetTestbed, type Widget } from '../support/kube.js';
import { until, within } from '../support/wait.js';

const bed = widgetTestbed('informer');
const { config, rest } = bed;
const configMapGvr: Gvr = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };

/** A Rest that records the query of every list, and fails the next one when asked to. */
class ListSpy extends Rest {
  readonly queries: Query[] = [];
  failNext = false;
  override list<T extends KubeObject>(
    gvr: Gvr,
    namespace: string | undefined,
    query: Query = {},
    opts: Pick<RequestOptions, 'accept'> = {},
  ): Promise<KubeList<T>> {
    this.queries.push(query);
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new ApiError(410, 'Expired', 'injected: too old resource version'));
    }
    return super.list<T>(gvr, namespace, query, opts);
  }
}

test('lists: resourceVersion=0 first, then not older than the last seen, consistent after a failure; only differences delivered', async () => {
  await Promise.all(['a', 'b', 'c'].map((n) => rest.create(widgetGvr, widget(bed.ns, n))));
  const spy = new ListSpy(config);
  const informer = new Informer<Widget>(spy, widgetGvr, {
    namespace: bed.ns,
    relistIntervalMs: 1000,
  });
  const events: string[] = [];
  informer.addHandler({
    add: (w) => events.push(`add ${w.metadata.name}`),
    update: (_, w) => events.push(`update ${w.metadata.name}`),
    delete: (w) => events.push(`delete ${w.metadata.name}`),
  });
  informer.start();
  try {
    await informer.waitForSync();
    const first = spy.queries[0]!;
    assert.equal(first.resourceVersion, '0', 'the first list asks for any version (watch cache)');
    assert.equal(first.limit, 500);
    await until('a periodic relist', () => (spy.queries.length >= 2 ? true : undefined), 10_000);
    const second = spy.queries[1]!;
    assert.match(String(second.resourceVersion), /^[1-9]\d*$/, 'not older than the last seen');
    assert.equal(second.limit, undefined, 'no limit, or the watch cache would not serve it');

    spy.failNext = true;
    await until('a relist after the failed one', () =>
      spy.queries.length >= 4 ? true : undefined,
    );
    const [failed, after] = spy.queries.slice(2, 4);
    assert.match(String(failed!.resourceVersion), /^[1-9]\d*$/);
    assert.equal(after!.resourceVersion, undefined, 'a consistent list after a failure');
    assert.equal(after!.limit, 500, 'paged, as it comes from etcd');

    await rest.create(widgetGvr, widget(bed.ns, 'd'));
    await until('the watch goes on', () => (informer.get(`${bed.ns}/d`) ? true : undefined));
    const nextRelist = spy.queries.length + 1;
    await until('one more relist', () => (spy.queries.length >= nextRelist ? true : undefined));
    assert.deepEqual(
      events.sort(),
      ['add a', 'add b', 'add c', 'add d'],
      'relists deliver nothing that did not change',
    );
    assert.equal(informer.size, 4);
  } finally {
    await informer.stop();
  }
});

test('a metadata-only informer caches no data, from its list and from its watch', async () => {
  const configMap = (name: string, tier: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: bed.ns, labels: { tier } },
    data: { secretish: 'x'.repeat(1000) },
  });
  await rest.create(configMapGvr, configMap('listed', 'web'));
  const informer = new Informer<KubeObject & { data?: unknown }>(rest, configMapGvr, {
    namespace: bed.ns,
    metadataOnly: true,
  });
  const updated: string[] = [];
  informer.addHandler({ update: (_, cm) => updated.push(cm.metadata.labels?.tier ?? '') });
  informer.start();
  try {
    await informer.waitForSync();
    const listed = informer.get(`${bed.ns}/listed`)!;
    assert.equal(listed.kind, 'PartialObjectMetadata');
    assert.equal(listed.data, undefined, 'no data from the list');
    assert.deepEqual(listed.metadata.labels, { tier: 'web' });
    assert.ok(listed.metadata.resourceVersion);

    await rest.create(configMapGvr, configMap('watched', 'db'));
    const watched = await until('the new ConfigMap', () => informer.get(`${bed.ns}/watched`));
    assert.equal(watched.data, undefined, 'no data from the watch');
    assert.equal(watched.kind, 'PartialObjectMetadata');
    await rest.patch(
      configMapGvr,
      bed.ns,
      'watched',
      { metadata: { labels: { tier: 'cache' } } },
      'merge',
    );
    await until('the update', () => (updated.includes('cache') ? true : undefined));
  } finally {
    await informer.stop();
  }
});

test('a metadata-only informer over nothing syncs (the server sends "items": null)', async () => {
  const informer = new Informer<KubeObject>(rest, configMapGvr, {
    namespace: bed.ns,
    metadataOnly: true,
    labelSelector: 'nothing=here',
  });
  informer.start();
  try {
    await within(informer.waitForSync(), 10_000, 'the first sync');
    assert.equal(informer.size, 0);
  } finally {
    await informer.stop();
  }
});

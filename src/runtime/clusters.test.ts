import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from './wait.js';
import { ClusterRegistry, parseKubeconfig } from './clusters.js';
import { newLogger } from './log.js';
import type { Gvr } from './rest.js';

const kubeconfig = (server: string, token = 's3cr3t-token') =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }],
    users: [{ name: 'u', user: { token } }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  });

// Nothing listens on port 1: informers there fail and back off, which is all these tests need.
const nowhere = 'http://127.0.0.1:1';
const pods: Gvr = { group: '', version: 'v1', resource: 'pods', namespaced: true };

test('parseKubeconfig: clear errors that never quote the text', () => {
  const cases: [string, RegExp][] = [
    ['token: s3cr3t-token: [', /not valid YAML \(line 1: /],
    ['s3cr3t-token', /no current-context/],
    ['null', /not a kubeconfig document/],
    [
      JSON.stringify({ clusters: [{ name: 'c', cluster: {} }], 'current-context': 'x' }),
      /clusters\[0\]\.cluster\.server is missing/,
    ],
    [
      JSON.stringify({
        contexts: [{ name: 'x', context: { cluster: 'c' } }],
        'current-context': 'x',
      }),
      /names no known cluster/,
    ],
    [kubeconfig('not a url s3cr3t-token'), /invalid server URL/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(
      () => parseKubeconfig(text),
      (err: Error) => expected.test(err.message) && !err.message.includes('s3cr3t'),
      text,
    );
  }
  assert.equal(parseKubeconfig(kubeconfig(nowhere)).getCurrentCluster()?.server, nowhere);
});

test('ClusterRegistry: connect is idempotent, replaces on a new kubeconfig, notifies', async () => {
  const registry = new ClusterRegistry();
  const seen: string[] = [];
  const off = registry.onChange((name) => seen.push(name));
  try {
    const a = registry.connect('a', kubeconfig(nowhere));
    assert.equal(a.reachable, true);
    assert.equal(a.rest.server, nowhere);
    assert.equal(registry.connect('a', kubeconfig(nowhere)), a, 'same text: same connection');
    assert.deepEqual(seen, ['a']);

    const informer = a.informer(pods, { labelSelector: 'x=y' });
    assert.equal(a.informer(pods, { labelSelector: 'x=y' }), informer, 'shared per selector');
    assert.notEqual(a.informer(pods), informer);

    assert.throws(() => registry.connect('a', 'null'), /not a kubeconfig/);
    assert.equal(registry.get('a'), a, 'a bad kubeconfig leaves the connection as it was');

    const a2 = registry.connect('a', kubeconfig(nowhere, 'other'));
    assert.notEqual(a2, a);
    assert.equal(registry.get('a'), a2);
    assert.throws(() => a.informer(pods), /removed or replaced/);
    assert.deepEqual(seen, ['a', 'a']);

    registry.setReachable('a', false);
    registry.setReachable('a', false);
    assert.equal(registry.get('a')?.reachable, false);
    registry.setReachable('a', true);
    registry.setReachable('nope', false);
    assert.deepEqual(seen, ['a', 'a', 'a', 'a']);

    registry.connect('b', kubeconfig(nowhere));
    assert.deepEqual(
      registry
        .list()
        .map((c) => c.name)
        .sort(),
      ['a', 'b'],
    );
    await registry.remove('a');
    await registry.remove('a');
    assert.equal(registry.get('a'), undefined);
    assert.deepEqual(seen, ['a', 'a', 'a', 'a', 'b', 'a']);
  } finally {
    off();
    await registry.close();
  }
  assert.equal(registry.list().length, 0);
});

test("ClusterRegistry: an unreachable cluster's informers stop warning until it is back", async () => {
  const lines: string[] = [];
  const log = newLogger('info', 'test', { write: (s: string) => void lines.push(s) });
  const registry = new ClusterRegistry({ log });
  const warnings = () => lines.filter((l) => l.includes('list/watch failed')).length;
  try {
    const conn = registry.connect('a', kubeconfig(nowhere));
    conn.informer(pods);
    await until('the registry to get there', () => warnings() >= 1 || undefined, 10_000, 50);
    registry.setReachable('a', false);
    const quiet = warnings();
    // The informer retries after 1.6 s then 3.2 s (±20 %): at least one retry in 2.5 s.
    await sleep(2500);
    assert.equal(warnings(), quiet);
    registry.setReachable('a', true);
    await until('the registry to get there', () => warnings() > quiet || undefined, 10_000, 50);
    assert.ok(
      lines.some((l) => l.includes('"cluster":"a"')),
      'lines name the cluster',
    );
  } finally {
    await registry.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextReachability, summarizeNodes, type Node, type ProbeHistory } from './probe.js';

const node = (ready: boolean, cpu?: string, memory?: string): Node => ({
  metadata: { name: 'n' },
  status: {
    allocatable: { ...(cpu && { cpu }), ...(memory && { memory }) },
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});

test('summarizeNodes counts Ready nodes and sums their allocatable only', () => {
  const s = summarizeNodes([
    node(true, '100m', '1Gi'),
    node(true, '16', '512Mi'),
    node(false, '64', '256Gi'),
    { metadata: { name: 'no-status' } },
  ]);
  assert.deepEqual(s, {
    nodes: { ready: 2, total: 4 },
    allocatable: { cpu: '16100m', memory: '1536Mi' },
  });
  assert.deepEqual(summarizeNodes([node(false, '4', '1Gi')]), {
    nodes: { ready: 0, total: 1 },
    allocatable: {},
  });
});

test('nextReachability: False only after N failures in a row, True after M successes', () => {
  const t = { failuresToUnreachable: 3, successesToReachable: 2 };
  let h: ProbeHistory = { reachable: 'Unknown', consecutiveFailures: 0, consecutiveSuccesses: 0 };
  const run = (results: boolean[]) =>
    results.map((ok) => (h = nextReachability(h, ok, t)).reachable);

  assert.deepEqual(run([true]), ['True'], 'a new cluster is Reachable after one success');
  assert.deepEqual(run([false, false, true, false, false]), [
    'True',
    'True',
    'True',
    'True',
    'True',
  ]);
  assert.deepEqual(run([false]), ['False']);
  assert.equal(h.consecutiveFailures, 3);
  assert.deepEqual(
    run([true, false, true]),
    ['False', 'False', 'False'],
    'one success is not enough',
  );
  assert.deepEqual(run([true]), ['True']);
  assert.deepEqual(h, { reachable: 'True', consecutiveFailures: 0, consecutiveSuccesses: 2 });

  h = { reachable: 'Unknown', consecutiveFailures: 0, consecutiveSuccesses: 0 };
  assert.deepEqual(run([false, false, false]), ['Unknown', 'Unknown', 'False']);
});

// A cache that never syncs (a CRD missing from the cluster: every list is a 404) is named, with
// its last error, on /readyz, and `kachiku controller` exits with a clear error once
// --cache-sync-timeout (here through its environment variable) has passed, instead of waiting
// forever. Against a member cluster of the lab, which serves none of kachiku's CRDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labState } from '../support/lab.js';
import { until } from '../support/wait.js';
import { kachikuController, logLine } from '../support/process.js';

const member = labState().kube!.clusters.find((c) => c.role === 'member')!;

test('informers that cannot list are named on /readyz with their error, and the controller exits 1 after the cache sync timeout', async () => {
  const c = kachikuController(
    [
      '--kubeconfig',
      member.kubeconfig,
      '--no-leader-elect',
      '--metrics-bind-address',
      '0',
      '--health-probe-bind-address',
      '127.0.0.1:0',
    ],
    { KACHIKU_CACHE_SYNC_TIMEOUT: '4s' },
  );
  const serving = await until('serving', () => logLine(c, 'serving'), 30_000);
  const readyz = await until(
    '/readyz names what is not synced, and why',
    async () => {
      const res = await fetch(`http://${String(serving.health)}/readyz`);
      const body = await res.text();
      return res.status === 503 && /404/.test(body) ? body : undefined;
    },
    4_000,
  );
  for (const resource of ['loadbalancermirrors', 'memberclusters', 'prods'])
    assert.match(readyz, new RegExp(`^${resource}\\.kachiku\\.io: .*404`, 'm'));
  assert.doesNotMatch(readyz, /^secrets/m, 'a cache that synced is not listed');

  assert.equal(await c.exited, 1);
  const waited = c.exitedAt! - Date.parse(String(serving.time));
  assert.ok(waited >= 4000 && waited < 9000, `exited ${waited} ms after it started waiting`);
  const error = c.lines.find((l) => l.includes('caches did not sync within 4 s'));
  assert.ok(error, 'the error says what timed out');
  assert.match(error, /memberclusters\.kachiku\.io \(GET [^)]*404/);
  assert.ok(
    logLine(
      c,
      'caches did not sync: exiting (are the CRDs installed, and may this account list them?)',
    ),
  );
});

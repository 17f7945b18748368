import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError } from '../../runtime/rest.js';
import { age, errorMessage, serialize, table, useColour } from './output.js';
import { frame } from './watch.js';
import { programName } from './index.js';
import { namespaceOf } from './flags.js';

test('colour only on a terminal, never with NO_COLOR set (empty counts as unset)', () => {
  assert.equal(useColour(true, {}), true);
  assert.equal(useColour(false, {}), false);
  assert.equal(useColour(undefined, {}), false);
  assert.equal(useColour(true, { NO_COLOR: '1' }), false);
  assert.equal(useColour(true, { NO_COLOR: '' }), true);
});

test('age as kubectl prints it', () => {
  assert.deepEqual(
    [0, 45_000, 60_000, 192_000, 3_600_000, 7_500_000, 86_400_000 * 3 + 3_600_000 * 4, -5].map(age),
    ['0s', '45s', '1m', '3m12s', '1h', '2h5m', '3d4h', '0s'],
  );
});

test('table: columns three spaces apart on the visible width, no trailing blanks', () => {
  assert.deepEqual(
    table([
      ['A', 'BB', 'C'],
      ['\x1b[32mlong\x1b[0m', '', ''],
    ]),
    ['A      BB   C', '\x1b[32mlong\x1b[0m'],
  );
});

test('errors worded as kubectl: the server reason, else "error:"', () => {
  assert.equal(
    errorMessage(new ApiError(404, 'NotFound', 'fleets.kachiku.io "x" not found')),
    'Error from server (NotFound): fleets.kachiku.io "x" not found',
  );
  assert.equal(errorMessage(new Error('boom')), 'error: boom');
});

test('serialize: json and yaml', () => {
  assert.equal(serialize({ a: 1 }, 'json'), '{\n  "a": 1\n}\n');
  assert.equal(serialize({ a: 1 }, 'yaml'), 'a: 1\n');
});

test('watch frames: redrawn from the top on a terminal, blocks one after the other otherwise', () => {
  assert.equal(frame(['a', 'b'], true), '\x1b[H\x1b[2Ja\nb\n');
  assert.equal(frame(['a', 'b'], false), 'a\nb\n\n');
});

test('the program name comes from how it was run: kubectl-kachiku is the plugin', () => {
  assert.equal(programName('/usr/local/bin/kubectl-kachiku'), 'kubectl kachiku');
  assert.equal(programName('C:\\bin\\kubectl-kachiku.exe'), 'kubectl kachiku');
  assert.equal(programName('/repo/dist/src/cli/main.js'), 'kachiku');
  assert.equal(programName(undefined), 'kachiku');
});

test('namespace: -n, else the context namespace, else default', () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [
      { name: 'with', cluster: 'c', user: 'u', namespace: 'shop' },
      { name: 'without', cluster: 'c', user: 'u' },
    ],
    currentContext: 'with',
  });
  assert.equal(namespaceOf(kc, 'other'), 'other');
  assert.equal(namespaceOf(kc, undefined), 'shop');
  kc.setCurrentContext('without');
  assert.equal(namespaceOf(kc, undefined), 'default');
});

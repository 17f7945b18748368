// The REST layer against the lab's real apiserver: errors come back as ApiError, including
// the apiserver's plain-text 404 for an API group it does not serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, Rest, isNotFound } from '../../src/runtime/rest.js';
import { controlPlaneConfig } from '../support/kube.js';

const rest = new Rest(controlPlaneConfig());

test('an API group the cluster does not serve is a 404 ApiError, not a parse error', async () => {
  const err = await rest
    .list(
      { group: 'nosuch.kachiku.io', version: 'v1', resource: 'things', namespaced: false },
      undefined,
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof ApiError, `got ${String(err)}`);
  assert.ok(isNotFound(err));
  assert.match(err.message, /404/);
});

test('a missing object is a 404 ApiError with the Status message', async () => {
  const err = await rest
    .get(
      { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
      undefined,
      'no-such-ns',
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(isNotFound(err));
  assert.match((err as ApiError).message, /namespaces "no-such-ns" not found/);
});

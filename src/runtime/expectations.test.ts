import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Expectations, type Lookup } from './expectations.js';
import type { KubeObject } from './rest.js';

const obj = (name: string, rv: string, deleting = false): KubeObject => ({
  metadata: { name, resourceVersion: rv, ...(deleting && { deletionTimestamp: 'x' }) },
});

function cache(entries: Record<string, KubeObject>): Lookup {
  return (resource, key) => entries[`${resource}/${key}`];
}

test('expectations: nothing recorded → satisfied', () => {
  assert.deepEqual(new Expectations().satisfied('ns/f', cache({})), {
    ok: true,
    waitingFor: 0,
    timedOut: false,
  });
});

test('expectations: an update is seen once the cache moved past the version it replaced', () => {
  const e = new Expectations();
  e.expect('ns/f', 'tenants', 'ns/t1', { kind: 'updated', from: '10' }, 0);
  e.expect('ns/f', 'tenants', 'ns/t2', { kind: 'updated', from: '20' }, 0);
  const entries: Record<string, KubeObject> = {
    'tenants/ns/t1': obj('t1', '10'),
    'tenants/ns/t2': obj('t2', '21'),
  };
  assert.deepEqual(e.satisfied('ns/f', cache(entries), 100), {
    ok: false,
    waitingFor: 1,
    timedOut: false,
  });
  entries['tenants/ns/t1'] = obj('t1', '11');
  assert.equal(e.satisfied('ns/f', cache(entries), 200).ok, true);
  assert.equal(e.satisfied('ns/f', cache({}), 300).ok, true, 'forgotten once seen');
});

test('expectations: a patched annotation is seen once the cache shows its value, not merely a newer version', () => {
  const e = new Expectations();
  e.expect('ns/r', 'prods', 'ns/p1', { kind: 'annotated', key: 'k', value: 'r' }, 0);
  e.expect('ns/r', 'prods', 'ns/p2', { kind: 'annotated', key: 'k', value: null }, 0);
  const annotated = (rv: string, annotations?: Record<string, string>): KubeObject => ({
    metadata: { name: 'p', resourceVersion: rv, ...(annotations && { annotations }) },
  });
  const entries: Record<string, KubeObject> = {
    // A status write that came before the patch: a newer version, without the annotation.
    'prods/ns/p1': annotated('11'),
    'prods/ns/p2': annotated('11', { k: 'r' }),
  };
  assert.equal(e.satisfied('ns/r', cache(entries), 100).waitingFor, 2);
  entries['prods/ns/p1'] = annotated('12', { k: 'r' });
  entries['prods/ns/p2'] = annotated('12', { other: 'x' });
  assert.equal(e.satisfied('ns/r', cache(entries), 200).ok, true);
  // Gone is seen too.
  e.expect('ns/r', 'prods', 'ns/p3', { kind: 'annotated', key: 'k', value: 'r' }, 300);
  assert.equal(e.satisfied('ns/r', cache({}), 400).ok, true);
});

test('expectations: creations and deletions; owners are separate', () => {
  const e = new Expectations();
  e.expect('ns/a', 'prods', 'ns/p1', { kind: 'created' }, 0);
  e.expect('ns/b', 'prods', 'ns/p2', { kind: 'deleted' }, 0);
  const entries: Record<string, KubeObject> = { 'prods/ns/p2': obj('p2', '5') };
  assert.equal(e.satisfied('ns/a', cache(entries), 1).ok, false);
  assert.equal(e.satisfied('ns/b', cache(entries), 1).ok, false);
  entries['prods/ns/p1'] = obj('p1', '6');
  entries['prods/ns/p2'] = obj('p2', '7', true);
  assert.equal(e.satisfied('ns/a', cache(entries), 2).ok, true);
  assert.equal(e.satisfied('ns/b', cache(entries), 2).ok, true, 'being deleted counts as gone');
});

test('expectations: a write never seen is given up after the timeout, and says so', () => {
  const e = new Expectations(1000);
  e.expect('ns/f', 'prods', 'ns/p', { kind: 'created' }, 0);
  assert.equal(e.satisfied('ns/f', cache({}), 999).ok, false);
  assert.deepEqual(e.satisfied('ns/f', cache({}), 1000), {
    ok: true,
    waitingFor: 1,
    timedOut: true,
  });
  assert.deepEqual(e.satisfied('ns/f', cache({}), 1001), {
    ok: true,
    waitingFor: 0,
    timedOut: false,
  });
});

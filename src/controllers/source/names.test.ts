import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NAME, isSubdomain, releaseName } from './names.js';

test('releaseName: <fleet>-<version> when that is a name', () => {
  assert.equal(releaseName('web', '1.2.3'), 'web-1.2.3');
  assert.equal(releaseName('web', 'v1.2.3-rc.1'), 'web-v1.2.3-rc.1');
  assert.equal(releaseName('web', 'a1b2c3d4e5f6'), 'web-a1b2c3d4e5f6');
});

test('releaseName: a version a name cannot spell → DNS-1123 characters and a hash of the version', () => {
  const cases = ['V1.2.3', 'v1.2.3_build', 'build_42', '1.0.', '1.0-', '1.-2', '1..2', '_x'];
  const names = cases.map((v) => releaseName('web', v));
  for (const [i, n] of names.entries()) {
    assert.ok(isSubdomain(n), `${cases[i]} → ${n}`);
    assert.match(n, /^web-.*[0-9a-f]{8}$/);
  }
  assert.equal(new Set(names).size, cases.length, 'no two versions share a name');
  assert.notEqual(releaseName('web', 'V1.0'), releaseName('web', 'v1.0'));
  assert.equal(releaseName('web', 'V1.2.3'), releaseName('web', 'V1.2.3'), 'deterministic');
  assert.match(releaseName('web', 'V1.2.3'), /^web-v1-2-3-[0-9a-f]{8}$/);
});

test('releaseName: kept under 253 characters with a long Fleet name and version', () => {
  const fleet = 'f'.repeat(200);
  const version = `${'9'.repeat(100)}`;
  const n = releaseName(fleet, version);
  assert.ok(n.length <= MAX_NAME, `${n.length}`);
  assert.ok(isSubdomain(n));
  assert.notEqual(n, releaseName(fleet, `${'9'.repeat(99)}8`), 'the hash tells them apart');
  const upper = releaseName(fleet, `V${'_'.repeat(120)}`);
  assert.ok(isSubdomain(upper) && upper.length <= MAX_NAME, upper);
});

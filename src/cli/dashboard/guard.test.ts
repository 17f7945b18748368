import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedHosts, check } from './guard.js';

const guard = { token: 'secret-token', hosts: allowedHosts('127.0.0.1', 3100) };
const ok = { host: '127.0.0.1:3100', 'x-kachiku-token': 'secret-token' };

test('loopback: the addresses a browser may name it by', () => {
  assert.deepEqual(
    [...allowedHosts('127.0.0.1', 3100)!].sort(),
    ['127.0.0.1:3100', '[::1]:3100', 'localhost:3100'].sort(),
  );
  assert.deepEqual([...allowedHosts('10.0.0.5', 80)!], ['10.0.0.5:80']);
  assert.equal(allowedHosts('0.0.0.0', 80), undefined);
});

test('GET: any path, but only under its own Host (DNS rebinding)', () => {
  assert.deepEqual(check('GET', { host: 'localhost:3100' }, guard), { ok: true });
  const v = check('GET', { host: 'evil.example:3100' }, guard);
  assert.equal(v.ok, false);
  assert.equal(check('GET', {}, guard).ok, false);
});

test('POST: the token, from the same origin', () => {
  assert.deepEqual(check('POST', ok, guard), { ok: true });
  assert.deepEqual(
    check(
      'POST',
      { ...ok, origin: 'http://127.0.0.1:3100', 'sec-fetch-site': 'same-origin' },
      guard,
    ),
    { ok: true },
  );
  const cases: [Record<string, string>, RegExp][] = [
    [{ host: ok.host }, /token/],
    [{ ...ok, 'x-kachiku-token': 'secret-tokem' }, /token/],
    [{ ...ok, 'x-kachiku-token': 'short' }, /token/],
    [{ ...ok, origin: 'http://evil.example' }, /Origin/],
    [{ ...ok, origin: 'null' }, /Origin/],
    [{ ...ok, 'sec-fetch-site': 'cross-site' }, /Sec-Fetch-Site/],
    [{ ...ok, host: 'evil.example' }, /Host/],
  ];
  for (const [headers, why] of cases) {
    const v = check('POST', headers, guard);
    assert.equal(v.ok, false, JSON.stringify(headers));
    assert.match((v as { why: string }).why, why);
  }
});

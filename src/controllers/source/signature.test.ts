import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { sign, verifySignature } from './signature.js';

const body = Buffer.from('{"ref":"refs/tags/v1.2.0"}');
const token = 'a-webhook-token';
const good = `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;

test('verifySignature: X-Signature or X-Hub-Signature-256 with the HMAC-SHA256 of the raw body', () => {
  assert.equal(sign(body, token), good);
  assert.equal(verifySignature(body, token, { 'x-signature': good }), true);
  assert.equal(verifySignature(body, token, { 'x-hub-signature-256': good }), true);
  assert.equal(verifySignature(body, token, { 'x-signature': good.toUpperCase() }), true);
  assert.equal(
    verifySignature(body, token, { 'x-signature': `sha256=${good.slice(7).toUpperCase()}` }),
    true,
    'hex in either case',
  );
});

test('verifySignature: refuses no header, another body, another token, a short or malformed one', () => {
  assert.equal(verifySignature(body, token, {}), false);
  assert.equal(
    verifySignature(Buffer.from(`${body.toString()} `), token, { 'x-signature': good }),
    false,
  );
  assert.equal(verifySignature(body, 'other', { 'x-signature': good }), false);
  assert.equal(verifySignature(body, token, { 'x-signature': good.slice(0, -1) }), false);
  assert.equal(verifySignature(body, token, { 'x-signature': good.slice(7) }), false, 'no sha256=');
  assert.equal(verifySignature(body, token, { 'x-signature': `sha1=${good.slice(7)}` }), false);
  assert.equal(verifySignature(body, token, { 'x-signature': [good] }), true);
  // A wrong X-Signature does not hide a right X-Hub-Signature-256, nor the other way round.
  assert.equal(
    verifySignature(body, token, { 'x-signature': 'sha256=00', 'x-hub-signature-256': good }),
    true,
  );
});

test('verifySignature: an empty token verifies nothing, not even its own HMAC', () => {
  assert.equal(verifySignature(body, '', { 'x-signature': sign(body, '') }), false);
});

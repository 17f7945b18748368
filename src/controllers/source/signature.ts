// The webhook's signature: HMAC-SHA256 of the raw body under the Fleet's token, sent as
// `X-Signature: sha256=<hex>` (or GitHub's `X-Hub-Signature-256`, the same format), compared in
// constant time so that the answer's timing says nothing about how much of a guess was right.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADERS = ['x-signature', 'x-hub-signature-256'] as const;

export function sign(body: Buffer | string, token: string): string {
  return `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;
}

/**
 * Whether one of the signature headers carries the body's HMAC under `token`. An empty token
 * verifies nothing (a Secret with an empty key must not make every request valid).
 */
export function verifySignature(
  body: Buffer,
  token: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): boolean {
  if (!token) return false;
  const expected = Buffer.from(sign(body, token));
  let ok = false;
  for (const name of SIGNATURE_HEADERS) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value !== 'string') continue;
    const given = Buffer.from(value.trim().toLowerCase());
    // timingSafeEqual needs equal lengths; the length of a well-formed signature is public.
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

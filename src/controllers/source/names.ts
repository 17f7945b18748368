// The deterministic name of the Release a Fleet makes for a version: `<fleet>-<version>` when
// that is a DNS-1123 subdomain, so that two pollers (or a poll and a webhook) racing to create it
// meet on one name and the second gets a 409. A version a name cannot spell (upper case, `_`, dots
// next to dashes, a trailing dot or dash) is written in the characters a name allows plus a short
// hash of the version itself, so that `V1.0` and `v1.0` still get different names.
import { createHash } from 'node:crypto';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const MAX_NAME = 253;
const HASH_LENGTH = 8;

export function releaseName(fleet: string, version: string): string {
  const plain = `${fleet}-${version}`;
  if (plain.length <= MAX_NAME && SUBDOMAIN.test(plain)) return plain;
  const hash = createHash('sha256').update(version).digest('hex').slice(0, HASH_LENGTH);
  // Every run of characters other than [a-z0-9] becomes one dash (dots too: a dot next to a
  // dash is not allowed, and the hash already tells versions apart).
  const room = MAX_NAME - fleet.length - HASH_LENGTH - 2;
  const spelled = version
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, Math.max(0, room))
    .replace(/^-+|-+$/g, '');
  return spelled ? `${fleet}-${spelled}-${hash}` : `${fleet}-${hash}`;
}

export const isSubdomain = (name: string) => name.length <= MAX_NAME && SUBDOMAIN.test(name);

// Small non-cryptographic hashes for placement's tie-breaks: stable across runs and processes
// (unlike object identity or insertion order), so equal-fill choices are deterministic and
// spread by tenant rather than all falling on the first Prod.

/** FNV-1a, 32 bits, over the UTF-16 code units of `s`. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finalizer: FNV-1a alone mixes its last characters poorly. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The rendezvous (highest-random-weight) weight of a Prod for a tenant, from the two names'
 * fnv1a: the tenant picks, among equally good Prods, the one weighing most.
 */
export function rendezvous(tenantHash: number, prodHash: number): number {
  return fmix32(tenantHash ^ Math.imul(prodHash, 0x9e3779b1));
}

// Expectations, after the ReplicaSet controller's: the writes one reconcile made, until the
// informers show them. A controller whose next step builds on its last one (a placement step
// reads the assignment it just wrote) must not decide from a cache that has not seen those
// writes yet: it would redo them, or undo them. A write is seen once the cached object is
// created, gone, or no longer at the resourceVersion the write replaced (a PUT with that
// resourceVersion succeeds only from it, so whatever follows in the cache is that write or
// newer). A patch carries no resourceVersion: it may land on a version the cache has not seen,
// so a patch expects what it wrote (an annotation's value) instead. Bounded: after `timeoutMs`
// the expectations are dropped (a missed event must not stall a key for ever; an
// optimistic-concurrency conflict then catches a stale read).
import type { KubeObject } from './rest.js';

export type Expected =
  | { kind: 'created' }
  | { kind: 'deleted' }
  /** Updated from this resourceVersion (a PUT that carried it). */
  | { kind: 'updated'; from: string }
  /** An annotation at this value, or without it (null): a patch, which carries no version. */
  | { kind: 'annotated'; key: string; value: string | null };

/** Looks an object up in the informer that caches its resource. */
export type Lookup = (resource: string, key: string) => KubeObject | undefined;

interface Pending {
  since: number;
  writes: Map<string, { resource: string; key: string; expected: Expected }>;
}

export class Expectations {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly timeoutMs = 10_000) {}

  /** Records a write made for `owner` (a reconcile key) to object `key` of `resource`. */
  expect(owner: string, resource: string, key: string, expected: Expected, now = Date.now()): void {
    let p = this.pending.get(owner);
    if (!p) this.pending.set(owner, (p = { since: now, writes: new Map() }));
    p.writes.set(`${resource}\u0000${key}`, { resource, key, expected });
  }

  /**
   * Whether the caches show every write recorded for `owner` (those seen are forgotten), or the
   * wait has timed out (then all are forgotten); `waitingFor`: how many writes are not seen.
   */
  satisfied(
    owner: string,
    lookup: Lookup,
    now = Date.now(),
  ): { ok: boolean; waitingFor: number; timedOut: boolean } {
    const p = this.pending.get(owner);
    if (!p) return { ok: true, waitingFor: 0, timedOut: false };
    for (const [id, w] of p.writes)
      if (seen(lookup(w.resource, w.key), w.expected)) p.writes.delete(id);
    if (p.writes.size === 0) {
      this.pending.delete(owner);
      return { ok: true, waitingFor: 0, timedOut: false };
    }
    if (now - p.since >= this.timeoutMs) {
      const waitingFor = p.writes.size;
      this.pending.delete(owner);
      return { ok: true, waitingFor, timedOut: true };
    }
    return { ok: false, waitingFor: p.writes.size, timedOut: false };
  }

  forget(owner: string): void {
    this.pending.delete(owner);
  }
}

function seen(cached: KubeObject | undefined, expected: Expected): boolean {
  switch (expected.kind) {
    case 'created':
      return cached !== undefined;
    case 'deleted':
      return cached === undefined || Boolean(cached.metadata.deletionTimestamp);
    case 'updated':
      return cached === undefined || cached.metadata.resourceVersion !== expected.from;
    case 'annotated':
      return (
        cached === undefined ||
        (cached.metadata.annotations?.[expected.key] ?? null) === expected.value
      );
  }
}

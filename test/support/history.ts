// Every version of the objects of a few kinds written while a test acts, in the order the
// apiserver wrote them, so that a test can check a property at every moment and not only when
// it happens to look. One list and one watch per kind; the versions are ordered across kinds by
// resourceVersion: in the lab every apiserver stores in one etcd, whose revision the
// resourceVersion is (Kubernetes calls it opaque; comparing it as a number is this test
// support's reliance on the lab, not something kachiku does).
import type { Gvr, KubeObject } from '../../src/runtime/rest.js';
import type { Rest } from '../../src/runtime/rest.js';
import { until } from './wait.js';

export interface Change {
  /** The write's resourceVersion, as a number (etcd's revision). */
  rv: number;
  /** When the watch delivered it (Date.now()). */
  at: number;
  kind: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

/** kind → name → object */
export type Snapshot = Map<string, Map<string, KubeObject>>;

export interface Watched {
  kind: string;
  gvr: Gvr;
  /** For namespaced kinds. */
  namespace?: string;
}

const rvOf = (o: KubeObject): number => {
  const rv = Number(o.metadata.resourceVersion);
  if (!Number.isSafeInteger(rv))
    throw new Error(`resourceVersion ${o.metadata.resourceVersion} is not a number`);
  return rv;
};

const copy = (s: Snapshot): Snapshot =>
  new Map([...s].map(([kind, objects]) => [kind, new Map(objects)]));

export class History {
  readonly changes: Change[] = [];
  /** Each kind as listed when recording began. */
  private readonly initial: Snapshot = new Map();
  /** The newest version of each object received, kind by kind in arrival order. */
  readonly live: Snapshot = new Map();
  /** From this resourceVersion on, every kind's history is complete. */
  startRv = 0;
  private readonly stop = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly failures: Error[] = [];

  private constructor(
    private readonly rest: Rest,
    private readonly watched: readonly Watched[],
  ) {}

  static async start(rest: Rest, watched: readonly Watched[]): Promise<History> {
    const h = new History(rest, watched);
    for (const w of watched) {
      const list = await rest.list(w.gvr, w.namespace);
      const objects = new Map(list.items.map((o) => [o.metadata.name, o]));
      h.initial.set(w.kind, objects);
      h.live.set(w.kind, new Map(objects));
      const from = list.metadata.resourceVersion;
      h.startRv = Math.max(h.startRv, Number(from));
      h.loops.push(h.follow(w, from ?? '0'));
    }
    return h;
  }

  private async follow(w: Watched, resourceVersion: string): Promise<void> {
    try {
      for await (const ev of this.rest.watch(
        w.gvr,
        w.namespace,
        { resourceVersion, timeoutSeconds: 3600 },
        this.stop.signal,
      )) {
        if (ev.type === 'ERROR') throw new Error(`${w.kind} watch: ${ev.object.message}`);
        if (ev.type === 'BOOKMARK') continue;
        const change: Change = {
          rv: rvOf(ev.object),
          at: Date.now(),
          kind: w.kind,
          type: ev.type,
          object: ev.object,
        };
        this.changes.push(change);
        const objects = this.live.get(w.kind)!;
        if (ev.type === 'DELETED') objects.delete(ev.object.metadata.name);
        else objects.set(ev.object.metadata.name, ev.object);
      }
      if (!this.stop.signal.aborted) throw new Error(`${w.kind} watch ended by the server`);
    } catch (err) {
      this.failures.push(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Throws what went wrong with a watch (a gap in the history makes every check void). */
  healthy(): void {
    if (this.failures.length) throw this.failures[0]!;
  }

  /** The newest received version of each object of `kind`. */
  objects<T extends KubeObject>(kind: string): T[] {
    this.healthy();
    return [...(this.live.get(kind)?.values() ?? [])] as T[];
  }

  /**
   * Waits until every watch has delivered the writes made so far: what was received equals a
   * fresh list of each kind, object for object and version for version.
   */
  async caughtUp(timeoutMs = 15_000): Promise<void> {
    for (const w of this.watched) {
      const list = await this.rest.list(w.gvr, w.namespace);
      const want = new Map(list.items.map((o) => [o.metadata.name, o.metadata.resourceVersion]));
      await until(
        `the ${w.kind} watch to deliver everything up to resourceVersion ${list.metadata.resourceVersion}`,
        () => {
          this.healthy();
          const have = this.live.get(w.kind)!;
          for (const [name, rv] of want) {
            const got = have.get(name);
            if (!got || rvOf(got) < Number(rv)) return undefined;
          }
          // Objects received but not listed must have been deleted after the list, or their
          // deletion is still on its way.
          for (const [name, o] of have)
            if (!want.has(name) && rvOf(o) <= Number(list.metadata.resourceVersion))
              return undefined;
          return true;
        },
        timeoutMs,
        50,
      );
    }
  }

  /**
   * Replays the history in resourceVersion order, calling `visit` with the state of every
   * watched kind after each write at or after `fromRv` (and after the start of the recording).
   */
  replay(visit: (state: Snapshot, change: Change) => void, fromRv = 0): void {
    this.healthy();
    const state = copy(this.initial);
    const sorted = [...this.changes].sort((a, b) => a.rv - b.rv);
    const from = Math.max(fromRv, this.startRv);
    for (const c of sorted) {
      const objects = state.get(c.kind)!;
      if (c.type === 'DELETED') objects.delete(c.object.metadata.name);
      else objects.set(c.object.metadata.name, c.object);
      if (c.rv >= from) visit(state, c);
    }
  }

  /**
   * Every write of `kind` in resourceVersion order, with the version it replaced (undefined for
   * a creation) and the new one (undefined for a deletion).
   */
  transitions<T extends KubeObject>(kind: string): { before?: T; after?: T; change: Change }[] {
    this.healthy();
    const current = new Map(this.initial.get(kind));
    const out: { before?: T; after?: T; change: Change }[] = [];
    for (const c of [...this.changes].sort((a, b) => a.rv - b.rv)) {
      if (c.kind !== kind) continue;
      const before = current.get(c.object.metadata.name) as T | undefined;
      const after = c.type === 'DELETED' ? undefined : (c.object as T);
      if (after) current.set(c.object.metadata.name, after);
      else current.delete(c.object.metadata.name);
      out.push({ before, after, change: c });
    }
    return out;
  }

  /** Stops the watches; throws if one of them failed while recording. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.all(this.loops);
    this.healthy();
  }
}

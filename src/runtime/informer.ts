// A list-and-watch cache of one resource, with what client-node's makeInformer lacks
// (kubernetes.md): resourceVersion continuity across reconnects, relist on 410 Gone, backoff on
// any other error instead of stopping, indexers, and a watchdog against watches that silently
// stop delivering: a server-side watch timeout, an inactivity timer that aborts a dead
// connection, and a periodic relist that delivers only real differences.
//
// Lists are served by the apiserver's watch cache where it can, as client-go's reflector asks
// for them: the first with resourceVersion=0 (any version, in one response: the cache ignores
// the limit), later ones with the last resourceVersion seen and no limit ("not older than"),
// and, after a list failed (e.g. 410, or a version the server's cache does not have yet), one
// consistent list (no resourceVersion), paged, from etcd. A resource whose first list came back
// paged is not cached by the apiserver: its lists stay consistent and paged. Streaming the
// initial list over the watch (sendInitialEvents, WatchList) is not used: Kubernetes 1.33
// turned it off by default again.
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from './backoff.js';
import {
  ApiError,
  apiVersionOf,
  isGone,
  type Gvr,
  type KubeObject,
  type Rest,
  type WatchEvent,
} from './rest.js';
import type { Logger } from './log.js';
import type { RuntimeMetrics } from './metrics.js';

export interface EventHandler<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side bound of one watch request, jittered ±20%. */
  watchTimeoutSeconds?: number;
  /** Abort a watch that has said nothing (not even a bookmark) for this long. */
  inactivityMs?: number;
  /** A full relist this often, as a watchdog; 0 turns it off. */
  relistIntervalMs?: number;
  /** Page size of consistent lists (and of any list the apiserver does not serve from its cache). */
  pageSize?: number;
  /**
   * Only metadata: lists and watches ask for PartialObjectMetadata (kind PartialObjectMetadata,
   * apiVersion meta.k8s.io/v1, no spec, status or data), for kinds of which only names, labels,
   * owners or versions are needed; the server converts before sending.
   */
  metadataOnly?: boolean;
  /** Applied to every object before it is cached; by default drops managedFields (memory). */
  transform?: (obj: T) => T;
  log?: Logger;
  metrics?: RuntimeMetrics;
}

/** What the manager needs of an informer of any kind: run it and wait for its first sync. */
export interface SyncSource {
  readonly resource: string;
  start(): void;
  stop(): Promise<void>;
  hasSynced(): boolean;
  waitForSync(): Promise<void>;
  /** Why the last list or watch failed, until one succeeds (for /readyz and sync timeouts). */
  readonly lastError?: string;
}

export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : obj.metadata.name;
}

const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io';

const stripManagedFields = <T extends KubeObject>(obj: T): T => {
  delete obj.metadata.managedFields;
  return obj;
};

export class Informer<T extends KubeObject = KubeObject> implements SyncSource {
  private store = new Map<string, T>();
  private readonly handlers: EventHandler<T>[] = [];
  private readonly indexers = new Map<string, (obj: T) => string[]>();
  private indices = new Map<string, Map<string, Set<string>>>();
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private running?: Promise<void>;
  private stopper = new AbortController();
  /** The REST client, every request of which stop() aborts (a list on a dead connection too). */
  private client: Rest;
  private failure?: string;
  private currentWatch?: AbortController;
  /** The next list: at any version, not older than the last one seen, or consistent. */
  private listFrom: 'any' | 'last' | 'consistent' = 'any';
  /** The server paged a resourceVersion=0 list: the resource is not in its watch cache. */
  private uncached = false;
  private readonly opts: Required<
    Omit<
      InformerOptions<T>,
      'namespace' | 'labelSelector' | 'fieldSelector' | 'metadataOnly' | 'log' | 'metrics'
    >
  > &
    InformerOptions<T>;

  constructor(
    private readonly rest: Rest,
    readonly gvr: Gvr,
    options: InformerOptions<T> = {},
  ) {
    this.client = rest;
    this.opts = {
      watchTimeoutSeconds: 300,
      inactivityMs: 0,
      relistIntervalMs: 10 * 60_000,
      pageSize: 500,
      transform: stripManagedFields,
      ...options,
    };
    if (!this.opts.inactivityMs)
      this.opts.inactivityMs = (this.opts.watchTimeoutSeconds * 1.2 + 30) * 1000;
  }

  get resource(): string {
    return this.gvr.group ? `${this.gvr.resource}.${this.gvr.group}` : this.gvr.resource;
  }

  addHandler(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    // A handler added after the initial sync still hears about every cached object.
    if (this.synced) for (const obj of this.store.values()) handler.add?.(obj);
  }

  /** Adds an index: `fn` gives the values an object is found under. Add before start(). */
  addIndex(name: string, fn: (obj: T) => string[]): void {
    this.indexers.set(name, fn);
    this.indices = this.buildIndices(this.store);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indices.get(name)?.get(value);
    return keys
      ? [...keys].map((k) => this.store.get(k)).filter((o): o is T => o !== undefined)
      : [];
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
  }

  get size(): number {
    return this.store.size;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get lastError(): string | undefined {
    return this.failure;
  }

  waitForSync(): Promise<void> {
    return this.synced
      ? Promise.resolve()
      : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.running) return;
    this.stopper = new AbortController();
    this.client = this.rest.withSignal(this.stopper.signal);
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.currentWatch?.abort();
    await this.running;
    this.running = undefined;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(800, 30_000);
    let needList = true;
    let relistAt = 0;
    while (!this.stopped) {
      try {
        if (needList || (this.opts.relistIntervalMs > 0 && Date.now() >= relistAt)) {
          await this.relist();
          this.failure = undefined;
          needList = false;
          relistAt = Date.now() + this.opts.relistIntervalMs;
        }
        const started = Date.now();
        await this.watchOnce(this.opts.relistIntervalMs > 0 ? relistAt : Infinity);
        // A watch the server ends at once, again and again, must not become a hot loop.
        if (Date.now() - started > 1000) backoff.reset();
        else await this.pause(backoff.next());
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err)) {
          this.opts.log?.debug({ resource: this.resource }, 'watch expired (410 Gone): relisting');
          needList = true;
          continue;
        }
        this.opts.metrics?.informerWatchErrors.inc({ resource: this.resource });
        this.failure = err instanceof Error ? err.message : String(err);
        const delay = backoff.next();
        this.opts.log?.warn(
          { resource: this.resource, err: String(err), retryInMs: delay },
          'list/watch failed: retrying',
        );
        await this.pause(delay);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopper.signal }).catch(() => {});
  }

  /** A full list: the cache becomes exactly the list; only differences are delivered. */
  private async relist(): Promise<void> {
    this.opts.metrics?.informerRelists.inc({ resource: this.resource });
    const from = this.uncached ? 'consistent' : this.listFrom;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    let pages = 0;
    try {
      do {
        const page = await this.client.list<T>(
          this.gvr,
          this.opts.namespace,
          {
            // "not older than" is served from the watch cache only without a limit.
            resourceVersion:
              cont || from === 'consistent'
                ? undefined
                : from === 'any'
                  ? '0'
                  : this.resourceVersion,
            limit: from === 'last' ? undefined : this.opts.pageSize,
            continue: cont,
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
          },
          { accept: this.opts.metadataOnly ? ACCEPT_METADATA_LIST : undefined },
        );
        pages++;
        // An empty PartialObjectMetadataList comes with "items": null.
        for (const item of page.items ?? []) {
          // List items carry no apiVersion/kind; put them back so handlers see whole objects.
          const obj = this.opts.transform({
            ...item,
            apiVersion: item.apiVersion ?? apiVersionOf(this.gvr),
            kind: item.kind ?? this.kind(page),
          });
          fresh.set(keyOf(obj), obj);
        }
        cont = page.metadata.continue || undefined;
        rv = page.metadata.resourceVersion;
      } while (cont);
    } catch (err) {
      // Whatever went wrong (an expired continue token, a version this server's cache has not
      // reached), the next list is a consistent one.
      this.listFrom = 'consistent';
      throw err;
    }
    if (from === 'any' && pages > 1) this.uncached = true;
    this.listFrom = 'last';

    const old = this.store;
    this.store = fresh;
    this.indices = this.buildIndices(fresh);
    this.resourceVersion = rv;
    for (const [key, obj] of fresh) {
      const prev = old.get(key);
      if (!prev) this.emit('add', obj);
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.emit('update', obj, prev);
    }
    for (const [key, prev] of old) if (!fresh.has(key)) this.emit('delete', prev);
    if (!this.synced) {
      this.synced = true;
      this.syncWaiters.splice(0).forEach((f) => f());
    }
  }

  private kind(page: { kind?: string }): string | undefined {
    return page.kind?.replace(/List$/, '');
  }

  /** One watch from the cached resourceVersion; resolves when it ends normally. */
  private async watchOnce(deadline: number): Promise<void> {
    const timeout = Math.round(this.opts.watchTimeoutSeconds * (0.8 + Math.random() * 0.4));
    const controller = new AbortController();
    this.currentWatch = controller;
    let failure: unknown;
    const end = (err?: unknown) => {
      failure ??= err;
      controller.abort();
    };
    // The transport fails a watch silent for inactivityMs (and, on HTTP/2, checks the shared
    // connection: see Rest.watch); this timer is a backstop should bytes arrive but no event.
    let inactivity: NodeJS.Timeout | undefined;
    const poke = () => {
      clearTimeout(inactivity);
      inactivity = setTimeout(
        () => end(new Error(`watch silent for ${this.opts.inactivityMs} ms`)),
        this.opts.inactivityMs + 5_000,
      );
    };
    const relistTimer = Number.isFinite(deadline)
      ? setTimeout(() => end(), Math.max(0, deadline - Date.now()))
      : undefined;
    poke();
    try {
      if (this.stopped) return;
      const events = this.client.watch(
        this.gvr,
        this.opts.namespace,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: timeout,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        controller.signal,
        {
          accept: this.opts.metadataOnly ? ACCEPT_METADATA : undefined,
          idleTimeoutMs: this.opts.inactivityMs,
        },
      );
      for await (const ev of events) {
        poke();
        if (ev.type === 'ERROR') {
          const o = ev.object;
          end(new ApiError(o.code ?? 500, o.reason ?? 'Error', o.message ?? 'watch error'));
          break;
        }
        this.onEvent(ev);
      }
    } catch (err) {
      failure ??= this.stopped ? undefined : err;
    } finally {
      clearTimeout(inactivity);
      clearTimeout(relistTimer);
      this.currentWatch = undefined;
    }
    if (failure) throw failure;
  }

  private onEvent(ev: WatchEvent): void {
    const rv = ev.object.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.opts.transform(ev.object as unknown as T);
    const key = keyOf(obj);
    const prev = this.store.get(key);
    if (rv) this.resourceVersion = rv;
    if (ev.type === 'DELETED') {
      if (!prev) return;
      this.store.delete(key);
      this.unindex(key, prev);
      this.emit('delete', obj);
      return;
    }
    if (prev && prev.metadata.resourceVersion === rv) return;
    this.store.set(key, obj);
    if (prev) this.unindex(key, prev);
    this.index(key, obj);
    if (prev) this.emit('update', obj, prev);
    else this.emit('add', obj);
  }

  private emit(what: 'add' | 'update' | 'delete', obj: T, prev?: T): void {
    for (const h of this.handlers) {
      try {
        if (what === 'add') h.add?.(obj);
        else if (what === 'update') h.update?.(prev as T, obj);
        else h.delete?.(obj);
      } catch (err) {
        this.opts.log?.error(
          { resource: this.resource, key: keyOf(obj), err: String(err) },
          'event handler failed',
        );
      }
    }
  }

  private buildIndices(store: Map<string, T>): Map<string, Map<string, Set<string>>> {
    const indices = new Map<string, Map<string, Set<string>>>();
    for (const name of this.indexers.keys()) indices.set(name, new Map());
    for (const [key, obj] of store) this.index(key, obj, indices);
    return indices;
  }

  private index(key: string, obj: T, indices = this.indices): void {
    for (const [name, fn] of this.indexers) {
      const index = indices.get(name);
      if (!index) continue;
      for (const value of fn(obj)) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name);
      for (const value of fn(obj)) {
        const keys = index?.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index?.delete(value);
      }
    }
  }
}

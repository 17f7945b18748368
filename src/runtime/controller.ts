// A controller: informers feed keys into a work queue; workers hand each key to the reconciler,
// which is level-triggered (it gets a key, not an event, and re-reads the cache). An error
// requeues the key with exponential backoff; a TerminalError does not (retrying will not mend
// it); a result may ask to be called again later.
import { performance } from 'node:perf_hooks';
import { WorkQueue } from './queue.js';
import { defaultRateLimiter, type RateLimiter } from './ratelimit.js';
import { keyOf, type Informer, type SyncSource } from './informer.js';
import type { KubeObject } from './rest.js';
import type { Logger } from './log.js';
import type { RuntimeMetrics } from './metrics.js';

export interface Request {
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile this key again after this long, even without a change (periodic sync). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  log: Logger;
  /**
   * Aborted when this replica stops leading: at once when the lease is lost, after the drain on
   * a graceful stop. The manager's clients are bound to it (Rest.withSignal); anything else a
   * reconcile waits on (other clients, timers, outbound requests) must honour it.
   */
  signal: AbortSignal;
}

/**
 * A reconcile that cannot go on, for a reason worth a condition, and that retrying at once will
 * not mend (an invalid spec, a missing Secret, a dependency not there yet); after
 * controller-runtime's TerminalError. Controllers catch it where they write the reason into
 * status, or let it reach the runtime, which logs and counts it and does not retry the key with
 * backoff: the key comes back when the object changes, or after `requeueAfterMs`.
 */
export class TerminalError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly requeueAfterMs?: number,
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}

export type Reconciler = (req: Request, ctx: ReconcileContext) => Promise<Result | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  concurrency?: number;
  rateLimiter?: RateLimiter;
  log: Logger;
  metrics: RuntimeMetrics;
}

/** Whether an update is worth a reconcile; by default any change of the stored object is. */
export type Predicate<T> = (old: T | undefined, obj: T) => boolean;

/** Only spec changes (generation), deletion marks and label/annotation/finalizer changes. */
export const generationChanged: Predicate<KubeObject> = (old, obj) =>
  !old ||
  old.metadata.generation !== obj.metadata.generation ||
  old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
  JSON.stringify([old.metadata.labels, old.metadata.annotations, old.metadata.finalizers]) !==
    JSON.stringify([obj.metadata.labels, obj.metadata.annotations, obj.metadata.finalizers]);

export function requestKey(req: Request): string {
  return req.namespace ? `${req.namespace}/${req.name}` : req.name;
}

export function parseKey(key: string): Request {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Controller {
  readonly queue: WorkQueue;
  private signal = AbortSignal.abort();
  private workers: Promise<void>[] = [];
  readonly informers: SyncSource[] = [];

  constructor(private readonly opts: ControllerOptions) {
    this.queue = new WorkQueue(
      opts.name,
      opts.rateLimiter ?? defaultRateLimiter(),
      opts.metrics.queueObserver(opts.name),
    );
  }

  get name(): string {
    return this.opts.name;
  }

  /** The primary kind: each change enqueues the object's own key. */
  for<T extends KubeObject>(informer: Informer<T>, predicate: Predicate<T> = () => true): this {
    this.track(informer);
    informer.addHandler({
      add: (obj) => this.queue.add(keyOf(obj)),
      update: (old, obj) => predicate(old, obj) && this.queue.add(keyOf(obj)),
      delete: (obj) => this.queue.add(keyOf(obj)),
    });
    return this;
  }

  /** Objects controlled by the primary kind (an ownerReference with controller: true). */
  owns<T extends KubeObject>(
    informer: Informer<T>,
    owner: { apiVersion: string; kind: string },
  ): this {
    return this.watches(informer, (obj) =>
      (obj.metadata.ownerReferences ?? [])
        .filter((r) => r.controller && r.kind === owner.kind && r.apiVersion === owner.apiVersion)
        .map((r) => ({ namespace: obj.metadata.namespace, name: r.name })),
    );
  }

  /**
   * Any other objects, in this cluster or another: `map` names the primary keys they concern;
   * `predicate` says which updates matter (by default all).
   */
  watches<T extends KubeObject>(
    informer: Informer<T>,
    map: (obj: T) => Request[],
    predicate: Predicate<T> = () => true,
  ): this {
    this.track(informer);
    const enqueue = (obj: T) => map(obj).forEach((r) => this.enqueue(r));
    informer.addHandler({
      add: enqueue,
      update: (old, obj) => predicate(old, obj) && (enqueue(old), enqueue(obj)),
      delete: enqueue,
    });
    return this;
  }

  enqueue(req: Request): void {
    this.queue.add(requestKey(req));
  }

  /**
   * Enqueues after `ms` (an earlier pending time for the key wins): lets a burst of related
   * events that would each start a costly reconcile be seen by one.
   */
  enqueueAfter(req: Request, ms: number): void {
    this.queue.addAfter(requestKey(req), ms);
  }

  /**
   * Starts the workers; resolves when they have all stopped (after stop()). Reconciles see
   * `signal` (the manager's leadership) as ctx.signal.
   */
  start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    const n = this.opts.concurrency ?? 1;
    this.workers = Array.from({ length: n }, () => this.worker());
    return Promise.all(this.workers).then(() => {});
  }

  /**
   * Stops handing out keys; with `drain`, waits for in-flight reconciles to finish. Without, it
   * returns at once: in-flight reconciles end as their signal (aborted by the caller) cancels them.
   */
  async stop(drain = true): Promise<void> {
    await this.queue.shutDown(drain);
    if (drain) await Promise.all(this.workers);
  }

  private track(informer: SyncSource): void {
    if (!this.informers.includes(informer)) this.informers.push(informer);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcile(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcile(key: string): Promise<void> {
    const { name, metrics } = this.opts;
    const log = this.opts.log.child({ controller: name, key });
    const started = performance.now();
    metrics.activeWorkers.inc({ controller: name });
    try {
      const result = await this.opts.reconcile(parseKey(key), { log, signal: this.signal });
      this.queue.forget(key);
      if (result?.requeueAfterMs) {
        this.queue.addAfter(key, result.requeueAfterMs);
        metrics.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
      } else {
        metrics.reconcileTotal.inc({ controller: name, result: 'success' });
      }
    } catch (err) {
      metrics.reconcileTotal.inc({ controller: name, result: 'error' });
      metrics.reconcileErrors.inc({ controller: name });
      if (this.signal.aborted) {
        // Leadership ended under it: not a failure of the object; the next leader reconciles.
        log.info({ err: errorText(err) }, 'reconcile cancelled: no longer leading');
        return;
      }
      if (err instanceof TerminalError) {
        metrics.terminalReconcileErrors.inc({ controller: name });
        log.warn({ reason: err.reason, err: err.message }, 'reconcile stopped: not retried');
        this.queue.forget(key);
        if (err.requeueAfterMs) this.queue.addAfter(key, err.requeueAfterMs);
        return;
      }
      log.error({ err: errorText(err), retries: this.queue.numRequeues(key) }, 'reconcile failed');
      this.queue.addRateLimited(key);
    } finally {
      metrics.activeWorkers.dec({ controller: name });
      metrics.reconcileTime.observe({ controller: name }, (performance.now() - started) / 1000);
    }
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

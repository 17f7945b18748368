// A work queue of string keys with client-go's guarantees: a key added several times before it
// is processed is processed once; a key being processed is never handed to a second worker,
// and if it is added meanwhile it is processed again after `done`. Delayed adds (requeueAfter)
// and rate-limited adds (backoff after errors) go through timers, earliest wins.
import { defaultRateLimiter, type RateLimiter } from './ratelimit.js';

/** What the queue reports; implemented with prom-client in metrics.ts. */
export interface QueueObserver {
  depth(n: number): void;
  added(): void;
  retried(): void;
  /** Seconds a key waited in the queue, and seconds it took to process. */
  waited(seconds: number): void;
  worked(seconds: number): void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private shuttingDown = false;

  constructor(
    readonly name: string,
    private readonly limiter: RateLimiter = defaultRateLimiter(),
    private readonly observer?: QueueObserver,
  ) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.observer?.added();
    this.dirty.add(key);
    this.addedAt.set(key, Date.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Adds `key` after the rate limiter's delay: exponential per key, bounded overall. */
  addRateLimited(key: string): void {
    this.observer?.retried();
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** The next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    // A key made dirty while in flight goes back in the queue when done, even after shutDown:
    // it must not be handed out then.
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.queue.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The worker finished `key`: if it was added meanwhile, it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    if (started !== undefined) this.observer?.worked((Date.now() - started) / 1000);
    this.startedAt.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) this.idle.splice(0).forEach((f) => f());
  }

  get length(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Stops handing out keys; waiting workers get undefined. With `drain`, waits for in-flight keys. */
  async shutDown(drain = true): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.waiters.splice(0).forEach((w) => w(undefined));
    if (drain && this.processing.size > 0)
      await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queue.push(key);
      waiter(this.take());
    } else {
      this.queue.push(key);
    }
    this.observer?.depth(this.queue.length);
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    const added = this.addedAt.get(key);
    if (added !== undefined) this.observer?.waited((Date.now() - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, Date.now());
    this.observer?.depth(this.queue.length);
    return key;
  }
}

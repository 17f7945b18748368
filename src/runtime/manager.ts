// The manager runs controllers the way controller-runtime's does: it owns the informers (shared
// per resource and selector), the HTTP endpoints, leader election and shutdown. Caches run on
// every replica (a warm standby takes over fast); only the leader runs reconcilers and
// runnables. On SIGTERM it stops handing out keys, lets in-flight reconciles finish, releases the
// lease and returns. When the lease is lost it gives up at once, as controller-runtime does: the
// leading signal aborts, which cancels in-flight reconciles and every request of the clients
// bound to it (the manager's own `rest`, and whatever the controllers bind to `leading`), so no
// new write starts in the name of a leader that no longer is one; run() then rejects with
// LeadershipLostError and the process should exit.
import type { Server } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { Controller, type ControllerOptions } from './controller.js';
import { EventRecorder } from './events.js';
import { Informer, type InformerOptions, type SyncSource } from './informer.js';
import { LeaderElector, defaultIdentity } from './leader.js';
import { newLogger, type Logger } from './log.js';
import { RuntimeMetrics } from './metrics.js';
import { Rest, type Gvr, type KubeObject } from './rest.js';
import { boundAddress, serve, type Handler } from './server.js';

export interface ManagerOptions {
  config: KubeConfig;
  /** Reported in events as reportingController (e.g. "example.com/controller"). */
  name: string;
  log?: Logger;
  metrics?: RuntimeMetrics;
  /** Watch namespaced kinds in this namespace only (all namespaces when unset). */
  namespace?: string;
  leaderElection?: {
    namespace: string;
    name: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** host:port, or undefined for no server. Port 0 picks a free port. */
  metricsAddress?: string;
  healthAddress?: string;
  /**
   * host:port of the server for the handlers controllers add (webhook receivers): a port of its
   * own, so that it can be exposed without /metrics. Undefined: handlers are not served.
   */
  hooksAddress?: string;
  identity?: string;
  /**
   * How long the caches may take to sync once this replica leads (default 2 min): past it, run()
   * rejects with CacheSyncTimeoutError naming the informers and their last errors.
   */
  cacheSyncTimeoutMs?: number;
}

export class LeadershipLostError extends Error {
  constructor() {
    super('leader election lost');
    this.name = 'LeadershipLostError';
  }
}

/** Caches that did not sync in time: which, and why as far as their last list said. */
export class CacheSyncTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly unsynced: { resource: string; lastError?: string }[],
  ) {
    super(
      `caches did not sync within ${timeoutMs / 1000} s: ${unsynced
        .map((u) => `${u.resource} (${u.lastError ?? 'no list answered yet'})`)
        .join('; ')}`,
    );
    this.name = 'CacheSyncTimeoutError';
  }
}

/**
 * Work of the leader that is neither an informer nor a controller (probe loops, connections to
 * other clusters): started with the controllers once this replica leads and its caches synced,
 * stopped with them.
 */
export interface Runnable {
  readonly name: string;
  /** `leading` aborts when this replica stops leading (at once when the lease is lost). */
  start(leading: AbortSignal): void;
  stop(): Promise<void> | void;
}

export class Manager {
  /**
   * The control-plane client for reconcilers: every request is aborted when this replica stops
   * leading (see `leading`). Caches and the lease use a client of their own.
   */
  readonly rest: Rest;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly identity: string;
  readonly events: EventRecorder;
  /** Unbound: informers, the lease. */
  private readonly client: Rest;
  private readonly leadership = new AbortController();
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly sources = new Set<SyncSource>();
  private readonly runnables: Runnable[] = [];
  private readonly controllers: Controller[] = [];
  private readonly servers = new Map<'metrics' | 'health' | 'hooks', Server>();
  private readonly handlers: Handler[] = [];
  private started = false;
  private ran = false;
  private leadingStarted = false;
  private elector?: LeaderElector;

  constructor(private readonly opts: ManagerOptions) {
    this.client = new Rest(opts.config);
    this.rest = this.client.withSignal(this.leadership.signal);
    this.log = opts.log ?? newLogger();
    this.metrics = opts.metrics ?? new RuntimeMetrics();
    this.identity = opts.identity ?? defaultIdentity();
    this.events = new EventRecorder(this.rest, opts.name, this.identity, this.log);
  }

  /**
   * Aborted when this replica stops leading: at once when the lease is lost; after the drain on
   * a graceful stop. Reconciles see it as ctx.signal; bind any client of the outside to it.
   */
  get leading(): AbortSignal {
    return this.leadership.signal;
  }

  /**
   * The shared informer for a resource in this manager's scope (one per resource, selectors and
   * whether it caches metadata only).
   */
  informer<T extends KubeObject>(
    gvr: Gvr,
    opts: Omit<InformerOptions<T>, 'log' | 'metrics'> = {},
  ): Informer<T> {
    // A namespace named here narrows the manager's own scope (e.g. Secrets in a few namespaces).
    const namespace = gvr.namespaced ? (opts.namespace ?? this.opts.namespace) : undefined;
    const key = JSON.stringify([
      gvr,
      opts.labelSelector,
      opts.fieldSelector,
      namespace,
      !!opts.metadataOnly,
    ]);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<KubeObject>(this.client, gvr, {
        ...(opts as InformerOptions<KubeObject>),
        namespace,
        log: this.log,
        metrics: this.metrics,
      });
      this.informers.set(key, informer);
      this.addSource(informer);
    }
    return informer as unknown as Informer<T>;
  }

  /** Registers an informer made elsewhere (e.g. of a member cluster) to be started and stopped. */
  addSource(source: SyncSource): void {
    this.sources.add(source);
    if (this.started) source.start();
  }

  /** Registers work of the leader, started and stopped with the controllers. */
  add(runnable: Runnable): void {
    this.runnables.push(runnable);
    if (this.leadingStarted) runnable.start(this.leading);
  }

  controller(opts: Omit<ControllerOptions, 'log' | 'metrics'>): Controller {
    const c = new Controller({ ...opts, log: this.log, metrics: this.metrics });
    this.controllers.push(c);
    return c;
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.started;
  }

  /**
   * Serves `handler` on the hooks server (hooksAddress); added before run(). Handlers run on every
   * replica: one that needs the leader says so itself (isLeader()).
   */
  handle(handler: Handler): void {
    if (this.started) throw new Error('handlers are added before the manager runs');
    this.handlers.push(handler);
  }

  /** The address a server is bound to (useful with port 0). */
  address(which: 'metrics' | 'health' | 'hooks'): string | undefined {
    const server = this.servers.get(which);
    return server ? boundAddress(server) : undefined;
  }

  /**
   * Runs until `signal` aborts, then shuts down gracefully. Rejects with LeadershipLostError if
   * the lease could not be renewed, or CacheSyncTimeoutError if the caches did not sync in time
   * (the process should exit and be restarted). A manager runs once.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.ran) throw new Error('a Manager runs once: make a new one');
    this.ran = true;
    // Waiting on a signal does not keep Node's event loop alive; with no server and no
    // informer nothing else would, and the process would just end.
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      await this.runUntil(signal);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async runUntil(signal: AbortSignal): Promise<void> {
    await this.startServers();
    this.started = true;
    for (const s of this.sources) s.start();
    // Ends the renew loop: on shutdown, or when run() ends any other way.
    const stopping = new AbortController();
    const stop = () => stopping.abort();
    signal.addEventListener('abort', stop, { once: true });
    let lost = false;
    let renewing: Promise<boolean> | undefined;
    try {
      if (this.opts.leaderElection) {
        const le = this.opts.leaderElection;
        this.elector = new LeaderElector(this.client, {
          ...le,
          identity: this.identity,
          log: this.log,
        });
        const elected = await this.elector.acquire(signal);
        if (!elected) return;
        this.metrics.leader.set({ name: le.name }, 1);
        // Renewed from now on, while the caches sync too.
        renewing = this.elector.renew(stopping.signal);
      }
      // Until shutdown, or the lease is lost: then at once, whatever is under way.
      const leadership = (
        renewing ??
        new Promise<boolean>((resolve) =>
          stopping.signal.addEventListener('abort', () => resolve(true), { once: true }),
        )
      ).then((kept) => {
        if (kept) return;
        lost = true;
        // No drain: in-flight reconciles are cancelled through their signal, and every client
        // bound to it refuses to start another request.
        this.leadership.abort();
        this.log.error('leadership lost: in-flight reconciles cancelled, no new work starts');
      });
      await this.waitForSync(AbortSignal.any([signal, this.leading]));
      if (!signal.aborted && !lost) {
        this.log.info({ controllers: this.controllers.map((c) => c.name) }, 'starting controllers');
        this.leadingStarted = true;
        for (const r of this.runnables) r.start(this.leading);
      }
      const running = this.leadingStarted ? this.controllers.map((c) => c.start(this.leading)) : [];
      await leadership;
      if (lost) {
        await Promise.all(this.controllers.map((c) => c.stop(false)));
      } else {
        if (running.length) this.log.info('stopping controllers: waiting for in-flight reconciles');
        await Promise.all(this.controllers.map((c) => c.stop()));
        await Promise.all(running);
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stopping.abort();
      await renewing;
      // After a drain too: nothing acts in the leader's name any more.
      this.leadership.abort();
      if (this.opts.leaderElection)
        this.metrics.leader.set({ name: this.opts.leaderElection.name }, 0);
      if (this.leadingStarted) await Promise.all(this.runnables.map((r) => r.stop()));
      if (!lost) await this.elector?.release();
      await Promise.all([...this.sources].map((s) => s.stop()));
      await Promise.all([...this.servers.values()].map((s) => new Promise((r) => s.close(r))));
      this.servers.clear();
      this.started = false;
      this.leadingStarted = false;
      this.log.info('manager stopped');
    }
    if (lost) throw new LeadershipLostError();
  }

  /** Waits for every cache's first list, up to cacheSyncTimeoutMs; resolves early on `signal`. */
  private async waitForSync(signal: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.cacheSyncTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      Promise.all([...this.sources].map((s) => s.waitForSync())).then(() => 'synced' as const),
      new Promise<'aborted'>((resolve) => {
        if (signal.aborted) resolve('aborted');
        signal.addEventListener('abort', () => resolve('aborted'), { once: true });
      }),
      new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
      ),
    ]);
    clearTimeout(timer);
    if (done === 'timeout') {
      const error = new CacheSyncTimeoutError(timeoutMs, this.unsynced());
      this.log.error({ unsynced: error.unsynced }, error.message);
      throw error;
    }
  }

  private unsynced(): { resource: string; lastError?: string }[] {
    return [...this.sources]
      .filter((s) => !s.hasSynced())
      .map((s) => ({ resource: s.resource, ...(s.lastError && { lastError: s.lastError }) }));
  }

  private async startServers(): Promise<void> {
    if (this.opts.metricsAddress) {
      this.servers.set(
        'metrics',
        await serve(this.opts.metricsAddress, {
          '/metrics': async () => ({
            status: 200,
            body: await this.metrics.registry.metrics(),
            contentType: this.metrics.registry.contentType,
          }),
        }),
      );
    }
    if (this.opts.healthAddress) {
      this.servers.set(
        'health',
        await serve(this.opts.healthAddress, {
          '/healthz': async () => ({ status: 200, body: 'ok\n' }),
          '/readyz': async () => {
            const unsynced = this.unsynced();
            if (unsynced.length === 0) return { status: 200, body: 'ok\n' };
            const lines = unsynced.map(
              (u) => `${u.resource}: ${u.lastError ?? 'waiting for the first list'}`,
            );
            return { status: 503, body: `informers not synced:\n${lines.join('\n')}\n` };
          },
        }),
      );
    }
    if (this.opts.hooksAddress && this.handlers.length)
      this.servers.set('hooks', await serve(this.opts.hooksAddress, {}, this.handlers));
    if (this.servers.size > 0)
      this.log.info(
        {
          metrics: this.address('metrics'),
          health: this.address('health'),
          hooks: this.address('hooks'),
        },
        'serving',
      );
  }
}

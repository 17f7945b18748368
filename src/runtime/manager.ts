// The manager runs controllers the way controller-runtime's does: it owns the informers (shared
// per resource and selector), the HTTP endpoints, leader election and shutdown. Caches run on
// every replica (a warm standby takes over fast); only the leader runs reconcilers. On SIGTERM
// it stops handing out keys, lets in-flight reconciles finish, releases the lease and returns.
import type { Server } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { Controller, type ControllerOptions } from './controller.js';
import { EventRecorder } from './events.js';
import { Informer, type InformerOptions, type SyncSource } from './informer.js';
import { LeaderElector, defaultIdentity } from './leader.js';
import { newLogger, type Logger } from './log.js';
import { RuntimeMetrics } from './metrics.js';
import { Rest, type Gvr, type KubeObject } from './rest.js';
import { boundAddress, serve } from './server.js';

export interface ManagerOptions {
  config: KubeConfig;
  /** Reported in events as reportingController. */
  name?: string;
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
  identity?: string;
}

export class LeadershipLostError extends Error {
  constructor() {
    super('leader election lost');
  }
}

export class Manager {
  readonly rest: Rest;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly identity: string;
  readonly events: EventRecorder;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly sources = new Set<SyncSource>();
  private readonly controllers: Controller[] = [];
  private readonly servers = new Map<'metrics' | 'health', Server>();
  private started = false;
  private elector?: LeaderElector;

  constructor(private readonly opts: ManagerOptions) {
    this.rest = new Rest(opts.config);
    this.log = opts.log ?? newLogger();
    this.metrics = opts.metrics ?? new RuntimeMetrics();
    this.identity = opts.identity ?? defaultIdentity();
    this.events = new EventRecorder(
      this.rest,
      opts.name ?? 'kachiku.io/controller',
      this.identity,
      this.log,
    );
  }

  /**
   * The shared informer for a resource in this manager's scope (one per resource, selectors and
   * whether it caches metadata only).
   */
  informer<T extends KubeObject>(
    gvr: Gvr,
    opts: Omit<InformerOptions<T>, 'log' | 'metrics' | 'namespace'> = {},
  ): Informer<T> {
    const key = JSON.stringify([gvr, opts.labelSelector, opts.fieldSelector, !!opts.metadataOnly]);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<KubeObject>(this.rest, gvr, {
        ...(opts as InformerOptions<KubeObject>),
        namespace: gvr.namespaced ? this.opts.namespace : undefined,
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

  controller(opts: Omit<ControllerOptions, 'log' | 'metrics'>): Controller {
    const c = new Controller({ ...opts, log: this.log, metrics: this.metrics });
    this.controllers.push(c);
    return c;
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.started;
  }

  /** The address a server is bound to (useful with port 0). */
  address(which: 'metrics' | 'health'): string | undefined {
    const server = this.servers.get(which);
    return server ? boundAddress(server) : undefined;
  }

  /**
   * Runs until `signal` aborts, then shuts down gracefully. Rejects with LeadershipLostError if
   * the lease could not be renewed (the process should exit and be restarted).
   */
  async run(signal: AbortSignal): Promise<void> {
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
    const leading = new AbortController();
    const stopLeading = () => leading.abort();
    signal.addEventListener('abort', stopLeading, { once: true });
    let lost = false;
    try {
      if (this.opts.leaderElection) {
        const le = this.opts.leaderElection;
        this.elector = new LeaderElector(this.rest, {
          ...le,
          identity: this.identity,
          log: this.log,
        });
        const elected = await this.elector.acquire(signal);
        if (!elected) return;
        this.metrics.leader.set({ name: le.name }, 1);
      }
      await this.waitForSync(signal);
      if (signal.aborted) return;
      this.log.info({ controllers: this.controllers.map((c) => c.name) }, 'starting controllers');
      const running = this.controllers.map((c) => c.start());
      if (this.elector) {
        lost = !(await this.elector.renew(leading.signal));
        if (lost) leading.abort();
      } else {
        await new Promise((resolve) =>
          leading.signal.addEventListener('abort', resolve, { once: true }),
        );
      }
      this.log.info('stopping controllers: waiting for in-flight reconciles');
      await Promise.all(this.controllers.map((c) => c.stop()));
      await Promise.all(running);
    } finally {
      signal.removeEventListener('abort', stopLeading);
      if (this.opts.leaderElection)
        this.metrics.leader.set({ name: this.opts.leaderElection.name }, 0);
      if (!lost) await this.elector?.release();
      await Promise.all([...this.sources].map((s) => s.stop()));
      await Promise.all([...this.servers.values()].map((s) => new Promise((r) => s.close(r))));
      this.servers.clear();
      this.started = false;
      this.log.info('manager stopped');
    }
    if (lost) throw new LeadershipLostError();
  }

  private async waitForSync(signal: AbortSignal): Promise<void> {
    const aborted = new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await Promise.race([Promise.all([...this.sources].map((s) => s.waitForSync())), aborted]);
  }

  private synced(): boolean {
    return [...this.sources].every((s) => s.hasSynced());
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
          '/readyz': async () =>
            this.synced()
              ? { status: 200, body: 'ok\n' }
              : { status: 503, body: 'informers not synced\n' },
        }),
      );
    }
  }
}

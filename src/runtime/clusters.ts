// Connections to other clusters (member clusters), one per name: a KubeConfig, a Rest client and
// shared informers on that cluster, added, replaced and removed as their owner (the
// MemberCluster controller) decides. Knows no kachiku kind: the owner judges reachability from
// its probes and says so here; users (e.g. the Prod controller) read it and listen for changes.
// It is a Runnable of the manager: the connections' REST clients are bound to the leadership it
// is started with (a deposed leader's requests to member clusters stop at once), and stopping it
// closes every connection.
import { KubeConfig } from '@kubernetes/client-node';
import { Informer } from './informer.js';
import type { Logger } from './log.js';
import type { RuntimeMetrics } from './metrics.js';
import type { Runnable } from './manager.js';
import { Rest, type Gvr, type KubeObject } from './rest.js';

export interface ClusterInformerOptions {
  labelSelector?: string;
  namespace?: string;
}

export interface ClusterConnection {
  readonly name: string;
  readonly config: KubeConfig;
  /**
   * The runtime's REST client on that cluster, for reconciles: its requests are aborted when the
   * registry's leadership ends (the informers use a client of their own).
   */
  readonly rest: Rest;
  /** As the owner (MemberCluster controller) last judged it from its probes. Starts true. */
  readonly reachable: boolean;
  /**
   * A shared informer on this cluster, one per gvr+labelSelector(+namespace), started at once,
   * stopped when the connection is removed or replaced (re-get it after onChange).
   */
  informer<T extends KubeObject>(gvr: Gvr, opts?: ClusterInformerOptions): Informer<T>;
}

/**
 * Parses a kubeconfig and checks that it names a usable current cluster. The error never
 * quotes the text (a kubeconfig holds credentials): YAML errors give only their line and reason.
 */
export function parseKubeconfig(text: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (err) {
    const e = err as { name?: string; reason?: string; mark?: { line?: number }; message?: string };
    if (e.name === 'YAMLException')
      throw new Error(
        `kubeconfig is not valid YAML (line ${(e.mark?.line ?? 0) + 1}: ${e.reason ?? 'syntax error'})`,
      );
    // client-node's own checks ("clusters[0].cluster.server is missing") name fields, not values;
    // anything else (e.g. a TypeError on a scalar document) is summed up without its text.
    throw new Error(
      err instanceof Error && /^(clusters|users|contexts)\[\d+\]/.test(err.message)
        ? `kubeconfig is invalid: ${err.message}`
        : 'kubeconfig is not a kubeconfig document',
    );
  }
  const context = config.getCurrentContext();
  if (!context) throw new Error('kubeconfig has no current-context');
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig: current-context "${context}" names no known cluster`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new Error(`kubeconfig: cluster "${cluster.name}" has an invalid server URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`kubeconfig: cluster "${cluster.name}" server must be http(s)`);
  return config;
}

class Connection implements ClusterConnection {
  readonly rest: Rest;
  private readonly client: Rest;
  reachable = true;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private closed = false;

  constructor(
    readonly name: string,
    readonly config: KubeConfig,
    readonly text: string,
    readonly log: Logger | undefined,
    private readonly metrics: RuntimeMetrics | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.client = new Rest(config);
    this.rest = signal ? this.client.withSignal(signal) : this.client;
  }

  informer<T extends KubeObject>(gvr: Gvr, opts: ClusterInformerOptions = {}): Informer<T> {
    if (this.closed) throw new Error(`cluster connection ${this.name} was removed or replaced`);
    const namespace = gvr.namespaced ? opts.namespace : undefined;
    const key = JSON.stringify([gvr, opts.labelSelector ?? '', namespace ?? '']);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<KubeObject>(this.client, gvr, {
        labelSelector: opts.labelSelector,
        namespace,
        log: this.log,
        metrics: this.metrics,
      });
      this.informers.set(key, informer);
      informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.informers.values()];
    this.informers.clear();
    await Promise.all(all.map((i) => i.stop()));
    await this.client.close();
  }
}

export class ClusterRegistry implements Runnable {
  readonly name = 'cluster connections';
  private readonly connections = new Map<string, Connection>();
  private signal?: AbortSignal;
  private readonly listeners = new Set<(name: string) => void>();
  /** Informers of replaced connections still stopping; close() waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private readonly log?: Logger;
  private readonly metrics?: RuntimeMetrics;

  constructor(opts: { log?: Logger; metrics?: RuntimeMetrics } = {}) {
    this.log = opts.log;
    this.metrics = opts.metrics;
  }

  /** Connections made from now on are bound to `leading` (Runnable). */
  start(leading: AbortSignal): void {
    this.signal = leading;
  }

  /** Closes every connection (Runnable). */
  stop(): Promise<void> {
    return this.close();
  }

  get(name: string): ClusterConnection | undefined {
    return this.connections.get(name);
  }

  list(): ClusterConnection[] {
    return [...this.connections.values()];
  }

  /** fn(name) after a connection is added, replaced, removed, or its reachability changes. */
  onChange(fn: (name: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Adds or (when the kubeconfig text differs) replaces the connection; returns it. Throws a
   * clear Error (never quoting the text) on an unparsable kubeconfig, leaving any existing
   * connection as it was.
   */
  connect(name: string, kubeconfig: string): ClusterConnection {
    const existing = this.connections.get(name);
    if (existing && existing.text === kubeconfig) return existing;
    const config = parseKubeconfig(kubeconfig);
    const conn = new Connection(
      name,
      config,
      kubeconfig,
      this.childLog(name),
      this.metrics,
      this.signal,
    );
    this.connections.set(name, conn);
    if (existing) this.retire(existing);
    this.log?.info(
      { cluster: name },
      existing ? 'cluster connection replaced' : 'cluster connected',
    );
    this.notify(name);
    return conn;
  }

  setReachable(name: string, reachable: boolean): void {
    const conn = this.connections.get(name);
    if (!conn || conn.reachable === reachable) return;
    conn.reachable = reachable;
    // The owner reports an unreachable cluster (conditions, events); its informers' retries
    // would only repeat that every backoff, so they go quiet until it is back.
    if (conn.log && this.log) conn.log.level = reachable ? this.log.level : 'error';
    this.notify(name);
  }

  async remove(name: string): Promise<void> {
    const conn = this.connections.get(name);
    if (!conn) return;
    this.connections.delete(name);
    this.log?.info({ cluster: name }, 'cluster connection removed');
    this.notify(name);
    await conn.close();
  }

  /** Stops every informer (manager shutdown). */
  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all([...all.map((c) => c.close()), ...this.closing]);
  }

  private retire(conn: Connection): void {
    const done = conn.close().finally(() => this.closing.delete(done));
    this.closing.add(done);
  }

  private childLog(name: string): Logger | undefined {
    return this.log?.child({ cluster: name });
  }

  private notify(name: string): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(name);
      } catch (err) {
        this.log?.error(
          { cluster: name, err: err instanceof Error ? err.message : String(err) },
          'cluster change listener failed',
        );
      }
    }
  }
}

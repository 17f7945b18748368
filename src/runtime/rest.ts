// A thin generic REST client for one cluster: any group/version/resource, subresources such as
// status, list paging, server-side apply and watch streams. Hand-written because client-node's
// generic KubernetesObjectApi has no subresources and its typed APIs are one class per kind,
// while the runtime must stay ignorant of kinds; and because client-node makes a new HTTP agent
// for every call (no connection is ever reused). Here one undici Agent per cluster connection
// keeps connections alive across requests and watches; client-node only parses the kubeconfig.
import { readFileSync } from 'node:fs';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { KubeConfig } from '@kubernetes/client-node';
import { credentialsFor, type Credentials } from './credentials.js';

export interface Gvr {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  generateName?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface KubeList<T> {
  kind?: string;
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** A Kubernetes API error, from the Status object the server returned. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409;
/** 422: the object or patch is invalid (e.g. a JSON patch whose test op failed). */
export const isInvalid = (e: unknown) => e instanceof ApiError && e.code === 422;
export const isAlreadyExists = (e: unknown) =>
  isConflict(e) && (e as ApiError).reason === 'AlreadyExists';
export const isForbidden = (e: unknown) => e instanceof ApiError && e.code === 403;
export const isGone = (e: unknown) => e instanceof ApiError && e.code === 410;

export function apiVersionOf(gvr: Pick<Gvr, 'group' | 'version'>): string {
  return gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version;
}

export function resourcePath(
  gvr: Gvr,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = gvr.group ? `/apis/${gvr.group}/${gvr.version}` : `/api/${gvr.version}`;
  const parts = [base];
  if (gvr.namespaced && namespace) parts.push('namespaces', encodeURIComponent(namespace));
  parts.push(gvr.resource);
  if (name) parts.push(encodeURIComponent(name));
  if (subresource) parts.push(subresource);
  return parts.join('/');
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** The Accept header (default application/json), e.g. to ask for PartialObjectMetadata. */
  accept?: string;
  timeoutMs?: number;
  /** Aborts the request (e.g. a reconcile cancelled when leadership is lost). */
  signal?: AbortSignal;
}

/** The server's Status object as an ApiError; a plain-text body (404 page not found) too. */
function errorOf(method: string, path: string, code: number, text: string): ApiError {
  let status: { reason?: string; message?: string } = {};
  try {
    status = (text ? JSON.parse(text) : {}) as typeof status;
  } catch {
    status = { message: `${method} ${path}: ${code} ${text.trim().slice(0, 200)}` };
  }
  const reason = status.reason ?? (code === 401 ? 'Unauthorized' : `HTTP ${code}`);
  return new ApiError(code, reason, status.message ?? `${method} ${path}: ${code} ${reason}`);
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

const fileOrData = (file?: string, data?: string): Buffer | undefined =>
  data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined;

export class Rest {
  readonly server: string;
  private readonly agent: Agent;
  private readonly credentials: Credentials;
  private bound?: AbortSignal;

  constructor(readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    const user = config.getCurrentUser();
    this.credentials = credentialsFor(user, cluster);
    this.agent = new Agent({
      connect: {
        ca: fileOrData(cluster.caFile, cluster.caData),
        cert: fileOrData(user?.certFile, user?.certData),
        key: fileOrData(user?.keyFile, user?.keyData),
        rejectUnauthorized: !cluster.skipTLSVerify,
        servername: cluster.tlsServerName,
      },
      // Watches stay open for minutes: the caller bounds their silence (idleTimeoutMs), not the
      // agent; other requests have their own timeout signal.
      bodyTimeout: 0,
      headersTimeout: 0,
      keepAliveTimeout: 30_000,
      // HTTP/1.1 only. Over HTTP/2 (undici's default when the apiserver offers it) every request
      // shares one session, and aborting a request only resets its stream: a connection gone
      // silent (a dead peer, a stuck load balancer) kept taking every new request, the watchdog's
      // replacement watch and the lease renewals included, until a PING a minute later found it
      // dead. Over HTTP/1.1 an aborted request closes its own connection and the next one dials.
      allowH2: false,
    });
  }

  /**
   * The same client (connections, credentials), every request of which is also aborted by
   * `signal`: a reconcile's work stops at once when its signal aborts.
   */
  withSignal(signal: AbortSignal): Rest {
    const view = Object.create(this) as Rest;
    view.bound = this.bound ? AbortSignal.any([this.bound, signal]) : signal;
    return view;
  }

  /** What aborts every request of this view (withSignal), if anything. */
  get signal(): AbortSignal | undefined {
    return this.bound;
  }

  /** Closes the connections (the Rest is not used after). */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions & { watch?: boolean; idleTimeoutMs?: number },
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const signals = [opts.signal, this.bound];
    if (!opts.watch) signals.push(AbortSignal.timeout(opts.timeoutMs ?? 30_000));
    const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    for (let attempt = 0; ; attempt++) {
      const auth = await this.credentials.authorization();
      const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
      if (auth) headers.authorization = auth;
      if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
      const res = await undiciRequest(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal,
        dispatcher: this.agent,
        // A watch silent for this long fails, and its connection is closed with it.
        bodyTimeout: opts.idleTimeoutMs,
        headersTimeout: opts.idleTimeoutMs,
      });
      if (res.statusCode >= 200 && res.statusCode < 300) return res;
      const text = await res.body.text();
      // A token refused once may be stale (rotated file, exec token revoked early): ask the
      // source again, once.
      if (res.statusCode === 401 && auth && attempt === 0 && this.credentials.rejected(auth))
        continue;
      throw errorOf(method, path, res.statusCode, text);
    }
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await res.body.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A watch stream: the events as the server sends them, until it ends the watch, `signal`
   * aborts (the iteration then ends without error), the connection fails or nothing arrives for
   * `idleTimeoutMs` (throws).
   */
  async *watch(
    gvr: Gvr,
    namespace: string | undefined,
    query: Query,
    signal: AbortSignal,
    opts: Pick<RequestOptions, 'accept'> & { idleTimeoutMs?: number } = {},
  ): AsyncGenerator<WatchEvent> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.send('GET', resourcePath(gvr, namespace), {
        query: { ...query, watch: true },
        signal,
        watch: true,
        accept: opts.accept,
        idleTimeoutMs: opts.idleTimeoutMs,
      });
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    let buffered = '';
    // Streaming decode: a character split across two chunks is put together, not mangled.
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk as Buffer, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.body.destroy();
    }
  }

  get<T extends KubeObject>(
    gvr: Gvr,
    namespace: string | undefined,
    name: string,
    subresource?: string,
  ): Promise<T> {
    return this.request('GET', resourcePath(gvr, namespace, name, subresource));
  }

  list<T extends KubeObject>(
    gvr: Gvr,
    namespace: string | undefined,
    query: Query = {},
    opts: Pick<RequestOptions, 'accept'> = {},
  ): Promise<KubeList<T>> {
    return this.request('GET', resourcePath(gvr, namespace), { ...opts, query });
  }

  create<T extends KubeObject>(gvr: Gvr, obj: T): Promise<T> {
    return this.request('POST', resourcePath(gvr, obj.metadata.namespace), { body: obj });
  }

  /** PUT, with the object's resourceVersion as the optimistic-concurrency precondition. */
  replace<T extends KubeObject>(gvr: Gvr, obj: T, subresource?: string): Promise<T> {
    return this.request(
      'PUT',
      resourcePath(gvr, obj.metadata.namespace, obj.metadata.name, subresource),
      { body: obj },
    );
  }

  patch<T extends KubeObject>(
    gvr: Gvr,
    namespace: string | undefined,
    name: string,
    body: unknown,
    type: 'merge' | 'json',
    subresource?: string,
  ): Promise<T> {
    const contentType =
      type === 'merge' ? 'application/merge-patch+json' : 'application/json-patch+json';
    return this.request('PATCH', resourcePath(gvr, namespace, name, subresource), {
      body,
      contentType,
    });
  }

  /** Server-side apply: the fields in `obj` become owned by `fieldManager`. */
  apply<T extends KubeObject>(
    gvr: Gvr,
    obj: T,
    opts: { fieldManager: string; force?: boolean; subresource?: string },
  ): Promise<T> {
    return this.request(
      'PATCH',
      resourcePath(gvr, obj.metadata.namespace, obj.metadata.name, opts.subresource),
      {
        body: obj,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: opts.fieldManager, force: opts.force ?? true },
      },
    );
  }

  delete(
    gvr: Gvr,
    namespace: string | undefined,
    name: string,
    query: Query = {},
  ): Promise<unknown> {
    return this.request('DELETE', resourcePath(gvr, namespace, name), { query });
  }
}

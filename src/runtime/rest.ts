// A thin generic REST client over client-node's KubeConfig (its TLS and auth): any
// group/version/resource, subresources such as status, list paging and server-side apply.
// Hand-written because client-node's generic KubernetesObjectApi has no subresources and its
// typed APIs are one class per kind, while the runtime must stay ignorant of kinds.
import fetch from 'node-fetch';
import type { KubeConfig } from '@kubernetes/client-node';

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
export const isAlreadyExists = (e: unknown) =>
  isConflict(e) && (e as ApiError).reason === 'AlreadyExists';
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
  timeoutMs?: number;
}

export class Rest {
  constructor(readonly config: KubeConfig) {}

  get server(): string {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const init = await this.config.applyToFetchOptions({});
    init.method = method;
    init.timeout = opts.timeoutMs ?? 30_000;
    const headers: Record<string, string> = {
      ...(init.headers as Record<string, string>),
      accept: 'application/json',
    };
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    init.headers = headers;
    const res = await fetch(url.toString(), init);
    const text = await res.text();
    if (!res.ok) {
      // A Status object, usually; but an unknown API group gets a plain-text "404 page not
      // found", which must still be a 404 to the caller.
      let status: { reason?: string; message?: string } = {};
      try {
        status = (text ? JSON.parse(text) : {}) as typeof status;
      } catch {
        status = { message: `${method} ${path}: ${res.status} ${text.trim().slice(0, 200)}` };
      }
      throw new ApiError(
        res.status,
        status.reason ?? res.statusText,
        status.message ?? `${method} ${path}: ${res.status}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
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
  ): Promise<KubeList<T>> {
    return this.request('GET', resourcePath(gvr, namespace), { query });
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

// A Keystone v3 session: one token per cloud, cached and renewed before it expires, the
// service catalog it carries, and authenticated JSON requests for the service clients.
//
// Hand-written on fetch: there is no well-kept OpenStack SDK for TypeScript/Node (pkgcloud is
// unmaintained, the others are abandoned or partial), and kachiku needs only a token, a
// catalog and a handful of Octavia reads.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Agent, fetch as undiciFetch } from 'undici';
import type { CloudConfig, Interface } from './config.js';
import {
  OpenStackError,
  responseError,
  scrub,
  setMessage,
  transportError,
  where,
} from './errors.js';

/** The part of fetch the clients use; global fetch fits, tests may wrap it. */
export type Transport = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** Metrics hook: one call per HTTP request (each page, each attempt). */
export type OnCall = (operation: string, outcome: 'ok' | 'error', seconds: number) => void;

export interface SessionOptions {
  /** Default: global fetch; node-fetch with an https.Agent when the cloud sets verify/cacert. */
  fetch?: Transport;
  /** Milliseconds since the epoch; injectable so tests can jump past a token's lifetime. */
  now?: () => number;
  /** Per request, including reading the body. Default 30 s. */
  timeoutMs?: number;
  /** Every HTTP request of the session, Keystone's 'authenticate' included. */
  onCall?: OnCall;
  /**
   * Aborts every request of the session, in flight or to come (e.g. a leader's clients, bound
   * to its leadership); such a request fails with kind 'Aborted'.
   */
  signal?: AbortSignal;
}

export interface CatalogEndpoint {
  url: string;
  interface: string;
  region?: string | null;
  region_id?: string | null;
}

export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export interface Token {
  value: string;
  projectId?: string;
  catalog: CatalogService[];
  /** Local clock (ms) when it expires, and when the session replaces it. */
  expiresAt: number;
  renewAt: number;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
}

export interface Session {
  readonly cloud: CloudConfig;
  /** A valid token: the cached one, or a new one when it is due for renewal. */
  token(): Promise<Token>;
  /** The service's endpoint (override, else catalog), without a trailing slash. */
  endpoint(serviceType: string): Promise<string>;
  /**
   * An authenticated request; its JSON body (undefined when empty). Re-authenticates once when
   * the service answers 401 (a token revoked or expired early). Non-2xx → OpenStackError.
   */
  request(service: string, operation: string, url: string, init?: RequestOptions): Promise<unknown>;
  /** Forgets the token: the next request authenticates. */
  invalidate(): void;
}

export function createSession(cloud: CloudConfig, opts: SessionOptions = {}): Session {
  const transport = opts.fetch ?? defaultTransport(cloud);
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const auth = cloud.auth;
  const secret = auth.type === 'password' ? auth.password : auth.applicationCredentialSecret;
  let cached: Token | undefined;
  let pending: Promise<Token> | undefined;

  /** One HTTP exchange; every error leaves here scrubbed of secrets. */
  async function send(
    service: string,
    operation: string,
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
    token?: string,
  ): Promise<{ status: number; headers: { get(name: string): string | null }; body: string }> {
    const t0 = performance.now();
    const done = (outcome: 'ok' | 'error') =>
      opts.onCall?.(operation, outcome, (performance.now() - t0) / 1000);
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
      const res = await transport(url, { ...init, signal });
      const body = await res.text();
      if (res.status < 200 || res.status >= 300) {
        throw responseError(service, operation, res.status, body);
      }
      done('ok');
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      done('error');
      const e =
        err instanceof OpenStackError
          ? err
          : opts.signal?.aborted
            ? new OpenStackError('Aborted', service, operation, 'request aborted', undefined, {
                cause: err,
              })
            : transportError(service, operation, url, err);
      setMessage(e, scrub(e.message, [secret, token, cached?.value]));
      throw e;
    }
  }

  async function authenticate(): Promise<Token> {
    const obtainedAt = now();
    const res = await send('keystone', 'authenticate', `${auth.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ auth: authBody(cloud) }),
    });
    const bad = (what: string) =>
      new OpenStackError('BadResponse', 'keystone', 'authenticate', what, res.status);
    const value = res.headers.get('x-subject-token');
    if (!value) throw bad('no X-Subject-Token header in the answer');
    let body: { token?: Record<string, unknown> };
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      throw bad('the answer is not JSON');
    }
    const t = body.token ?? {};
    const expires = Date.parse(String(t.expires_at));
    if (Number.isNaN(expires)) throw bad('the token has no expires_at');
    // Lifetime from Keystone's own two timestamps, applied to our clock: immune to clock skew.
    const issued = Date.parse(String(t.issued_at));
    const lifetime = Number.isNaN(issued) ? expires - Date.now() : expires - issued;
    const catalog = Array.isArray(t.catalog) ? (t.catalog as CatalogService[]) : [];
    return {
      value,
      projectId: (t.project as { id?: string } | undefined)?.id,
      catalog,
      expiresAt: obtainedAt + lifetime,
      renewAt: obtainedAt + lifetime - renewalMargin(lifetime),
    };
  }

  async function token(): Promise<Token> {
    if (cached && now() < cached.renewAt) return cached;
    // Single flight: concurrent callers share one authentication.
    pending ??= authenticate()
      .then((t) => (cached = t))
      .finally(() => (pending = undefined));
    return pending;
  }

  async function endpoint(serviceType: string): Promise<string> {
    const override = cloud.endpointOverrides[serviceType];
    if (override) return override.replace(/\/+$/, '');
    return selectEndpoint((await token()).catalog, serviceType, cloud.interface, cloud.regionName);
  }

  async function request(
    service: string,
    operation: string,
    url: string,
    init: RequestOptions = {},
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const t = await token();
      try {
        const res = await send(
          service,
          operation,
          url,
          {
            method: init.method ?? 'GET',
            headers: {
              'x-auth-token': t.value,
              accept: 'application/json',
              ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            body: init.body === undefined ? undefined : JSON.stringify(init.body),
          },
          t.value,
        );
        if (!res.body) return undefined;
        try {
          return JSON.parse(res.body) as unknown;
        } catch {
          throw new OpenStackError(
            'BadResponse',
            service,
            operation,
            `the answer from ${where(url)} is not JSON`,
            res.status,
          );
        }
      } catch (err) {
        if (!(err instanceof OpenStackError && err.kind === 'Unauthorized') || attempt > 0) {
          throw err;
        }
        // Only drop the token that failed: a concurrent request may have renewed it already.
        if (cached?.value === t.value) cached = undefined;
      }
    }
  }

  return {
    cloud,
    token,
    endpoint,
    request,
    invalidate: () => {
      cached = undefined;
    },
  };
}

/**
 * How long before expiry a token is replaced: 10 % of its lifetime but at least a minute, so a
 * request never starts with a token about to die; at most half the lifetime, so very short
 * tokens still get used.
 */
export function renewalMargin(lifetimeMs: number): number {
  return Math.min(Math.max(60_000, lifetimeMs * 0.1), lifetimeMs / 2);
}

/** The Keystone v3 `auth` object; application credentials carry their own scope. */
export function authBody(cloud: CloudConfig): object {
  const a = cloud.auth;
  const domain = (name?: string, id?: string) => (id ? { id } : name ? { name } : undefined);
  const user = () =>
    a.userId
      ? { id: a.userId }
      : { name: a.username, domain: domain(a.userDomainName, a.userDomainId) };
  if (a.type === 'v3applicationcredential') {
    return {
      identity: {
        methods: ['application_credential'],
        application_credential: a.applicationCredentialId
          ? { id: a.applicationCredentialId, secret: a.applicationCredentialSecret }
          : {
              name: a.applicationCredentialName,
              user: user(),
              secret: a.applicationCredentialSecret,
            },
      },
    };
  }
  return {
    identity: { methods: ['password'], password: { user: { ...user(), password: a.password } } },
    scope: {
      project: a.projectId
        ? { id: a.projectId }
        : { name: a.projectName, domain: domain(a.projectDomainName, a.projectDomainId) },
    },
  };
}

/** The URL of a service's endpoint for an interface (and region, when set) in a catalog. */
export function selectEndpoint(
  catalog: CatalogService[],
  serviceType: string,
  iface: Interface,
  region?: string,
): string {
  const fail = (message: string) => new OpenStackError('Config', 'keystone', 'catalog', message);
  const services = catalog.filter((s) => s.type === serviceType);
  if (services.length === 0) {
    const types = catalog.map((s) => s.type).join(', ') || 'nothing';
    throw fail(`the catalog has no ${serviceType} service (it has ${types})`);
  }
  const all = services.flatMap((s) => s.endpoints ?? []);
  const regionOf = (e: CatalogEndpoint) => e.region_id ?? e.region ?? '';
  const matches = all.filter(
    (e) =>
      e.interface.replace(/URL$/, '') === iface &&
      (region === undefined || regionOf(e) === region || e.region === region),
  );
  const has = all.map((e) => `${e.interface}@${regionOf(e) || '(no region)'}`).join(', ');
  const wanted = `${serviceType} endpoint with interface ${iface}${region ? ` in region ${region}` : ''}`;
  if (matches.length === 0) throw fail(`the catalog has no ${wanted} (it has ${has})`);
  const regions = new Set(matches.map(regionOf));
  if (regions.size > 1) {
    throw fail(`${wanted} is in several regions (${[...regions].join(', ')}): set region_name`);
  }
  return (matches[0] as CatalogEndpoint).url.replace(/\/+$/, '');
}

// Global fetch takes no CA or verify option: undici's own fetch with an Agent does (one Agent
// per cloud, so connections are reused).
function defaultTransport(cloud: CloudConfig): Transport {
  if (cloud.verify && !cloud.cacert) return fetch;
  let ca: Buffer | undefined;
  if (cloud.cacert) {
    try {
      ca = readFileSync(cloud.cacert);
    } catch (err) {
      throw new OpenStackError(
        'Config',
        'clouds.yaml',
        'load',
        `cloud "${cloud.name}": cannot read cacert ${cloud.cacert}: ${(err as Error).message}`,
      );
    }
  }
  const agent = new Agent({ connect: { ca, rejectUnauthorized: cloud.verify } });
  return (url, init) =>
    undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    }) as unknown as ReturnType<Transport>;
}

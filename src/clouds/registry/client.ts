// A container registry as a release source, through the OCI distribution API: the tags of a
// repository (`GET /v2/<name>/tags/list`, following `Link: rel="next"` pages) and the digest a
// tag points at (`HEAD /v2/<name>/manifests/<tag>`), so a version can be checked to exist.
//
// Hand-written on undici (as src/runtime/rest.ts): the npm registry clients are either whole
// image toolkits or unmaintained, and these two reads plus the auth handshake are small.
// Auth as registries do it: the first request goes bare (or with the token already got); a 401
// says how to authenticate — `Basic` (the credentials themselves, e.g. docker-registry with
// htpasswd) or `Bearer realm=…,service=…` (a token from the realm, asked for with the credentials,
// e.g. Docker Hub, GHCR, Harbor) — and the request is made again once with that. A second 401 is
// a refusal. Pages reuse the token. Authorization is never sent to another origin than the
// registry's and its token realm's.
import { createHash } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { SourceError, deadline, where } from '../source-error.js';
import { nextLink, parseChallenge, type Challenge } from './headers.js';
import { parseRepository, type Repository } from './reference.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Metrics hook: one call per HTTP request (each page, each token), with its status or 'error'. */
export type OnRegistryCall = (operation: string, status: number | 'error', seconds: number) => void;

export interface RegistryOptions {
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
  /** Per HTTP request. Default 30 s. */
  timeoutMs?: number;
  /** Plain HTTP to the registry (labs, mirrors), as Flux ImageRepository's `insecure`. */
  insecure?: boolean;
  /** Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
  onCall?: OnRegistryCall;
}

export interface ListTagsOptions extends RegistryOptions {
  /** `n` of each page; a registry may answer fewer (or, like distribution 2.8, all). Default 1000. */
  pageSize?: number;
  /** A guard against a registry that pages forever. Default 10,000. */
  maxPages?: number;
}

/** The media types a tag may point at: OCI and Docker, single image or multi-platform index. */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Every tag of the repository, across all pages, in the registry's order. */
export async function listTags(repository: string, opts: ListTagsOptions = {}): Promise<string[]> {
  const repo = parseRepository(repository, opts);
  const session = new Session(repo, opts);
  const maxPages = opts.maxPages ?? 10_000;
  let url = `${repo.baseUrl}/v2/${repo.name}/tags/list?n=${opts.pageSize ?? 1000}`;
  const seen = new Set<string>();
  const tags: string[] = [];
  for (let page = 1; ; page++) {
    seen.add(url);
    const res = await session.send('listTags', 'GET', url);
    const body = parseJson('listTags', res.body, url) as { tags?: unknown };
    // `tags` is null for a repository whose tags were all deleted.
    if (body.tags !== null && body.tags !== undefined) {
      if (!Array.isArray(body.tags) || !body.tags.every((t) => typeof t === 'string'))
        throw bad('listTags', url, 'the answer has no list of tags');
      tags.push(...(body.tags as string[]));
    }
    const link = nextLink(header(res.headers, 'link'));
    if (!link) break;
    const next = new URL(link, url);
    if (next.origin !== new URL(url).origin)
      throw bad('listTags', url, `the next page is on another origin (${next.origin})`);
    if (seen.has(next.href)) throw bad('listTags', url, 'the next page is one already read');
    if (page >= maxPages) throw bad('listTags', url, `more than ${maxPages} pages`);
    url = next.href;
  }
  return [...new Set(tags)];
}

/**
 * The digest of the manifest `tag` points at (Docker-Content-Digest of a HEAD, which registries
 * do not count as a pull); NotFound when the tag or the repository does not exist.
 */
export async function manifestDigest(
  repository: string,
  tag: string,
  opts: RegistryOptions = {},
): Promise<string> {
  const repo = parseRepository(repository, opts);
  if (!TAG.test(tag))
    throw new SourceError(
      'Invalid',
      'registry',
      'manifestDigest',
      `bad tag ${JSON.stringify(tag)}`,
    );
  const session = new Session(repo, opts);
  const url = `${repo.baseUrl}/v2/${repo.name}/manifests/${tag}`;
  const head = await session.send('manifestDigest', 'HEAD', url, { accept: MANIFEST_TYPES });
  const digest = header(head.headers, 'docker-content-digest');
  if (digest) return checkDigest(digest, url);
  // Registries must send it, a few do not on HEAD: the digest of the body is the same thing.
  const get = await session.send('manifestDigest', 'GET', url, { accept: MANIFEST_TYPES });
  return `sha256:${createHash('sha256').update(get.body).digest('hex')}`;
}

function checkDigest(digest: string, url: string): string {
  if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest))
    throw bad('manifestDigest', url, `not a digest: ${JSON.stringify(digest.slice(0, 100))}`);
  return digest;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const header = (h: Response['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

const bad = (operation: string, url: string, why: string, status?: number) =>
  new SourceError('BadResponse', 'registry', operation, `${where(url)}: ${why}`, status);

function parseJson(operation: string, body: Buffer, url: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw bad(operation, url, `not a JSON object: ${body.toString('utf8').slice(0, 120)}`);
}

/** The registry's own explanation of an error: `{"errors":[{"code":…,"message":…}]}`. */
function explanation(body: Buffer): string {
  try {
    const { errors } = JSON.parse(body.toString('utf8')) as {
      errors?: { code?: string; message?: string }[];
    };
    const e = errors?.[0];
    if (e) return [e.code, e.message].filter(Boolean).join(': ');
  } catch {
    // not JSON: the start of the text is still a clue
  }
  return body.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** The authorization state of one repository's calls: the header once known. */
class Session {
  private authorization: string | undefined;
  private readonly tried = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly opts: RegistryOptions,
  ) {}

  /** A request to the registry, authenticating on a 401; non-2xx answers become SourceErrors. */
  async send(
    operation: string,
    method: 'GET' | 'HEAD',
    url: string,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    for (;;) {
      const auth: Record<string, string> = this.authorization
        ? { authorization: this.authorization }
        : {};
      const res = await this.http(operation, method, url, { ...headers, ...auth });
      if (res.status === 401) {
        await this.authenticate(operation, url, res);
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      throw this.failure(operation, url, res);
    }
  }

  private failure(operation: string, url: string, res: Response): SourceError {
    const why = `${res.status} ${explanation(res.body) || '(no body)'}`;
    const e = (kind: SourceError['kind'], text: string) =>
      new SourceError(kind, 'registry', operation, `${where(url)}: ${text}`, res.status);
    if (res.status === 403) return e('AuthFailed', `access denied: ${why}`);
    if (res.status === 404) return e('NotFound', why);
    if (res.status === 429) return e('Unreachable', `rate limited: ${why}`);
    if (res.status >= 500) return e('Unreachable', why);
    return e('BadResponse', why);
  }

  /** Answers a 401's challenge once per scheme; a second 401 after answering is a refusal. */
  private async authenticate(operation: string, url: string, res: Response): Promise<void> {
    const failed = (why: string) =>
      new SourceError('AuthFailed', 'registry', operation, `${where(url)}: ${why}`, 401);
    const header_ = header(res.headers, 'www-authenticate') ?? '';
    const challenge = parseChallenge(header_);
    if (!challenge) throw failed('401 without a WWW-Authenticate challenge');
    if (this.tried.has(challenge.scheme)) {
      const scope = challenge.params.error === 'insufficient_scope';
      throw failed(
        scope
          ? `the token does not allow pulling ${this.repo.name} (or it does not exist)`
          : 'the credentials were refused',
      );
    }
    this.tried.add(challenge.scheme);
    const creds = this.opts.credentials;
    if (challenge.scheme === 'basic') {
      if (!creds) throw failed('the registry needs credentials and none were given');
      this.authorization = basic(creds);
    } else if (challenge.scheme === 'bearer') {
      this.authorization = `Bearer ${await this.token(operation, challenge)}`;
    } else {
      throw failed(`unsupported authentication scheme "${challenge.scheme}"`);
    }
  }

  /** A token from the challenge's realm for pulling this repository. */
  private async token(operation: string, challenge: Challenge): Promise<string> {
    const { realm, service } = challenge.params;
    let url: URL;
    try {
      url = new URL(realm ?? '');
      if (!/^https?:$/.test(url.protocol)) throw new Error('not http(s)');
    } catch {
      throw bad(operation, this.repo.baseUrl, `bad token realm ${JSON.stringify(realm)}`);
    }
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', `repository:${this.repo.name}:pull`);
    const creds = this.opts.credentials;
    const res = await this.http(
      'token',
      'GET',
      url.href,
      creds ? { authorization: basic(creds) } : {},
    );
    if (res.status === 401 || res.status === 403) {
      throw new SourceError(
        'AuthFailed',
        'registry',
        operation,
        `${where(url.href)}: the token server refused ${creds ? 'the credentials' : 'an anonymous token'}: ${res.status} ${explanation(res.body)}`,
        res.status,
      );
    }
    if (res.status !== 200) throw this.failure('token', url.href, res);
    const body = parseJson('token', res.body, url.href);
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || !token) throw bad('token', url.href, 'no token in the answer');
    return token;
  }

  private async http(
    operation: string,
    method: 'GET' | 'HEAD',
    url: string,
    headers: Record<string, string>,
  ): Promise<Response> {
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const { signal, aborted } = deadline(this.opts.signal, timeoutMs);
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    try {
      const res = await request(url, {
        method,
        headers: { 'user-agent': 'kachiku', ...headers },
        signal,
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      this.opts.onCall?.(operation, res.statusCode, seconds());
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      this.opts.onCall?.(operation, 'error', seconds());
      if (aborted())
        throw new SourceError('Aborted', 'registry', operation, `${where(url)}: aborted`);
      const e = err as {
        name?: string;
        code?: string;
        cause?: { code?: string };
        message?: string;
      };
      const why = signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : (e.code ?? e.cause?.code ?? e.message ?? String(err));
      throw new SourceError(
        'Unreachable',
        'registry',
        operation,
        `cannot reach ${where(url)}: ${why}`,
        undefined,
        { cause: err },
      );
    }
  }
}

const basic = (c: RegistryCredentials) =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

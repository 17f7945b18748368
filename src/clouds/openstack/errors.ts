// Errors of the OpenStack client as typed values: callers branch on `kind`, never on messages.

export type OpenStackErrorKind =
  | 'Unauthorized' // 401
  | 'Forbidden' // 403
  | 'NotFound' // 404
  | 'Conflict' // 409, e.g. an Octavia object PENDING_*
  | 'ServerError' // 5xx
  | 'Unreachable' // connection refused, DNS, TLS, timeout
  | 'BadResponse' // another status, or a body that is not what the API documents
  | 'Config' // clouds.yaml or catalog: fixed by configuration, not by retrying
  | 'Aborted'; // the caller cancelled it (the session's signal): not retried

export class OpenStackError extends Error {
  constructor(
    readonly kind: OpenStackErrorKind,
    /** 'keystone', 'octavia' or 'clouds.yaml'. */
    readonly service: string,
    /** What was being done, e.g. 'authenticate', 'getLoadBalancer'. */
    readonly operation: string,
    message: string,
    /** The HTTP status, when there was a response. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${service} ${operation}: ${message}`, options);
    this.name = 'OpenStackError';
  }

  /** Worth another attempt: the server failed or could not be reached; never a 4xx. */
  get retryable(): boolean {
    return this.kind === 'ServerError' || this.kind === 'Unreachable';
  }
}

export function isOpenStackError(err: unknown, kind?: OpenStackErrorKind): err is OpenStackError {
  return err instanceof OpenStackError && (kind === undefined || err.kind === kind);
}

export function kindOfStatus(status: number): OpenStackErrorKind {
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status >= 500) return 'ServerError';
  return 'BadResponse';
}

/**
 * The error for a non-2xx answer. The message is the API's own explanation when it gives one:
 * Octavia's `faultstring`, Keystone's `error.message`; otherwise the start of the body.
 */
export function responseError(
  service: string,
  operation: string,
  status: number,
  body: string,
): OpenStackError {
  const text = explanation(body) || `HTTP ${status}`;
  return new OpenStackError(kindOfStatus(status), service, operation, `${status} ${text}`, status);
}

function explanation(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const error = parsed.error as Record<string, unknown> | undefined;
    for (const v of [parsed.faultstring, error?.message, parsed.description, parsed.message]) {
      if (typeof v === 'string' && v.trim()) return oneLine(v);
    }
  } catch {
    // not JSON: an HTML page from a proxy or wsgiref; its text is still a clue
  }
  return oneLine(body.replace(/<[^>]*>/g, ' '));
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** The error for a request that got no answer: refused, reset, DNS, TLS, or timed out. */
export function transportError(
  service: string,
  operation: string,
  url: string,
  err: unknown,
): OpenStackError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const why =
    e?.name === 'TimeoutError' || e?.name === 'AbortError'
      ? 'timed out'
      : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
  return new OpenStackError(
    'Unreachable',
    service,
    operation,
    `cannot reach ${where(url)}: ${why}`,
    undefined,
    {
      cause: err,
    },
  );
}

/** A URL without user info or query: enough to say where, never a credential. */
export function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad URL)';
  }
}

/** Changes an error's message, and its stack's first line with it (loggers print the stack). */
export function setMessage(err: Error, message: string): void {
  if (err.stack?.includes(err.message)) err.stack = err.stack.replace(err.message, message);
  err.message = message;
}

/** Replaces every occurrence of each secret (password, credential secret, token) by ***. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}

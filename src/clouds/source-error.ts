// Failures of the release sources and gates (git, container registries, Alertmanager) as one
// typed value, so that the release controller turns any of them into a condition by `kind`
// (reason Unreachable, AuthFailed, …) without knowing which client failed, and never releases
// garbage because an error looked like an empty answer. Messages name where (a URL without
// credentials) and what the server said; never a password or token.

export type SourceErrorKind =
  /** Connection refused, DNS, TLS, timed out, or a 5xx: worth another try later. */
  | 'Unreachable'
  /** Credentials missing, wrong, or not allowed (401/403, a refused token). */
  | 'AuthFailed'
  /** The repository, tag or manifest does not exist. */
  | 'NotFound'
  /** The input is wrong (URL, image reference, matcher): fixed by configuration, not a retry. */
  | 'Invalid'
  /** The server answered something its protocol does not allow. */
  | 'BadResponse'
  /** The caller's signal aborted it: not the source's doing. */
  | 'Aborted';

export class SourceError extends Error {
  override readonly name = 'SourceError';

  constructor(
    readonly kind: SourceErrorKind,
    /** 'git', 'registry' or 'alertmanager'. */
    readonly source: string,
    /** What was being done, e.g. 'lsRemote', 'listTags'. */
    readonly operation: string,
    message: string,
    /** The HTTP status, when there was one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${source} ${operation}: ${message}`, options);
  }

  get retryable(): boolean {
    return this.kind === 'Unreachable';
  }
}

export const isSourceError = (err: unknown, kind?: SourceErrorKind): err is SourceError =>
  err instanceof SourceError && (kind === undefined || err.kind === kind);

/** A URL without user info or query: enough to say where, never a credential. */
export function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad URL)';
  }
}

/**
 * The caller's signal and a per-call timeout as one signal, and a way to tell afterwards which
 * of them fired: the caller's abort is 'Aborted', the timeout 'Unreachable'.
 */
export function deadline(
  signal: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal; aborted: () => boolean } {
  const timeout = AbortSignal.timeout(timeoutMs);
  return {
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    aborted: () => signal?.aborted === true,
  };
}

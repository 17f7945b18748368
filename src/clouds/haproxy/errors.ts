// Failures of HAProxy's runtime API as one typed value. The CLI has no status codes: every
// answer is text, and an error is a sentence where an empty answer or a known one was due. So
// each command says what success looks like, and anything else becomes a RuntimeApiError whose
// kind callers branch on (never on HAProxy's wording, which this module alone reads).

export type RuntimeApiErrorKind =
  /** The command is not known to this HAProxy (another version, or a typo). */
  | 'UnknownCommand'
  /** No such backend, server or map. */
  | 'NotFound'
  /** A map version outside curr_ver+1..next_ver (another writer committed, or a restart). */
  | 'BadVersion'
  /** The socket's level is below what the command needs. */
  | 'PermissionDenied'
  /** HAProxy refused the command with another message (kept in `detail`). */
  | 'Rejected'
  /** Refused before sending: an argument HAProxy would misread, or a payload over its buffer. */
  | 'Invalid'
  /** No connection: no socket file, nothing listening, reset. */
  | 'Unreachable'
  /** No complete answer in time. */
  | 'Timeout'
  /** The connection closed without an answer: HAProxy drops requests larger than tune.bufsize. */
  | 'NoAnswer'
  /** An answer in a shape this client does not know. */
  | 'BadResponse';

export class RuntimeApiError extends Error {
  override readonly name = 'RuntimeApiError';

  constructor(
    readonly kind: RuntimeApiErrorKind,
    /** The command's first words, e.g. "set server be_slot_3/s1 state" (never a payload). */
    readonly command: string,
    /** HAProxy's own words, or the transport's. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`haproxy "${command}": ${kind}: ${detail}`, options);
  }

  /** Worth another attempt as it is: the router was away or slow; a restart may be under way. */
  get retryable(): boolean {
    return this.kind === 'Unreachable' || this.kind === 'Timeout';
  }
}

export const isRuntimeApiError = (
  err: unknown,
  kind?: RuntimeApiErrorKind,
): err is RuntimeApiError =>
  err instanceof RuntimeApiError && (kind === undefined || err.kind === kind);

// HAProxy 2.6's error sentences (src/cli.c, map.c, server.c, proxy.c), first match wins.
const sentences: [RuntimeApiErrorKind, RegExp][] = [
  ['UnknownCommand', /^Unknown command/],
  ['PermissionDenied', /^Permission denied/],
  [
    'NotFound',
    /^(No such (backend|server|map|entry)|Can't find backend|Unknown (map|ACL) identifier)/,
  ],
  ['BadVersion', /^(Version number|Unknown version)/i],
];

/** The error for an answer that is not the command's success: kind from HAProxy's sentence. */
export function answerError(command: string, answer: string): RuntimeApiError {
  const text = answer.trim();
  const first = text.split('\n', 1)[0] ?? '';
  const kind = sentences.find(([, re]) => re.test(first))?.[0] ?? 'Rejected';
  // "Unknown command" is followed by a long help text; its first line says it all.
  const detail = kind === 'UnknownCommand' ? first : oneLine(text);
  return new RuntimeApiError(kind, command, detail || '(empty answer)');
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

// AWS failures as one typed value at the edge, so reconcilers branch on a kind rather than on
// SDK exception classes, and so what they log or write into status carries the AWS code and
// message but never a credential or request body.

export type AwsErrorKind =
  | 'Throttled'
  | 'NotFound'
  | 'InUse'
  | 'Invalid'
  | 'Quota'
  | 'AccessDenied'
  | 'Unreachable'
  /** The caller aborted the call (its abortSignal): not AWS's doing, not worth a retry. */
  | 'Aborted'
  | 'Other';

export class AwsError extends Error {
  override readonly name = 'AwsError';

  constructor(
    readonly kind: AwsErrorKind,
    /** The API operation, e.g. "CreateTargetGroup". */
    readonly operation: string,
    /** The AWS error code (e.g. "ResourceInUse") or the network error code. */
    readonly code: string,
    /** AWS's own message. */
    readonly detail: string,
    /** HTTP status, when AWS answered. */
    readonly status?: number,
  ) {
    super(`${operation}: ${code}: ${detail}`);
  }
}

export const isAwsError = (err: unknown, kind?: AwsErrorKind): err is AwsError =>
  err instanceof AwsError && (kind === undefined || err.kind === kind);

// Order matters: "RequestLimitExceeded" is throttling, "TooManyTargets" a quota.
const kinds: [AwsErrorKind, RegExp][] = [
  ['Aborted', /^AbortError$/],
  [
    'Throttled',
    /^(Throttling|ThrottlingException|ThrottledException|RequestLimitExceeded|RequestThrottled(Exception)?|TooManyRequestsException|PriorRequestNotComplete|EC2ThrottledException|SlowDown)$/,
  ],
  [
    'AccessDenied',
    /AccessDenied|UnauthorizedOperation|AuthFailure|InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken|UnrecognizedClient|InvalidAccessKeyId|CredentialsProviderError|OptInRequired/,
  ],
  ['NotFound', /NotFound|^NoSuch/],
  ['InUse', /InUse|^Duplicate|AlreadyExists|DependencyViolation|HostedZoneNotEmpty/],
  ['Quota', /^TooMany|LimitExceeded/],
  [
    'Unreachable',
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|TimeoutError|RequestTimeout(Exception)?|InternalFailure|InternalError|ServiceUnavailable(Exception)?)$/,
  ],
  [
    'Invalid',
    /^Invalid|Validation|Malformed|MissingParameter|Unsupported|Incompatible|OperationNotPermitted|ConflictingTypes/,
  ],
];

interface SdkErrorLike {
  name?: string;
  message?: string;
  Code?: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Wraps whatever an SDK call threw as an AwsError of the operation. */
export function toAwsError(operation: string, err: unknown): AwsError {
  if (err instanceof AwsError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorLike;
  // Query-protocol services (ELBv2, EC2) put the raw code in Code; the class name ends in
  // "Exception". Network errors carry a Node code (ECONNREFUSED, …).
  const code = e.Code ?? e.code ?? e.name ?? 'Unknown';
  const status = e.$metadata?.httpStatusCode;
  const message = e.message ?? String(err);
  let kind = kinds.find(([, re]) => re.test(code))?.[0] ?? 'Other';
  if (kind === 'Other' && status === 429) kind = 'Throttled';
  if (kind === 'Other' && (e.$fault === 'server' || (status !== undefined && status >= 500)))
    kind = 'Unreachable';
  return new AwsError(kind, operation, code, message, status);
}

/** Runs one SDK call, turning its failure into an AwsError. */
export async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAwsError(operation, err);
  }
}

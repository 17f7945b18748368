// The AWS SDK v3 clients kachiku uses, configured once: region, credentials (or the SDK's
// standard chain), endpoint (or the SDK's own AWS_ENDPOINT_URL / endpoint_url settings, which
// the lab writes), retries with backoff on throttling, client-side rate limits and call metrics.
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { instrument, limiter, type Limits, type OnCall } from './ratelimit.js';
import { installCrashPoint } from './crashpoint.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientOptions {
  region: string;
  /** Static credentials (e.g. from a Secret); without them the SDK's standard chain applies. */
  credentials?: AwsCredentials;
  /** Endpoint override; without it the SDK's own endpoint settings apply. */
  endpoint?: string;
  /** Overrides of the client-side rate limits, by class. */
  limits?: Partial<Limits>;
  /** Metrics hook, told of every call once it ends. */
  onCall?: OnCall;
  /** Attempts per call, first one included (default 8). */
  maxAttempts?: number;
  /** 'standard' (default) or 'adaptive', which also slows the client down after throttling. */
  retryMode?: 'standard' | 'adaptive';
  /**
   * Aborts every call of these clients, in flight or to come, as the SDK's `abortSignal` does
   * (e.g. a leader's clients, bound to its leadership): no request starts once it has aborted.
   */
  signal?: AbortSignal;
}

export interface AwsClients {
  elbv2: ElasticLoadBalancingV2Client;
  ec2: EC2Client;
  route53: Route53Client;
  /** Closes the clients' sockets. */
  destroy(): void;
}

/**
 * The three clients share one set of rate-limit buckets. AWS throttles per account and region,
 * so callers should share one AwsClients per account and region rather than make one per object.
 */
export function awsClients(options: AwsClientOptions): AwsClients {
  const config = {
    region: options.region,
    // Only set what was given: an `endpoint: undefined` key would still shadow the SDK's
    // AWS_ENDPOINT_URL / endpoint_url lookup in some versions.
    ...(options.credentials && { credentials: options.credentials }),
    ...(options.endpoint && { endpoint: options.endpoint }),
    // Standard retries classify Throttling / ThrottlingException / RequestLimitExceeded and
    // 5xx as retryable and back off exponentially with jitter (1 s base for throttling).
    maxAttempts: options.maxAttempts ?? 8,
    retryMode: options.retryMode ?? 'standard',
    // An unreachable API must fail a call in bounded time, not hang a reconcile.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  };
  const hooks = { limiter: limiter(options.limits), onCall: options.onCall };
  const elbv2 = new ElasticLoadBalancingV2Client(config);
  const ec2 = new EC2Client(config);
  const route53 = new Route53Client(config);
  instrument(elbv2.middlewareStack, 'elbv2', hooks);
  instrument(ec2.middlewareStack, 'ec2', hooks);
  instrument(route53.middlewareStack, 'route53', hooks);
  // Test-only (KACHIKU_FAULT_CRASH_AT); nothing without that variable.
  for (const c of [elbv2, ec2, route53]) installCrashPoint(c.middlewareStack);
  if (options.signal) for (const c of [elbv2, ec2, route53]) bindSignal(c, options.signal);
  return {
    elbv2,
    ec2,
    route53,
    destroy() {
      elbv2.destroy();
      ec2.destroy();
      route53.destroy();
    },
  };
}

/** Every `send` of the client also gets `signal` as its abortSignal (with the caller's own, if any). */
function bindSignal(client: { send: (...args: never[]) => unknown }, signal: AbortSignal): void {
  const send = client.send.bind(client) as (command: unknown, options?: object) => unknown;
  client.send = ((command: unknown, options?: { abortSignal?: AbortSignal }) =>
    send(command, {
      ...options,
      abortSignal: options?.abortSignal ? AbortSignal.any([options.abortSignal, signal]) : signal,
    })) as typeof client.send;
}

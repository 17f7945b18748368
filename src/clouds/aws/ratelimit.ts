// Client-side rate limits and call metrics, as AWS SDK middleware.
//
// AWS throttles per account and region with a token bucket per API family; a controller that
// reconciles hundreds of mirrors would trip it and then spend its time in retries. So, after
// aws-load-balancer-controller, every request first takes a token from a bucket of its
// operation's class. The limiter sits after the SDK's retry middleware, so retries pay too,
// and before signing, so a long wait cannot stale a signature.
import { setTimeout as sleep } from 'node:timers/promises';
import { bucket, type RateLimiter } from '../../runtime/ratelimit.js';

export type Service = 'elbv2' | 'ec2' | 'route53';

export type LimitClass =
  'elbv2.targets' | 'elbv2.describe' | 'elbv2.write' | 'ec2.describe' | 'ec2.write' | 'route53';

export interface Limit {
  /** Sustained requests per second. */
  rps: number;
  /** Requests that may go at once after a quiet spell. */
  burst: number;
}

export type Limits = Record<LimitClass, Limit>;

export const defaultLimits: Limits = {
  // aws-load-balancer-controller's defaults.
  'elbv2.targets': { rps: 4, burst: 20 },
  'elbv2.describe': { rps: 50, burst: 200 },
  'elbv2.write': { rps: 3, burst: 20 },
  // Below EC2's own request-token buckets (non-mutating 20/s refill, mutating 5/s).
  'ec2.describe': { rps: 20, burst: 100 },
  'ec2.write': { rps: 5, burst: 50 },
  // Route 53 allows 5 requests per second per account, for all its APIs together.
  route53: { rps: 5, burst: 5 },
};

const reads = /^(Describe|Get|List)/;

/** The bucket an operation draws from. */
export function limitClass(service: Service, operation: string): LimitClass {
  switch (service) {
    case 'elbv2':
      if (operation === 'RegisterTargets' || operation === 'DeregisterTargets')
        return 'elbv2.targets';
      // Everything else is Create*/Modify*/Delete*/AddTags/RemoveTags/Set*.
      return reads.test(operation) ? 'elbv2.describe' : 'elbv2.write';
    case 'ec2':
      return reads.test(operation) ? 'ec2.describe' : 'ec2.write';
    case 'route53':
      return 'route53';
  }
}

export interface Limiter {
  /** Reserves a token for one request; returns how many ms the request must wait for it. */
  reserve(service: Service, operation: string): number;
}

/** One token bucket per class, over `defaultLimits` overridden by `limits`. */
export function limiter(limits: Partial<Limits> = {}, now: () => number = Date.now): Limiter {
  const buckets = new Map<LimitClass, RateLimiter>();
  return {
    reserve(service, operation) {
      const cls = limitClass(service, operation);
      let b = buckets.get(cls);
      if (!b) {
        const { rps, burst } = limits[cls] ?? defaultLimits[cls];
        b = bucket(rps, burst, now);
        buckets.set(cls, b);
      }
      return b.when(cls);
    },
  };
}

/** Told of every API call once it ends, retries included: for metrics. */
export type OnCall = (
  service: Service,
  operation: string,
  outcome: 'ok' | 'error',
  seconds: number,
  detail: { attempts: number; code?: string },
) => void;

// The SDK's middleware shapes, only as far as these middlewares use them (the SDK's own types
// live in packages kachiku does not depend on directly).
type Handler<A, O> = (args: A) => Promise<O>;
type Middleware = <A, O extends { output: { $metadata?: { attempts?: number } } }>(
  next: Handler<A, O>,
  context: { commandName?: string },
) => Handler<A, O>;

export interface MiddlewareStackLike {
  add(mw: Middleware, options: { step: 'initialize'; priority: 'high'; name: string }): void;
  addRelativeTo(
    mw: Middleware,
    options: { relation: 'before'; toMiddleware: string; name: string },
  ): void;
}

const operationOf = (context: { commandName?: string }): string =>
  (context.commandName ?? 'Unknown').replace(/Command$/, '');

/** Installs the rate limit and the call hook on one SDK client's middleware stack. */
export function instrument(
  stack: MiddlewareStackLike,
  service: Service,
  options: { limiter?: Limiter; onCall?: OnCall },
): void {
  const { limiter, onCall } = options;
  if (limiter) {
    stack.addRelativeTo(
      (next, context) => async (args) => {
        const ms = limiter.reserve(service, operationOf(context));
        if (ms > 0) await sleep(ms);
        return next(args);
      },
      { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'kachikuRateLimit' },
    );
  }
  if (onCall) {
    // Outermost, so one call is counted once and its time includes retries and waits.
    stack.add(
      (next, context) => async (args) => {
        const operation = operationOf(context);
        const start = performance.now();
        const report = (outcome: 'ok' | 'error', attempts: number | undefined, code?: string) => {
          try {
            onCall(service, operation, outcome, (performance.now() - start) / 1000, {
              attempts: attempts ?? 1,
              ...(code !== undefined && { code }),
            });
          } catch {
            // A metrics hook must never fail the call it observes.
          }
        };
        try {
          const out = await next(args);
          report('ok', out.output.$metadata?.attempts);
          return out;
        } catch (err) {
          const e = err as {
            Code?: string;
            code?: string;
            name?: string;
            $metadata?: { attempts?: number };
          };
          report('error', e.$metadata?.attempts, e.Code ?? e.code ?? e.name);
          throw err;
        }
      },
      { step: 'initialize', priority: 'high', name: 'kachikuOnCall' },
    );
  }
}

// Rate limiters for the work queue, after client-go's: per-item exponential backoff for
// failures, an overall token bucket so a burst of failures cannot hammer the APIs, and the
// larger of the two.

export interface RateLimiter {
  /** How long `key` should wait before it is processed again. */
  when(key: string): number;
  /** The key succeeded: forget its failures. */
  forget(key: string): void;
  numRequeues(key: string): number;
}

export function itemExponential(baseMs = 5, maxMs = 300_000): RateLimiter {
  const failures = new Map<string, number>();
  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      return Math.min(maxMs, baseMs * 2 ** n);
    },
    forget: (key) => void failures.delete(key),
    numRequeues: (key) => failures.get(key) ?? 0,
  };
}

/** A token bucket of `burst` tokens refilled at `qps`; each `when` reserves one token. */
export function bucket(qps = 10, burst = 100, now: () => number = Date.now): RateLimiter {
  let tokens = burst;
  let last = now();
  return {
    when() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * qps);
      last = t;
      tokens -= 1;
      return tokens >= 0 ? 0 : Math.ceil((-tokens / qps) * 1000);
    },
    forget: () => {},
    numRequeues: () => 0,
  };
}

export function maxOf(...limiters: RateLimiter[]): RateLimiter {
  return {
    when: (key) => Math.max(...limiters.map((l) => l.when(key))),
    forget: (key) => limiters.forEach((l) => l.forget(key)),
    numRequeues: (key) => Math.max(...limiters.map((l) => l.numRequeues(key))),
  };
}

export const defaultRateLimiter = (): RateLimiter => maxOf(itemExponential(), bucket());

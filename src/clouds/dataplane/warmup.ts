// Warm-up traffic to a Prod's endpoint: `count` GET requests, `concurrency` at a time, that
// must all answer 2xx.
import { mapLimit } from '../../runtime/concurrency.js';

export interface WarmupResult {
  sent: number;
  failed: number;
  /** The first failure, for the condition message. */
  firstError?: string;
}

export async function sendWarmup(
  url: string,
  count: number,
  concurrency: number,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<WarmupResult> {
  let failed = 0;
  let firstError: string | undefined;
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async () => {
      if (opts.signal?.aborted) throw new Error('warm-up aborted');
      try {
        const signals = [AbortSignal.timeout(opts.timeoutMs)];
        if (opts.signal) signals.push(opts.signal);
        const res = await fetch(url, { signal: AbortSignal.any(signals) });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        failed++;
        firstError ??= errorText(err);
      }
    },
  );
  return { sent: count, failed, firstError };
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch wraps the socket error: its cause says what happened (ECONNREFUSED, …).
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}

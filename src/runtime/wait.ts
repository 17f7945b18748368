// One way to wait for a real outcome, for the demo, the tests and the benchmarks: poll `f`
// until it gives a value (undefined means "not yet"; an error counts as not yet and is named
// if time runs out), or fail naming what was awaited; or, for a promise, `within`.
import { setTimeout as sleep } from 'node:timers/promises';

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await sleep(intervalMs);
  }
}

/**
 * What `promise` settles to, or an error naming `what` once `timeoutMs` has passed. The timer
 * is cleared either way: one left running (a bare Promise.race against setTimeout) holds the
 * process for its whole delay after everything else is done.
 */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// One way to wait for a real outcome, for the demo, the tests and the benchmarks: poll `f`
// until it gives a value (undefined means "not yet"; an error counts as not yet and is named
// if time runs out), or fail naming what was awaited.
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

// Exponential backoff with jitter, and conflict retries for read-modify-write updates.
import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict } from './rest.js';

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly jitter = 0.2,
  ) {}

  /** The next delay: base·2^n capped at max, ±jitter. */
  next(): number {
    const raw = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt++);
    return Math.round(raw * (1 - this.jitter + Math.random() * 2 * this.jitter));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * Runs `fn` again after a 409 Conflict (someone else changed the object between our read and
 * our write), up to `attempts` times with a short backoff; `fn` must re-read what it writes.
 */
export async function retryOnConflict<T>(
  fn: (attempt: number) => Promise<T>,
  attempts = 5,
): Promise<T> {
  const backoff = new Backoff(10, 1000);
  for (let i = 0; ; i++) {
    try {
      return await fn(i);
    } catch (err) {
      if (!isConflict(err) || i + 1 >= attempts) throw err;
      await sleep(backoff.next());
    }
  }
}

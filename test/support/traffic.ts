// Continuous requests through a tenant router, for tests and benchmarks of routing changes: a
// fixed rate spread round-robin over a set of hosts, each request recorded with when it was
// sent, when it was answered, and by whom (the stand-ins answer with their Prod's name).
import { Agent, request } from 'node:http';

export interface Sample {
  host: string;
  /** Date.now() when sent and when answered (or failed). */
  sentAt: number;
  doneAt: number;
  status: number;
  /** The Prod that answered, when a stand-in did. */
  prod?: string;
  error?: string;
}

export const failed = (s: Sample) => s.status !== 200 || s.prod === undefined;

export interface TrafficOptions {
  /** Requests per second in all. */
  rate: number;
  /** At most this many in flight; a request due while at the cap waits (and is counted late). */
  maxInFlight?: number;
  timeoutMs?: number;
}

export class Traffic {
  readonly samples: Sample[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private next = 0;
  private readonly agent: Agent;
  private pending = new Set<Promise<void>>();
  /** Requests not sent on time because maxInFlight were in flight. */
  skipped = 0;

  constructor(
    private readonly url: string,
    private hosts: string[],
    private readonly opts: TrafficOptions,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxInFlight ?? 32 });
  }

  setHosts(hosts: string[]): void {
    this.hosts = hosts;
  }

  start(): void {
    const tickMs = 10;
    const perTick = this.opts.rate / (1000 / tickMs);
    let owed = 0;
    this.timer = setInterval(() => {
      owed += perTick;
      while (owed >= 1) {
        owed--;
        if (this.inFlight >= (this.opts.maxInFlight ?? 32)) {
          this.skipped++;
          continue;
        }
        const host = this.hosts[this.next++ % this.hosts.length]!;
        const p = this.one(host);
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      }
    }, tickMs);
  }

  async stop(): Promise<Sample[]> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
    this.agent.destroy();
    return this.samples;
  }

  private one(host: string): Promise<void> {
    this.inFlight++;
    const sentAt = Date.now();
    return new Promise<void>((resolve) => {
      let settled = false;
      const done = (s: Omit<Sample, 'host' | 'sentAt' | 'doneAt'>) => {
        if (settled) return;
        settled = true;
        this.inFlight--;
        this.samples.push({ host, sentAt, doneAt: Date.now(), ...s });
        resolve();
      };
      const req = request(
        this.url,
        { headers: { host }, agent: this.agent, timeout: this.opts.timeoutMs ?? 5000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            const prod = res.headers['x-prod'];
            done({
              status: res.statusCode ?? 0,
              prod: typeof prod === 'string' && prod === body ? prod : undefined,
            });
          });
          res.on('error', (e) => done({ status: 0, error: e.message }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => done({ status: 0, error: e.message }));
      req.end();
    });
  }
}

/** Percentile of numbers (nearest rank); NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

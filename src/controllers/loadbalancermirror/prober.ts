// Controller-mode failover: kachiku probes both sides of each mirror itself (for addresses
// Route 53's checkers on the internet cannot reach), the way Route 53 would: TCP connect or an
// HTTP(S) GET answered 2xx/3xx, `threshold` results in a row to change a side's state. A change
// calls `onChange(key)`, which enqueues the mirror, so a failover takes at most
// threshold × interval plus one reconcile.
import type { HealthState } from '../../clouds/aws/route53.js';
import { probeOnce } from '../../clouds/dataplane/probe.js';
import { timestamp } from '../../runtime/time.js';
import { SIDES, type ProbeTarget, type Side } from './dns.js';

export interface SideHealth {
  state: HealthState;
  lastChecked?: string;
}

export type Probe = (target: ProbeTarget, timeoutMs: number) => Promise<boolean>;

interface Loop {
  target: string;
  timer?: NodeJS.Timeout;
  stopped: boolean;
  health: SideHealth;
  failures: number;
  successes: number;
}

export class Prober {
  private readonly loops = new Map<string, Map<Side, Loop>>();

  constructor(
    private readonly onChange: (key: string) => void,
    private readonly probe: Probe = probeOnce,
  ) {}

  /** Starts (or retargets) the probes of a mirror; returns what they know so far. */
  ensure(key: string, targets: Record<Side, ProbeTarget>): Record<Side, SideHealth> {
    let sides = this.loops.get(key);
    if (!sides) this.loops.set(key, (sides = new Map()));
    for (const side of SIDES) {
      const target = targets[side];
      const id = JSON.stringify(target);
      const old = sides.get(side);
      if (old?.target === id) continue;
      if (old) stopLoop(old);
      const loop: Loop = {
        target: id,
        stopped: false,
        health: { state: 'Unknown' },
        failures: 0,
        successes: 0,
      };
      sides.set(side, loop);
      void this.run(key, loop, target);
    }
    return this.health(key)!;
  }

  health(key: string): Record<Side, SideHealth> | undefined {
    const sides = this.loops.get(key);
    if (!sides) return undefined;
    const of = (s: Side) => ({ ...(sides.get(s)?.health ?? { state: 'Unknown' as const }) });
    return { octavia: of('octavia'), nlb: of('nlb') };
  }

  stop(key: string): void {
    for (const loop of this.loops.get(key)?.values() ?? []) stopLoop(loop);
    this.loops.delete(key);
  }

  stopAll(): void {
    for (const key of [...this.loops.keys()]) this.stop(key);
  }

  private async run(key: string, loop: Loop, target: ProbeTarget): Promise<void> {
    if (loop.stopped) return;
    const intervalMs = target.intervalSeconds * 1000;
    const ok = await this.probe(target, Math.min(4000, intervalMs)).catch(() => false);
    if (loop.stopped) return;
    loop.health.lastChecked = timestamp();
    if (ok) {
      loop.successes++;
      loop.failures = 0;
    } else {
      loop.failures++;
      loop.successes = 0;
    }
    // A side not yet judged is healthy at its first success (as a new Route 53 check starts
    // healthy); after that, `threshold` results in a row change its state.
    const next: HealthState =
      loop.failures >= target.threshold
        ? 'Unhealthy'
        : loop.successes >= target.threshold || (ok && loop.health.state === 'Unknown')
          ? 'Healthy'
          : loop.health.state;
    if (next !== loop.health.state) {
      loop.health.state = next;
      this.onChange(key);
    }
    loop.timer = setTimeout(() => void this.run(key, loop, target), intervalMs);
    loop.timer.unref();
  }
}

function stopLoop(loop: Loop): void {
  loop.stopped = true;
  if (loop.timer) clearTimeout(loop.timer);
}

// The AMQP listeners of every MirrorPolicy, one per broker, exchange and topic, shared by the
// policies naming the same: an event wakes each of them; the last policy to leave stops it.
import { createHash } from 'node:crypto';
import type { LoadBalancerEvent } from '../../clouds/openstack/notifications.js';
import type { PolicyClouds } from './ports.js';

export interface ListenerState {
  connected: boolean;
  error?: string;
}

export interface HubTarget {
  url: string;
  exchange: string;
  topic: string;
}

interface Entry {
  stop: () => Promise<void>;
  policies: Set<string>;
  state: ListenerState;
}

export class NotificationHub {
  private readonly entries = new Map<string, Entry>();
  private readonly byPolicy = new Map<string, string>();

  constructor(
    private readonly listen: PolicyClouds['listen'],
    /** An event (or a change of connection) for these policy keys. */
    private readonly wake: (policies: string[], event?: LoadBalancerEvent) => void,
  ) {}

  /** Makes `policy` listen to `target` (or to nothing); its listener's state. */
  set(policy: string, target: HubTarget | undefined): ListenerState | undefined {
    const id = target
      ? createHash('sha256').update(JSON.stringify(target)).digest('hex')
      : undefined;
    const prev = this.byPolicy.get(policy);
    if (prev !== id) {
      if (prev) this.leave(policy, prev);
      if (id) {
        let entry = this.entries.get(id);
        if (!entry) entry = this.start(id, target!);
        entry.policies.add(policy);
        this.byPolicy.set(policy, id);
      }
    }
    return id ? this.entries.get(id)!.state : undefined;
  }

  async stopAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.byPolicy.clear();
    await Promise.all(all.map((e) => e.stop()));
  }

  private start(id: string, target: HubTarget): Entry {
    const entry: Entry = {
      policies: new Set(),
      state: { connected: false },
      stop: async () => {},
    };
    this.entries.set(id, entry);
    const { stop } = this.listen({
      ...target,
      onEvent: (e) => this.wake([...entry.policies], e),
      onState: (connected, error) => {
        entry.state = { connected, ...(error && { error }) };
        this.wake([...entry.policies]);
      },
    });
    entry.stop = stop;
    return entry;
  }

  private leave(policy: string, id: string): void {
    this.byPolicy.delete(policy);
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.policies.delete(policy);
    if (entry.policies.size === 0) {
      this.entries.delete(id);
      void entry.stop();
    }
  }
}

// The Tenants' status writes, off the placement step's path. Routers read the assignment from
// the TenantSlices, written in the step itself; the Tenants' statuses (for people, kubectl and
// the Placed condition) follow here, so that a step moving 1,000 tenants does not hold the
// Fleet's next step for the seconds those writes take — a rollback whose avoid annotations
// arrive one by one is then one step per annotation, each a round of slice writes, not one
// per 1,000 status writes. Per Tenant only the latest status is kept (a newer step replaces a
// pending one), at most `limit` writes are in flight, a Tenant is never written twice at once.
// A failed write is told to `onError` (the Fleet is enqueued again: the next step recomputes it).
import { keyOf } from '../../runtime/informer.js';
import type { TenantChange } from './tenants.js';

interface Item {
  owner: string;
  change: TenantChange;
}

export class TenantStatusWriter {
  private readonly pending = new Map<string, Item>();
  private readonly inFlight = new Map<string, string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private running = 0;

  constructor(
    private readonly write: (change: TenantChange) => Promise<void>,
    private readonly limit: number,
    private readonly onError: (owner: string, err: unknown) => void,
  ) {}

  /** Hands a step's status changes over (replacing what is pending for the same Tenants). */
  submit(owner: string, changes: readonly TenantChange[]): void {
    for (const change of changes) this.pending.set(keyOf(change.tenant), { owner, change });
    this.pump();
  }

  /** Whether some write of `owner` is pending or in flight. */
  busy(owner: string): boolean {
    for (const i of this.pending.values()) if (i.owner === owner) return true;
    for (const o of this.inFlight.values()) if (o === owner) return true;
    return false;
  }

  /** Resolves once every write handed over for `owner` is done (before a Prod is retired). */
  settled(owner: string): Promise<void> {
    if (!this.busy(owner)) return Promise.resolve();
    return new Promise((resolve) =>
      this.waiters.set(owner, [...(this.waiters.get(owner) ?? []), resolve]),
    );
  }

  private pump(): void {
    for (const [key, item] of this.pending) {
      if (this.running >= this.limit) return;
      if (this.inFlight.has(key)) continue;
      this.pending.delete(key);
      this.inFlight.set(key, item.owner);
      this.running++;
      void this.write(item.change)
        .catch((err: unknown) => this.onError(item.owner, err))
        .finally(() => {
          this.inFlight.delete(key);
          this.running--;
          this.pump();
          this.wake(item.owner);
        });
    }
  }

  private wake(owner: string): void {
    const ws = this.waiters.get(owner);
    if (!ws || this.busy(owner)) return;
    this.waiters.delete(owner);
    for (const w of ws) w();
  }
}

// Runs a policy's notified load balancers at once, outside the policy's reconcile queue: one
// run per (policy, load balancer) at a time — a notification during its run runs it again after
// (it may carry a newer state) — and at most `limit` runs together, so that a burst of
// notifications does not become a burst of Octavia requests; the rest wait in order.
export class FastPath {
  private readonly running = new Map<string, { again: boolean }>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;

  constructor(
    private readonly fn: (key: string, id: string) => Promise<void>,
    private readonly limit = 8,
  ) {}

  run(key: string, id: string): void {
    const k = `${key} ${id}`;
    const r = this.running.get(k);
    if (r) {
      r.again = true;
      return;
    }
    const me = { again: true };
    this.running.set(k, me);
    void (async () => {
      if (this.active >= this.limit) await new Promise<void>((go) => this.waiting.push(go));
      this.active++;
      try {
        while (me.again) {
          me.again = false;
          await this.fn(key, id);
        }
      } finally {
        this.running.delete(k);
        this.active--;
        this.waiting.shift()?.();
      }
    })();
  }
}

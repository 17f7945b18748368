// What a policy last knew of Octavia: its last list, and the load balancers read one by one
// since (the fast path, a notification's ids). Reads run beside the policy's reconcile, so a
// list and a read can cross: a list begun before a read must not wipe the read out (a
// load balancer tagged meanwhile would look gone), and a read begun before a list must not
// overwrite it (a load balancer deleted meanwhile would come back). Ordered by when each began:
// the later start is the fresher answer. Pure bookkeeping, unit-tested in listcache.test.ts.
import type { ListedLoadBalancer } from './plan.js';

/** The last successful list of a policy (lost on restart: it lists again). */
export interface LastList {
  /** When the list ended (Date.now()): the next is due listInterval after. */
  at: number;
  /** When it began: reads begun later are fresher than it. */
  startedAt: number;
  generation: number | undefined;
  lbs: ListedLoadBalancer[];
}

interface Read {
  lb: ListedLoadBalancer;
  startedAt: number;
}

export class ListCache {
  private readonly lists = new Map<string, LastList>();
  /** Per policy, reads newer than its last list's start (merged into the next list). */
  private readonly reads = new Map<string, Map<string, Read>>();

  get(policy: string): LastList | undefined {
    return this.lists.get(policy);
  }

  /**
   * A list of `policy` begun at `startedAt` succeeded. Load balancers read by id after it began
   * keep their read (fresher); older reads are dropped. Returns what is now known.
   */
  listed(
    policy: string,
    list: { startedAt: number; at: number; generation: number | undefined },
    lbs: ListedLoadBalancer[],
  ): ListedLoadBalancer[] {
    const newer = [...(this.reads.get(policy)?.values() ?? [])].filter(
      (r) => r.startedAt >= list.startedAt,
    );
    const byId = new Map(lbs.map((lb) => [lb.id, lb]));
    for (const r of newer) byId.set(r.lb.id, r.lb);
    const known = [...byId.values()];
    this.lists.set(policy, { ...list, lbs: known });
    this.reads.set(policy, new Map(newer.map((r) => [r.lb.id, r])));
    return known;
  }

  /**
   * `lb` of `policy` read by its id, the read begun at `startedAt`. False when the policy's
   * last list began after it (the list is the fresher answer: nothing is merged, and nothing
   * should be acted on from this read).
   */
  read(policy: string, lb: ListedLoadBalancer, startedAt: number): boolean {
    const last = this.lists.get(policy);
    if (last && last.startedAt > startedAt) return false;
    const reads = this.reads.get(policy) ?? new Map<string, Read>();
    const before = reads.get(lb.id);
    if (before && before.startedAt > startedAt) return false;
    reads.set(lb.id, { lb, startedAt });
    this.reads.set(policy, reads);
    if (last) last.lbs = [...last.lbs.filter((l) => l.id !== lb.id), lb];
    return true;
  }

  drop(policy: string): void {
    this.lists.delete(policy);
    this.reads.delete(policy);
  }
}

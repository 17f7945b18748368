// The steady-state check of a mirror, pure: which path a sync takes when Octavia's plan is
// known, and whether one DescribeTargetHealth per target group shows AWS still holding the
// plan's targets. Unit-tested in drift.test.ts.
import type { Target, TargetHealth } from '../../clouds/aws/types.js';

/** What the last sync that went through left AWS as, as far as the choice needs it. */
export interface Matched {
  planKey: string;
  syncsSinceCheck: number;
}

/**
 * How a sync goes: `full` reads the whole stack by its ARNs, diffs and acts (nothing is known
 * to match, Octavia's plan changed, or the periodic full check is due: listeners, attributes
 * and tags are only compared there); `targets` reads each target group's targets only, and
 * goes full when they differ.
 */
export function syncPath(
  matched: Matched | undefined,
  planKey: string,
  checkEvery: number,
): 'full' | 'targets' {
  if (!matched || matched.planKey !== planKey) return 'full';
  return matched.syncsSinceCheck + 1 < checkEvery ? 'targets' : 'full';
}

/** A target group of the plan, and what AWS answered for its ARN (undefined: it is gone). */
export interface TargetGroupRead {
  name: string;
  planned: Target[];
  /** Undefined when the target group is gone, or its ARN is not known. */
  read: TargetHealth[] | undefined;
}

const key = (t: { ip: string; port: number }) => `${t.ip}:${t.port}`;

/**
 * Draining targets are on their way out: not registered, to the diff as to this check (a
 * member that comes back is registered again).
 */
const registered = (t: TargetHealth) => t.state !== 'draining';

/**
 * How AWS differs from the plan's targets, one line per target group that differs; empty
 * when every target group is there holding exactly the planned targets. A target group no
 * load balancer uses (its targets `unused`, Target.NotInUse: the NLB or the listener was
 * deleted) differs too.
 */
export function targetDrift(groups: TargetGroupRead[]): string[] {
  const out: string[] = [];
  for (const g of groups) {
    if (!g.read) {
      out.push(`target group ${g.name} is gone`);
      continue;
    }
    if (g.read.some((t) => t.reason === 'Target.NotInUse')) {
      out.push(`target group ${g.name} is not used by a load balancer`);
      continue;
    }
    const have = new Set(g.read.filter(registered).map(key));
    const want = new Set(g.planned.map(key));
    const missing = [...want].filter((k) => !have.has(k)).sort();
    const extra = [...have].filter((k) => !want.has(k)).sort();
    if (missing.length + extra.length === 0) continue;
    out.push(
      `target group ${g.name}: ${[
        ...(missing.length ? [`${missing.join(', ')} not registered`] : []),
        ...(extra.length ? [`${extra.join(', ')} registered but not planned`] : []),
      ].join('; ')}`,
    );
  }
  return out;
}

/** How many registered targets AWS reports healthy, of how many (draining ones left out). */
export function targetHealthOf(groups: TargetGroupRead[]): { healthy: number; total: number } {
  const all = groups.flatMap((g) => (g.read ?? []).filter(registered));
  return { healthy: all.filter((t) => t.state === 'healthy').length, total: all.length };
}

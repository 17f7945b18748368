// The actions of `kubectl kachiku` as JSON merge patches, decided from the object as read: pure, so
// that a dry run prints exactly the patch a real run sends. The effect comes from the controllers
// (the Fleet controller drains, the Release controller pauses), not from here.
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import { PROMOTE_ANNOTATION, type Release } from '../../api/release.js';
import { isTerminal } from '../../controllers/release/plan.js';

/**
 * On a LoadBalancerMirror in maintenance set by `mirror maintenance NAME on`: the failover mode it
 * had, which `off` puts back.
 */
export const PREVIOUS_FAILOVER_MODE_ANNOTATION = 'kachiku.io/previous-failover-mode';

/** A merge patch and the fields it changes, as "path: old → new"; no change: patch undefined. */
export interface Change {
  patch?: Record<string, unknown>;
  changes: string[];
  /** Why nothing changes, when nothing does. */
  note?: string;
}

const shown = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

/** From [path, old, new] triples: the patch of those that differ, and their descriptions. */
function change(triples: [string, unknown, unknown][], note: string): Change {
  const patch: Record<string, unknown> = {};
  const changes: string[] = [];
  for (const [path, from, to] of triples) {
    if (JSON.stringify(from) === JSON.stringify(to ?? undefined)) continue;
    changes.push(`${path}: ${shown(from)} → ${to === null ? '(unset)' : shown(to)}`);
    // metadata.annotations.kachiku.io/x: the annotation key holds dots, split only the first two.
    const keys = path.startsWith('metadata.annotations.')
      ? ['metadata', 'annotations', path.slice('metadata.annotations.'.length)]
      : path.split('.');
    let at = patch;
    keys.slice(0, -1).forEach((k) => (at = (at[k] ??= {}) as Record<string, unknown>));
    at[keys[keys.length - 1]!] = to;
  }
  return changes.length ? { patch, changes } : { changes, note };
}

export function drainChange(mc: MemberCluster): Change {
  return change([['spec.drain', mc.spec.drain ?? false, true]], 'already draining');
}

/** The drain ends and the cordon is lifted: the Fleets rebalance onto it gradually. */
export function uncordonChange(mc: MemberCluster): Change {
  return change(
    [
      ['spec.drain', mc.spec.drain ?? false, false],
      ['spec.cordoned', mc.spec.cordoned ?? false, false],
    ],
    'neither draining nor cordoned',
  );
}

export function retireChange(p: Prod): Change {
  return change([['spec.retired', p.spec.retired ?? false, true]], 'already retired');
}

export type ReleaseAction = 'pause' | 'resume' | 'abort' | 'promote';

/** Throws when the action cannot apply (a finished Release, nothing baking to promote). */
export function releaseChange(r: Release, action: ReleaseAction): Change {
  if (isTerminal(r))
    throw new Error(`release ${r.metadata.name} is ${r.status?.phase}: nothing to ${action}`);
  switch (action) {
    case 'pause':
      return change([['spec.paused', r.spec.paused ?? false, true]], 'already paused');
    case 'resume':
      return change([['spec.paused', r.spec.paused ?? false, false]], 'not paused');
    case 'abort':
      return change([['spec.aborted', r.spec.aborted ?? false, true]], 'already aborted');
    case 'promote': {
      const i = r.status?.currentWave;
      const w = i === undefined ? undefined : r.status?.waves?.[i];
      if (i === undefined || !w || (w.state !== 'Running' && w.state !== 'Baking'))
        throw new Error(
          `release ${r.metadata.name} has no wave running or baking${w ? ` (wave ${i} is ${w.state})` : ''}: nothing to promote`,
        );
      return change(
        [
          [
            `metadata.annotations.${PROMOTE_ANNOTATION}`,
            r.metadata.annotations?.[PROMOTE_ANNOTATION],
            String(i),
          ],
        ],
        `wave ${i} already promoted`,
      );
    }
  }
}

/** Maintenance on: failoverMode maintenance, the mode it had kept in an annotation; off: back. */
export function maintenanceChange(m: LoadBalancerMirror, on: boolean): Change {
  const dns = m.spec.dns;
  if (!dns)
    throw new Error(`mirror ${m.metadata.name} has no spec.dns: no DNS failover to suspend`);
  const mode = dns.failoverMode ?? 'route53';
  const kept = m.metadata.annotations?.[PREVIOUS_FAILOVER_MODE_ANNOTATION];
  const key = `metadata.annotations.${PREVIOUS_FAILOVER_MODE_ANNOTATION}`;
  if (on)
    return mode === 'maintenance'
      ? { changes: [], note: 'already in maintenance' }
      : change(
          [
            [key, kept, mode],
            ['spec.dns.failoverMode', mode, 'maintenance'],
          ],
          '',
        );
  if (mode !== 'maintenance') return { changes: [], note: `not in maintenance (mode ${mode})` };
  return change(
    [
      ['spec.dns.failoverMode', mode, kept ?? 'route53'],
      [key, kept, kept === undefined ? undefined : null],
    ],
    '',
  );
}

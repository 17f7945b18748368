// The MirrorPolicy's pure core: from the load balancers Octavia listed (or the list's failure)
// and the mirrors in the namespace, what to create, update and delete, and the status.
import { createHash } from 'node:crypto';
import type { LoadBalancerMirror, LoadBalancerMirrorSpec } from '../../api/loadbalancermirror.js';
import {
  LOAD_BALANCER_LABEL,
  POLICY_LABEL,
  type MirrorPolicy,
  type MirrorPolicyStatus,
  type PolicySelector,
} from '../../api/mirrorpolicy.js';
import { API_VERSION } from '../../api/kind.js';

/** What a policy needs of a listed load balancer. */
export interface ListedLoadBalancer {
  id: string;
  name: string;
  project_id: string;
  provisioning_status: string;
  tags?: string[];
}

/** The hash of the spec a policy last wrote into its mirror: a changed template updates it. */
export const SPEC_HASH_ANNOTATION = 'kachiku.io/policy-spec-hash';

export interface PolicyInput {
  policy: MirrorPolicy;
  /** The last list, or undefined when it failed (then nothing counts as gone). */
  listed: ListedLoadBalancer[] | undefined;
  /** Every mirror in the policy's namespace. */
  mirrors: LoadBalancerMirror[];
  now: number;
  graceMs: number;
}

export interface PolicyPlan {
  create: LoadBalancerMirror[];
  update: { mirror: LoadBalancerMirror; spec: LoadBalancerMirrorSpec; hash: string }[];
  /** Mirrors of this policy to delete, and why (for the event). */
  delete: { mirror: LoadBalancerMirror; why: string }[];
  status: Pick<MirrorPolicyStatus, 'matched' | 'mirrors' | 'conflicts' | 'missing'>;
  /** When to look again for a missing load balancer's grace to end (ms from now). */
  graceEndsInMs?: number;
  /** A template that cannot make a valid mirror (e.g. {{zone}} with a hosted zone by id). */
  invalid?: string;
}

/** Whether Octavia's load balancer is one the policy selects (Octavia filtered tags/project). */
export function selects(sel: PolicySelector, lb: ListedLoadBalancer): boolean {
  if (lb.provisioning_status === 'DELETED' || lb.provisioning_status === 'PENDING_DELETE')
    return false;
  if (sel.all) return true;
  if (sel.tags?.some((t) => !(lb.tags ?? []).includes(t))) return false;
  if (sel.projectID && lb.project_id !== sel.projectID) return false;
  if (sel.namePattern && !globMatch(sel.namePattern, lb.name)) return false;
  return true;
}

export function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) =>
    c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`,
  );
  return new RegExp(`^${re}$`, 's').test(name);
}

/** The mirror's name: the policy's (cut to leave room) and the load balancer's id. */
export function mirrorName(policyName: string, loadBalancerID: string): string {
  return `${policyName.slice(0, 253 - 37)}-${loadBalancerID}`;
}

/** A load balancer's name as one DNS label ({{name}}); its id when nothing of it is left. */
export function dnsLabel(name: string, id: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 63)
    .replace(/-$/, '');
  return label || id;
}

export function renderRecordName(
  template: string,
  lb: ListedLoadBalancer,
  zone: string | undefined,
): string {
  return template.replace(/\{\{(name|id|zone)\}\}/g, (_, v: string) => {
    if (v === 'name') return dnsLabel(lb.name, lb.id);
    if (v === 'id') return lb.id;
    if (zone === undefined) throw new Error('{{zone}} needs spec.template.dns.hostedZone.name');
    return zone.replace(/\.$/, '');
  });
}

/** The spec the policy's template makes for one load balancer. */
export function mirrorSpec(policy: MirrorPolicy, lb: ListedLoadBalancer): LoadBalancerMirrorSpec {
  const { octavia, template } = policy.spec;
  const spec: LoadBalancerMirrorSpec = {
    octavia: {
      loadBalancerID: lb.id,
      ...(octavia.cloud !== undefined && { cloud: octavia.cloud }),
      ...(octavia.credentialsSecretRef && { credentialsSecretRef: octavia.credentialsSecretRef }),
    },
    aws: template.aws,
    syncInterval: template.syncInterval ?? '60s',
    deletionPolicy: template.deletionPolicy ?? 'Delete',
  };
  if (template.dns) {
    const zone = template.dns.hostedZone.name;
    spec.dns = {
      ...template.dns,
      recordNames: [...new Set(template.dns.recordNames.map((t) => renderRecordName(t, lb, zone)))],
    };
  }
  return spec;
}

export const specHash = (spec: LoadBalancerMirrorSpec) =>
  createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);

/** Whether this policy made the mirror (its controller ownerReference). */
export function ownedBy(policy: MirrorPolicy, m: LoadBalancerMirror): boolean {
  return (m.metadata.ownerReferences ?? []).some(
    (r) => r.controller && r.kind === 'MirrorPolicy' && r.uid === policy.metadata.uid,
  );
}

const madeByAPolicy = (m: LoadBalancerMirror) =>
  (m.metadata.ownerReferences ?? []).some((r) => r.controller && r.kind === 'MirrorPolicy');

/** Of two mirrors of one load balancer made by two policies, the older stays. */
const older = (a: LoadBalancerMirror, b: LoadBalancerMirror) =>
  (a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ||
  ((a.metadata.creationTimestamp ?? '') === (b.metadata.creationTimestamp ?? '') &&
    a.metadata.name < b.metadata.name);

export function newMirror(
  policy: MirrorPolicy,
  lb: ListedLoadBalancer,
  spec: LoadBalancerMirrorSpec,
): LoadBalancerMirror {
  return {
    apiVersion: API_VERSION,
    kind: 'LoadBalancerMirror',
    metadata: {
      name: mirrorName(policy.metadata.name, lb.id),
      namespace: policy.metadata.namespace,
      labels: { [POLICY_LABEL]: policy.metadata.name.slice(0, 63), [LOAD_BALANCER_LABEL]: lb.id },
      annotations: { [SPEC_HASH_ANNOTATION]: specHash(spec) },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'MirrorPolicy',
          name: policy.metadata.name,
          uid: policy.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}

/** The live mirrors of a namespace by load balancer: the policy's own, and the others. */
function byLoadBalancer(policy: MirrorPolicy, mirrors: LoadBalancerMirror[]) {
  const ours = new Map<string, LoadBalancerMirror>();
  const others = new Map<string, LoadBalancerMirror[]>();
  for (const m of mirrors) {
    if (m.metadata.deletionTimestamp) continue;
    const id = m.spec.octavia.loadBalancerID;
    if (ownedBy(policy, m)) ours.set(id, m);
    else others.set(id, [...(others.get(id) ?? []), m]);
  }
  return { ours, others };
}

/** What the policy does for one load balancer it selects. */
export interface LoadBalancerDecision {
  create?: LoadBalancerMirror;
  update?: PolicyPlan['update'][number];
  delete?: PolicyPlan['delete'][number];
  conflict?: NonNullable<MirrorPolicyStatus['conflicts']>[number];
  invalid?: string;
}

function decide(
  policy: MirrorPolicy,
  lb: ListedLoadBalancer,
  mine: LoadBalancerMirror | undefined,
  others: LoadBalancerMirror[],
): LoadBalancerDecision {
  const other = [...others].sort((a, b) => (older(a, b) ? -1 : 1))[0];
  // A mirror made by hand always wins; one of another policy wins when it is the older.
  if (other && (!madeByAPolicy(other) || !mine || older(other, mine)))
    return {
      conflict: {
        loadBalancerID: lb.id,
        mirror: other.metadata.name,
        reason: madeByAPolicy(other)
          ? 'mirrored by another policy'
          : 'mirrored by a LoadBalancerMirror made by hand',
      },
      ...(mine && { delete: { mirror: mine, why: `${other.metadata.name} mirrors it` } }),
    };
  let spec: LoadBalancerMirrorSpec;
  try {
    spec = mirrorSpec(policy, lb);
  } catch (err) {
    return { invalid: (err as Error).message };
  }
  const hash = specHash(spec);
  if (!mine) return { create: newMirror(policy, lb, spec) };
  if (mine.metadata.annotations?.[SPEC_HASH_ANNOTATION] !== hash)
    return { update: { mirror: mine, spec, hash } };
  return {};
}

/**
 * The decision for one load balancer, as a notification names it: exactly the share of
 * planPolicy for it (the same `decide`), or undefined when the policy does not select it (a
 * load balancer that left the selection is the list's to judge, after its grace period).
 */
export function planLoadBalancer(
  policy: MirrorPolicy,
  lb: ListedLoadBalancer,
  mirrors: LoadBalancerMirror[],
): LoadBalancerDecision | undefined {
  if (!selects(policy.spec.octavia.selector, lb)) return undefined;
  const { ours, others } = byLoadBalancer(policy, mirrors);
  return decide(policy, lb, ours.get(lb.id), others.get(lb.id) ?? []);
}

export function planPolicy(input: PolicyInput): PolicyPlan {
  const { policy, listed, now, graceMs } = input;
  const { ours, others } = byLoadBalancer(policy, input.mirrors);
  const plan: PolicyPlan = { create: [], update: [], delete: [], status: {} };
  const conflicts: NonNullable<MirrorPolicyStatus['conflicts']> = [];
  const prevMissing = new Map((policy.status?.missing ?? []).map((m) => [m.loadBalancerID, m]));
  const missing: NonNullable<MirrorPolicyStatus['missing']> = [];

  const selected = listed?.filter((lb) => selects(policy.spec.octavia.selector, lb));
  const selectedIds = new Set(selected?.map((lb) => lb.id));
  for (const lb of selected ?? []) {
    const d = decide(policy, lb, ours.get(lb.id), others.get(lb.id) ?? []);
    if (d.conflict) conflicts.push(d.conflict);
    if (d.invalid) plan.invalid = d.invalid;
    if (d.create) plan.create.push(d.create);
    if (d.update) plan.update.push(d.update);
    if (d.delete) plan.delete.push(d.delete);
  }
  // Ours whose load balancer the last list did not select: gone only after a whole grace
  // period of successful lists without it; a failed list changes nothing.
  for (const [id, mine] of ours) {
    if (!listed) {
      const prev = prevMissing.get(id);
      if (prev) missing.push(prev);
      continue;
    }
    if (selectedIds.has(id)) continue;
    const since = prevMissing.get(id)?.since ?? new Date(now).toISOString();
    const left = Date.parse(since) + graceMs - now;
    if (left <= 0) {
      plan.delete.push({ mirror: mine, why: `load balancer ${id} not listed since ${since}` });
      continue;
    }
    missing.push({ loadBalancerID: id, mirror: mine.metadata.name, since });
    plan.graceEndsInMs = Math.min(plan.graceEndsInMs ?? Infinity, left);
  }
  const deleted = new Set(plan.delete.map((d) => d.mirror.metadata.name));
  plan.status = {
    ...(selected ? { matched: selected.length } : {}),
    mirrors:
      [...ours.values()].filter((m) => !deleted.has(m.metadata.name)).length + plan.create.length,
    conflicts: conflicts.sort((a, b) => a.loadBalancerID.localeCompare(b.loadBalancerID)),
    missing: missing.sort((a, b) => a.loadBalancerID.localeCompare(b.loadBalancerID)),
  };
  if (!listed) {
    // Without a list, conflicts are as last known.
    plan.status.conflicts = policy.status?.conflicts ?? [];
  }
  return plan;
}

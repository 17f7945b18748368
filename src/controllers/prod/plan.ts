// The Prod controller's pure core. From the Prod, what the shell observed (where it runs, what
// its member cluster shows, the clock) and what the controller remembers between reconciles,
// decide() says what the Prod's status is now (phase, conditions and the observed fields), what
// to do (finalizer, server-side applies, deletions, warm-up requests), which events to record and
// when to look again. No I/O and no clock here: reconciler.ts reads, acts and writes the status
// once; every rule is unit-tested case by case in plan.test.ts.
//
//   Pending → Provisioning → WarmingUp → Ready ⇄ InService (tenants routed to it: routing.ts)
//   any → Draining → Retired, on deletion or spec.retired
//
// Outcomes of actions (warm-up answers, an object the member cluster refused) come back through
// memory: the shell records them with warmedUp() and refused(), and decides again at once.
import { timestamp } from '../../runtime/time.js';
import { createHash } from 'node:crypto';
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { parseDuration } from '../../runtime/duration.js';
import type { Gvr, KubeObject } from '../../runtime/rest.js';
import { deploymentGvr, namespaceGvr, serviceGvr } from '../../runtime/core.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { Prod, ProdPhase, ProdStatus } from '../../api/prod.js';
import { ownerOf, type DesiredObject, type ProdRef, type Rendered } from './render.js';
import {
  endpoints,
  covers,
  observeComponents,
  requested,
  type Deployment,
  type Service,
} from './observe.js';
import { placeProd, type ClusterCandidate, type PlacedProd } from './placement.js';
import type { Usage } from './usage.js';

export const FINALIZER = 'kachiku.io/prod';

/** Decide again as soon as this reconcile is done (the smallest requeueAfter there is). */
export const AT_ONCE_MS = 1;
/** An object the member cluster refused is not applied again for this long (same generation). */
export const REFUSED_RETRY_MS = 60_000;
/** While a namespace is deleted, a safety net under the namespace informer's delete event. */
export const DRAIN_RECHECK_MS = 30_000;
/** While a new connection's informers list, look again this soon. */
export const LISTING_RETRY_MS = 2000;
/** Warm-up retries double from the shell's first delay up to this. */
export const WARMUP_RETRY_MAX_MS = 60_000;

/** The cluster a Prod names, or was placed in. */
export const clusterOf = (p: Prod) => p.spec.cluster || p.status?.cluster || '';

/** What the controller keeps of one Prod between reconciles, in memory only. */
export interface Memory {
  /** The cluster placement chose, until status.cluster shows it (Prods made together spread). */
  choice?: string;
  /** Warm-up progress at one version. */
  warm?: Warm;
  /** When the manifests (not watched) were last applied, and what they were. */
  manifests?: { hash: string; at: number };
  /** An object of this generation that the member cluster refused, and when. */
  refused?: { generation?: number; at: number; message: string };
}

/** Warm-up progress of one Prod at one version. */
export interface Warm {
  uid: string;
  version: string;
  answered: boolean;
  attempts: number;
  /** No requests before this time (backoff after a failed attempt). */
  retryAt: number;
  /** When this controller moved the Prod to WarmingUp (phaseSince has only seconds). */
  enteredAt?: number;
  /** The last failed attempt, and whether its event was recorded. */
  failure?: { message: string; reported: boolean };
}

/** The MemberClusters and the other Prods, as placement sees them (read lazily: a placed Prod never asks). */
export interface ClusterView {
  exists(name: string): boolean;
  candidates(): ClusterCandidate[];
  placed(): PlacedProd[];
}

/** Where a Prod runs: a cluster (`chosen` when placement just picked it), or why none. */
export type Where =
  | { cluster: string; chosen?: boolean; reason?: undefined; message?: undefined }
  | {
      cluster?: undefined;
      chosen?: undefined;
      reason: typeof Reason.ClusterNotFound | typeof Reason.NoClusterAvailable;
      message: string;
    }
  /** Retiring, never placed, or no longer this controller's (no finalizer): nowhere to look. */
  | { cluster?: undefined; chosen?: undefined; reason?: undefined; message?: undefined };

/** What the Prod's member cluster shows, as the shell found it. */
export type Member =
  /** No connection (`connected: false`) or one judged unreachable. */
  | { kind: 'Unreachable'; connected: boolean }
  /** The connection's first lists are not in yet: from empty caches everything looks missing. */
  | { kind: 'Listing' }
  /** The spec cannot be rendered for this cluster. */
  | { kind: 'Unrenderable'; reason: 'TemplateError' | 'InvalidSpec'; message: string }
  /** The rendered stack and the Prod's objects there, from the connection's informers. */
  | {
      kind: 'Seen';
      rendered: Rendered;
      /** The Namespace of that name, whoever owns it. */
      namespace?: KubeObject;
      /** The Prod's own Deployments and Services in its namespace, by name. */
      deployments: ReadonlyMap<string, Deployment>;
      services: ReadonlyMap<string, Service>;
      usage: UsageSeen;
    }
  /** Retiring: what is left there (the namespace and cluster-scoped manifests, read directly). */
  | { kind: 'Leftovers'; namespace?: KubeObject; clusterScoped: readonly Found[] };

/** The metrics API's answer: usage, not served, or not read (failed, or not wanted yet). */
export type UsageSeen = Usage | 'NotServed' | 'NotRead';

export interface Found {
  gvr: Gvr;
  object: KubeObject;
}

export interface Observed {
  /** The clock, read by the shell after observing (ms since the epoch). */
  now: number;
  /** The resync interval, and a number in [0, 1) that spreads resyncs over ±10 % of it. */
  resyncMs: number;
  jitter: number;
  where: Where;
  /** Set when `where` names a cluster. */
  member?: Member;
  /** The Router whose served table routes tenants to the Prod, if any (routing.ts). */
  routedBy?: string;
}

export type Action =
  /** Before anything is made in a member cluster. */
  | { kind: 'AddFinalizer' }
  /** Server-side apply, in order: the Namespace (when listed) first, the rest in any order. */
  | { kind: 'Apply'; objects: DesiredObject[] }
  | { kind: 'Delete'; gvr: Gvr; namespace?: string; name: string }
  /** `count` GETs of `url`, `concurrency` at a time; the outcome goes to warmedUp(). */
  | { kind: 'WarmUp'; url: string; count: number; concurrency: number }
  /** Last, after the status write: the Prod may go with it. */
  | { kind: 'RemoveFinalizer' };

export interface ProdEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export interface Decision {
  /** The status to hold (write it only if it differs); undefined: leave it alone. */
  status?: ProdStatus;
  /** Run in order; RemoveFinalizer after the status write. */
  actions: Action[];
  /** Record after the status write. */
  events: ProdEvent[];
  requeueAfterMs?: number;
  /** What to remember if the actions succeed; undefined: forget the Prod. */
  memory?: Memory;
}

const sameProd = (a: ProdRef, p: Prod) =>
  a.namespace === (p.metadata.namespace ?? '') && a.name === p.metadata.name;
const keyText = (r: ProdRef) => `${r.namespace}/${r.name}`;
const iso = (ms: number) => timestamp(new Date(ms));
export const retiring = (p: Prod) => Boolean(p.metadata.deletionTimestamp || p.spec.retired);
const owned = (p: Prod) => p.metadata.finalizers?.includes(FINALIZER) ?? false;

/**
 * The cluster of a Prod: its spec's (which must exist), its recorded one, or a new choice by
 * placeProd. A retiring Prod is never placed.
 */
export function locate(prod: Prod, memory: Memory, clusters: ClusterView): Where {
  if (retiring(prod)) {
    const known = owned(prod) ? clusterOf(prod) || memory.choice : undefined;
    return known ? { cluster: known } : {};
  }
  if (prod.spec.cluster) {
    if (!clusters.exists(prod.spec.cluster))
      return {
        reason: Reason.ClusterNotFound,
        message: `MemberCluster "${prod.spec.cluster}" does not exist`,
      };
    return { cluster: prod.spec.cluster };
  }
  const known = prod.status?.cluster || memory.choice;
  if (known) return { cluster: known };
  const choice = placeProd(prod.spec.app, clusters.candidates(), clusters.placed());
  if (choice.cluster === undefined)
    return { reason: Reason.NoClusterAvailable, message: choice.reason };
  return { cluster: choice.cluster, chosen: true };
}

/** Whether the shell should read the metrics API: once the stack runs (WarmingUp, Ready). */
export function wantsUsage(
  prod: Prod,
  rendered: Rendered,
  deployments: ReadonlyMap<string, Deployment>,
): boolean {
  return (
    prod.status?.version === prod.spec.version ||
    observeComponents(prod.spec, imagesOf(rendered), deployments).rolledOut
  );
}

/** The status a reconcile builds from the stored one. */
class Draft {
  phase: ProdPhase;
  conditions: Condition[];
  fields: Partial<ProdStatus> = {};
  events: ProdEvent[] = [];

  constructor(
    readonly prod: Prod,
    readonly now: number,
  ) {
    this.phase = prod.status?.phase ?? 'Pending';
    this.conditions = [...((prod.status?.conditions ?? []) as Condition[])];
  }

  set(type: string, status: Condition['status'], reason: string, message: string): void {
    this.conditions = setCondition(
      this.conditions,
      { type, status, reason, message },
      this.prod.metadata.generation,
      new Date(this.now),
    );
  }

  /** The decision: the status (unset fields keep their stored value), and a phase-change event. */
  done(actions: Action[], memory: Memory | undefined, requeueAfterMs?: number): Decision {
    const st = this.prod.status ?? {};
    const status: ProdStatus = {
      ...st,
      ...this.fields,
      observedGeneration: this.prod.metadata.generation,
      phase: this.phase,
      phaseSince: st.phase === this.phase && st.phaseSince ? st.phaseSince : iso(this.now),
      conditions: this.conditions,
    };
    for (const k of Object.keys(status) as (keyof ProdStatus)[])
      if (status[k] === undefined) delete status[k];
    const events = [...this.events];
    if (st.phase !== this.phase) {
      const ready = this.conditions.find((c) => c.type === ConditionType.Ready);
      events.unshift({
        type: ready?.reason === Reason.WarmupFailed ? 'Warning' : 'Normal',
        reason: this.phase,
        action: 'Lifecycle',
        note: `${st.phase ?? 'new'} → ${this.phase}${ready?.message ? `: ${ready.message}` : ''}`,
      });
    }
    return { status, actions, events, requeueAfterMs, memory };
  }

  /** Stopped for a reason worth a condition and a Warning event; the phase stays. */
  blocked(
    reason: string,
    message: string,
    actions: Action[],
    memory: Memory,
    requeueAfterMs?: number,
  ): Decision {
    this.set(ConditionType.Ready, 'False', reason, message);
    this.events.push({ type: 'Warning', reason, action: 'Reconcile', note: message });
    return this.done(actions, memory, requeueAfterMs);
  }
}

/** The Prod's status, actions, events, requeue and memory, from what was observed. */
export function decide(prod: Prod, observed: Observed, memory: Memory): Decision {
  if (retiring(prod))
    return owned(prod) ? drain(prod, observed, memory) : { actions: [], events: [] };
  const d = new Draft(prod, observed.now);
  const { where, member } = observed;
  const mem: Memory = { ...memory };
  if (where.chosen) mem.choice = where.cluster;
  const first: Action[] = owned(prod) ? [] : [{ kind: 'AddFinalizer' }];
  if (where.cluster === undefined)
    return d.blocked(
      where.reason ?? Reason.NoClusterAvailable,
      where.message ?? 'no cluster',
      first,
      mem,
    );
  const name = where.cluster;
  // Recorded even when stopped below, so that a restart keeps the choice.
  d.fields.cluster = name;
  if (!member || member.kind === 'Unreachable') {
    const why = member?.connected
      ? `member cluster ${name} is unreachable`
      : `no connection to member cluster ${name} (MemberCluster not connected yet, or its kubeconfig is missing)`;
    d.set(ConditionType.ClusterUnreachable, 'True', Reason.ClusterUnreachable, why);
    d.set(
      ConditionType.Ready,
      'Unknown',
      Reason.ClusterUnreachable,
      `${why}: what runs there is left as it is`,
    );
    // The registry's reachability change brings the Prod back.
    return d.done(first, mem);
  }
  d.set(
    ConditionType.ClusterUnreachable,
    'False',
    Reason.ClusterReachable,
    `member cluster ${name} is reachable`,
  );
  if (member.kind === 'Listing')
    return d.blocked(
      Reason.Provisioning,
      `waiting for the first list of cluster ${name}'s objects`,
      first,
      mem,
      LISTING_RETRY_MS,
    );
  if (member.kind === 'Unrenderable')
    return d.blocked(member.reason, `${member.message}; nothing applied`, first, mem);
  if (member.kind === 'Leftovers')
    throw new Error('decide: leftovers are observed for a retiring Prod only');

  const { rendered, namespace: ns } = member;
  const owner = ns && ownerOf(ns);
  if (owner && !sameProd(owner, prod))
    return d.blocked(
      Reason.InvalidSpec,
      `namespace ${rendered.namespace} in cluster ${name} belongs to Prod ${keyText(owner)}`,
      first,
      mem,
    );
  if (ns?.metadata.deletionTimestamp)
    return d.blocked(
      Reason.Provisioning,
      `namespace ${rendered.namespace} in cluster ${name} is still being deleted`,
      first,
      mem,
    );
  d.fields.namespace = rendered.namespace;
  // The choice and the namespace are recorded before anything is applied: a restart keeps the
  // choice, and a Prod deleted meanwhile knows whether anything was made (drain).
  if (prod.status?.cluster !== name || prod.status?.namespace !== rendered.namespace) {
    if (d.phase === 'Pending') d.phase = 'Provisioning';
    d.set(ConditionType.Ready, 'False', Reason.Provisioning, `provisioning in ${name}`);
    return d.done(first, mem, AT_ONCE_MS);
  }
  const refused = mem.refused;
  if (
    refused &&
    refused.generation === prod.metadata.generation &&
    observed.now < refused.at + REFUSED_RETRY_MS
  )
    return d.blocked(
      Reason.InvalidSpec,
      refused.message,
      first,
      mem,
      refused.at + REFUSED_RETRY_MS - observed.now,
    );
  delete mem.refused;
  const actions = [...first, ...sync(member, mem, observed)];
  return progress(d, member, actions, mem, observed);
}

/** What brings the member cluster in line: applies of what it lacks, deletions of what the spec dropped. */
function sync(
  member: Extract<Member, { kind: 'Seen' }>,
  mem: Memory,
  observed: Observed,
): Action[] {
  const { rendered } = member;
  const observedOf = (d: DesiredObject): KubeObject | undefined => {
    const { name } = d.object.metadata;
    if (d.gvr === namespaceGvr) return member.namespace;
    if (d.gvr === deploymentGvr) return member.deployments.get(name);
    if (d.gvr === serviceGvr) return member.services.get(name);
    return undefined;
  };
  const builtIn = new Set([namespaceGvr, deploymentGvr, serviceGvr]);
  // Manifests are not watched: applied when they change, and at each resync.
  const manifests = rendered.objects.filter((d) => !builtIn.has(d.gvr));
  const hash = createHash('sha256').update(JSON.stringify(manifests)).digest('hex');
  const last = mem.manifests;
  const manifestsDue = !last || last.hash !== hash || observed.now - last.at >= observed.resyncMs;
  if (manifestsDue) mem.manifests = { hash, at: observed.now };
  const due = rendered.objects.filter((d) =>
    builtIn.has(d.gvr) ? !covers(observedOf(d), d.object) : manifestsDue,
  );
  const actions: Action[] = due.length ? [{ kind: 'Apply', objects: due }] : [];
  // The Prod's Deployments and Services that its spec no longer names.
  const desired = new Set(
    rendered.objects.map((d) => `${d.gvr.resource}/${d.object.metadata.name}`),
  );
  for (const [gvr, objects] of [
    [deploymentGvr, member.deployments],
    [serviceGvr, member.services],
  ] as const)
    for (const name of [...objects.keys()].sort())
      if (!desired.has(`${gvr.resource}/${name}`))
        actions.push({ kind: 'Delete', gvr, namespace: rendered.namespace, name });
  return actions;
}

/** The images kachiku applies, per component. */
function imagesOf(rendered: Rendered): Map<string, string> {
  return new Map(
    rendered.objects
      .filter((d) => d.gvr === deploymentGvr)
      .map((d) => {
        const tpl = (d.object.spec as Deployment['spec'])?.template?.spec?.containers?.[0];
        return [d.object.metadata.name, tpl?.image ?? ''];
      }),
  );
}

/**
 * Status from what the member cluster shows, and the lifecycle step it allows: Provisioning while
 * rolling out, then the warm-up, then Ready; once warmed at a version, Ready and Degraded follow
 * the components.
 */
function progress(
  d: Draft,
  member: Extract<Member, { kind: 'Seen' }>,
  actions: Action[],
  mem: Memory,
  observed: Observed,
): Decision {
  const { prod } = d;
  const spec = prod.spec;
  const { rendered } = member;
  const obs = observeComponents(spec, imagesOf(rendered), member.deployments);
  d.fields.components = obs.components;
  d.fields.requests = requested(spec);
  d.fields.endpoints = endpoints(spec, rendered.namespace, member.services);
  // Usage once the stack runs; left as it was when it could not be read.
  if (member.usage === 'NotServed') d.fields.usage = undefined;
  else if (member.usage !== 'NotRead') d.fields.usage = member.usage;
  const resync = Math.round(observed.resyncMs * (0.9 + observed.jitter * 0.2));
  const list = (cs: typeof obs.components) =>
    cs.map((c) => `${c.name} ${c.ready}/${c.desired}`).join(', ');

  if (prod.status?.version === spec.version) {
    // Warmed at this version: Ready (InService while routed), and Degraded when a component
    // lost pods.
    d.phase = observed.routedBy ? 'InService' : 'Ready';
    if (obs.down.length)
      d.set(
        ConditionType.Ready,
        'False',
        Reason.ComponentsUnavailable,
        `no ready replica: ${obs.down.map((c) => c.name).join(', ')}`,
      );
    else
      d.set(
        ConditionType.Ready,
        'True',
        Reason.ComponentsAvailable,
        `${spec.version} running in ${d.fields.cluster}`,
      );
    if (obs.short.length)
      d.set(
        ConditionType.Degraded,
        'True',
        Reason.ComponentsUnavailable,
        `short of ready replicas: ${list(obs.short)}`,
      );
    else d.set(ConditionType.Degraded, 'False', Reason.ComponentsAvailable, '');
    delete mem.warm;
    return d.done(actions, mem, resync);
  }

  d.set(ConditionType.Degraded, 'False', Reason.Provisioning, '');
  if (!obs.rolledOut) {
    d.phase = 'Provisioning';
    delete mem.warm;
    d.set(
      ConditionType.Ready,
      'False',
      Reason.Provisioning,
      `rolling out ${spec.version}: ${list(obs.components) || 'manifests applied'}`,
    );
    return d.done(actions, mem, resync);
  }
  return warmUp(d, actions, mem, observed, resync);
}

/**
 * WarmingUp, once every component is Available at the spec's version: the phase is recorded
 * first; then warm-up requests (retried with backoff until all answer); then the minimum warm-up
 * time; then Ready at this version.
 */
function warmUp(
  d: Draft,
  actions: Action[],
  mem: Memory,
  observed: Observed,
  resync: number,
): Decision {
  const { prod, now } = d;
  const spec = prod.spec;
  const uid = prod.metadata.uid ?? '';
  let warm = mem.warm;
  if (!warm || warm.uid !== uid || warm.version !== spec.version)
    warm = { uid, version: spec.version, answered: false, attempts: 0, retryAt: 0 };
  if (d.phase !== 'WarmingUp') {
    d.phase = 'WarmingUp';
    d.set(ConditionType.Ready, 'False', Reason.WarmingUp, 'every component Available');
    return d.done(actions, { ...mem, warm: { ...warm, enteredAt: now } }, AT_ONCE_MS);
  }
  const requests = spec.warmup?.requests;
  const count = requests?.count ?? 100;
  if (requests && count > 0 && !warm.answered) {
    if (warm.failure) {
      d.set(ConditionType.Ready, 'False', Reason.WarmupFailed, warm.failure.message);
      if (!warm.failure.reported) {
        d.events.push({
          type: 'Warning',
          reason: Reason.WarmupFailed,
          action: 'WarmUp',
          note: warm.failure.message,
        });
        warm = { ...warm, failure: { ...warm.failure, reported: true } };
      }
    }
    if (warm.retryAt > now) return d.done(actions, { ...mem, warm }, warm.retryAt - now);
    const base = requests.target ?? firstEndpoint(d.fields.endpoints);
    if (!base) {
      d.set(
        ConditionType.Ready,
        'False',
        Reason.WarmupFailed,
        'no endpoint to warm up: set spec.warmup.requests.target or expose a component',
      );
      return d.done(actions, { ...mem, warm }, resync);
    }
    const url = new URL(requests.path ?? '/', base).toString();
    const send: Action = { kind: 'WarmUp', url, count, concurrency: requests.concurrency ?? 4 };
    return d.done([...actions, send], { ...mem, warm }, AT_ONCE_MS);
  }
  // After a restart only phaseSince is known: rounded up, the minimum is never cut short.
  const since = warm.enteredAt ?? (Date.parse(prod.status?.phaseSince ?? '') || now) + 1000;
  const left = since + parseDuration(spec.warmup?.minimumTime ?? '0s') - now;
  if (left > 0) {
    d.set(
      ConditionType.Ready,
      'False',
      Reason.WarmingUp,
      `warm-up ${requests ? 'requests answered' : 'without requests'}; ${Math.ceil(left / 1000)} s of minimum warm-up time left`,
    );
    return d.done(actions, { ...mem, warm }, left);
  }
  d.phase = observed.routedBy ? 'InService' : 'Ready';
  d.fields.version = spec.version;
  d.set(
    ConditionType.Ready,
    'True',
    Reason.ComponentsAvailable,
    `${spec.version} running in ${d.fields.cluster}, warmed up`,
  );
  d.set(ConditionType.Degraded, 'False', Reason.ComponentsAvailable, '');
  delete mem.warm;
  return d.done(actions, mem, resync);
}

/**
 * Draining → Retired, on deletion or spec.retired: delete what the Prod made in its member
 * cluster (cluster-scoped manifests, then its namespace), then let it go (the finalizer).
 */
function drain(prod: Prod, observed: Observed, memory: Memory): Decision {
  const d = new Draft(prod, observed.now);
  const name = observed.where.cluster;
  const namespace = prod.status?.namespace;
  // status.namespace is written before anything is applied: without it, nothing was made.
  const made = Boolean(name && namespace);
  const actions: Action[] = [];
  if (name && namespace) {
    d.phase = 'Draining';
    const m = observed.member;
    if (!m || m.kind === 'Unreachable') {
      const why = `cannot reach member cluster ${name} to remove what the Prod made there; keeping the finalizer until it can`;
      d.set(ConditionType.ClusterUnreachable, 'True', Reason.ClusterUnreachable, why);
      d.set(ConditionType.Ready, 'False', Reason.Draining, why);
      return d.done([], memory);
    }
    if (m.kind !== 'Leftovers') throw new Error(`decide: a retiring Prod's member is ${m.kind}`);
    d.set(ConditionType.ClusterUnreachable, 'False', Reason.ClusterReachable, '');
    for (const { gvr, object } of m.clusterScoped) {
      const owner = ownerOf(object);
      if (owner && sameProd(owner, prod))
        actions.push({ kind: 'Delete', gvr, name: object.metadata.name });
    }
    const owner = m.namespace && ownerOf(m.namespace);
    // Gone, or someone else's: nothing of this Prod is left to delete.
    const gone = !m.namespace || (owner !== undefined && !sameProd(owner, prod));
    if (!gone) {
      if (!m.namespace?.metadata.deletionTimestamp)
        actions.push({ kind: 'Delete', gvr: namespaceGvr, name: namespace });
      d.set(
        ConditionType.Ready,
        'False',
        Reason.Draining,
        `deleting namespace ${namespace} in ${name}`,
      );
      // The namespace informer's delete event ends the wait; this is a safety net.
      return d.done(actions, memory, DRAIN_RECHECK_MS);
    }
  }
  d.phase = 'Retired';
  d.fields.components = [];
  d.fields.endpoints = [];
  d.fields.usage = undefined;
  d.set(
    ConditionType.Ready,
    'False',
    Reason.Retired,
    made ? `removed from ${name}` : 'nothing was made',
  );
  d.set(ConditionType.Degraded, 'False', Reason.Retired, '');
  return d.done([...actions, { kind: 'RemoveFinalizer' }], undefined);
}

/** Memory after a warm-up attempt: answered, or the next try after a doubling delay. */
export function warmedUp(
  memory: Memory,
  sent: Extract<Action, { kind: 'WarmUp' }>,
  result: { failed: number; firstError?: string },
  now: number,
  firstRetryMs: number,
): Memory {
  const warm = memory.warm;
  if (!warm) return memory;
  if (result.failed === 0)
    return { ...memory, warm: { ...warm, answered: true, failure: undefined } };
  const attempts = warm.attempts + 1;
  const delay = Math.min(WARMUP_RETRY_MAX_MS, firstRetryMs * 2 ** (attempts - 1));
  const message = `${result.failed}/${sent.count} warm-up requests to ${shown(sent.url)} failed (first: ${result.firstError}); retrying in ${Math.round(delay / 1000)} s`;
  return {
    ...memory,
    warm: { ...warm, attempts, retryAt: now + delay, failure: { message, reported: false } },
  };
}

/** Memory after the member cluster refused an object: the spec must change, or a minute pass. */
export function refused(memory: Memory, prod: Prod, message: string, now: number): Memory {
  return { ...memory, refused: { generation: prod.metadata.generation, at: now, message } };
}

/** The stored status with Degraded for an unexpected error (the reconcile is retried). */
export function failed(prod: Prod, message: string, now: number): ProdStatus {
  const d = new Draft(prod, now);
  d.set(ConditionType.Degraded, 'True', Reason.ReconcileError, message);
  return d.done([], undefined).status as ProdStatus;
}

function firstEndpoint(eps: ProdStatus['endpoints']): string | undefined {
  const address = eps?.[0]?.address;
  return address ? `http://${address}/` : undefined;
}

/** A URL for messages: without any user:password it may carry. */
export function shown(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

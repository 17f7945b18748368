// The MirrorPolicy reconciler: list Octavia (when due: every listInterval, at once on a deletion
// notification or a new spec), plan against the mirrors of the namespace (plan.ts), create,
// update and delete the policy's mirrors, write status. A mirror's change (not its status)
// re-plans from the last list without listing again. A create/update notification takes a fast
// path outside the policy's queue: that load balancer read, planned alone (the same decision),
// its mirror made; the reconcile queued after it writes the status.
import { performance } from 'node:perf_hooks';
import type { Manager } from '../../runtime/manager.js';
import {
  TerminalError,
  generationChanged,
  parseKey,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { Condition } from '../../runtime/conditions.js';
import { isAlreadyExists, isConflict, isNotFound, resourcePath } from '../../runtime/rest.js';
import { isDeleting, update, updateStatus } from '../../runtime/objects.js';
import { parseDuration } from '../../runtime/duration.js';
import { timestamp } from '../../runtime/time.js';
import { gvrOf } from '../../api/kind.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import {
  mirrorPolicyKind,
  type MirrorPolicy,
  type MirrorPolicyStatus,
} from '../../api/mirrorpolicy.js';
import { loadBalancerMirrorKind, type LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { conditionSetter } from '../loadbalancermirror/dnsstep.js';
import { isOpenStackError } from '../../clouds/openstack/errors.js';
import {
  SPEC_HASH_ANNOTATION,
  ownedBy,
  planLoadBalancer,
  planPolicy,
  type ListedLoadBalancer,
  type PolicyPlan,
} from './plan.js';
import type { LoadBalancerLister, PolicyClouds } from './ports.js';
import { NotificationHub } from './hub.js';
import { FastPath } from './fastpath.js';
import { ListCache } from './listcache.js';

export const policyGvr = gvrOf(mirrorPolicyKind);
const mirrorGvr = gvrOf(loadBalancerMirrorKind);

export interface PolicyDeps {
  clouds: PolicyClouds;
  /** Seen for each Octavia notification that woke a policy (benchmarks, metrics). */
  onNotification?: (eventType: string) => void;
  /**
   * Where a notification's time goes (benchmarks): each step a load balancer's notification
   * passes, at performance.now(). Off (undefined) in production.
   */
  onStep?: (step: PolicyStep, loadBalancerID: string, at: number) => void;
}

/**
 * received: the AMQP message handed to the hub; enqueued: the policy's key queued; reconcile:
 * the reconcile that took the notification started; secret: its notifications Secret read;
 * octavia: the load balancer read from Octavia; planned: the plan made; posting / created: the
 * mirror's create sent / answered.
 */
export type PolicyStep =
  'received' | 'enqueued' | 'reconcile' | 'secret' | 'octavia' | 'planned' | 'posting' | 'created';

export function registerMirrorPolicy(mgr: Manager, deps: PolicyDeps): void {
  const policies = mgr.informer<MirrorPolicy>(policyGvr);
  const mirrors = mgr.informer<LoadBalancerMirror>(mirrorGvr);
  const lists = new ListCache();
  const notified = new Map<string, Notified>();
  let leading: AbortSignal | undefined;
  const st = (): State => ({ policies, mirrors, lists, notified, hub });
  const fast = new FastPath(notifiedOne);
  const hub = new NotificationHub(deps.clouds.listen, (keys, event) => {
    for (const key of keys) {
      const id = event?.loadBalancerID;
      if (event && id) deps.onStep?.('received', id, performance.now());
      if (event) {
        const n = notified.get(key) ?? { at: timestamp(), ids: new Set<string>(), list: false };
        n.at = timestamp();
        notified.set(key, n);
        deps.onNotification?.(event.eventType);
        // A load balancer created or updated takes the fast path (read by its id, planned
        // alone, its mirror made at once); a deletion (or an event naming none) lists, since
        // only a list can show a load balancer gone.
        if (id && !event.eventType.endsWith('.delete.end')) {
          fast.run(key, id);
          continue;
        }
        n.list = true;
      }
      controller.enqueue(parseKey(key));
    }
  });
  const controller = mgr
    .controller({
      name: 'mirrorpolicy',
      concurrency: 2,
      reconcile: (req, ctx) => reconcile(mgr, deps, st(), req, ctx),
    })
    .for(policies, generationChanged)
    // A mirror made, re-specified, relabelled, re-owned or gone re-plans its namespace's
    // policies (from the last list); its status changes (several per sync) do not.
    .watches(
      mirrors,
      (m) =>
        policies
          .list(m.metadata.namespace)
          .map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name })),
      (old, m) =>
        generationChanged(old, m) ||
        JSON.stringify(old?.metadata.ownerReferences) !==
          JSON.stringify(m.metadata.ownerReferences),
    );
  mgr.add({
    name: 'mirrorpolicy notifications',
    start: (signal) => void (leading = signal),
    stop: () => hub.stopAll(),
  });

  /**
   * One notified load balancer (the fast path): read it, plan it alone against the mirrors
   * cache with the same decision as the full plan, act; then the policy's own reconcile (queued
   * after, from the last list) writes the status. A failure hands the load balancer to that
   * reconcile, which reads it again and reports the error in a condition.
   */
  async function notifiedOne(key: string, id: string): Promise<void> {
    const signal = leading;
    const policy = policies.get(key);
    if (!policy || isDeleting(policy) || !signal || signal.aborted) return;
    try {
      const { lb, fresh } = await readInto(lists, key, await deps.clouds.octavia(policy), id);
      deps.onStep?.('octavia', id, performance.now());
      // Acted on only while the read is the freshest answer and the policy the one planned
      // with (edited or deleted meanwhile: its reconcile, queued below, decides).
      const now = policies.get(key);
      const same =
        now !== undefined &&
        now.metadata.uid === policy.metadata.uid &&
        now.metadata.generation === policy.metadata.generation &&
        !isDeleting(now);
      if (lb && fresh && same) {
        const d = planLoadBalancer(policy, lb, mirrors.list(policy.metadata.namespace));
        deps.onStep?.('planned', id, performance.now());
        if (d)
          await act(mgr, deps, policy, {
            create: d.create ? [d.create] : [],
            update: d.update ? [d.update] : [],
            delete: d.delete ? [d.delete] : [],
          });
      }
    } catch (err) {
      if (signal.aborted) return;
      mgr.log.warn(
        { policy: key, loadBalancer: id, err: (err as Error).message },
        'notified load balancer: left to the policy reconcile',
      );
      const n = notified.get(key) ?? { at: timestamp(), ids: new Set<string>(), list: false };
      n.ids.add(id);
      notified.set(key, n);
    }
    controller.enqueue(parseKey(key));
  }
}

/** Notifications for a policy since it last looked: when, which load balancers, whether to list. */
interface Notified {
  at: string;
  ids: Set<string>;
  list: boolean;
}

interface State {
  policies: Informer<MirrorPolicy>;
  mirrors: Informer<LoadBalancerMirror>;
  lists: ListCache;
  notified: Map<string, Notified>;
  hub: NotificationHub;
}

async function reconcile(
  mgr: Manager,
  deps: PolicyDeps,
  st: State,
  req: Request,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const startedAt = performance.now();
  const key = `${req.namespace}/${req.name}`;
  const policy = st.policies.get(key);
  if (!policy || isDeleting(policy)) {
    // Its mirrors go with it: they carry its ownerReference (the garbage collector).
    st.hub.set(key, undefined);
    st.lists.drop(key);
    st.notified.delete(key);
    return;
  }
  const conditions = [...(policy.status?.conditions ?? [])] as Condition[];
  const set = conditionSetter(conditions, policy.metadata.generation);
  const status: Partial<MirrorPolicyStatus> = {};

  // Notifications first: a policy whose list fails still hears of new load balancers.
  if (policy.spec.notifications) {
    try {
      const url = await deps.clouds.notificationsUrl(policy);
      const state = st.hub.set(key, {
        url,
        exchange: policy.spec.notifications.exchange ?? 'octavia',
        topic: policy.spec.notifications.topic ?? 'notifications',
      })!;
      if (state.connected) set(ConditionType.Notifications, 'True', Reason.Listening, 'listening');
      else
        set(
          ConditionType.Notifications,
          state.error ? 'False' : 'Unknown',
          Reason.NotificationsUnreachable,
          state.error ?? 'connecting',
        );
    } catch (err) {
      st.hub.set(key, undefined);
      const e = err instanceof TerminalError ? err : undefined;
      set(
        ConditionType.Notifications,
        'False',
        e?.reason ?? Reason.NotificationsUnreachable,
        (err as Error).message,
      );
    }
  } else {
    st.hub.set(key, undefined);
    set(
      ConditionType.Notifications,
      'False',
      Reason.NotificationsOff,
      'spec.notifications is not set: lists every listInterval only',
    );
  }

  const secretAt = performance.now();
  const listInterval = parseDuration(policy.spec.listInterval ?? '5m');
  const graceMs = parseDuration(policy.spec.gracePeriod ?? '5m');
  const last = st.lists.get(key);
  const woken = st.notified.get(key);
  st.notified.delete(key);
  const step = (s: PolicyStep, at = performance.now()) => {
    if (deps.onStep) for (const id of woken?.ids ?? []) deps.onStep(s, id, at);
  };
  step('reconcile', startedAt);
  step('secret', secretAt);
  const fresh = last && last.generation === policy.metadata.generation;
  const due = !fresh || woken?.list === true || Date.now() - last.at >= listInterval - 100;
  let listed: ListedLoadBalancer[] | undefined = fresh ? last.lbs : undefined;
  const sel = policy.spec.octavia.selector;
  // Neither due nor notified (a mirror changed): plan from the last list, asking Octavia nothing.
  if (due || (woken && woken.ids.size > 0))
    try {
      const octavia = await deps.clouds.octavia(policy);
      if (due) {
        listed = undefined;
        const startedAt = performance.now();
        const lbs = await octavia.listLoadBalancers({
          ...(sel.tags && { tags: sel.tags }),
          ...(sel.projectID && { projectID: sel.projectID }),
        });
        listed = st.lists.listed(
          key,
          { startedAt, at: Date.now(), generation: policy.metadata.generation },
          lbs,
        );
        status.lastListTime = timestamp();
        set(ConditionType.Ready, 'True', Reason.Listed, `listed ${listed.length} load balancer(s)`);
      } else if (woken && woken.ids.size > 0 && last) {
        // Created or updated: read each by its id into the last list (seconds cheaper than a
        // list of a busy Octavia); one gone meanwhile is left to the lists.
        for (const id of woken.ids) await readInto(st.lists, key, octavia, id);
        listed = st.lists.get(key)?.lbs;
        step('octavia');
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      listed = undefined;
      const reason = err instanceof TerminalError ? err.reason : Reason.ListFailed;
      set(ConditionType.Ready, 'False', reason, `cannot list Octavia: ${(err as Error).message}`);
      void mgr.events.record({
        regarding: policy,
        type: 'Warning',
        reason,
        action: 'List',
        note: `cannot list Octavia: ${(err as Error).message}`,
      });
    }
  if (woken) status.lastNotification = woken.at;

  const plan = planPolicy({
    policy,
    listed,
    mirrors: st.mirrors.list(policy.metadata.namespace),
    now: Date.now(),
    graceMs,
  });
  if (plan.invalid) set(ConditionType.Ready, 'False', Reason.InvalidSpec, plan.invalid);
  step('planned');

  await act(mgr, deps, policy, plan);

  Object.assign(status, plan.status);
  const conflicts = plan.status.conflicts ?? [];
  if (conflicts.length > 0)
    set(
      ConditionType.Mirrored,
      'False',
      Reason.MirrorConflict,
      `${conflicts.length} load balancer(s) mirrored by a mirror this policy did not make: see status.conflicts`,
    );
  else if (listed)
    set(
      ConditionType.Mirrored,
      'True',
      Reason.AllMirrored,
      `${plan.status.matched ?? 0} load balancer(s) mirrored`,
    );

  const next: Status = {
    ...(policy.status ?? {}),
    ...status,
    observedGeneration: policy.metadata.generation,
    conditions,
  };
  if (JSON.stringify(next) !== JSON.stringify(policy.status ?? {})) {
    await updateStatus<MirrorPolicyStatus, MirrorPolicy>(mgr.rest, policyGvr, policy, (fresh) => ({
      ...(fresh.status ?? {}),
      ...status,
      observedGeneration: policy.metadata.generation,
      conditions,
    }));
  }
  const lastAt = st.lists.get(key)?.at ?? Date.now();
  const untilList = Math.max(1000, lastAt + listInterval - Date.now());
  return { requeueAfterMs: Math.min(untilList, plan.graceEndsInMs ?? Infinity) };
}

type Status = MirrorPolicyStatus;

/**
 * One load balancer read by its id into the policy's last list; `fresh`: the read is newer than
 * that list (listcache.ts), so it may be acted on. One gone meanwhile is left to the lists.
 */
async function readInto(
  lists: ListCache,
  key: string,
  octavia: LoadBalancerLister,
  id: string,
): Promise<{ lb?: ListedLoadBalancer; fresh: boolean }> {
  const readAt = performance.now();
  const lb = await octavia.getLoadBalancer(id).catch((e: unknown) => {
    if (isOpenStackError(e) && e.kind === 'NotFound') return undefined;
    throw e;
  });
  return { lb, fresh: lb !== undefined && lists.read(key, lb, readAt) };
}

/** Creates, updates and deletes the planned mirrors; a race lost to another writer is no error. */
async function act(
  mgr: Manager,
  deps: PolicyDeps,
  policy: MirrorPolicy,
  plan: Pick<PolicyPlan, 'create' | 'update' | 'delete'>,
): Promise<void> {
  for (const m of plan.create) {
    try {
      deps.onStep?.('posting', m.spec.octavia.loadBalancerID, performance.now());
      await mgr.rest.create(mirrorGvr, m);
      deps.onStep?.('created', m.spec.octavia.loadBalancerID, performance.now());
      mgr.log.info({ mirror: m.metadata.name }, 'created a mirror');
      void mgr.events.record({
        regarding: policy,
        type: 'Normal',
        reason: 'MirrorCreated',
        action: 'Create',
        note: `created ${m.metadata.name} for load balancer ${m.spec.octavia.loadBalancerID}`,
      });
    } catch (err) {
      // Made already (by a replica whose cache was ahead): the next plan sees it.
      if (!isAlreadyExists(err)) throw err;
    }
  }
  for (const u of plan.update) {
    const planned = u.mirror.metadata.annotations?.[SPEC_HASH_ANNOTATION];
    let wrote = false;
    await update(mgr.rest, mirrorGvr, u.mirror, (m) => {
      // Exactly the mirror planned on: another one of the name, one updated meanwhile (by a
      // newer plan) or no longer the policy's is left to the next plan.
      if (m.metadata.uid !== u.mirror.metadata.uid || !ownedBy(policy, m)) return false;
      if (m.metadata.annotations?.[SPEC_HASH_ANNOTATION] !== planned) return false;
      m.spec = u.spec;
      m.metadata.annotations = { ...m.metadata.annotations, [SPEC_HASH_ANNOTATION]: u.hash };
      return (wrote = true);
    });
    if (wrote)
      void mgr.events.record({
        regarding: policy,
        type: 'Normal',
        reason: 'MirrorUpdated',
        action: 'Update',
        note: `updated ${u.mirror.metadata.name} to the policy's template`,
      });
  }
  for (const d of plan.delete) {
    try {
      // Exactly the mirror planned on (a new one of the same name is not deleted).
      await mgr.rest.request(
        'DELETE',
        resourcePath(mirrorGvr, d.mirror.metadata.namespace, d.mirror.metadata.name),
        {
          body: {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            preconditions: { uid: d.mirror.metadata.uid },
          },
        },
      );
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
      continue;
    }
    mgr.log.info({ mirror: d.mirror.metadata.name, why: d.why }, 'deleted a mirror');
    void mgr.events.record({
      regarding: policy,
      type: 'Normal',
      reason: 'MirrorDeleted',
      action: 'Delete',
      note: `deleted ${d.mirror.metadata.name}: ${d.why}`,
    });
  }
}

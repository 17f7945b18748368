// The LoadBalancerMirror reconciler (the shell around plan.ts): read the mirror, Octavia and
// AWS; plan; act only on real differences; write status conditions and events. Nothing is
// deleted unless Octavia answered in full: an unreachable or half-answering API leaves the NLB
// as it is and the mirror Degraded.
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
import { setCondition, type Condition } from '../../runtime/conditions.js';
import {
  addFinalizer,
  hasFinalizer,
  isDeleting,
  removeFinalizer as removeFinalizerOf,
  update,
  updateStatus,
} from '../../runtime/objects.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAwsError } from '../../clouds/aws/errors.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import {
  loadBalancerMirrorKind,
  type LoadBalancerMirror,
  type LoadBalancerMirrorStatus,
} from '../../api/loadbalancermirror.js';
import { gvrOf } from '../../api/kind.js';
import { parseDuration } from '../../runtime/duration.js';
import { timestamp } from '../../runtime/time.js';
import { OpenStackError } from '../../clouds/openstack/errors.js';
import type { ObservedStack } from '../../clouds/aws/types.js';
import {
  MANAGED_BY_TAG,
  OCTAVIA_TAG,
  OWNER_TAG,
  RESOURCE_TAG,
  describeAction,
  diffStack,
  incompleteAnswer,
  ownerTagValue,
  pendingObjects,
  planStack,
  putBackList,
  putBacks,
  teardown,
  type Action,
  type MirrorInput,
  type MirrorPlan,
  type Naming,
} from './plan.js';
import type { Arns, AwsStackApi, MirrorClouds } from './ports.js';
import { removeDns, type DnsMemo } from './dnssync.js';
import { conditionSetter, dnsStep } from './dnsstep.js';
import { Prober, type Probe } from './prober.js';
import { nextSyncDelay, statusWriteDue } from './schedule.js';
import { claim, claimName, release } from './claim.js';
import { syncPath, targetDrift, targetHealthOf } from './drift.js';
import { afterWholeRead, treeRead, type TreeSeen } from './octaviaread.js';

export const FINALIZER = 'kachiku.io/loadbalancermirror';
export const mirrorGvr = gvrOf(loadBalancerMirrorKind);

export interface MirrorDeps {
  clouds: MirrorClouds;
  naming: (mirror: MirrorInput) => Naming;
  /** Observed after each AWS action; tests use it to stop a sync half-way (a crash). */
  afterAction?: (description: string) => Promise<void> | void;
  /** Seconds of one whole sync, by outcome, and the mirror's key (namespace/name). */
  onSync?: (
    outcome: 'synced' | 'waiting' | 'degraded' | 'invalid' | 'error',
    seconds: number,
    key: string,
  ) => void;
  /** How soon to look again while Octavia is PENDING_*. */
  pendingRetryMs?: number;
  /**
   * Every how many syncs AWS is read even though Octavia's plan has not changed, to put back
   * drift made by hand (default 10: ten minutes at the default interval). In between, a sync
   * whose plan equals the last one AWS was found or made to match reads nothing from AWS.
   */
  awsCheckEvery?: number;
  /**
   * Every how many syncs Octavia's whole tree is read even though its load balancer's
   * `updated_at` says nothing changed (default 10; see octaviaread.ts). In between, a sync
   * reads the load balancer alone.
   */
  octaviaReadEvery?: number;
  /** Controller-mode DNS failover probes (tests replace the network). */
  probe?: Probe;
}

/** What the controller remembers between syncs, by mirror key; all of it may be lost. */
interface MirrorMemory {
  confirmed: Map<string, Confirmed>;
  /** The last whole Octavia tree of each mirror (octaviaread.ts). */
  trees: Map<string, TreeSeen>;
  dns: Map<string, DnsMemo>;
  prober: Prober;
  /** Mirrors whose probed side changed state: their next reconcile is DNS only. */
  urgent: Set<string>;
}

/**
 * What the last successful sync of a mirror left AWS as: the plan it matches and the ARNs.
 * In memory only: after a restart the first sync reads AWS by the ARNs in status (a scan only
 * when they are missing or wrong) and checks the subnets again.
 */
interface Confirmed {
  generation: number | undefined;
  planKey: string;
  loadBalancerArn: string;
  dns: { dnsName: string; canonicalHostedZoneId: string };
  targetGroupArns: Map<string, string>;
  syncsSinceCheck: number;
  /** Registered targets AWS reported healthy at the last targets read, if nothing changed since. */
  health?: TargetHealthCount;
}

type TargetHealthCount = ReturnType<typeof targetHealthOf>;

type Status = LoadBalancerMirrorStatus;

type Outcome = 'waiting' | 'degraded' | 'invalid';

/** Reasons of a sync stopped by the outside (Octavia, AWS), not by the spec. */
const DEGRADED = new Set<string>([
  Reason.OctaviaUnreachable,
  Reason.OctaviaIncomplete,
  Reason.AWSUnreachable,
  Reason.ReconcileError,
]);

/**
 * How a stopped sync is reported: waiting (it looks again soon), degraded (the outside failed;
 * nothing was changed in AWS), or invalid (the spec or what it names must change).
 */
function outcomeOf(err: TerminalError): Outcome {
  if (err.requeueAfterMs) return 'waiting';
  return DEGRADED.has(err.reason) ? 'degraded' : 'invalid';
}

export function mirrorInput(m: LoadBalancerMirror): MirrorInput {
  return {
    namespace: m.metadata.namespace ?? 'default',
    name: m.metadata.name,
    loadBalancerID: m.spec.octavia.loadBalancerID,
    vpcId: m.spec.aws.vpcID,
    subnetIds: m.spec.aws.subnetIDs,
    scheme: m.spec.aws.scheme ?? 'internal',
    extraTags: m.spec.aws.tags ?? {},
  };
}

export function registerLoadBalancerMirror(mgr: Manager, deps: MirrorDeps): void {
  const mirrors = mgr.informer<LoadBalancerMirror>(mirrorGvr);
  const memory: MirrorMemory = {
    confirmed: new Map(),
    trees: new Map(),
    dns: new Map(),
    // A side changing state in controller mode syncs its mirror's DNS at once.
    prober: new Prober((key) => {
      memory.urgent.add(key);
      controller.enqueue(parseKey(key));
    }, deps.probe),
    urgent: new Set(),
  };
  const controller = mgr
    .controller({
      name: 'loadbalancermirror',
      // A sync mostly waits on Octavia and AWS; 8 at once also lets Route 53 changes of many
      // mirrors failing over together join into few batches.
      concurrency: 8,
      reconcile: (req, ctx) =>
        reconcile(mgr, mirrors, memory, deps, req, ctx, (r) => controller.enqueue(r)),
    })
    // Spec, deletion and finalizer changes only: the mirror's own status writes must not
    // trigger another sync; requeueAfter keeps the interval.
    .for(mirrors, generationChanged);
  // The probes stop with the controllers (shutdown, or leadership lost).
  mgr.add({
    name: 'loadbalancermirror probes',
    start: () => {},
    stop: () => memory.prober.stopAll(),
  });
}

async function reconcile(
  mgr: Manager,
  mirrors: Informer<LoadBalancerMirror>,
  memory: MirrorMemory,
  deps: MirrorDeps,
  req: Request,
  ctx: ReconcileContext,
  enqueue: (req: Request) => void,
): Promise<Result | void> {
  const { confirmed } = memory;
  const key = `${req.namespace}/${req.name}`;
  const cached = mirrors.get(key);
  if (!cached || isDeleting(cached)) {
    confirmed.delete(key);
    memory.trees.delete(key);
    memory.dns.delete(key);
    memory.prober.stop(key);
  }
  if (!cached) return;
  if (isDeleting(cached))
    return finalize(mgr, deps, cached, ctx, (gone) => {
      // Other mirrors of the same load balancer, waiting as DuplicateMirror, look again now.
      for (const m of mirrors.list())
        if (
          m.metadata.uid !== gone.metadata.uid &&
          m.metadata.namespace === gone.metadata.namespace &&
          m.spec.octavia.loadBalancerID === gone.spec.octavia.loadBalancerID
        )
          enqueue({ namespace: m.metadata.namespace, name: m.metadata.name });
    });
  const mirror = hasFinalizer(cached, FINALIZER)
    ? cached
    : await addFinalizer(mgr.rest, mirrorGvr, cached, FINALIZER);

  const started = performance.now();
  const conditions0 = [...(mirror.status?.conditions ?? [])] as Condition[];
  if (memory.urgent.delete(key) && mirror.spec.dns && mirror.status?.loadBalancer) {
    // A failover: Route 53 only, without waiting on Octavia's API; the NLB's own sync, already
    // scheduled, stays where it is (a pending requeueAfter is kept).
    const status: Partial<Status> = {};
    await dnsStep(
      { mgr, route53: deps.clouds.route53, checkEvery: deps.awsCheckEvery ?? 10, ...memory },
      mirror,
      status,
      undefined,
      conditionSetter(conditions0, mirror.metadata.generation),
      conditions0,
    );
    await writeStatus(mgr, mirror, status, conditions0);
    return;
  }
  const interval = parseDuration(mirror.spec.syncInterval ?? '60s');
  // One interval after this sync started, less up to 10 % so that many mirrors do not all sync
  // in the same second (set again once the sync is done, from the time it took).
  const jitter = Math.random();
  const next = { requeueAfterMs: interval };
  let waitSet = false;
  const conditions: Condition[] = [...(mirror.status?.conditions ?? [])] as Condition[];
  const set = conditionSetter(conditions, mirror.metadata.generation);

  let outcome: Parameters<NonNullable<MirrorDeps['onSync']>>[0] = 'synced';
  let status: Partial<Status> = {};
  let vip: string | undefined;
  let health: TargetHealthCount | undefined;
  // Changes made in AWS outside kachiku that this sync undid, even if a later step failed.
  const putBack: string[] = [];
  try {
    ({ status, vip, health } = await sync(mgr, deps, mirror, ctx, memory, putBack, () =>
      memory.dns.delete(key),
    ));
    const partial = (status.notMirrored ?? []).length > 0;
    set(
      ConditionType.Synced,
      'True',
      Reason.InSync,
      `AWS matches Octavia (${status.targetsRegistered ?? 0} targets${health ? `, ${health.healthy} healthy` : ''})`,
    );
    set(ConditionType.Degraded, 'False', Reason.InSync, '');
    set(
      ConditionType.Ready,
      'True',
      partial ? Reason.PartiallyMirrored : Reason.InSync,
      partial
        ? `mirrored; ${status.notMirrored!.length} Octavia feature(s) could not be mirrored as they are: see status.notMirrored`
        : 'mirrored',
    );
  } catch (err) {
    // Whatever AWS is now, the next sync looks.
    confirmed.delete(key);
    // Cancelled (leadership lost): nothing more is written, not even the status.
    if (ctx.signal.aborted) throw err;
    if (!(err instanceof TerminalError)) {
      outcome = 'error';
      set(ConditionType.Synced, 'False', Reason.ReconcileError, errorMessage(err));
      await writeStatus(mgr, mirror, withPutBack(status, putBack), conditions);
      deps.onSync?.(outcome, (performance.now() - started) / 1000, key);
      throw err;
    }
    outcome = outcomeOf(err);
    set(ConditionType.Synced, 'False', err.reason, err.message);
    if (outcome === 'invalid') {
      set(ConditionType.Ready, 'False', err.reason, err.message);
    } else if (outcome === 'degraded') {
      set(ConditionType.Degraded, 'True', err.reason, `${err.message}; nothing was changed in AWS`);
    }
    void mgr.events.record({
      regarding: mirror,
      type: 'Warning',
      reason: err.reason,
      action: 'Sync',
      note: err.message,
    });
    if (err.requeueAfterMs) {
      next.requeueAfterMs = err.requeueAfterMs;
      waitSet = true;
    }
  }
  if (!waitSet) next.requeueAfterMs = nextSyncDelay(interval, performance.now() - started, jitter);
  status = withPutBack(status, putBack);
  // DNS runs whatever became of the NLB's sync: failover must not wait for Octavia's API.
  if (mirror.spec.dns || mirror.status?.dns) {
    const retry = await dnsStep(
      { mgr, route53: deps.clouds.route53, checkEvery: deps.awsCheckEvery ?? 10, ...memory },
      mirror,
      status,
      vip,
      set,
      conditions,
    );
    if (retry) next.requeueAfterMs = Math.min(next.requeueAfterMs, deps.pendingRetryMs ?? 5000);
  }
  // Written when something changed, else once a minute (lastSyncTime alone is no news).
  if (statusWriteDue(mirror, status, conditions))
    await writeStatus(mgr, mirror, status, conditions);
  deps.onSync?.(outcome, (performance.now() - started) / 1000, key);
  return next;
}

/** The status with what the sync put back, if it put anything back (else as it was). */
function withPutBack(status: Partial<Status>, putBack: string[]): Partial<Status> {
  if (putBack.length === 0) return status;
  return { ...status, lastPutBack: { time: timestamp(), what: putBackList(putBack) } };
}

/** Whether the last sync that went through was for this spec (its Synced condition says so). */
function syncedThisSpec(mirror: LoadBalancerMirror): boolean {
  const synced = mirror.status?.conditions?.find((c) => c.type === ConditionType.Synced);
  return synced?.status === 'True' && synced.observedGeneration === mirror.metadata.generation;
}

async function writeStatus(
  mgr: Manager,
  mirror: LoadBalancerMirror,
  status: Partial<Status>,
  conditions: Condition[],
): Promise<void> {
  await updateStatus<Status, LoadBalancerMirror>(mgr.rest, mirrorGvr, mirror, (fresh) => ({
    ...(fresh.status ?? {}),
    ...status,
    observedGeneration: mirror.metadata.generation,
    conditions,
  }));
}

async function sync(
  mgr: Manager,
  deps: MirrorDeps,
  mirror: LoadBalancerMirror,
  ctx: ReconcileContext,
  memory: MirrorMemory,
  putBack: string[],
  onDrift: () => void,
): Promise<{ status: Partial<Status>; vip: string; health?: TargetHealthCount }> {
  const { confirmed: memo, trees } = memory;
  const input = mirrorInput(mirror);
  const key = `${input.namespace}/${input.name}`;
  const owner = ownerTagValue(input);
  const last = memo.get(key);
  // Checks of the spec against AWS run when the spec is new to this controller.
  const known = last?.generation === mirror.metadata.generation ? last : undefined;
  const aws = await guard(() => deps.clouds.aws(mirror), 'aws');
  const octavia = await guard(() => deps.clouds.octavia(mirror), 'octavia');

  if (!known) {
    const outside = await guard(() => aws.subnetsOutside(input.vpcId, input.subnetIds), 'aws');
    if (outside.length > 0) {
      throw new TerminalError(
        Reason.SubnetNotInVPC,
        `subnet(s) ${outside.join(', ')} are not in VPC ${input.vpcId}`,
      );
    }
  }

  // The load balancer alone says whether its tree can have changed since the last whole read.
  const readAt = performance.now();
  const loadBalancer = await guard(() => octavia.getLoadBalancer(input.loadBalancerID), 'octavia');
  const seen = trees.get(key);
  const whole = treeRead(seen, loadBalancer, deps.octaviaReadEvery ?? 10) === 'whole';
  const tree = whole
    ? await guard(() => octavia.getTree(input.loadBalancerID, loadBalancer), 'octavia')
    : { ...seen!.tree, loadBalancer };
  const pending = pendingObjects(tree);
  const incomplete = incompleteAnswer(tree);
  // A tree that is mid-change or in part is not one to trust later either.
  if (pending.length > 0 || incomplete.length > 0) trees.delete(key);
  if (pending.length > 0) {
    throw new TerminalError(
      Reason.OctaviaPending,
      `Octavia is changing (${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', …' : ''}): waiting for ACTIVE`,
      deps.pendingRetryMs ?? 2000,
    );
  }
  // A half answer must not read as "fewer listeners, pools or members": nothing is planned.
  if (incomplete.length > 0) {
    throw new TerminalError(
      Reason.OctaviaIncomplete,
      `Octavia answered in part (${incomplete.slice(0, 3).join('; ')}${incomplete.length > 3 ? '; …' : ''}): no target deregistered, looking again`,
      INCOMPLETE_RETRY_MS,
    );
  }
  if (tree.loadBalancer.provisioning_status === 'ERROR') {
    throw new TerminalError(
      Reason.ReconcileError,
      `Octavia load balancer ${input.loadBalancerID} is in ERROR`,
    );
  }
  // A tree without pending or missing parts: trusted, by the rules of octaviaread.ts.
  if (!whole) seen!.syncsSinceRead++;
  else {
    const now = afterWholeRead(seen, tree, readAt);
    if (now) trees.set(key, now);
    else trees.delete(key);
  }
  const plan = planStack(input, tree, deps.naming(input));
  const planKey = JSON.stringify(plan.stack);

  // Octavia has not changed since AWS last matched it: one DescribeTargetHealth per target
  // group (a target deregistered, a target group gone: moto or AWS lost it, or a hand did),
  // the whole stack read only every awsCheckEvery syncs, for listeners, attributes and tags.
  if (known && syncPath(known, planKey, deps.awsCheckEvery ?? 10) === 'targets') {
    const groups = await guard(
      () =>
        Promise.all(
          plan.stack.targetGroups.map(async (tg) => {
            const arn = known.targetGroupArns.get(tg.name);
            return {
              name: tg.name,
              planned: tg.targets,
              read: arn ? await aws.targetHealth(arn) : undefined,
            };
          }),
        ),
      'aws',
    );
    const drift = targetDrift(groups);
    if (drift.length === 0) {
      known.syncsSinceCheck++;
      known.health = targetHealthOf(groups);
      return {
        status: statusOf(plan, known),
        vip: tree.loadBalancer.vip_address,
        health: known.health,
      };
    }
    // AWS no longer matches: this sync goes the full way (a drift check, as every
    // awsCheckEvery-th is), and Route 53, which may have lost its part too, is read whole.
    ctx.log.info({ drift }, 'AWS differs from the plan: reading it whole');
    onDrift();
  }

  // One owner per Octavia load balancer, claimed before the stack is read or anything made in
  // AWS (after the checks of the spec, so that a bad spec is reported as such).
  const claimed = await claim(mgr.rest, mirror);
  if (!claimed.ours) {
    throw new TerminalError(
      Reason.DuplicateMirror,
      `Octavia load balancer ${input.loadBalancerID} is already mirrored by ${input.namespace}/${claimed.holder} (it holds Lease ${input.namespace}/${claimName(input.loadBalancerID)})`,
    );
  }
  // By ARN when they are known: from this controller's memory, or, after a restart or a
  // leader change, from the status the last sync wrote (Crossplane's external name); the
  // region-wide scan only when neither holds or what they name is gone or not ours.
  const byArn = known
    ? {
        loadBalancerArn: known.loadBalancerArn,
        targetGroupArns: [...known.targetGroupArns.values()],
      }
    : arnsInStatus(mirror);
  const observed = await guard(async () => {
    if (byArn) {
      const found = await aws.observeKnown(owner, byArn);
      if (found) return found;
    }
    return scan(aws, input, owner);
  }, 'aws');

  const actions = diffStack(plan.stack, observed);
  // Which of them undo changes made in AWS by hand rather than follow the spec or Octavia.
  const undo = new Set(
    putBacks(actions, {
      spec: Boolean(known) || syncedThisSpec(mirror),
      plan: known?.planKey === planKey,
    }),
  );
  // From the first AWS resource found or made on, deletion must clean up (or be told to
  // Retain): the mark says so even when a sync fails before its status records an ARN.
  const found = observed.loadBalancer || observed.targetGroups.length > 0;
  if ((found || actions.length > 0) && !madeInAws(mirror)) await markMadeInAws(mgr, mirror);
  const arns: Arns = {
    loadBalancer: observed.loadBalancer?.arn,
    ...(observed.loadBalancer && {
      dns: {
        dnsName: observed.loadBalancer.dnsName,
        canonicalHostedZoneId: observed.loadBalancer.canonicalHostedZoneId,
      },
    }),
    targetGroups: new Map(observed.targetGroups.map((tg) => [tg.name, tg.arn])),
  };
  // A new NLB (a first sync, or the old one lost): Route 53 may have lost its part with it, or
  // point at the old one; it is read whole in this sync.
  if (actions.some((a) => a.kind === 'createLoadBalancer')) onDrift();
  for (const action of actions) {
    const what = describeAction(action);
    ctx.log.info({ action: action.kind }, what);
    await guard(() => aws.apply(action, arns), 'aws');
    if (undo.has(action)) putBack.push(what);
    void mgr.events.record({
      regarding: mirror,
      type: 'Normal',
      reason: eventReason(action.kind),
      action: action.kind,
      note: what,
    });
    await deps.afterAction?.(what);
  }
  // Every action succeeded, so AWS now holds the plan: the status comes from it and from the
  // ARNs found or made, without reading AWS again.
  const now: Confirmed = {
    generation: mirror.metadata.generation,
    // What the last targets read said, while nothing was changed since.
    health: actions.length === 0 ? known?.health : undefined,
    planKey,
    loadBalancerArn: arns.loadBalancer ?? '',
    dns: arns.dns ?? { dnsName: '', canonicalHostedZoneId: '' },
    targetGroupArns: new Map(
      plan.stack.targetGroups.flatMap((tg) => {
        const arn = arns.targetGroups.get(tg.name);
        return arn ? [[tg.name, arn] as const] : [];
      }),
    ),
    syncsSinceCheck: 0,
  };
  if (now.loadBalancerArn && now.targetGroupArns.size === plan.stack.targetGroups.length)
    memo.set(key, now);
  return { status: statusOf(plan, now), vip: tree.loadBalancer.vip_address, health: now.health };
}

/**
 * The ARNs the status records, if it was written for this spec: the load balancer's and every
 * listener's target group.
 */
export function arnsInStatus(
  mirror: LoadBalancerMirror,
): { loadBalancerArn: string; targetGroupArns: string[] } | undefined {
  const st = mirror.status;
  if (!st?.loadBalancer?.arn || st.observedGeneration !== mirror.metadata.generation) return;
  const targetGroupArns = [
    ...new Set((st.listeners ?? []).map((l) => l.targetGroupARN).filter((a): a is string => !!a)),
  ];
  if (targetGroupArns.length === 0) return;
  return { loadBalancerArn: st.loadBalancer.arn, targetGroupArns };
}

/** The region-wide scan, which also finds another mirror of the same Octavia load balancer. */
async function scan(aws: AwsStackApi, input: MirrorInput, owner: string): Promise<ObservedStack> {
  const observed = await aws.observe(owner, input.vpcId, input.loadBalancerID);
  const others = observed.relatedOwners ?? [];
  if (others.length > 0) {
    throw new TerminalError(
      Reason.DuplicateMirror,
      `Octavia load balancer ${input.loadBalancerID} is already mirrored into ${input.vpcId} by ${others.join(', ')}`,
    );
  }
  return observed;
}

function statusOf(plan: MirrorPlan, aws: Confirmed): Partial<Status> {
  const byName = new Map(plan.stack.targetGroups.map((tg) => [tg.name, tg]));
  return {
    loadBalancer: aws.loadBalancerArn
      ? {
          arn: aws.loadBalancerArn,
          dnsName: aws.dns.dnsName,
          canonicalHostedZoneID: aws.dns.canonicalHostedZoneId,
        }
      : undefined,
    listeners: plan.listeners.map((l) => ({
      port: l.port,
      protocol: l.protocol === 'TLS' ? 'TCP' : l.protocol,
      octaviaListenerID: l.octaviaListenerID,
      octaviaProtocol: l.octaviaProtocol,
      targetGroupARN: aws.targetGroupArns.get(l.targetGroup),
      targets: byName.get(l.targetGroup)?.targets.length ?? 0,
    })),
    membersSeen: plan.membersSeen,
    targetsRegistered: plan.stack.targetGroups.reduce((n, tg) => n + tg.targets.length, 0),
    lastSyncTime: timestamp(),
    notMirrored: plan.notMirrored,
  };
}

/** Set on a mirror once it has found or made anything in AWS. */
export const AWS_RESOURCES_ANNOTATION = 'kachiku.io/aws-resources';

/** Whether the mirror may have anything in AWS: an ARN in status, or the mark. */
export function madeInAws(mirror: LoadBalancerMirror): boolean {
  return Boolean(
    mirror.metadata.annotations?.[AWS_RESOURCES_ANNOTATION] ||
    mirror.status?.loadBalancer?.arn ||
    mirror.status?.listeners?.some((l) => l.targetGroupARN),
  );
}

async function markMadeInAws(mgr: Manager, mirror: LoadBalancerMirror): Promise<void> {
  const fresh = await update(mgr.rest, mirrorGvr, mirror, (m) => {
    if (m.metadata.annotations?.[AWS_RESOURCES_ANNOTATION]) return false;
    m.metadata.annotations = { ...m.metadata.annotations, [AWS_RESOURCES_ANNOTATION]: 'true' };
    return true;
  });
  mirror.metadata.annotations = fresh.metadata.annotations;
  mirror.metadata.resourceVersion = fresh.metadata.resourceVersion;
}

/** How often a target group still in use (its listener going with the NLB) is asked again. */
const IN_USE_RETRIES = 5;

/** Deletion: remove (Delete) or release (Retain) what the mirror made, then the finalizer. */
async function finalize(
  mgr: Manager,
  deps: MirrorDeps,
  mirror: LoadBalancerMirror,
  ctx: ReconcileContext,
  nudge: (m: LoadBalancerMirror) => void,
): Promise<Result | void> {
  if (!hasFinalizer(mirror, FINALIZER)) return;
  // The claim goes last, with the finalizer: the next mirror of the load balancer (told at
  // once) may then build its own NLB.
  const removeFinalizer = async (...args: Parameters<typeof removeFinalizerOf>) => {
    await release(mgr.rest, mirror);
    await removeFinalizerOf(...args);
    nudge(mirror);
  };
  const input = mirrorInput(mirror);
  const retain = (mirror.spec.deletionPolicy ?? 'Delete') === 'Retain';
  // Never found or made anything in AWS (nor DNS records): nothing to clean up, nothing to
  // wait for, even when AWS cannot be reached (e.g. its credentials Secret never existed).
  if (!madeInAws(mirror) && !mirror.status?.dns) {
    void mgr.events.record({
      regarding: mirror,
      type: 'Normal',
      reason: 'Deleted',
      action: 'Delete',
      note: 'nothing was made in AWS: nothing to clean up',
    });
    await removeFinalizer(mgr.rest, mirrorGvr, mirror, FINALIZER);
    return;
  }
  let aws: AwsStackApi;
  let observed: ObservedStack;
  try {
    // Records first: they point at the NLB. Route 53 records cannot be untagged, so they go
    // under either deletion policy.
    if (mirror.spec.dns || mirror.status?.dns) {
      const dns = mirror.status?.dns;
      const removed = await removeDns(
        await deps.clouds.route53(mirror),
        { namespace: input.namespace, name: input.name, uid: mirror.metadata.uid ?? '' },
        dns?.hostedZoneID,
        [...(mirror.spec.dns?.recordNames ?? []), ...(dns?.records ?? []).map((r) => r.name)],
      );
      ctx.log.info({ removed }, 'removed the DNS records and health checks');
    }
    aws = await deps.clouds.aws(mirror);
    observed = await aws.observe(ownerTagValue(input), input.vpcId);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    if (retain) {
      // The operator chose to leave the resources: they stay, still carrying kachiku's tags.
      void mgr.events.record({
        regarding: mirror,
        type: 'Warning',
        reason: 'Retained',
        action: 'Delete',
        note: `cannot reach AWS (${errorMessage(err)}): its resources are left in place, still tagged as kachiku's`,
      });
      await removeFinalizer(mgr.rest, mirrorGvr, mirror, FINALIZER);
      return;
    }
    // Keep the finalizer: forgetting what was made in AWS would leak it.
    const message = `cannot reach AWS to clean up: ${errorMessage(err)}; the mirror stays until AWS can be cleaned up, or set spec.deletionPolicy: Retain to leave its resources in AWS`;
    await deletingCondition(mgr, mirror, message);
    throw new Error(message);
  }
  if (!retain) {
    const inUse: Action[] = [];
    for (const action of teardown(observed)) {
      ctx.log.info({ action: action.kind }, describeAction(action));
      try {
        await aws.apply(action, { targetGroups: new Map() });
      } catch (err) {
        // A listener still forwarding to it: it goes with the load balancer, asked again below.
        if (action.kind === 'deleteTargetGroup' && isAwsError(err, 'InUse')) inUse.push(action);
        else throw err;
      }
    }
    if (observed.loadBalancer) await aws.deleteLoadBalancer(observed.loadBalancer.arn);
    for (let attempt = 0; inUse.length > 0; attempt++) {
      const action = inUse[0]!;
      try {
        await aws.apply(action, { targetGroups: new Map() });
        inUse.shift();
      } catch (err) {
        if (!isAwsError(err, 'InUse') || attempt >= IN_USE_RETRIES) throw err;
        await sleep(1000 * (attempt + 1), undefined, { signal: ctx.signal });
      }
    }
    // Verified, not assumed: each ARN asked again, and the tag scan finds nothing more.
    const arns = {
      loadBalancers: observed.loadBalancer ? [observed.loadBalancer.arn] : [],
      targetGroups: observed.targetGroups.map((tg) => tg.arn),
      listeners: observed.listeners.map((l) => l.arn),
    };
    const left = await aws.remaining(arns);
    const again = await aws.observe(ownerTagValue(input), input.vpcId);
    const stray = [
      ...(again.loadBalancer ? [again.loadBalancer.arn] : []),
      ...again.targetGroups.map((tg) => tg.arn),
    ].filter((arn) => !left.includes(arn));
    if (left.length + stray.length > 0) {
      const message = `waiting for AWS to delete ${[...left, ...stray].join(', ')}`;
      await deletingCondition(mgr, mirror, message);
      return { requeueAfterMs: deps.pendingRetryMs ?? 5000 };
    }
    void mgr.events.record({
      regarding: mirror,
      type: 'Normal',
      reason: 'Deleted',
      action: 'Delete',
      note: `deleted the NLB, ${observed.targetGroups.length} target group(s) and ${observed.listeners.length} listener(s)`,
    });
  } else {
    const arns = [
      observed.loadBalancer?.arn,
      ...observed.targetGroups.map((t) => t.arn),
      ...observed.listeners.map((l) => l.arn),
    ].filter((a): a is string => Boolean(a));
    await aws.untag(arns, [OWNER_TAG, OCTAVIA_TAG, RESOURCE_TAG, MANAGED_BY_TAG]);
    void mgr.events.record({
      regarding: mirror,
      type: 'Normal',
      reason: 'Retained',
      action: 'Delete',
      note: `left ${arns.length} AWS resource(s) in place without kachiku's tags`,
    });
  }
  await removeFinalizer(mgr.rest, mirrorGvr, mirror, FINALIZER);
}

async function deletingCondition(
  mgr: Manager,
  mirror: LoadBalancerMirror,
  message: string,
): Promise<void> {
  const conditions = setCondition(
    mirror.status?.conditions as Condition[] | undefined,
    { type: ConditionType.Ready, status: 'False', reason: Reason.Deleting, message },
    mirror.metadata.generation,
  );
  await writeStatus(mgr, mirror, {}, conditions);
}

/** How soon a sync stopped by a half answer from Octavia looks again. */
const INCOMPLETE_RETRY_MS = 2000;

/**
 * Runs a call to Octavia or AWS, turning the failures a condition can explain into a
 * TerminalError.
 */
async function guard<T>(call: () => Promise<T>, side: 'octavia' | 'aws'): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof TerminalError) throw err;
    if (err instanceof OpenStackError) {
      // Only the load balancer itself missing means it is gone; a pool or member list that
      // 404s mid-read is a half answer (a pool deleted in between, or a faulty API).
      if (err.kind === 'NotFound' && err.service === 'octavia')
        throw err.operation === 'getLoadBalancer'
          ? new TerminalError(Reason.LoadBalancerNotFound, err.message)
          : new TerminalError(
              Reason.OctaviaIncomplete,
              `Octavia answered in part: ${err.message}; no target deregistered, looking again`,
              INCOMPLETE_RETRY_MS,
            );
      if (err.kind === 'NotFound') throw new TerminalError(Reason.InvalidSpec, err.message);
      if (err.kind === 'Unauthorized' || err.kind === 'Forbidden')
        throw new TerminalError(Reason.AuthenticationFailed, err.message);
      if (err.kind === 'Config') throw new TerminalError(Reason.InvalidSpec, err.message);
      throw new TerminalError(Reason.OctaviaUnreachable, err.message);
    }
    const kind = (err as { kind?: string }).kind;
    if (side === 'aws' && (kind === 'Unreachable' || kind === 'Throttled'))
      throw new TerminalError(Reason.AWSUnreachable, errorMessage(err));
    // A request AWS refuses (or kachiku's constraints refuse before sending) fails the same
    // way on every retry: a condition, not a backoff loop.
    if (side === 'aws' && kind === 'Invalid')
      throw new TerminalError(Reason.InvalidSpec, errorMessage(err));
    if (side === 'aws' && kind === 'AccessDenied')
      throw new TerminalError(Reason.AuthenticationFailed, errorMessage(err));
    throw err;
  }
}

function eventReason(kind: string): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// The MemberCluster reconciler: read the kubeconfig Secret, keep the cluster's connection in the
// ClusterRegistry, probe the cluster every interval and report what it found (version, Nodes,
// allocatable, Prods hosted, Ready and Reachable). Reachability is judged with hysteresis
// (probe.ts) and handed to the registry, which Prods and other users read.
//
// The status is not written after every probe: a healthy cluster would cost a write, and a
// watch event to every MemberCluster informer, each interval just for a newer lastProbeTime.
// It is written when something changed, while Reachable is counting, and at least once a
// minute so that lastProbeTime still shows the prober alive (probeWriteDue). Between writes the
// probe counters live in memory only.
//
// No finalizer: the only thing made for a MemberCluster is the in-memory connection, and the
// informer reports every deletion (a relist catches one missed while disconnected), so the
// reconcile that finds the object gone drops the connection reliably.
import { isDeepStrictEqual } from 'node:util';
import type { Manager } from '../../runtime/manager.js';
import {
  TerminalError,
  generationChanged,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import { keyOf, type Informer } from '../../runtime/informer.js';
import { isForbidden, isNotFound, type KubeObject } from '../../runtime/rest.js';
import { findCondition, setCondition, type Condition } from '../../runtime/conditions.js';
import { isDeleting, updateStatus } from '../../runtime/objects.js';
import type { ClusterConnection, ClusterRegistry } from '../../runtime/clusters.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import {
  memberClusterKind,
  type MemberCluster,
  type MemberClusterStatus,
} from '../../api/membercluster.js';
import { gvrOf } from '../../api/kind.js';
import {
  nextReachability,
  probeCluster,
  ProbeError,
  type ProbeHistory,
  type ProbeResult,
  type Reachability,
} from './probe.js';
import { secretGvr } from '../../runtime/core.js';
import { timestamp } from '../../runtime/time.js';

export const memberClusterGvr = gvrOf(memberClusterKind);
export const DEFAULT_KUBECONFIG_KEY = 'kubeconfig';
/** A steady cluster's status is rewritten this often, to refresh status.probe.lastProbeTime. */
export const PROBE_RECORD_MAX_AGE_MS = 60_000;

export interface MemberClusterDeps {
  registry: ClusterRegistry;
  /** How often each cluster is probed (jittered ±10 %). */
  probeIntervalMs?: number;
  /** Bound of each probe request. */
  probeTimeoutMs?: number;
  failuresToUnreachable?: number;
  successesToReachable?: number;
  /** Prods hosted by a cluster, as the Prod controller counts them. */
  prodsHosted?: (cluster: string) => number;
  /**
   * Namespaces whose Secrets may hold kubeconfigs: watched there, and a reference elsewhere is
   * refused with a clear condition (RBAC grants kachiku Secrets only there). Default: the
   * manager's namespace scope.
   */
  secretNamespaces?: string[];
  /** Observes each probe (metrics). */
  onProbe?: (cluster: string, outcome: 'success' | 'failure', seconds: number) => void;
}

type Status = MemberClusterStatus;

/** Only what is needed to notice a change: a Secret's data never enters this cache. */
interface SecretMeta extends KubeObject {
  data?: Record<string, string>;
}

/** Which Secret version a cluster's current connection was made from. */
interface Source {
  secret: string;
  key: string;
  resourceVersion?: string;
}

/**
 * What this replica remembers per cluster. The probe history is also in status (and read from
 * there after a restart or a change of leader), but the cache may not yet hold the status
 * written a second ago; counting from it could count one probe twice or not at all.
 */
interface Memory {
  sources: Map<string, Source>;
  histories: Map<string, ProbeHistory>;
}

const secretRefKey = (mc: MemberCluster) =>
  `${mc.spec.kubeconfigSecretRef.namespace}/${mc.spec.kubeconfigSecretRef.name}`;

/**
 * The kubeconfig Secrets' informer: Helm release Secrets skipped, and of each Secret only what
 * notices a change (name, version); bench/metadata.bench.ts measures it whole and metadata-only.
 */
export const secretInformerOptions = {
  fieldSelector: 'type!=helm.sh/release.v1',
  transform: <S extends KubeObject>(s: S): S =>
    ({
      apiVersion: s.apiVersion,
      kind: s.kind,
      metadata: {
        name: s.metadata.name,
        namespace: s.metadata.namespace,
        uid: s.metadata.uid,
        resourceVersion: s.metadata.resourceVersion,
      },
    }) as S,
};

export function registerMemberClusterController(mgr: Manager, deps: MemberClusterDeps): void {
  const clusters = mgr.informer<MemberCluster>(memberClusterGvr);
  clusters.addIndex('secret', (mc) => [secretRefKey(mc)]);
  // Secrets as metadata only: the apiserver sends PartialObjectMetadata, so their data never
  // reaches this process through the informer (a sync of 2,000 8 KiB Secrets: 1 MB instead of
  // 17 MB, bench/README.md); of that, only the name and version are kept (any last-applied
  // annotation could copy the data). Helm release Secrets, large and frequently rewritten, are
  // skipped. The kubeconfig itself is read with a GET when the Secret's version changes.
  const secretOpts = { ...secretInformerOptions, metadataOnly: true };
  const secrets = deps.secretNamespaces
    ? new SecretCaches(
        deps.secretNamespaces.map((namespace) =>
          mgr.informer<SecretMeta>(secretGvr, { ...secretOpts, namespace }),
        ),
        deps.secretNamespaces,
      )
    : new SecretCaches([mgr.informer<SecretMeta>(secretGvr, secretOpts)]);
  const memory: Memory = { sources: new Map(), histories: new Map() };
  const ctl = mgr
    .controller({
      name: 'membercluster',
      concurrency: 4,
      reconcile: (req, ctx) => reconcile(mgr, clusters, secrets, memory, deps, req, ctx),
    })
    // Spec and deletion changes only: the status written after a probe must not trigger
    // another probe; requeueAfter keeps the interval.
    .for(clusters, generationChanged);
  // A kubeconfig Secret added or fixed is picked up at once, not at the next probe.
  for (const informer of secrets.informers)
    ctl.watches(informer, (s) =>
      clusters.byIndex('secret', keyOf(s)).map((mc) => ({ name: mc.metadata.name })),
    );
  // The connections are bound to the leadership, and closed when it ends.
  mgr.add(deps.registry);
}

async function reconcile(
  mgr: Manager,
  clusters: Informer<MemberCluster>,
  secrets: SecretCaches,
  memory: Memory,
  deps: MemberClusterDeps,
  req: Request,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const { registry } = deps;
  const mc = clusters.get(req.name);
  const { sources, histories } = memory;
  if (!mc || isDeleting(mc)) {
    sources.delete(req.name);
    histories.delete(req.name);
    if (registry.get(req.name)) ctx.log.info('member cluster deleted: dropping its connection');
    await registry.remove(req.name);
    return;
  }
  const interval = deps.probeIntervalMs ?? 10_000;
  // ±10 % so that many clusters are not all probed in the same second.
  const next = { requeueAfterMs: Math.round(interval * (0.9 + Math.random() * 0.2)) };
  const generation = mc.metadata.generation;
  const conditions = [...((mc.status?.conditions ?? []) as Condition[])];
  const set = (type: string, status: Condition['status'], reason: string, message: string) =>
    conditions.splice(
      0,
      conditions.length,
      ...setCondition(conditions, { type, status, reason, message }, generation),
    );
  const prods = deps.prodsHosted?.(mc.metadata.name) ?? mc.status?.prods;

  let conn: ClusterConnection;
  try {
    conn = await connect(mgr, secrets, sources, registry, mc);
  } catch (err) {
    // A kubeconfig that cannot be used: a condition, not a crash.
    if (!(err instanceof TerminalError)) throw err;
    sources.delete(mc.metadata.name);
    // Not probed: Reachable is judged afresh once a kubeconfig works.
    const history = histories.get(mc.metadata.name) ?? historyOf(mc);
    histories.set(mc.metadata.name, { ...history, reachable: 'Unknown' });
    await registry.remove(mc.metadata.name);
    const before = findCondition(mc.status?.conditions as Condition[] | undefined, 'Ready');
    set(ConditionType.Reachable, 'Unknown', err.reason, 'not probed: no usable kubeconfig');
    set(ConditionType.Ready, 'False', err.reason, err.message);
    if (before?.reason !== err.reason)
      void mgr.events.record({
        regarding: mc,
        type: 'Warning',
        reason: err.reason,
        action: 'Connect',
        note: err.message,
      });
    await writeStatus(mgr, mc, { prods }, conditions);
    return next;
  }

  const started = performance.now();
  let result: ProbeResult | undefined;
  let failure = '';
  let failureReason: Reason = Reason.ProbeFailed;
  try {
    result = await probeCluster(conn.rest, deps.probeTimeoutMs ?? 5000);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    failureReason = probeFailureReason(err);
  }
  deps.onProbe?.(
    mc.metadata.name,
    result ? 'success' : 'failure',
    (performance.now() - started) / 1000,
  );

  const prev = histories.get(mc.metadata.name) ?? historyOf(mc);
  const judged = nextReachability(prev, result !== undefined, {
    failuresToUnreachable: deps.failuresToUnreachable ?? 3,
    successesToReachable: deps.successesToReachable ?? 2,
  });
  if (result) {
    set(
      ConditionType.Reachable,
      judged.reachable,
      Reason.ProbeSucceeded,
      judged.reachable === 'True'
        ? `apiserver answers (${result.kubernetesVersion})`
        : `recovering: ${judged.consecutiveSuccesses} probe(s) in a row succeeded, ${deps.successesToReachable ?? 2} needed`,
    );
  } else {
    set(
      ConditionType.Reachable,
      judged.reachable,
      failureReason,
      judged.reachable === 'False'
        ? `${judged.consecutiveFailures} probe(s) in a row failed: ${failure}`
        : `probe failed (${judged.consecutiveFailures} in a row, unreachable after ${deps.failuresToUnreachable ?? 3}): ${failure}`,
    );
  }
  histories.set(mc.metadata.name, judged);
  registry.setReachable(mc.metadata.name, judged.reachable !== 'False');
  // Transitions are events, except a new cluster's first success (its normal start).
  if (
    judged.reachable !== prev.reachable &&
    !(prev.reachable === 'Unknown' && judged.reachable === 'True')
  ) {
    const up = judged.reachable === 'True';
    if (up) ctx.log.info('member cluster reachable again');
    else ctx.log.warn({ err: failure }, 'member cluster unreachable');
    void mgr.events.record({
      regarding: mc,
      type: up ? 'Normal' : 'Warning',
      reason: up ? Reason.ClusterReachable : Reason.ClusterUnreachable,
      action: 'Probe',
      note: up
        ? `${judged.consecutiveSuccesses} probes in a row succeeded`
        : `${judged.consecutiveFailures} probes in a row failed: ${failure}`,
    });
  }

  // A failed probe keeps the last known version, Nodes and allocatable.
  const observed: Partial<Status> = result
    ? {
        kubernetesVersion: result.kubernetesVersion,
        nodes: result.nodes,
        allocatable: result.allocatable,
      }
    : {};
  const nodes = result?.nodes ?? mc.status?.nodes;
  setReady(set, mc, judged.reachable, nodes, result ? undefined : { failureReason, failure });
  const status: Partial<Status> = {
    ...observed,
    prods,
    probe: {
      lastProbeTime: timestamp(),
      consecutiveFailures: judged.consecutiveFailures,
      consecutiveSuccesses: judged.consecutiveSuccesses,
    },
  };
  if (probeWriteDue(mc, status, conditions, deps.successesToReachable ?? 2))
    await writeStatus(mgr, mc, status, conditions);
  return next;
}

/**
 * Whether a probe's status is worth writing: a condition (status, reason, message, generation)
 * or kubernetesVersion, nodes, allocatable or prods changed; Reachable is counting now or was in
 * the stored status (failures > 0, or successes below the recovery threshold, which follows a
 * failure or the start), so that status never rests mid-count; or the stored lastProbeTime is
 * PROBE_RECORD_MAX_AGE_MS old. Judged against the cache: one that does not show the last write
 * yet costs at most one write more.
 */
export function probeWriteDue(
  mc: MemberCluster,
  status: Partial<Status>,
  conditions: Condition[],
  successesToReachable: number,
  now = Date.now(),
): boolean {
  const stored = mc.status;
  if (!stored || stored.observedGeneration !== mc.metadata.generation) return true;
  if (!isDeepStrictEqual(conditions, stored.conditions ?? [])) return true;
  const facts = ['kubernetesVersion', 'nodes', 'allocatable', 'prods'] as const;
  // A fact left out (a failed probe keeps the last known one) is no change.
  if (facts.some((f) => status[f] !== undefined && !isDeepStrictEqual(status[f], stored[f])))
    return true;
  const counting = (p: Status['probe']) =>
    !p || p.consecutiveFailures > 0 || p.consecutiveSuccesses < successesToReachable;
  if (counting(status.probe) || counting(stored.probe)) return true;
  const last = Date.parse(stored.probe?.lastProbeTime ?? '');
  return Number.isNaN(last) || now - last >= PROBE_RECORD_MAX_AGE_MS;
}

/** The probe history as status last recorded it. */
function historyOf(mc: MemberCluster): ProbeHistory {
  const reachable = findCondition(
    mc.status?.conditions as Condition[] | undefined,
    ConditionType.Reachable,
  );
  return {
    reachable: (reachable?.status as Reachability | undefined) ?? 'Unknown',
    consecutiveFailures: mc.status?.probe?.consecutiveFailures ?? 0,
    consecutiveSuccesses: mc.status?.probe?.consecutiveSuccesses ?? 0,
  };
}

/**
 * Ready: reachable with at least one Ready Node. A cordoned cluster stays Ready (its Prods run
 * on; only placement avoids it) with reason Cordoned, so that "why no new Prods here" shows in
 * the same column as health.
 */
function setReady(
  set: (type: string, status: Condition['status'], reason: string, message: string) => void,
  mc: MemberCluster,
  reachable: Reachability,
  nodes: Status['nodes'],
  probe?: { failureReason: Reason; failure: string },
): void {
  if (reachable !== 'True') {
    // Refused credentials say so, with what to fix: they do not heal by waiting.
    if (probe && probe.failureReason !== Reason.ProbeFailed)
      set(ConditionType.Ready, 'False', probe.failureReason, credentialsMessage(probe));
    else
      set(ConditionType.Ready, 'False', Reason.ProbeFailed, 'the cluster does not answer probes');
  } else if (!nodes || nodes.ready === 0) {
    set(
      ConditionType.Ready,
      'False',
      Reason.NoReadyNodes,
      `no Ready nodes (${nodes?.total ?? 0} in all)`,
    );
  } else if (mc.spec.cordoned) {
    set(
      ConditionType.Ready,
      'True',
      Reason.Cordoned,
      `cordoned: no new Prods are placed here; ${nodes.ready}/${nodes.total} nodes Ready`,
    );
  } else {
    set(
      ConditionType.Ready,
      'True',
      Reason.ProbeSucceeded,
      `${nodes.ready}/${nodes.total} nodes Ready`,
    );
  }
}

/**
 * The cluster's connection from its kubeconfig Secret. The Secret is read (GET) only when its
 * cached version differs from the one the connection was made from, or when the cache has not
 * got it (not seen yet, or outside the manager's namespace).
 */
async function connect(
  mgr: Manager,
  secrets: SecretCaches,
  sources: Map<string, Source>,
  registry: ClusterRegistry,
  mc: MemberCluster,
): Promise<ClusterConnection> {
  const name = mc.metadata.name;
  const ref = mc.spec.kubeconfigSecretRef;
  const key = ref.key ?? DEFAULT_KUBECONFIG_KEY;
  const where = secretRefKey(mc);
  if (!secrets.allows(ref.namespace))
    throw new TerminalError(
      Reason.SecretNotReadable,
      `Secret ${where} is outside the namespaces kachiku reads Secrets in (${secrets.namespaces?.join(', ')}): move it, or add its namespace to --secret-namespaces and bind ClusterRole kachiku-secret-reader there`,
    );
  const cached = secrets.get(where);
  const known = sources.get(name);
  const existing = registry.get(name);
  if (
    existing &&
    cached &&
    known?.secret === where &&
    known.key === key &&
    known.resourceVersion === cached.metadata.resourceVersion
  )
    return existing;

  let secret: SecretMeta;
  try {
    secret = await mgr.rest.get<SecretMeta>(secretGvr, ref.namespace, ref.name);
  } catch (err) {
    if (isNotFound(err))
      throw new TerminalError(Reason.KubeconfigMissing, `Secret ${where} not found`);
    if (isForbidden(err))
      throw new TerminalError(
        Reason.SecretNotReadable,
        `kachiku may not read Secret ${where} (403): bind ClusterRole kachiku-secret-reader to its ServiceAccount in namespace ${ref.namespace}`,
      );
    throw err;
  }
  const data = secret.data?.[key];
  if (data === undefined)
    throw new TerminalError(Reason.KubeconfigMissing, `Secret ${where} has no key "${key}"`);
  const text = Buffer.from(data, 'base64').toString('utf8');
  if (!text.trim())
    throw new TerminalError(Reason.KubeconfigMissing, `key "${key}" of Secret ${where} is empty`);
  let conn: ClusterConnection;
  try {
    conn = registry.connect(name, text);
  } catch (err) {
    // parseKubeconfig's messages never quote the text.
    const why = err instanceof Error ? err.message : String(err);
    throw new TerminalError(Reason.KubeconfigInvalid, `key "${key}" of Secret ${where}: ${why}`);
  }
  sources.set(name, { secret: where, key, resourceVersion: secret.metadata.resourceVersion });
  return conn;
}

async function writeStatus(
  mgr: Manager,
  mc: MemberCluster,
  status: Partial<Status>,
  conditions: Condition[],
): Promise<void> {
  // Unset fields are left out rather than written as undefined, which would never compare
  // equal to what the server returns and so force a write every time.
  const set = Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined));
  await updateStatus<Status, MemberCluster>(mgr.rest, memberClusterGvr, mc, (fresh) => ({
    ...(fresh.status ?? {}),
    ...set,
    observedGeneration: mc.metadata.generation,
    conditions,
  }));
}

/** The Secret caches of the namespaces kachiku may read Secrets in (or of the manager's scope). */
class SecretCaches {
  constructor(
    readonly informers: Informer<SecretMeta>[],
    /** Undefined: whatever the one informer's scope holds. */
    readonly namespaces?: string[],
  ) {}

  allows(namespace: string): boolean {
    return !this.namespaces || this.namespaces.includes(namespace);
  }

  get(key: string): SecretMeta | undefined {
    for (const i of this.informers) {
      const found = i.get(key);
      if (found) return found;
    }
    return undefined;
  }
}

/** Why a probe failed, as a reason: refused or unobtainable credentials are not an outage. */
export function probeFailureReason(err: unknown): Reason {
  if (err instanceof ProbeError && err.code === 401) return Reason.Unauthorized;
  if (err instanceof ProbeError && err.code === 403) return Reason.Forbidden;
  if (err instanceof Error && /exec credential plugin|token file/.test(err.message))
    return Reason.CredentialsFailed;
  return Reason.ProbeFailed;
}

function credentialsMessage(probe: { failureReason: Reason; failure: string }): string {
  switch (probe.failureReason) {
    case Reason.Unauthorized:
      return `the cluster refuses kachiku's credentials (401): the token is revoked, expired or wrong; fix the kubeconfig Secret or its exec plugin (${probe.failure})`;
    case Reason.Forbidden:
      return `kachiku's identity lacks a permission there (403): grant it the member RBAC (deploy/rbac/member) (${probe.failure})`;
    default:
      return `kachiku cannot get credentials for the cluster: ${probe.failure}`;
  }
}

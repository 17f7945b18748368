// The Prod reconciler (the shell around render.ts, placement.ts and observe.ts): choose a member
// cluster, render the stack, server-side apply what differs from what the member cluster holds,
// prune what the spec no longer names, then walk the lifecycle Pending → Provisioning →
// WarmingUp → Ready, and Draining → Retired on deletion or spec.retired. Member-cluster objects
// are watched through the ClusterRegistry's informers, so drift and rollout progress arrive as
// events; the only timers are requeueAfter (warm-up time, retries, a slow resync).
import { createHash } from 'node:crypto';
import type { Manager } from '../../runtime/manager.js';
import {
  generationChanged,
  parseKey,
  requestKey,
  type Controller,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { ClusterConnection, ClusterRegistry } from '../../runtime/clusters.js';
import { ApiError, isNotFound, type Gvr, type KubeObject } from '../../runtime/rest.js';
import { isTrue, setCondition, type Condition } from '../../runtime/conditions.js';
import {
  addFinalizer,
  apply,
  hasFinalizer,
  isDeleting,
  removeFinalizer,
  updateStatus,
} from '../../runtime/objects.js';
import { parseDuration } from '../../runtime/duration.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod, ProdPhase, ProdStatus } from '../../api/prod.js';
import {
  PROD_LABEL,
  RenderError,
  deploymentGvr,
  namespaceGvr,
  ownerOf,
  prodNamespace,
  renderProd,
  serviceGvr,
  type DesiredObject,
  type Rendered,
} from './render.js';
import { placeProd } from './placement.js';
import {
  covers,
  endpoints,
  observeComponents,
  requested,
  type Deployment,
  type Service,
} from './observe.js';
import { discoverKinds } from './discovery.js';
import { sendWarmup } from './warmup.js';

export const FINALIZER = 'kachiku.io/prod';
export const prodGvr: Gvr = {
  group: 'kachiku.io',
  version: 'v1alpha1',
  resource: 'prods',
  namespaced: true,
};
export const memberClusterGvr: Gvr = {
  group: 'kachiku.io',
  version: 'v1alpha1',
  resource: 'memberclusters',
  namespaced: false,
};

export interface ProdDeps {
  registry: ClusterRegistry;
  concurrency?: number;
  /** Timeout of one warm-up request (default 10 s). */
  warmupTimeoutMs?: number;
  /** First retry after failed warm-up requests; doubles up to a minute (default 2 s). */
  warmupRetryMs?: number;
  /** A Prod is looked at again this often even without an event (default 10 min). */
  resyncMs?: number;
  /** How long a reconcile waits for a new connection's informers to list (default 15 s). */
  syncTimeoutMs?: number;
}

/** The member-cluster informers of one connection. */
interface Watched {
  namespaces: Informer<KubeObject>;
  deployments: Informer<Deployment>;
  services: Informer<Service>;
}

interface Warm {
  uid: string;
  version: string;
  answered: boolean;
  attempts: number;
  retryAt: number;
  /** When this controller moved the Prod to WarmingUp (phaseSince has only seconds). */
  enteredAt?: number;
}

/** A reconcile that stops early for a reason worth a condition (not a crash). */
class Stop extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly requeueAfterMs?: number,
  ) {
    super(message);
  }
}

/** The status a reconcile builds, written once (or twice around a long warm-up). */
class Draft {
  conditions: Condition[];
  fields: Partial<ProdStatus> = {};
  phase: ProdPhase;

  constructor(public prod: Prod) {
    this.conditions = [...((prod.status?.conditions ?? []) as Condition[])];
    this.phase = prod.status?.phase ?? 'Pending';
  }

  set(type: string, status: Condition['status'], reason: string, message: string): void {
    this.conditions = setCondition(
      this.conditions,
      { type, status, reason, message },
      this.prod.metadata.generation,
    );
  }
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
const clusterOf = (p: Prod) => p.spec.cluster || p.status?.cluster || '';

export interface ProdController {
  controller: Controller;
  /** Prods placed in a cluster and not retired (MemberCluster status.prods). */
  prodsHosted(cluster: string): number;
}

export function registerProdController(mgr: Manager, deps: ProdDeps): ProdController {
  const { registry } = deps;
  const resyncMs = deps.resyncMs ?? 10 * 60_000;
  const prods = mgr.informer<Prod>(prodGvr);
  prods.addIndex('cluster', (p) => [clusterOf(p)]);
  const clusters = mgr.informer<MemberCluster>(memberClusterGvr);

  // In memory: placements not yet seen back in the cache (so that Prods created together
  // spread), the last object this controller wrote per key (to notice a stale cache), warm-up
  // progress, and when manifests were last applied.
  const choices = new Map<string, string>();
  const written = new Map<string, Prod>();
  const warm = new Map<string, Warm>();
  const manifestsApplied = new Map<string, { hash: string; at: number }>();
  const attached = new WeakMap<ClusterConnection, Watched>();

  const ctl = mgr.controller({
    name: 'prod',
    concurrency: deps.concurrency ?? 8,
    reconcile: (req, ctx) => reconcile(req, ctx),
  });
  // Spec, deletion and finalizer changes: our own status writes must not trigger a reconcile.
  ctl.for(prods, generationChanged);

  const prodsIn = (cluster: string): Request[] => [
    ...prods.byIndex('cluster', cluster).map((p) => ({
      namespace: p.metadata.namespace,
      name: p.metadata.name,
    })),
    ...[...choices].filter(([, c]) => c === cluster).map(([k]) => parseKey(k)),
  ];
  // A MemberCluster that appears, goes, or changes in what placement reads: its Prods, and the
  // Prods still waiting for a cluster.
  const relevant = (mc: MemberCluster) =>
    JSON.stringify([
      mc.spec.cordoned,
      mc.spec.failureDomain,
      isTrue(mc.status?.conditions, ConditionType.Ready),
      isTrue(mc.status?.conditions, ConditionType.Reachable),
    ]);
  const onCluster = (mc: MemberCluster) =>
    [...prodsIn(mc.metadata.name), ...prodsIn('')].forEach((r) => ctl.enqueue(r));
  clusters.addHandler({
    add: onCluster,
    update: (old, mc) => relevant(old) !== relevant(mc) && onCluster(mc),
    delete: onCluster,
  });

  // Connections come and go with MemberClusters: watch each one's objects as it appears, and
  // look at its Prods again whenever it appears, goes, or its reachability changes.
  const watch = (conn: ClusterConnection): Watched => {
    let w = attached.get(conn);
    if (w) return w;
    const opts = { labelSelector: PROD_LABEL };
    w = {
      namespaces: conn.informer<KubeObject>(namespaceGvr, opts),
      deployments: conn.informer<Deployment>(deploymentGvr, opts),
      services: conn.informer<Service>(serviceGvr, opts),
    };
    const enqueueOwner = (obj: KubeObject) => {
      const owner = ownerOf(obj);
      if (owner) ctl.enqueue(owner);
    };
    for (const informer of [w.namespaces, w.deployments, w.services] as Informer<KubeObject>[])
      informer.addHandler({
        add: enqueueOwner,
        update: (_, obj) => enqueueOwner(obj),
        delete: enqueueOwner,
      });
    attached.set(conn, w);
    return w;
  };
  registry.onChange((name) => {
    const conn = registry.get(name);
    if (conn) watch(conn);
    [...prodsIn(name), ...prodsIn('')].forEach((r) => ctl.enqueue(r));
  });
  for (const conn of registry.list()) watch(conn);

  /** The Prod as it is now: the cache, unless it has not yet seen this controller's last write. */
  async function current(key: string, cached: Prod): Promise<Prod | undefined> {
    const mine = written.get(key);
    if (!mine || mine.metadata.resourceVersion === cached.metadata.resourceVersion) return cached;
    try {
      return remember(
        key,
        await mgr.rest.get<Prod>(prodGvr, cached.metadata.namespace, cached.metadata.name),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  function remember(key: string, p: Prod): Prod {
    written.set(key, p);
    return p;
  }

  function forget(key: string): void {
    for (const m of [choices, written, warm, manifestsApplied]) m.delete(key);
  }

  async function writeStatus(key: string, draft: Draft): Promise<Prod> {
    const { prod } = draft;
    const old = prod.status?.phase;
    const moved = old !== draft.phase;
    const updated = await updateStatus<ProdStatus, Prod>(mgr.rest, prodGvr, prod, (fresh) => {
      const st = fresh.status ?? {};
      return {
        ...st,
        ...draft.fields,
        observedGeneration: prod.metadata.generation,
        phase: draft.phase,
        phaseSince: st.phase === draft.phase && st.phaseSince ? st.phaseSince : now(),
        conditions: draft.conditions,
      };
    });
    if (moved) {
      const ready = draft.conditions.find((c) => c.type === ConditionType.Ready);
      void mgr.events.record({
        regarding: prod,
        type: ready?.reason === Reason.WarmupFailed ? 'Warning' : 'Normal',
        reason: draft.phase,
        action: 'Lifecycle',
        note: `${old ?? 'new'} → ${draft.phase}${ready?.message ? `: ${ready.message}` : ''}`,
      });
    }
    return remember(key, updated);
  }

  /** The cluster of a Prod: its spec's, its recorded one, or a new choice. */
  function chooseCluster(key: string, prod: Prod): string {
    if (prod.spec.cluster) {
      if (!clusters.get(prod.spec.cluster))
        throw new Stop(
          Reason.ClusterNotFound,
          `MemberCluster "${prod.spec.cluster}" does not exist`,
        );
      return prod.spec.cluster;
    }
    const known = prod.status?.cluster || choices.get(key);
    if (known) return known;
    // No await from here to choices.set: concurrent reconciles see each other's choices.
    const candidates = clusters.list().map((mc) => ({
      name: mc.metadata.name,
      failureDomain: mc.spec.failureDomain,
      cordoned: mc.spec.cordoned ?? false,
      ready: isTrue(mc.status?.conditions, ConditionType.Ready),
      reachable:
        isTrue(mc.status?.conditions, ConditionType.Reachable) &&
        registry.get(mc.metadata.name)?.reachable === true,
    }));
    const placed = prods
      .list()
      .filter((p) => requestKey(keyOf(p)) !== key && !p.spec.retired && !isDeleting(p))
      .map((p) => ({
        app: p.spec.app,
        cluster: clusterOf(p) || choices.get(requestKey(keyOf(p))) || '',
      }))
      .filter((p) => p.cluster);
    const choice = placeProd(prod.spec.app, candidates, placed);
    if (choice.cluster === undefined) throw new Stop(Reason.NoClusterAvailable, choice.reason);
    choices.set(key, choice.cluster);
    return choice.cluster;
  }

  async function synced(w: Watched, conn: ClusterConnection): Promise<void> {
    const all = [w.namespaces, w.deployments, w.services];
    if (all.every((i) => i.hasSynced())) return;
    const timeout = deps.syncTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeout)));
    const ok = await Promise.race([Promise.all(all.map((i) => i.waitForSync())), expired]);
    clearTimeout(timer);
    if (ok === false)
      throw new Stop(
        Reason.Provisioning,
        `waiting for the first list of cluster ${conn.name}'s objects`,
        2000,
      );
  }

  async function reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const key = requestKey(req);
    const cached = prods.get(key);
    const prod = cached && (await current(key, cached));
    if (!prod) return forget(key);
    if (isDeleting(prod) || prod.spec.retired) return retire(key, prod, ctx);
    const owned = hasFinalizer(prod, FINALIZER)
      ? prod
      : remember(key, await addFinalizer(mgr.rest, prodGvr, prod, FINALIZER));
    const draft = new Draft(owned);
    try {
      return await run(key, draft, ctx);
    } catch (err) {
      if (err instanceof Stop) {
        draft.set(ConditionType.Ready, 'False', err.reason, err.message);
        await writeStatus(key, draft);
        void mgr.events.record({
          regarding: owned,
          type: 'Warning',
          reason: err.reason,
          action: 'Reconcile',
          note: err.message,
        });
        return err.requeueAfterMs ? { requeueAfterMs: err.requeueAfterMs } : undefined;
      }
      draft.set(ConditionType.Degraded, 'True', Reason.ReconcileError, errorMessage(err));
      await writeStatus(key, draft).catch(() => {});
      throw err;
    }
  }

  async function run(key: string, draft: Draft, ctx: ReconcileContext): Promise<Result | void> {
    const { prod } = draft;
    const name = chooseCluster(key, prod);
    // Record the choice before anything is applied, so that a restart keeps it.
    draft.fields.cluster = name;
    const conn = registry.get(name);
    if (!conn || !conn.reachable) {
      const why = conn
        ? `member cluster ${name} is unreachable`
        : `no connection to member cluster ${name} (MemberCluster not connected yet, or its kubeconfig is missing)`;
      draft.set(ConditionType.ClusterUnreachable, 'True', Reason.ClusterUnreachable, why);
      draft.set(
        ConditionType.Ready,
        'Unknown',
        Reason.ClusterUnreachable,
        `${why}: what runs there is left as it is`,
      );
      await writeStatus(key, draft);
      return;
    }
    draft.set(
      ConditionType.ClusterUnreachable,
      'False',
      Reason.ClusterReachable,
      `member cluster ${name} is reachable`,
    );
    const w = watch(conn);
    await synced(w, conn);

    const rendered = await render(conn, prod, name);
    const ns = w.namespaces.get(rendered.namespace);
    const owner = ns && ownerOf(ns);
    if (owner && requestKey(owner) !== key)
      throw new Stop(
        Reason.InvalidSpec,
        `namespace ${rendered.namespace} in cluster ${name} belongs to Prod ${requestKey(owner)}`,
      );
    if (ns?.metadata.deletionTimestamp)
      throw new Stop(
        Reason.Provisioning,
        `namespace ${rendered.namespace} in cluster ${name} is still being deleted`,
      );
    draft.fields.namespace = rendered.namespace;
    if (prod.status?.cluster !== name || prod.status?.namespace !== rendered.namespace) {
      if (draft.phase === 'Pending') draft.phase = 'Provisioning';
      draft.set(ConditionType.Ready, 'False', Reason.Provisioning, `provisioning in ${name}`);
      draft.prod = await writeStatus(key, draft);
    }

    await applyAll(key, conn, w, rendered, ctx);
    await prune(key, conn, w, rendered, ctx);
    return progress(key, draft, w, rendered, ctx);
  }

  async function render(conn: ClusterConnection, prod: Prod, cluster: string): Promise<Rendered> {
    const manifests = prod.spec.manifests ?? [];
    const resolve = manifests.length ? await discoverKinds(conn, manifests) : () => undefined;
    try {
      return renderProd(
        { namespace: prod.metadata.namespace ?? '', name: prod.metadata.name },
        prod.spec,
        cluster,
        resolve,
      );
    } catch (err) {
      if (err instanceof RenderError) throw new Stop(err.reason, `${err.message}; nothing applied`);
      throw err;
    }
  }

  /** Applies every object the member cluster does not already hold as desired. */
  async function applyAll(
    key: string,
    conn: ClusterConnection,
    w: Watched,
    rendered: Rendered,
    ctx: ReconcileContext,
  ): Promise<void> {
    const cachedOf = (d: DesiredObject): KubeObject | undefined => {
      const { namespace, name } = d.object.metadata;
      if (d.gvr === namespaceGvr) return w.namespaces.get(name);
      if (d.gvr === deploymentGvr) return w.deployments.get(`${namespace}/${name}`);
      if (d.gvr === serviceGvr) return w.services.get(`${namespace}/${name}`);
      return undefined;
    };
    const builtIn = new Set([namespaceGvr, deploymentGvr, serviceGvr]);
    // Manifests are not watched: applied when they change, and at each resync.
    const manifests = rendered.objects.filter((d) => !builtIn.has(d.gvr));
    const hash = createHash('sha256').update(JSON.stringify(manifests)).digest('hex');
    const last = manifestsApplied.get(key);
    const manifestsDue = !last || last.hash !== hash || Date.now() - last.at >= resyncMs;
    const due = rendered.objects.filter((d) =>
      builtIn.has(d.gvr) ? !covers(cachedOf(d), d.object) : manifestsDue,
    );
    const applyOne = async (d: DesiredObject) => {
      const what = `${d.object.kind} ${d.object.metadata.namespace ? `${d.object.metadata.namespace}/` : ''}${d.object.metadata.name}`;
      ctx.log.debug({ cluster: conn.name }, `apply ${what}`);
      try {
        await apply(conn.rest, d.gvr, d.object);
      } catch (err) {
        // The member cluster refused the object: the spec must change, retrying will not help.
        if (err instanceof ApiError && [400, 403, 422].includes(err.code))
          throw new Stop(
            Reason.InvalidSpec,
            `${conn.name} refused ${what}: ${err.message}`,
            60_000,
          );
        throw err;
      }
    };
    // The namespace first; what goes in it does not depend on each other.
    const [first, ...others] = due;
    if (first?.gvr === namespaceGvr) await applyOne(first);
    else if (first) others.unshift(first);
    await mapLimit(others, 4, applyOne);
    if (manifestsDue) manifestsApplied.set(key, { hash, at: Date.now() });
  }

  /** Deletes Deployments and Services of this Prod that its spec no longer names. */
  async function prune(
    key: string,
    conn: ClusterConnection,
    w: Watched,
    rendered: Rendered,
    ctx: ReconcileContext,
  ): Promise<void> {
    const desired = new Set(
      rendered.objects.map((d) => `${d.gvr.resource}/${d.object.metadata.name}`),
    );
    const pairs: [Gvr, Informer<KubeObject>][] = [
      [deploymentGvr, w.deployments],
      [serviceGvr, w.services],
    ];
    for (const [gvr, informer] of pairs)
      for (const obj of informer.list(rendered.namespace)) {
        const owner = ownerOf(obj);
        if (!owner || requestKey(owner) !== key) continue;
        if (desired.has(`${gvr.resource}/${obj.metadata.name}`)) continue;
        ctx.log.info({ cluster: conn.name }, `delete ${gvr.resource} ${obj.metadata.name}`);
        await conn.rest.delete(gvr, rendered.namespace, obj.metadata.name).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      }
  }

  /** Status from what the member cluster shows, and the lifecycle step it allows. */
  async function progress(
    key: string,
    draft: Draft,
    w: Watched,
    rendered: Rendered,
    ctx: ReconcileContext,
  ): Promise<Result | void> {
    const { prod } = draft;
    const spec = prod.spec;
    const mine = (informer: Informer<KubeObject>) =>
      new Map(
        informer
          .list(rendered.namespace)
          .filter((o) => requestKey(ownerOf(o) ?? { name: '' }) === key)
          .map((o) => [o.metadata.name, o]),
      );
    const images = new Map(
      rendered.objects
        .filter((d) => d.gvr === deploymentGvr)
        .map((d) => {
          const tpl = (d.object.spec as Deployment['spec'])?.template?.spec?.containers?.[0];
          return [d.object.metadata.name, tpl?.image ?? ''];
        }),
    );
    const obs = observeComponents(
      spec,
      images,
      mine(w.deployments as Informer<KubeObject>) as Map<string, Deployment>,
    );
    draft.fields.components = obs.components;
    draft.fields.requests = requested(spec);
    draft.fields.endpoints = endpoints(
      spec,
      rendered.namespace,
      mine(w.services as Informer<KubeObject>) as Map<string, Service>,
    );
    const resync = { requeueAfterMs: Math.round(resyncMs * (0.9 + Math.random() * 0.2)) };
    const list = (cs: typeof obs.components) =>
      cs.map((c) => `${c.name} ${c.ready}/${c.desired}`).join(', ');

    if (prod.status?.version === spec.version) {
      // Warmed at this version: Ready, and Degraded when a component lost pods.
      draft.phase = draft.phase === 'InService' ? 'InService' : 'Ready';
      if (obs.down.length)
        draft.set(
          ConditionType.Ready,
          'False',
          Reason.ComponentsUnavailable,
          `no ready replica: ${obs.down.map((c) => c.name).join(', ')}`,
        );
      else
        draft.set(
          ConditionType.Ready,
          'True',
          Reason.ComponentsAvailable,
          `${spec.version} running in ${draft.fields.cluster}`,
        );
      if (obs.short.length)
        draft.set(
          ConditionType.Degraded,
          'True',
          Reason.ComponentsUnavailable,
          `short of ready replicas: ${list(obs.short)}`,
        );
      else draft.set(ConditionType.Degraded, 'False', Reason.ComponentsAvailable, '');
      warm.delete(key);
      await writeStatus(key, draft);
      return resync;
    }

    draft.set(ConditionType.Degraded, 'False', Reason.Provisioning, '');
    if (!obs.rolledOut) {
      draft.phase = 'Provisioning';
      warm.delete(key);
      draft.set(
        ConditionType.Ready,
        'False',
        Reason.Provisioning,
        `rolling out ${spec.version}: ${list(obs.components) || 'manifests applied'}`,
      );
      await writeStatus(key, draft);
      return resync;
    }

    // Every component Available at this version: warm-up requests, then the minimum time.
    let state = warm.get(key);
    if (!state || state.uid !== prod.metadata.uid || state.version !== spec.version) {
      state = {
        uid: prod.metadata.uid ?? '',
        version: spec.version,
        answered: false,
        attempts: 0,
        retryAt: 0,
      };
      warm.set(key, state);
    }
    if (draft.phase !== 'WarmingUp') {
      state.enteredAt = Date.now();
      draft.phase = 'WarmingUp';
      draft.set(ConditionType.Ready, 'False', Reason.WarmingUp, 'every component Available');
      draft.prod = await writeStatus(key, draft);
    }
    const requests = spec.warmup?.requests;
    if (!state.answered && requests && (requests.count ?? 100) > 0) {
      const wait = state.retryAt - Date.now();
      if (wait > 0) return { requeueAfterMs: wait };
      const base = requests.target ?? firstEndpoint(draft.fields.endpoints);
      if (!base) {
        draft.set(
          ConditionType.Ready,
          'False',
          Reason.WarmupFailed,
          'no endpoint to warm up: set spec.warmup.requests.target or expose a component',
        );
        await writeStatus(key, draft);
        return resync;
      }
      const url = new URL(requests.path ?? '/', base);
      const count = requests.count ?? 100;
      const result = await sendWarmup(url.toString(), count, requests.concurrency ?? 4, {
        timeoutMs: deps.warmupTimeoutMs ?? 10_000,
        signal: ctx.signal,
      });
      if (result.failed > 0) {
        state.attempts++;
        const delay = Math.min(60_000, (deps.warmupRetryMs ?? 2000) * 2 ** (state.attempts - 1));
        state.retryAt = Date.now() + delay;
        const message = `${result.failed}/${count} warm-up requests to ${shown(url)} failed (first: ${result.firstError}); retrying in ${Math.round(delay / 1000)} s`;
        draft.set(ConditionType.Ready, 'False', Reason.WarmupFailed, message);
        await writeStatus(key, draft);
        void mgr.events.record({
          regarding: prod,
          type: 'Warning',
          reason: Reason.WarmupFailed,
          action: 'WarmUp',
          note: message,
        });
        return { requeueAfterMs: delay };
      }
      state.answered = true;
      ctx.log.info({ url: shown(url), count }, 'warm-up requests answered');
    }
    // After a restart only phaseSince is known: rounded up, the minimum is never cut short.
    const since =
      state.enteredAt ?? (Date.parse(draft.prod.status?.phaseSince ?? '') || Date.now()) + 1000;
    const left = since + parseDuration(spec.warmup?.minimumTime ?? '0s') - Date.now();
    if (left > 0) {
      draft.set(
        ConditionType.Ready,
        'False',
        Reason.WarmingUp,
        `warm-up ${requests ? 'requests answered' : 'without requests'}; ${Math.ceil(left / 1000)} s of minimum warm-up time left`,
      );
      await writeStatus(key, draft);
      return { requeueAfterMs: left };
    }
    draft.phase = 'Ready';
    draft.fields.version = spec.version;
    draft.set(
      ConditionType.Ready,
      'True',
      Reason.ComponentsAvailable,
      `${spec.version} running in ${draft.fields.cluster}, warmed up`,
    );
    draft.set(ConditionType.Degraded, 'False', Reason.ComponentsAvailable, '');
    warm.delete(key);
    await writeStatus(key, draft);
    return resync;
  }

  /** Draining → Retired: delete what the Prod made, then let it go (finalizer). */
  async function retire(key: string, prod: Prod, ctx: ReconcileContext): Promise<Result | void> {
    if (!hasFinalizer(prod, FINALIZER)) return;
    try {
      return await drain(key, prod, ctx);
    } catch (err) {
      // Member-cluster 404s are handled in removeFrom: this is the Prod itself, already gone
      // (a reconcile queued before its finalizer was removed, reading a stale cache).
      if (isNotFound(err)) return forget(key);
      throw err;
    }
  }

  async function drain(key: string, prod: Prod, ctx: ReconcileContext): Promise<Result | void> {
    const draft = new Draft(prod);
    const name = clusterOf(prod) || choices.get(key);
    // status.namespace is written before anything is applied: without it, nothing was made.
    const made = Boolean(name && prod.status?.namespace);
    if (made && name) {
      draft.phase = 'Draining';
      const conn = registry.get(name);
      if (!conn || !conn.reachable) {
        const why = `cannot reach member cluster ${name} to remove what the Prod made there; keeping the finalizer until it can`;
        draft.set(ConditionType.ClusterUnreachable, 'True', Reason.ClusterUnreachable, why);
        draft.set(ConditionType.Ready, 'False', Reason.Draining, why);
        await writeStatus(key, draft);
        return;
      }
      draft.set(ConditionType.ClusterUnreachable, 'False', Reason.ClusterReachable, '');
      const namespace = prod.status?.namespace || prodNamespace(prod.metadata.name);
      watch(conn);
      const gone = await removeFrom(key, conn, prod, namespace, ctx);
      if (!gone) {
        draft.set(
          ConditionType.Ready,
          'False',
          Reason.Draining,
          `deleting namespace ${namespace} in ${name}`,
        );
        await writeStatus(key, draft);
        // The namespace informer's delete event ends the wait; this is a safety net.
        return { requeueAfterMs: 30_000 };
      }
    }
    draft.phase = 'Retired';
    draft.fields.components = [];
    draft.fields.endpoints = [];
    draft.set(
      ConditionType.Ready,
      'False',
      Reason.Retired,
      made ? `removed from ${name}` : 'nothing was made',
    );
    draft.set(ConditionType.Degraded, 'False', Reason.Retired, '');
    const retired = await writeStatus(key, draft);
    await removeFinalizer(mgr.rest, prodGvr, retired, FINALIZER);
    forget(key);
  }

  /** Deletes the Prod's cluster-scoped manifests and its namespace; true once it is gone. */
  async function removeFrom(
    key: string,
    conn: ClusterConnection,
    prod: Prod,
    namespace: string,
    ctx: ReconcileContext,
  ): Promise<boolean> {
    const ignoreMissing = (err: unknown) => {
      if (!isNotFound(err)) throw err;
    };
    if (prod.spec.manifests?.length) {
      let rendered: Rendered | undefined;
      try {
        rendered = await render(conn, prod, conn.name);
      } catch (err) {
        if (!(err instanceof Stop)) throw err;
      }
      for (const d of rendered?.objects ?? []) {
        if (d.gvr.namespaced || d.gvr === namespaceGvr) continue;
        const found = await conn.rest.get(d.gvr, undefined, d.object.metadata.name).catch((e) => {
          ignoreMissing(e);
          return undefined;
        });
        if (!found || requestKey(ownerOf(found) ?? { name: '' }) !== key) continue;
        ctx.log.info({ cluster: conn.name }, `delete ${d.object.kind} ${d.object.metadata.name}`);
        await conn.rest.delete(d.gvr, undefined, d.object.metadata.name).catch(ignoreMissing);
      }
    }
    const ns = await conn.rest.get(namespaceGvr, undefined, namespace).catch((e) => {
      ignoreMissing(e);
      return undefined;
    });
    const owner = ns && ownerOf(ns);
    // Gone, or someone else's: nothing of this Prod is left to delete.
    if (!ns || (owner && requestKey(owner) !== key)) return true;
    if (!ns.metadata.deletionTimestamp) {
      ctx.log.info({ cluster: conn.name }, `delete namespace ${namespace}`);
      await conn.rest.delete(namespaceGvr, undefined, namespace).catch(ignoreMissing);
    }
    return false;
  }

  return {
    controller: ctl,
    prodsHosted: (cluster) =>
      prods.byIndex('cluster', cluster).filter((p) => p.status?.phase !== 'Retired').length,
  };
}

function keyOf(p: Prod): Request {
  return { namespace: p.metadata.namespace, name: p.metadata.name };
}

function firstEndpoint(eps: ProdStatus['endpoints']): string | undefined {
  const address = eps?.[0]?.address;
  return address ? `http://${address}/` : undefined;
}

/** A URL for messages: without any user:password it may carry. */
function shown(url: URL): string {
  const u = new URL(url.toString());
  u.username = '';
  u.password = '';
  return u.toString();
}

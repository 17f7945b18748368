// The Router reconciler: the shell around the pure table (table.ts) and plan (plan.ts), keyed by
// `<namespace>/<router>`. Each reconcile reads the Router, the Fleets that name it, their Tenants
// and Prods from the caches; builds the table; brings every instance to it (instance.ts: polled
// with `show info` and `show map` each time, read in full and programmed only when it may differ);
// frees the slots no instance points at any more; writes the status once, if it changed; and
// comes back after spec.haproxy.pollInterval, so that a restarted HAProxy — which reloads its
// files and forgets every runtime change — is re-programmed within a poll, with no Fleet change.
//
// What brings a Router back besides its poll: its spec, a Fleet naming it (or no longer), a
// Tenant of such a Fleet whose hosts or assigned Prods change, a Prod of one whose endpoints,
// labels, hold annotation or deletion change.
import { Counter, Histogram } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import {
  generationChanged,
  requestKey,
  type Controller,
  type ReconcileContext,
  type Request,
  type Result,
} from '../../runtime/controller.js';
import { Expectations } from '../../runtime/expectations.js';
import { keyOf, type Informer } from '../../runtime/informer.js';
import { hasFinalizer, updateStatus } from '../../runtime/objects.js';
import { parseDuration } from '../../runtime/duration.js';
import { gvrOf } from '../../api/kind.js';
import { Reason } from '../../api/conditions.js';
import { fleetKind, type Fleet } from '../../api/fleet.js';
import { prodKind, type Prod } from '../../api/prod.js';
import { AVOID_ANNOTATION, HOLD_ANNOTATION } from '../../api/release.js';
import { tenantKind, type Tenant } from '../../api/tenant.js';
import { sliceKeyOf, tenantSliceKind, type TenantSlice } from '../../api/tenantslice.js';
import { haproxySettings, routerKind, type Router, type RouterStatus } from '../../api/router.js';
import { buildTable, settle } from './table.js';
import { describe } from './plan.js';
import {
  defaultClient,
  syncInstance,
  type ClientFactory,
  type InstanceMemory,
  type SyncReport,
} from './instance.js';
import { routerStatus } from './status.js';
import {
  DNS_FINALIZER,
  reconcileDns,
  type DnsEnv,
  type Route53For,
  type Routed,
} from './dns/reconcile.js';
import { realRoute53 } from './dns/clients.js';

export const routerGvr = gvrOf(routerKind);
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const tenantSliceGvr = gvrOf(tenantSliceKind);
const prodGvr = gvrOf(prodKind);

/** The Fleet label on Prods (src/controllers/fleet/prods.ts). */
const FLEET_LABEL = 'kachiku.io/fleet';
// Index names of this controller's own (the informers are shared with the Fleet controller).
const FLEETS_BY_ROUTER = 'router:router';
const TENANTS_BY_FLEET = 'router:fleet';
const PRODS_BY_FLEET = 'router:fleet';

/** While the caches have not shown the last status write: look again this soon. */
const EXPECTATION_POLL_MS = 50;

export interface RouterDeps {
  /** Routers reconciled at once (default 4). */
  concurrency?: number;
  /** How instances are reached (tests may wrap it). */
  client?: ClientFactory;
  /** DNS mode: a Router's Route 53 API (default from its spec and Secret). */
  route53?: Route53For;
}

interface Env {
  mgr: Manager;
  ctl: Controller;
  routers: Informer<Router>;
  fleets: Informer<Fleet>;
  tenants: Informer<Tenant>;
  prods: Informer<Prod>;
  slices: Informer<TenantSlice>;
  expectations: Expectations;
  /**
   * Per Router key: its uid, per instance name what was last seen of it, and why held Prods were
   * last said not to be held (an Event when that changes).
   */
  memory: Map<
    string,
    { uid: string; instances: Map<string, InstanceMemory>; holdWaiting?: string }
  >;
  client: ClientFactory;
  metrics: Metrics;
  dns: DnsEnv;
}

const fleetKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
const routerKeyOfFleet = (f: Fleet) =>
  f.spec.routing?.router ? [fleetKey(f.metadata.namespace, f.spec.routing.router)] : [];

export function registerRouterController(mgr: Manager, deps: RouterDeps = {}): Controller {
  const routers = mgr.informer<Router>(routerGvr);
  const fleets = mgr.informer<Fleet>(fleetGvr);
  const tenants = mgr.informer<Tenant>(tenantGvr);
  const prods = mgr.informer<Prod>(prodGvr);
  const slices = mgr.informer<TenantSlice>(tenantSliceGvr);
  const ctl = mgr.controller({
    name: 'router',
    concurrency: deps.concurrency ?? 4,
    reconcile: (req, ctx) => reconcile(env, req, ctx),
  });
  const env: Env = {
    mgr,
    ctl,
    routers,
    fleets,
    tenants,
    prods,
    slices,
    expectations: new Expectations(10_000),
    memory: new Map(),
    client: deps.client ?? defaultClient,
    metrics: metricsOf(mgr),
    dns: {
      mgr,
      route53: deps.route53 ?? realRoute53(mgr.rest),
      memory: new Map(),
      writeStatus: (router, status) => writeStatus(env, requestKey(reqOf(router)), router, status),
    },
  };
  fleets.addIndex(FLEETS_BY_ROUTER, routerKeyOfFleet);
  tenants.addIndex(TENANTS_BY_FLEET, (t) => [fleetKey(t.metadata.namespace, t.spec.fleet)]);
  slices.addIndex(TENANTS_BY_FLEET, (s) => [fleetKey(s.metadata.namespace, s.spec.fleet)]);
  prods.addIndex(PRODS_BY_FLEET, (p) => {
    const f = p.metadata.labels?.[FLEET_LABEL];
    return f ? [fleetKey(p.metadata.namespace, f)] : [];
  });
  // Its spec and deletion: not its own status writes (the poll brings it back anyway).
  ctl.for(routers, generationChanged);
  watch(env);
  return ctl;
}

function watch(env: Env): void {
  const { ctl } = env;
  const enqueue = (key: string) => ctl.enqueue(parseRouterKey(key));
  const viaFleet = (fk: string) => {
    const f = env.fleets.get(fk);
    if (f) routerKeyOfFleet(f).forEach(enqueue);
  };
  env.fleets.addHandler({
    add: (f) => routerKeyOfFleet(f).forEach(enqueue),
    update: (old, f) => {
      if (JSON.stringify(old.spec.routing) === JSON.stringify(f.spec.routing)) return;
      routerKeyOfFleet(old).forEach(enqueue);
      routerKeyOfFleet(f).forEach(enqueue);
    },
    delete: (f) => routerKeyOfFleet(f).forEach(enqueue),
  });
  // A Tenant's status says where it is only while its TenantSlice does not exist: once it does,
  // the status writes that follow a move (thousands in a rollback) are not news here.
  const sliced = (t: Tenant) => env.slices.get(sliceKeyOf(t)) !== undefined;
  const tenantFacts = (t: Tenant) =>
    JSON.stringify([
      t.spec.hosts,
      sliced(t) ? undefined : t.status?.prods,
      t.metadata.creationTimestamp,
    ]);
  const onTenant = (t: Tenant) => viaFleet(fleetKey(t.metadata.namespace, t.spec.fleet));
  env.tenants.addHandler({
    add: onTenant,
    update: (old, t) => tenantFacts(old) !== tenantFacts(t) && onTenant(t),
    delete: onTenant,
  });
  // A TenantSlice: the Fleet's assignment moved (a rollback's moves arrive here first).
  const onSlice = (s: TenantSlice) => viaFleet(fleetKey(s.metadata.namespace, s.spec.fleet));
  env.slices.addHandler({
    add: onSlice,
    update: (old, s) => generationChanged(old, s) && onSlice(s),
    delete: onSlice,
  });
  const prodFacts = (p: Prod) =>
    JSON.stringify([
      p.status?.endpoints,
      p.metadata.labels?.[FLEET_LABEL],
      p.metadata.annotations?.[HOLD_ANNOTATION] !== undefined,
      p.metadata.annotations?.[AVOID_ANNOTATION] !== undefined,
      Boolean(p.metadata.deletionTimestamp),
    ]);
  const onProd = (p: Prod) => {
    const f = p.metadata.labels?.[FLEET_LABEL];
    if (f) viaFleet(fleetKey(p.metadata.namespace, f));
  };
  env.prods.addHandler({
    add: onProd,
    update: (old, p) => {
      if (prodFacts(old) === prodFacts(p)) return;
      onProd(old);
      onProd(p);
    },
    delete: onProd,
  });
}

const reqOf = (r: Router): Request => ({ namespace: r.metadata.namespace, name: r.metadata.name });

const parseRouterKey = (key: string): Request => {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
};

async function reconcile(env: Env, req: Request, ctx: ReconcileContext): Promise<Result> {
  const key = requestKey(req);
  const seen = env.expectations.satisfied(key, (_r, k) => env.routers.get(k));
  if (!seen.ok) return { requeueAfterMs: EXPECTATION_POLL_MS };
  const router = env.routers.get(key);
  // DNS mode (or a DNS Router being deleted): dns/reconcile.ts.
  if (router && (router.spec.route53 || hasFinalizer(router, DNS_FINALIZER)))
    return reconcileDns(env.dns, key, router, routedBy(env, key), ctx);
  if (!router) env.dns.memory.delete(key);
  if (!router || router.metadata.deletionTimestamp || !router.spec.haproxy) {
    // Nothing to undo: the router keeps the last table it was given until someone else programs it.
    env.memory.delete(key);
    return {};
  }
  const spec = haproxySettings(router.spec.haproxy);
  const pollMs = parseDuration(spec.pollInterval);
  let mem = env.memory.get(key);
  if (!mem || mem.uid !== router.metadata.uid) {
    mem = { uid: router.metadata.uid ?? '', instances: new Map() };
    env.memory.set(key, mem);
  }

  // The table, from the caches.
  const { fleets, tenants, prods, slices } = routedBy(env, key);
  const table = buildTable({
    spec,
    fleets,
    tenants,
    prods,
    slices,
    previous: router.status?.slots ?? [],
  });

  // A held Prod a Dual tenant cannot leave: said once, as the Release waiting for it may ask why.
  const holdWaiting = table.holdWaiting.join('; ');
  if (holdWaiting !== (mem.holdWaiting ?? '')) {
    mem.holdWaiting = holdWaiting;
    if (holdWaiting)
      void env.mgr.events.record({
        regarding: router,
        type: 'Warning',
        reason: Reason.HoldBlocked,
        action: 'Route',
        note: `held, but Dual tenants still routed to it first: ${table.holdWaiting.slice(0, 5).join('; ')}`,
      });
  }

  // Every instance, at once.
  const now = Date.now();
  const started = performance.now();
  const reports: SyncReport[] = await Promise.all(
    spec.instances.map((inst) =>
      syncInstance(spec, inst, table, mem.instances.get(inst.name), now, env.client),
    ),
  );
  const tookMs = performance.now() - started;
  const wasReachable = new Map(
    spec.instances.map((i) => [i.name, mem.instances.get(i.name)?.reachable]),
  );
  const names = new Set(spec.instances.map((i) => i.name));
  for (const n of [...mem.instances.keys()]) if (!names.has(n)) mem.instances.delete(n);
  spec.instances.forEach((inst, i) => {
    const r = reports[i]!;
    mem.instances.set(inst.name, r.memory);
    const target = { router: key, instance: inst.name };
    if (r.restarted) {
      ctx.log.info(
        { ...target, now: r.memory.instance, reprogrammed: r.sent.length },
        'router instance restarted: programmed again',
      );
      void env.mgr.events.record({
        regarding: router,
        type: 'Normal',
        reason: 'Reprogrammed',
        action: 'Program',
        note: `instance ${inst.name} restarted (now ${r.memory.instance}): the table sent again in ${r.sent.length} commands`,
      });
    }
    if (wasReachable.get(inst.name) === true && !r.memory.reachable)
      void env.mgr.events.record({
        regarding: router,
        type: 'Warning',
        reason: Reason.RouterUnreachable,
        action: 'Poll',
        note: `instance ${inst.name}: ${r.memory.problem?.message ?? 'unreachable'}`,
      });
    if (r.sent.length) {
      env.metrics.programmed.observe(tookMs / 1000);
      for (const c of r.sent) env.metrics.commands.inc({ kind: c.kind });
      ctx.log.info(
        {
          ...target,
          table: table.version,
          commands: r.sent.length,
          first: r.sent.slice(0, 5).map(describe),
          ms: Math.round(tookMs),
        },
        'router programmed',
      );
    }
    if (r.memory.problem)
      ctx.log.warn({ ...target, ...r.memory.problem }, 'router instance not serving the table');
  });

  // Slots no instance points at any more are free; known only if every instance was seen.
  const all = spec.instances.map((i) => mem.instances.get(i.name)!);
  const known = all.every((m) => m.reachable && !m.problem && m.referenced);
  const referenced = known ? new Set(all.flatMap((m) => [...m.referenced!])) : undefined;
  const records = settle(table.records, referenced);

  const status = routerStatus({
    router,
    spec,
    table,
    records,
    instances: spec.instances.map((i) => ({ name: i.name, memory: mem.instances.get(i.name)! })),
    fleets: fleets.length,
    now: new Date(),
  });
  await writeStatus(env, key, router, status);
  return { requeueAfterMs: pollMs };
}

/** The Fleets routed by a Router, their Tenants and Prods, from the caches. */
function routedBy(env: Env, key: string): Routed {
  const fleets = env.fleets
    .byIndex(FLEETS_BY_ROUTER, key)
    .filter((f) => !f.metadata.deletionTimestamp);
  const fks = fleets.map((f) => keyOf(f));
  const tenants = fks.flatMap((fk) => env.tenants.byIndex(TENANTS_BY_FLEET, fk));
  const prods = fks.flatMap((fk) => env.prods.byIndex(PRODS_BY_FLEET, fk));
  const slices = fks.flatMap((fk) => env.slices.byIndex(TENANTS_BY_FLEET, fk));
  return { fleets, tenants, prods, slices };
}

async function writeStatus(env: Env, key: string, router: Router, status: RouterStatus) {
  const from = router.metadata.resourceVersion ?? '';
  const after = await updateStatus<RouterStatus, Router>(
    env.mgr.rest,
    routerGvr,
    router,
    () => status,
  );
  if (after.metadata.resourceVersion !== from)
    env.expectations.expect(key, 'routers', key, { kind: 'updated', from });
}

interface Metrics {
  commands: Counter<'kind'>;
  programmed: Histogram;
}

const registered = new WeakMap<object, Metrics>();
function metricsOf(mgr: Manager): Metrics {
  const registry = mgr.metrics.registry;
  let m = registered.get(registry);
  if (!m) {
    m = {
      commands: new Counter({
        name: 'kachiku_router_commands_total',
        help: 'HAProxy runtime-API commands sent to tenant routers, by kind (a map replacement counts once)',
        labelNames: ['kind'] as const,
        registers: [registry],
      }),
      programmed: new Histogram({
        name: 'kachiku_router_program_seconds',
        help: 'time to bring the instances of a Router to a new table (poll, read, commands)',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
    };
    registered.set(registry, m);
  }
  return m;
}

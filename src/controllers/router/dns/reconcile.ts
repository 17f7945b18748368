// DNS mode, one reconcile of a Router with spec.route53 (the Router controller dispatches here):
// finalizer first, then the zone, the routes, one sync with Route 53, the status. Problems are
// conditions: a zone that does not exist or a missing Secret is written and nothing is created;
// Route 53 away keeps the records as they are and comes back soon. Deleting the Router removes
// its records and health checks, reads them back gone, and only then lets it go.
import type { Manager } from '../../../runtime/manager.js';
import { TerminalError, type ReconcileContext, type Result } from '../../../runtime/controller.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../../runtime/objects.js';
import { parseDuration } from '../../../runtime/duration.js';
import { gvrOf } from '../../../api/kind.js';
import { Reason } from '../../../api/conditions.js';
import type { Fleet } from '../../../api/fleet.js';
import type { Prod } from '../../../api/prod.js';
import type { Tenant } from '../../../api/tenant.js';
import type { TenantSlice } from '../../../api/tenantslice.js';
import { routerKind, type Router, type RouterStatus } from '../../../api/router.js';
import type { HostedZone, Route53Api } from '../../../clouds/aws/route53.js';
import { dnsRoutes, type DnsRoutes } from './routes.js';
import { removeDns, syncDns, type DnsMemory, type DnsSyncResult } from './sync.js';
import { dnsRouterStatus } from './status.js';
import type { Owner } from './plan.js';

export const DNS_FINALIZER = 'kachiku.io/router-dns';
const routerGvr = gvrOf(routerKind);
/** Route 53 away or throttling: look again this soon. */
const RETRY_MS = 5_000;

export type Route53For = (router: Router) => Promise<Route53Api>;

export interface DnsEnv {
  mgr: Manager;
  route53: Route53For;
  /** By Router key. */
  memory: Map<string, DnsMemory>;
  writeStatus(router: Router, status: RouterStatus): Promise<void>;
}

export interface Routed {
  fleets: readonly Fleet[];
  tenants: readonly Tenant[];
  prods: readonly Prod[];
  slices: readonly TenantSlice[];
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function reconcileDns(
  env: DnsEnv,
  key: string,
  cached: Router,
  routed: Routed,
  ctx: ReconcileContext,
): Promise<Result> {
  const owner: Owner = { namespace: cached.metadata.namespace ?? '', name: cached.metadata.name };
  if (cached.metadata.deletionTimestamp) return finalize(env, key, cached, owner, ctx);
  const spec = cached.spec.route53!;
  const resyncMs = parseDuration(spec.resyncInterval ?? '1m');
  // Before anything exists in Route 53: what the Router makes must be removed with it.
  const router = hasFinalizer(cached, DNS_FINALIZER)
    ? cached
    : await addFinalizer(env.mgr.rest, routerGvr, cached, DNS_FINALIZER);
  const generation = router.metadata.generation ?? 0;
  const last = env.memory.get(key);

  let routes: DnsRoutes | undefined;
  let zone: HostedZone | undefined;
  let sync: DnsSyncResult | undefined;
  let problem: { reason: string; message: string } | undefined;
  try {
    const api = await env.route53(router);
    zone = last?.generation === generation ? last.zone : await findZone(api, spec.hostedZone);
    routes = dnsRoutes({ zone: zone.name, ...routed });
    sync = await syncDns(api, {
      owner,
      generation,
      zone,
      spec,
      routes,
      last,
      now: Date.now(),
      resyncMs,
    });
    env.memory.set(key, sync.memory);
  } catch (err) {
    // What was written is unknown: the next sync reads the zone again.
    env.memory.delete(key);
    problem =
      err instanceof TerminalError
        ? { reason: err.reason, message: err.message }
        : { reason: Reason.AWSUnreachable, message: `Route 53: ${message(err)}` };
    ctx.log.warn({ router: key, ...problem }, 'router DNS sync failed');
  }
  if (sync?.changes.length) {
    ctx.log.info(
      {
        router: key,
        zone: zone?.id,
        changes: sync.changes.length,
        first: sync.changes.slice(0, 5),
      },
      'router records written',
    );
    void env.mgr.events.record({
      regarding: router,
      type: 'Normal',
      reason: 'RecordsChanged',
      action: 'DNS',
      note: `${sync.changes.length} changes: ${sync.changes.slice(0, 5).join('; ')}`,
    });
  }
  const before = router.status?.conditions?.find((c) => c.type === 'Ready');
  if (problem && (before?.status !== 'False' || before.reason !== problem.reason))
    void env.mgr.events.record({
      regarding: router,
      type: 'Warning',
      reason: problem.reason,
      action: 'DNS',
      note: problem.message,
    });
  const status = dnsRouterStatus({
    router,
    fleets: routed.fleets.length,
    routes,
    zoneId: zone?.id,
    ...(sync && {
      sync: {
        conflicts: sync.conflicts,
        records: sync.records,
        healthChecks: sync.healthChecks,
        changed: sync.changes.length > 0,
        prods: [
          ...new Set(
            (routes?.routes ?? [])
              .filter((r) => !sync!.conflicts.has(r.host))
              .flatMap((r) => r.targets.map((t) => t.prod)),
          ),
        ].sort(),
      },
    }),
    ...(problem && { problem }),
    now: new Date(),
  });
  await env.writeStatus(router, status);
  // A spec problem mends only when the spec (or the zone, or the Secret) does: look at a resync.
  const terminal = problem && problem.reason !== Reason.AWSUnreachable;
  return { requeueAfterMs: problem && !terminal ? RETRY_MS : resyncMs };
}

async function findZone(api: Route53Api, by: { id?: string; name?: string }): Promise<HostedZone> {
  const zone = await api.findHostedZone(by);
  if (!zone)
    throw new TerminalError(
      Reason.HostedZoneNotFound,
      `no Route 53 hosted zone ${by.id ? `with id ${by.id}` : `named ${by.name}`}: nothing was created`,
    );
  return zone;
}

async function finalize(
  env: DnsEnv,
  key: string,
  router: Router,
  owner: Owner,
  ctx: ReconcileContext,
): Promise<Result> {
  if (!hasFinalizer(router, DNS_FINALIZER)) return {};
  const spec = router.spec.route53;
  try {
    const api = await env.route53(router);
    // A zone that is gone (or never was) holds nothing of the Router's.
    const zone = spec ? await api.findHostedZone(spec.hostedZone) : undefined;
    const { removed, gone } = await removeDns(api, owner, zone);
    if (!gone) return { requeueAfterMs: RETRY_MS };
    ctx.log.info({ router: key, removed }, 'router deleted: its records and health checks removed');
  } catch (err) {
    // A Router that never wrote to Route 53 (no status.dns: no sync went through) has nothing
    // there to remove, even when its Secret or zone is gone.
    if (err instanceof TerminalError && !router.status?.dns) {
      ctx.log.info(
        { router: key, reason: err.reason },
        'router deleted: it made nothing in Route 53',
      );
    } else {
      ctx.log.warn({ router: key, error: message(err) }, 'router DNS cleanup failed: retrying');
      // Keep the finalizer: forgetting what is in Route 53 would leak it.
      return { requeueAfterMs: RETRY_MS };
    }
  }
  env.memory.delete(key);
  await removeFinalizer(env.mgr.rest, routerGvr, router, DNS_FINALIZER);
  return {};
}

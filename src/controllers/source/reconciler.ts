// The source poller: for each Fleet with spec.source, every spec.source.interval (and at once on
// a signed webhook, webhook.ts), read the source (poll.ts), ask decide() (plan.ts) what the
// source offers, create the Release for a new version, and write status.source and SourceReady.
//
// It shares the Fleet's status with the Fleet controller, which writes the rest of it: its write
// is a read-modify-write of only its own part (withSource), retried on 409, and the Fleet
// controller carries that part forward untouched (fleet/plan.ts). A steady source costs no
// write: lastPollTime alone is refreshed every POLL_RECORD_MAX_AGE_MS.
//
// When to poll is kept in memory (the last poll's time and the generation it read): a restart
// or a new leader polls every Fleet once at start, which costs reads only, and the Release
// names are deterministic, so a poll repeated by two replicas in a handover makes one Release.
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
import type { Informer } from '../../runtime/informer.js';
import { isAlreadyExists } from '../../runtime/rest.js';
import { isDeleting, updateStatus } from '../../runtime/objects.js';
import { gvrOf } from '../../api/kind.js';
import { fleetKind, type Fleet, type FleetStatus } from '../../api/fleet.js';
import { releaseKind, type Release } from '../../api/release.js';
import { ConditionType } from '../../api/conditions.js';
import { decide, intervalOf, withSource, type PollOutcome } from './plan.js';
import { pollSource } from './poll.js';
import { registerWebhook } from './webhook.js';

export const fleetGvr = gvrOf(fleetKind);
export const releaseGvr = gvrOf(releaseKind);
/** Webhook-forced polls of one Fleet: at most one this often (more requests coalesce). */
export const MIN_FORCED_GAP_MS = 1000;

export interface SourceDeps {
  /** Fleets polled at once (default 4). */
  concurrency?: number;
  /** Bound of one ls-remote or registry request (default 30 s). */
  pollTimeoutMs?: number;
  /** Observes each poll (tests count a Fleet's polls with it). */
  onPoll?: (fleet: string, result: string, seconds: number) => void;
}

/** What this replica remembers of each Fleet's polls. */
interface Memory {
  last: Map<string, { at: number; generation?: number }>;
  /** Fleets a webhook asked to poll now. */
  forced: Set<string>;
}

export interface SourceController {
  controller: Controller;
  /** Polls the Fleet at once (at most once per MIN_FORCED_GAP_MS); what the webhook calls. */
  pollNow(req: Request): void;
}

export function registerSourceController(mgr: Manager, deps: SourceDeps = {}): SourceController {
  const fleets = mgr.informer<Fleet>(fleetGvr);
  const releases = mgr.informer<Release>(releaseGvr);
  const memory: Memory = { last: new Map(), forced: new Set() };
  const metrics = metricsOf(mgr);
  const controller = mgr
    .controller({
      name: 'source',
      concurrency: deps.concurrency ?? 4,
      reconcile: (req, ctx) =>
        reconcile(mgr, { fleets, releases, memory, metrics, deps }, req, ctx),
    })
    // Spec changes poll at once; status writes (its own and the Fleet controller's) do not.
    .for(fleets, generationChanged);
  const ctl: SourceController = {
    controller,
    pollNow: (req) => {
      memory.forced.add(requestKey(req));
      controller.enqueue(req);
    },
  };
  registerWebhook(mgr, fleets, ctl, metrics.webhooks);
  return ctl;
}

interface Env {
  fleets: Informer<Fleet>;
  releases: Informer<Release>;
  memory: Memory;
  metrics: SourceMetrics;
  deps: SourceDeps;
}

async function reconcile(
  mgr: Manager,
  env: Env,
  req: Request,
  ctx: ReconcileContext,
): Promise<Result | void> {
  const key = requestKey(req);
  const { memory } = env;
  const fleet = env.fleets.get(key);
  if (!fleet || isDeleting(fleet)) {
    memory.last.delete(key);
    memory.forced.delete(key);
    return;
  }
  const source = fleet.spec.source;
  const now = Date.now();
  if (!source) {
    memory.last.delete(key);
    memory.forced.delete(key);
    // A source removed: its status part goes with it.
    const stale =
      fleet.status?.source !== undefined ||
      fleet.status?.conditions?.some((c) => c.type === ConditionType.SourceReady);
    if (stale) {
      const d = decide({ fleet, outcome: { kind: 'tags', tags: [] }, releases: [], now });
      await writeSource(mgr, fleet, (fresh) => withSource(fresh, d));
    }
    return;
  }

  const interval = intervalOf(source);
  const last = memory.last.get(key);
  const elapsed = last ? now - last.at : Infinity;
  const forced = memory.forced.has(key);
  const specChanged = last?.generation !== fleet.metadata.generation;
  if (!specChanged && !(forced && elapsed >= MIN_FORCED_GAP_MS) && elapsed < interval) {
    const wait = forced ? MIN_FORCED_GAP_MS - elapsed : interval - elapsed;
    return { requeueAfterMs: Math.max(1, Math.ceil(wait)) };
  }
  memory.forced.delete(key);

  const started = performance.now();
  const outcome: PollOutcome = await pollSource(mgr.rest, fleet, source, {
    signal: ctx.signal,
    timeoutMs: env.deps.pollTimeoutMs,
  });
  const seconds = (performance.now() - started) / 1000;
  memory.last.set(key, { at: Date.now(), generation: fleet.metadata.generation });

  // Releases are read from the cache: a stale one costs a create that answers 409.
  const own = env.releases
    .list(fleet.metadata.namespace)
    .filter((r) => r.spec.fleet === fleet.metadata.name);
  const d = decide({ fleet, outcome, releases: own, now: Date.now() });
  const result = d.condition.reason;
  env.metrics.polls.inc({ result });
  env.metrics.duration.observe({ kind: source.git ? 'git' : 'image' }, seconds);
  env.deps.onPoll?.(key, result, seconds);
  ctx.log.debug({ result, version: d.version, seconds }, 'source polled');

  if (d.release) {
    try {
      await mgr.rest.create(releaseGvr, d.release);
      env.metrics.releases.inc();
      ctx.log.info(
        { release: d.release.metadata.name, version: d.release.spec.version },
        'Release created for a new version',
      );
    } catch (err) {
      // Made already (by an earlier poll whose create the cache does not show yet, or by hand).
      if (!isAlreadyExists(err)) throw err;
      d.events = d.events.filter((e) => e.action !== 'CreateRelease');
    }
  }
  if (d.write) await writeSource(mgr, fleet, (fresh) => withSource(fresh, d));
  for (const e of d.events) void mgr.events.record({ regarding: fleet, ...e });
  // Never later than the interval (a jitter below it spreads Fleets made together).
  return { requeueAfterMs: Math.round(interval * (0.9 + Math.random() * 0.1)) };
}

function writeSource(
  mgr: Manager,
  fleet: Fleet,
  compute: (fresh: FleetStatus | undefined) => FleetStatus,
): Promise<Fleet> {
  return updateStatus<FleetStatus, Fleet>(mgr.rest, fleetGvr, fleet, (fresh) =>
    compute(fresh.status),
  );
}

interface SourceMetrics {
  polls: Counter<'result'>;
  duration: Histogram<'kind'>;
  releases: Counter;
  webhooks: Counter<'code'>;
}

// One set per metrics registry (several managers may share one in tests).
const registered = new WeakMap<object, SourceMetrics>();
function metricsOf(mgr: Manager): SourceMetrics {
  const registry = mgr.metrics.registry;
  let m = registered.get(registry);
  if (!m) {
    const registers = [registry];
    m = {
      polls: new Counter({
        name: 'kachiku_source_polls_total',
        help: "Polls of Fleets' version sources, by result (the SourceReady reason)",
        labelNames: ['result'] as const,
        registers,
      }),
      duration: new Histogram({
        name: 'kachiku_source_poll_seconds',
        help: 'Duration of one source poll (Secret read, ls-remote or tags/list), by kind',
        labelNames: ['kind'] as const,
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
      releases: new Counter({
        name: 'kachiku_source_releases_created_total',
        help: 'Releases created because a source offered a new version',
        registers,
      }),
      webhooks: new Counter({
        name: 'kachiku_source_webhooks_total',
        help: 'Webhook requests to /hooks/, by HTTP status answered',
        labelNames: ['code'] as const,
        registers,
      }),
    };
    registered.set(registry, m);
  }
  return m;
}

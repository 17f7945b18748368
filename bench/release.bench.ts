// Benchmark of a Release (issue 14), run by the real Release controller against the lab:
// 1. a full release with bakeTime 0 and no gates: Release created → Succeeded, the waves, and
//    kachiku's own overhead over the Prods' rollout: the sum over waves of (the wave Passed − the
//    last of its Prods Ready on the version), as this process saw both;
// 2. rollbacks: a gate on the lab's real Alertmanager (gateInterval 1 s), an alert posted for a
//    wave-2 Prod during its bake → every tenant with a copy on a Prod on the new version answered
//    through the lab's HAProxy by a Prod on the old version.
//   node dist/bench/release.bench.js [prods=10] [tenants per Prod=200] [rollback runs=5] [warm-up ms=1000] [full release: 1|0]
// The Fleet, Router and Release controllers run in this process (a Manager as kachiku's
// ServiceAccount, those three alone). The bench plays the rest: MemberClusters whose status it
// writes (Ready, Reachable), and the Prod controller with the app's pods (kwok starts none): a
// Prod whose spec.version differs from its status.version goes WarmingUp at once and Ready on the
// version `warm-up ms` later; its endpoint is a loopback HTTP server answering "<prod> <version>"
// (status.version as the bench's watch shows it). From the alert of a rollback run on, the warm-up
// is at least 10 s so that the failed Prods going back cannot be what answers: the tenants must be
// moved. The rollback runs roll two Prods a wave (maxProdsPerWave), so that the others have room.
// Needs a running lab whose router has more slots than Prods (`lab up --router-slots 64`).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runtimeClient, showMap } from '../src/clouds/haproxy/index.js';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'node:http';
import { Manager } from '../src/runtime/manager.js';
import { newLogger } from '../src/runtime/log.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { Informer } from '../src/runtime/informer.js';
import { Rest } from '../src/runtime/rest.js';
import { gvrOf, CONTROLLER_NAME } from '../src/api/kind.js';
import { fleetKind } from '../src/api/fleet.js';
import { tenantKind, type Tenant } from '../src/api/tenant.js';
import { prodKind, type Prod } from '../src/api/prod.js';
import { routerKind, type Router } from '../src/api/router.js';
import {
  AVOID_ANNOTATION,
  HOLD_ANNOTATION,
  releaseKind,
  type Release,
} from '../src/api/release.js';
import { registerRouterController } from '../src/controllers/router/reconciler.js';
import { registerFleetController } from '../src/controllers/fleet/reconciler.js';
import { registerReleaseController } from '../src/controllers/release/reconciler.js';
import { placer } from '../src/controllers/fleet/placer.js';
import { labState } from '../test/support/lab.js';
import { controlPlaneConfig, kachikuConfig } from '../test/support/kube.js';
import { until } from '../test/support/wait.js';
import { percentile } from '../test/support/traffic.js';
import { freeLoopbackPort } from '../test/support/loadbalancers.js';
import { benchFleet, type BenchFleet } from '../test/support/standins.js';
import { startProfile } from './profile.js';

const P = Number(process.argv[2] ?? 10);
const PER_PROD = Number(process.argv[3] ?? 200);
const RUNS = Number(process.argv[4] ?? 5);
const WARMUP_MS = Number(process.argv[5] ?? 1000);
const FULL = (process.argv[6] ?? '1') === '1';
const ROLLBACK_WARMUP_MS = Math.max(WARMUP_MS, 10_000);
// Waves 0–2 of a rollback run put up to five Prods on the new version (the test Prod, the
// fewest-users wave, two a wave after): the others must have room for all their tenants. Below
// 10 Prods they have not (4 × 20 timed out with hosts left on the new version), so say so at once.
if (RUNS > 0 && P < 10)
  throw new Error(
    `rollback runs need at least 10 Prods (got ${P}); run "${P} ${PER_PROD} 0" for the full release alone`,
  );
const GATE_INTERVAL = '1s';
/** Each wave's bake in the rollback runs: the alert is posted at its start. */
const BAKE = '6s';
const N = P * PER_PROD;
/** Reconciles so far, per controller (set once the Manager runs). */
let reconciles: () => Promise<Record<string, number>> = () => Promise.resolve({});
const lab = labState();
const haproxy = lab.router!;
if (!lab.alertmanager) throw new Error('the lab has no Alertmanager: lab up again');
const alertmanagerUrl = lab.alertmanager.url;
if (P + 2 > haproxy.slots)
  throw new Error(`${P} Prods need more than the router's ${haproxy.slots} slots (--router-slots)`);
const rest = new Rest(controlPlaneConfig());
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const prodGvr = gvrOf(prodKind);
const routerGvr = gvrOf(routerKind);
const releaseGvr = gvrOf(releaseKind);
const id = randomUUID().slice(0, 6);
const ns = `bench-release-${id}`;
const FLEET = 'herd';
// Room for the failed waves' copies on the others, with margin (1.3 copies per tenant).
const CAPACITY = Math.ceil((2.5 * N * 1.3) / P);
const ms = (x: number) => `${Math.round(x)} ms`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const summary = (xs: number[]) =>
  `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}, max ${ms(Math.max(...xs))}`;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const ipOf = (i: number) => `127.0.1.${10 + i}`;
const hostOf = (t: string) => `${t}.herd.example`;
const copiesOf = (t: Tenant) =>
  [t.status?.prods?.primary, t.status?.prods?.secondary].filter((p): p is string => Boolean(p));
const cond = (type: string, status: 'True' | 'False') => ({
  type,
  status,
  lastTransitionTime: stamp(),
  reason: 'Bench',
  message: 'written by the release bench',
});

async function main(): Promise<void> {
  console.log(
    `release bench: ${P} Prods over 3 domains, ${N} tenants (30 % Dual), capacity ${CAPACITY}, warm-up ${ms(WARMUP_MS)} (${ms(ROLLBACK_WARMUP_MS)} in the rollback runs), ${RUNS} rollback runs, gate interval ${GATE_INTERVAL}; HAProxy ${haproxy.version}, ${haproxy.slots} slots; load ${load()}`,
  );
  const port = await freeLoopbackPort([ipOf(0), ipOf(P - 1)]);
  let stop: (() => Promise<void>) | undefined;
  const tenants = new Informer<Tenant>(rest, tenantGvr, { namespace: ns });
  const prodWatch = new Informer<Prod>(rest, prodGvr, { namespace: ns });
  const releases = new Informer<Release>(rest, releaseGvr, { namespace: ns });
  const versionOf = (p: string) => prodWatch.get(`${ns}/${p}`)?.status?.version ?? '?';
  /** When each Tenant's assignment last changed, as this process saw it. */
  const changedAt = new Map<string, number>();
  tenants.addHandler({
    update: (old, t) => {
      if (JSON.stringify(old.status?.prods) !== JSON.stringify(t.status?.prods))
        changedAt.set(t.metadata.name, performance.now());
    },
  });
  // The Prod controller's stand-in: WarmingUp at once, Ready on spec.version after the warm-up.
  let warmup = WARMUP_MS;
  const rolling = new Map<string, string>(); // prod → version being warmed
  /** `<prod>=<version>` → when this process wrote it Ready. */
  const readyAt = new Map<string, number>();
  const errors: string[] = [];
  const roll = (p: Prod) => {
    const name = p.metadata.name;
    const want = p.spec.version;
    if (!want || p.status?.version === want || rolling.get(name) === want) return;
    rolling.set(name, want);
    const status = (phase: string, version: string | undefined, ready: 'True' | 'False') =>
      rest.patch(
        prodGvr,
        ns,
        name,
        { status: { phase, version, conditions: [cond('Ready', ready)] } },
        'merge',
        'status',
      );
    void (async () => {
      await status('WarmingUp', p.status?.version, 'False');
      await new Promise((ok) => setTimeout(ok, warmup));
      if (rolling.get(name) !== want) return; // sent elsewhere meanwhile
      await status('Ready', want, 'True');
      readyAt.set(`${name}=${want}`, performance.now());
      rolling.delete(name);
    })().catch((e: Error) => errors.push(`${name} → ${want}: ${e.message}`));
  };
  prodWatch.addHandler({ add: roll, update: (_o, p) => roll(p) });
  /** `<release>/<wave>` → when this process first saw it Passed / Baking. */
  const passedAt = new Map<string, number>();
  /** Release → when this process first saw it RollingBack; the first avoid annotation seen. */
  const rollingBackAt = new Map<string, number>();
  let avoidSeenAt = 0;
  prodWatch.addHandler({
    update: (_o, p) => {
      if (!avoidSeenAt && p.metadata.annotations?.[AVOID_ANNOTATION] !== undefined)
        avoidSeenAt = performance.now();
    },
  });
  const bakingAt = new Map<string, number>();
  releases.addHandler({
    update: (_o, r) => {
      if (r.status?.phase === 'RollingBack' && !rollingBackAt.has(r.metadata.name))
        rollingBackAt.set(r.metadata.name, performance.now());
      r.status?.waves?.forEach((w, i) => {
        const k = `${r.metadata.name}/${i}`;
        if (w.state === 'Passed' && !passedAt.has(k)) passedAt.set(k, performance.now());
        if (w.state === 'Baking' && !bakingAt.has(k)) bakingAt.set(k, performance.now());
      });
    },
  });
  let stood: BenchFleet | undefined;
  try {
    stood = await benchFleet(rest, {
      namespace: ns,
      kinds: [releaseGvr],
      id,
      clusterPrefix: 'rl',
      fleet: FLEET,
      prods: P,
      capacity: CAPACITY,
      haproxy,
      ipOf,
      port,
      answer: (p) => `${p} ${versionOf(p)}`,
      who: 'the release bench',
    });
    const { prods } = stood;
    prodWatch.start();
    releases.start();
    await prodWatch.waitForSync();
    await releases.waitForSync();

    const mgr = new Manager({
      name: CONTROLLER_NAME,
      config: kachikuConfig(),
      namespace: ns,
      log: newLogger(
        process.env.BENCH_LOG === 'debug' || process.env.BENCH_LOG === 'info'
          ? process.env.BENCH_LOG
          : 'warn',
      ),
    });
    registerFleetController(mgr, { placer });
    registerRouterController(mgr);
    registerReleaseController(mgr, { alertmanagerUrl });
    reconciles = async () => {
      const out: Record<string, number> = {};
      for (const v of (await mgr.metrics.reconcileTotal.get()).values)
        out[String(v.labels.controller)] = (out[String(v.labels.controller)] ?? 0) + v.value;
      return out;
    };
    const abort = new AbortController();
    const running = mgr.run(abort.signal);
    stop = () => (abort.abort(), running);
    tenants.start();
    await tenants.waitForSync();

    const names = Array.from({ length: N }, (_, i) => `t-${String(i).padStart(5, '0')}`);
    const created = performance.now();
    await mapLimit(
      names.map((t, i) => ({ t, i })),
      16,
      ({ t, i }) =>
        rest.create<Tenant>(tenantGvr, {
          apiVersion: 'kachiku.io/v1alpha1',
          kind: 'Tenant',
          metadata: { name: t, namespace: ns },
          spec: { fleet: FLEET, redundancy: i % 10 < 3 ? 'Dual' : 'Single', hosts: [hostOf(t)] },
        }),
    );
    log(`${N} Tenants created in ${ms(performance.now() - created)}`);
    await until(
      'every tenant Placed',
      () =>
        tenants
          .list(ns)
          .filter((t) =>
            t.status?.conditions?.some((c) => c.type === 'Placed' && c.status === 'True'),
          ).length === N
          ? true
          : undefined,
      600_000,
      500,
    );
    const routed = () =>
      until(
        'the Router serving every host',
        async () => {
          const r = await rest.get<Router>(routerGvr, ns, 'edge');
          return r.status?.table?.hosts === N &&
            r.status.instances?.[0]?.tableVersion === r.status.table.version
            ? true
            : undefined;
        },
        120_000,
        200,
      );
    await routed();
    log(`placed and routed ${ms(performance.now() - created)} after the first Tenant was created`);
    const quiet = () =>
      until(
        'no tenant moving, every Prod Ready on its version, no annotation',
        () =>
          performance.now() - Math.max(0, ...changedAt.values()) > 3000 &&
          rolling.size === 0 &&
          prodWatch
            .list(ns)
            .every(
              (p) =>
                p.status?.phase === 'Ready' &&
                p.status.version === p.spec.version &&
                !p.metadata.annotations?.[AVOID_ANNOTATION] &&
                !p.metadata.annotations?.[HOLD_ANNOTATION],
            )
            ? true
            : undefined,
        300_000,
        500,
      );
    const finished = (name: string, phase: string, timeoutMs: number) =>
      until(
        `Release ${name} ${phase}`,
        () => {
          if (errors.length) throw new Error(`the Prod stand-in: ${errors.join('; ')}`);
          const r = releases.get(`${ns}/${name}`);
          const ph = r?.status?.phase;
          if (ph && ph !== phase && !['Pending', 'Progressing', 'RollingBack'].includes(ph))
            throw new Error(`Release ${name} ended ${ph}: ${r?.status?.message}`);
          return ph === phase ? r : undefined;
        },
        timeoutMs,
        50,
      );
    const createRelease = (name: string, version: string, strategy: object) =>
      rest.create<Release>(releaseGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'Release',
        metadata: { name, namespace: ns },
        spec: { fleet: FLEET, version, strategy },
      });
    await quiet();
    let good = '1.0.0';

    if (FULL) {
      // 1. A full release, bake 0, no gates.
      const loadBefore = load();
      const t0 = performance.now();
      await createRelease('full', '2.0.0', { bakeTime: '0s' });
      const r = await finished('full', 'Succeeded', 1_800_000);
      const total = performance.now() - t0;
      good = '2.0.0';
      const waves = r!.status!.waves!;
      let overhead = 0;
      let warming = 0;
      const per: string[] = [];
      let prevEnd = t0;
      waves.forEach((w, i) => {
        const end = passedAt.get(`full/${i}`)!;
        const lastReady = Math.max(...w.prods.map((p) => readyAt.get(`${p.name}=2.0.0`)!));
        overhead += end - lastReady;
        // Of the wave's time (previous wave Passed → this one Passed): the Prods' warm-up
        // (first WarmingUp write → last Ready) is the rest.
        warming += lastReady - prevEnd;
        per.push(
          `${w.step}×${w.prods.length}: ${ms(end - prevEnd)} (last Ready → Passed ${ms(end - lastReady)})`,
        );
        prevEnd = end;
      });
      console.log(
        `full release of ${P} Prods, ${N} tenants, bake 0, no gates: created → Succeeded ${ms(total)} in ${waves.length} waves; kachiku's overhead: total − waves × warm-up ${ms(total - waves.length * WARMUP_MS)}, of which Σ(wave Passed − its last Prod Ready) ${ms(overhead)}; Σ(previous wave Passed → last Prod Ready) ${ms(warming)}; waves: ${per.join(' | ')}; load ${loadBefore} → ${load()}`,
      );
      await quiet();
    }

    // 2. Rollbacks through a real Release: an alert during wave 2's bake.
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const ask = (host: string) =>
      new Promise<string>((resolve) => {
        const req = request(haproxy.url, { headers: { host }, agent, timeout: 5000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(res.statusCode === 200 ? body : `${res.statusCode}`));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve(`error ${e.message}`));
        req.end();
      });
    const postAlert = async (labels: Record<string, string>, resolve = false) => {
      const res = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels,
            startsAt: new Date(Date.now() - 60_000).toISOString(),
            ...(resolve && { endsAt: new Date(Date.now() - 1000).toISOString() }),
          },
        ]),
      });
      if (res.status !== 200) throw new Error(`Alertmanager: ${res.status} ${await res.text()}`);
    };
    const setRate = (perMinute: number) =>
      rest.patch(
        fleetGvr,
        ns,
        FLEET,
        { spec: { drain: { rebalanceMovesPerMinute: perMinute } } },
        'merge',
      );
    const totals: number[] = [];
    const mapTimes: number[] = [];
    const perTenant: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const name = `bad-${run}`;
      const version = `${10 + run}.0.0`;
      await createRelease(name, version, {
        bakeTime: BAKE,
        // Two Prods a wave: wave 2 fails with five Prods on the new version at most, whose
        // tenants the others have room for (at 10 Prods too).
        maxProdsPerWave: 2,
        gateInterval: GATE_INTERVAL,
        gates: [{ name: 'errors', matchers: [`run="${id}"`, 'prod="{{prod}}"'] }],
      });
      // Waves 0 and 1 pass their gates and bakes; the alert is posted as soon as wave 2 bakes.
      const baking = await until(
        `wave 2 of ${name} baking`,
        () => {
          const r = releases.get(`${ns}/${name}`);
          if (r?.status?.phase && !['Pending', 'Progressing'].includes(r.status.phase))
            throw new Error(`${name} ${r.status.phase}: ${r.status.message}`);
          return r?.status?.waves?.[2]?.state === 'Baking' ? r : undefined;
        },
        900_000,
        50,
      );
      const target = baking!.status!.waves![2]!.prods[0]!.name;
      const bad = new Set(
        prodWatch
          .list(ns)
          .filter((p) => p.spec.version === version)
          .map((p) => p.metadata.name),
      );
      const affected = tenants
        .list(ns)
        .filter((t) => copiesOf(t).some((p) => bad.has(p)))
        .map((t) => t.metadata.name);
      const labels = { alertname: 'ReleaseBench', run: id, prod: target, severity: 'critical' };
      const loadBefore = load();
      // From now on the Prods going back to the old version warm up slowly: not what answers.
      warmup = ROLLBACK_WARMUP_MS;
      avoidSeenAt = 0;
      const profile = await startProfile();
      const reconcilesBefore = await reconciles();
      const t0 = performance.now();
      await postAlert(labels);
      // What HAProxy routes by, read from its runtime API every 100 ms: when does every affected
      // host's map entry first point at a slot of a Prod not on the failed version? (Exact, and
      // not bounded by how fast this process can ask 1,000 hosts through HTTP.)
      let mapAt = NaN;
      const watchMap = (async () => {
        const client = runtimeClient({ socket: haproxy.socket });
        const hosts = new Set(affected.map(hostOf));
        while (performance.now() - t0 < 120_000) {
          const router = await rest.get<Router>(routerGvr, ns, 'edge');
          const prodOfSlot = new Map(
            (router.status?.slots ?? []).map((r) => [`be_slot_${r.slot}`, r.prod]),
          );
          const entries = await showMap(client, haproxy.mapFile);
          const off = entries.filter((e) => hosts.has(e.key));
          if (
            off.length === hosts.size &&
            off.every((e) => {
              const prod = prodOfSlot.get(e.value.split(' ')[0] ?? '');
              return prod !== undefined && !bad.has(prod);
            })
          ) {
            mapAt = performance.now() - t0;
            return;
          }
          await sleep(100);
        }
      })();
      // The bench shares its process (and so its event loop) with the controllers it measures:
      // 1,000 HTTP requests in flight would slow kachiku down. So the map is what is timed, and
      // the hosts are asked through HAProxy once it says so (the end-to-end check).
      await watchMap;
      await profile?.stop(`${name}-run${run + 1}`);
      const reconcilesAfter = await reconciles();
      console.log(
        `reconciles from the alert to the map: ${Object.entries(reconcilesAfter)
          .map(([c, n]) => `${c} ${n - (reconcilesBefore[c] ?? 0)}`)
          .join(', ')}`,
      );
      const pending = new Set(affected);
      const answeredAt: number[] = [];
      const lastAnswer = new Map<string, number>();
      const before = new Map(
        affected.map((t) => [t, copiesOf(tenants.get(`${ns}/${t}`)!).join('/')]),
      );
      while (pending.size > 0) {
        if (performance.now() - t0 > 120_000)
          throw new Error(`${name}: ${pending.size} hosts not on ${good} after 120 s`);
        await mapLimit([...pending], 16, async (t) => {
          const body = await ask(hostOf(t));
          const [prod, v] = body.split(' ');
          if (prod?.startsWith(`${FLEET}-`) && v === good) {
            pending.delete(t);
            answeredAt.push(performance.now() - t0);
            lastAnswer.set(t, performance.now() - t0);
          }
        });
      }
      mapTimes.push(mapAt);
      const total = Math.max(...answeredAt);
      totals.push(total);
      const last = [...affected]
        .sort((a, b) => (lastAnswer.get(b) ?? 0) - (lastAnswer.get(a) ?? 0))
        .slice(0, 3)
        .map(
          (t) =>
            `${t} ${before.get(t)} → ${tenants.get(`${ns}/${t}`)?.status?.prods?.primary}/${tenants.get(`${ns}/${t}`)?.status?.prods?.secondary ?? '-'} at ${ms(lastAnswer.get(t)!)}`,
        );
      perTenant.push(...answeredAt);
      const r = await finished(name, 'RolledBack', 300_000);
      const routedIn =
        Date.parse(r!.status!.rollback!.routedTime ?? '') -
        Date.parse(r!.status!.rollback!.startTime);
      console.log(
        `run ${run + 1}: alert on ${target} (wave 2 of ${baking!.status!.waves!.length}; ${bad.size} Prods on ${version}, ${affected.length} tenants) → Release RollingBack ${ms((rollingBackAt.get(name) ?? NaN) - t0)}, first avoid annotation ${ms(avoidSeenAt - t0)}, every host's HAProxy map entry on a good Prod ${ms(mapAt)}, every one answered by a Prod on ${good} ${ms(total)} (per tenant ${summary(answeredAt)}); status: routed ${routedIn} ms after the rollback began (second stamps); the last: ${last.join(', ')}; load ${loadBefore} → ${load()}`,
      );
      await postAlert(labels, true);
      await quiet();
      warmup = WARMUP_MS;
      // Even again: the Prods emptied by the rollback filled before the next run.
      await setRate(100_000);
      const share = (N * 1.3) / P;
      await until(
        'every Prod filled again',
        () => {
          const c = new Map<string, number>();
          for (const t of tenants.list(ns))
            for (const p of copiesOf(t)) c.set(p, (c.get(p) ?? 0) + 1);
          return prods.every((p) => (c.get(p) ?? 0) >= 0.7 * share) ? true : undefined;
        },
        180_000,
        500,
      );
      await setRate(0);
      await quiet();
    }
    agent.destroy();
    if (RUNS > 0)
      console.log(
        `${P} Prods, ${N} tenants, ${RUNS} rollbacks, gate interval ${GATE_INTERVAL}: alert → every affected host's HAProxy map entry on a good Prod ${summary(mapTimes)}; every affected tenant answered by a Prod on the old version ${summary(totals)}; per tenant ${summary(perTenant)} (n=${perTenant.length}); load ${load()}`,
      );
  } finally {
    await tenants.stop();
    await prodWatch.stop();
    await releases.stop();
    await stop?.();
    await stood?.close();
  }
}

await main();
process.exit(0);

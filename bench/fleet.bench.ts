// Benchmark of the Fleet controller in the lab (issue 12): `kachiku controller` as a process, as
// kachiku's ServiceAccount, one Fleet of 30 Prods (10 per failure domain over the lab's three
// members) and N Tenant objects (30 % Dual).
//   node dist/bench/fleet.bench.js [tenants]        (bench/run.sh fleet [tenants])
// Reported:
// - creation → all Placed: from the first Tenant created to the last one Placed (and from the
//   last one created), as the bench's own informer of the Tenants sees it; the Tenant status
//   writes this took;
// - one cluster drained: time until no Tenant names a Prod there, and until the Fleet says
//   Drained; Tenant status writes made meanwhile (the control-plane apiserver's
//   apiserver_request_total for tenants/status), and which Tenants changed resourceVersion,
//   against the tenants that had to move (the bench writes no Tenant after creating it);
// - the controller process's RSS (and peak) and CPU per phase, from /proc/<pid>.
// It needs a running lab with three members (KACHIKU_LAB_DIR, `lab up --members 3`).
import { spawn } from 'node:child_process';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Informer } from '../src/runtime/informer.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Rest, isNotFound } from '../src/runtime/rest.js';
import { until } from '../src/runtime/wait.js';
import { applyCrds } from '../src/cli/crds.js';
import { gvrOf } from '../src/api/kind.js';
import { fleetKind, type Fleet } from '../src/api/fleet.js';
import { tenantKind, type Tenant } from '../src/api/tenant.js';
import type { Prod } from '../src/api/prod.js';
import type { MemberCluster } from '../src/api/membercluster.js';
import { memberClusterGvr } from '../src/controllers/membercluster/reconciler.js';
import { prodGvr } from '../src/controllers/prod/reconciler.js';
import { namespaceGvr } from '../src/runtime/core.js';
import { labState } from '../test/support/lab.js';
import {
  controlPlaneConfig,
  deleteProds,
  grantSecrets,
  registerMembers,
} from '../test/support/kube.js';
import { ensureNamespace } from './support.js';

const N = Number(process.argv[2] ?? 10_000);
const NS = 'bench-fleet';
const FLEET = 'herd';
const PER_DOMAIN = 10;
const CAPACITY = 1000;
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** The controller process's CPU seconds (user + system) and RSS, from /proc. */
function proc(pid: number): { cpu: number; rssMb: number; peakMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in ticks of
  // 1/100 s (CLK_TCK on Linux x86-64).
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { cpu, rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/**
 * Tenant status writes the control-plane apiserver has served since it started (its
 * apiserver_request_total for tenants/status, any verb that writes, any code).
 */
async function statusWrites(config: KubeConfig): Promise<number> {
  const url = new URL(`${config.getCurrentCluster()!.server}/metrics`);
  const opts: RequestOptions = { method: 'GET' };
  await config.applyToHTTPSOptions(opts);
  const text = await new Promise<string>((resolve, reject) =>
    httpsRequest(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: ${res.statusCode}`)),
      );
    })
      .on('error', reject)
      .end(),
  );
  let n = 0;
  for (const line of text.split('\n'))
    if (
      line.startsWith('apiserver_request_total{') &&
      line.includes('resource="tenants"') &&
      line.includes('subresource="status"') &&
      /verb="(PUT|PATCH|APPLY)"/.test(line)
    )
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

interface Seen {
  rv: string;
  prods: string[];
  placed: boolean;
}

async function main_(): Promise<void> {
  const lab = labState();
  const members = lab.kube!.clusters.filter((c) => c.role === 'member');
  if (members.length < 3) throw new Error(`3 member clusters needed (lab up --members 3)`);
  const cp = lab.kube!.clusters.find((c) => c.role === 'control-plane')!;
  const config = controlPlaneConfig();
  const rest = new Rest(config);
  await applyCrds(config);
  await ensureNamespace(rest, NS);
  await grantSecrets(rest, NS);
  const clusters = members.slice(0, 3).map((c, i) => ({
    lab: c.name,
    name: `fbench-${'abc'[i]}`,
    domain: 'abc'[i]!,
    provider: c.provider === 'eks' ? ('eks' as const) : ('onprem' as const),
  }));
  await registerMembers(rest, NS, clusters, { bench: 'fleet' });

  const controller = spawn(
    process.execPath,
    [
      main,
      'controller',
      '--kubeconfig',
      cp.kachikuKubeconfig!,
      '--namespace',
      NS,
      '--secret-namespaces',
      NS,
      '--no-leader-elect',
      '--metrics-bind-address',
      '0',
      '--health-probe-bind-address',
      '0',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const pid = controller.pid!;
  process.once('exit', () => controller.kill('SIGKILL'));
  const exited = new Promise<number | null>((r) => controller.once('exit', r));
  const alive = () => {
    if (controller.exitCode !== null) throw new Error(`controller exited ${controller.exitCode}`);
  };
  const load0 = loadavg();
  const figures: string[] = [];
  try {
    await until(
      'MemberClusters Ready',
      async () => {
        alive();
        const all = await Promise.all(
          clusters.map((c) => rest.get<MemberCluster>(memberClusterGvr, undefined, c.name)),
        );
        return (
          all.every((mc) =>
            mc.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
          ) || undefined
        );
      },
      60_000,
    );
    const idle = proc(pid);

    // The Fleet's 30 Prods.
    const f0 = Date.now();
    await rest.create<Fleet>(fleetGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Fleet',
      metadata: { name: FLEET, namespace: NS },
      spec: {
        app: 'bench',
        version: '1.0.0',
        template: {
          components: [{ name: 'web', image: 'registry.example/bench:{{version}}' }],
          capacity: CAPACITY,
        },
        clusterSelector: { matchLabels: { bench: 'fleet' } },
        prods: { perDomain: PER_DOMAIN },
        drain: { prods: 'Keep', rebalanceMovesPerMinute: 0 },
      },
    });
    const prods = await until(
      `${PER_DOMAIN * 3} Prods Ready`,
      async () => {
        alive();
        const ps = (await rest.list<Prod>(prodGvr, NS)).items.filter(
          (p) => p.status?.phase === 'Ready' || p.status?.phase === 'InService',
        );
        return ps.length === PER_DOMAIN * 3 ? ps : undefined;
      },
      300_000,
      500,
    );
    const prodsReadyMs = Date.now() - f0;
    const afterProds = proc(pid);
    log(`${prods.length} Prods Ready in ${s(prodsReadyMs)}`);

    // The bench's own cache of the Tenants (an informer: under 10,000 creations the apiserver
    // drops a watcher that falls behind, and the informer lists again), who is placed where.
    const seen = new Map<string, Seen>();
    let lastPlacedAt = 0;
    const tenants = new Informer<Tenant>(rest, tenantGvr, { namespace: NS });
    const record = (t: Tenant) => {
      const placed =
        t.status?.conditions?.some((c) => c.type === 'Placed' && c.status === 'True') ?? false;
      const was = seen.get(t.metadata.name);
      if (placed && !was?.placed) lastPlacedAt = Date.now();
      seen.set(t.metadata.name, {
        rv: t.metadata.resourceVersion ?? '',
        placed,
        prods: [t.status?.prods?.primary, t.status?.prods?.secondary].filter((p): p is string =>
          Boolean(p),
        ),
      });
    };
    tenants.addHandler({ add: record, update: (_, t) => record(t) });
    tenants.start();
    await tenants.waitForSync();
    if (seen.size) throw new Error(`${NS} has Tenants left from a previous run`);
    const placedCount = () => [...seen.values()].filter((x) => x.placed).length;

    const writesBefore = await statusWrites(config);
    log(`creating ${N} Tenants …`);
    const t0 = Date.now();
    const CONCURRENCY = 32;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < N; i = next++)
          await rest.create<Tenant>(tenantGvr, {
            apiVersion: 'kachiku.io/v1alpha1',
            kind: 'Tenant',
            metadata: { name: `t-${String(i).padStart(5, '0')}`, namespace: NS },
            spec: { fleet: FLEET, redundancy: i % 10 < 3 ? 'Dual' : 'Single', size: 1 },
          });
      }),
    );
    const createdMs = Date.now() - t0;
    log(`created in ${s(createdMs)}; waiting for all Placed …`);
    await until(
      `${N} Tenants Placed`,
      () => {
        alive();
        return placedCount() === N || undefined;
      },
      900_000,
      200,
    );
    const placedMs = lastPlacedAt - t0;
    const writesPlacing = (await statusWrites(config)) - writesBefore;
    await sleep(5000);
    const afterPlace = proc(pid);
    log(`all Placed ${s(placedMs)} after the first create`);

    // Drain the cluster of domain a.
    const drained = clusters[0]!;
    const there = new Set(
      prods
        .filter((p) => (p.spec.cluster ?? p.status?.cluster) === drained.name)
        .map((p) => p.metadata.name),
    );
    const before = new Map([...seen].map(([n, x]) => [n, x.prods]));
    const moving = [...before].filter(([, ps]) => ps.some((p) => there.has(p))).map(([n]) => n);
    const copiesThere = [...before.values()].reduce(
      (n, ps) => n + ps.filter((p) => there.has(p)).length,
      0,
    );
    const rvs = new Map([...seen].map(([n, x]) => [n, x.rv]));
    const writes0 = await statusWrites(config);
    const d0 = Date.now();
    const cpu0 = proc(pid).cpu;
    await rest.patch(memberClusterGvr, undefined, drained.name, { spec: { drain: true } }, 'merge');
    await until(
      `no Tenant on ${drained.name}`,
      () => {
        alive();
        return [...seen.values()].every((x) => !x.prods.some((p) => there.has(p))) || undefined;
      },
      900_000,
      100,
    );
    const emptyMs = Date.now() - d0;
    await until(
      'the Fleet says Drained',
      async () => {
        const f = await rest.get<Fleet>(fleetGvr, NS, FLEET);
        return f.status?.drains?.find((d) => d.cluster === drained.name)?.phase === 'Drained'
          ? f
          : undefined;
      },
      120_000,
      200,
    );
    const drainedMs = Date.now() - d0;
    await sleep(5000);
    const afterDrain = proc(pid);
    const drainWrites = (await statusWrites(config)) - writes0;
    const written = [...seen].filter(([n, x]) => rvs.get(n) !== x.rv).map(([n]) => n);
    const movingSet = new Set(moving);
    const needless = written.filter((n) => !movingSet.has(n));
    const movedCopies = [...seen].reduce((n, [name, x]) => {
      const old = new Set(before.get(name));
      return n + x.prods.filter((p) => !old.has(p)).length;
    }, 0);
    const f = await rest.get<Fleet>(fleetGvr, NS, FLEET);
    const plan = f.status?.drains?.find((d) => d.cluster === drained.name)?.plan;
    await tenants.stop();

    figures.push(
      `load average at the start ${load0.map((x) => x.toFixed(1)).join(' ')}, at the end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (2 cores)`,
      `Prods: ${prods.length} (${PER_DOMAIN} per domain, 3 domains), capacity ${CAPACITY}: Ready ${s(prodsReadyMs)} after the Fleet was created`,
      `Tenants: ${N} (30 % Dual, size 1): created in ${s(createdMs)} (${CONCURRENCY} at a time); all Placed ${s(placedMs)} after the first create, ${s(lastPlacedAt - t0 - createdMs)} after the last; ${writesPlacing} Tenant status writes while placing (${(writesPlacing / N).toFixed(2)} per tenant)`,
      `drain of ${drained.name} (${there.size} Prods): ${moving.length} tenants / ${copiesThere} copies there; none left after ${s(emptyMs)}; Fleet Drained after ${s(drainedMs)}; plan in status ${JSON.stringify(plan)}`,
      `  Tenant status writes during the drain: ${drainWrites} (tenants whose resourceVersion changed: ${written.length}, of which not among those that had to move: ${needless.length}); copies moved ${movedCopies}`,
      `controller (pid ${pid}) RSS: idle ${idle.rssMb.toFixed(0)} MB; with ${prods.length} Prods ${afterProds.rssMb.toFixed(0)} MB; with ${N} Tenants placed ${afterPlace.rssMb.toFixed(0)} MB; after the drain ${afterDrain.rssMb.toFixed(0)} MB; peak ${afterDrain.peakMb.toFixed(0)} MB`,
      `controller CPU: Prods ${(afterProds.cpu - idle.cpu).toFixed(1)} s; placing ${N} Tenants ${(afterPlace.cpu - afterProds.cpu).toFixed(1)} s; the drain ${(afterDrain.cpu - cpu0).toFixed(1)} s (in ${s(drainedMs + 5000)})`,
    );
    console.log(figures.join('\n'));
  } catch (err) {
    // Said before the cleanup, which may fail too.
    console.error('the benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    log('cleaning up …');
    await rest.delete(fleetGvr, NS, FLEET).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    await deleteProds(rest, NS, 300_000).catch((e: unknown) => console.error(String(e)));
    controller.kill('SIGTERM');
    await exited;
    await rest.request('DELETE', `/apis/kachiku.io/v1alpha1/namespaces/${NS}/tenants`, {
      timeoutMs: 300_000,
    });
    for (const c of clusters)
      await rest.delete(memberClusterGvr, undefined, c.name).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    await rest.delete(namespaceGvr, undefined, NS).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}

await main_();

// Benchmark of the runtime's cache and queue (issue 3): N objects of one kind in the lab's
// control plane; for kachiku's Informer + Controller and for client-node's makeInformer, each in
// its own process: time to initial sync, RSS (after GC) with the cache full, reconciles per
// second through the work queue with a no-op reconciler, and idle CPU with nothing changing.
//   node --expose-gc dist/bench/informer.bench.js [objects] [idle seconds]
// It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  KubeConfig,
  makeInformer,
  CustomObjectsApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { Manager } from '../src/runtime/manager.js';
import { Rest, isAlreadyExists } from '../src/runtime/rest.js';
import { newLogger } from '../src/runtime/log.js';
import {
  controlPlaneConfig,
  ensureWidgetCrd,
  namespaceGvr,
  widget,
  widgetGvr,
  type Widget,
} from '../test/support/kube.js';

const NS = 'bench-informer';
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

function rssAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

/** Percent of one core used over `seconds` of doing nothing. */
async function idleCpu(seconds: number): Promise<number> {
  const start = process.cpuUsage();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(start);
  return Math.round(((used.user + used.system) / 1e6 / seconds) * 1000) / 10;
}

async function populate(rest: Rest, n: number): Promise<void> {
  await ensureWidgetCrd(rest);
  await rest
    .create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
  const have = new Set((await rest.list<Widget>(widgetGvr, NS)).items.map((w) => w.metadata.name));
  const todo = Array.from({ length: n }, (_, i) => `w-${String(i).padStart(6, '0')}`).filter(
    (name) => !have.has(name),
  );
  const t0 = performance.now();
  // A realistic object: a few labels and an annotation, about 1 KiB as stored.
  const make = (name: string) => ({
    ...widget(NS, name, name.length),
    metadata: {
      name,
      namespace: NS,
      labels: { app: 'bench', tier: 'web', shard: String(Number(name.slice(2)) % 16) },
      annotations: { 'bench.kachiku.io/note': 'x'.repeat(512) },
    },
  });
  for (let i = 0; i < todo.length; i += 64) {
    await Promise.all(
      todo
        .slice(i, i + 64)
        .map((name) =>
          rest
            .create(widgetGvr, make(name))
            .catch((e) => (isAlreadyExists(e) ? undefined : Promise.reject(e))),
        ),
    );
  }
  if (todo.length)
    console.error(
      `created ${todo.length} objects in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
}

interface Result {
  impl: string;
  objects: number;
  syncSeconds: number;
  rssBeforeMb: number;
  rssSyncedMb: number;
  reconcilesPerSecond?: number;
  idleCpuPercent: number;
}

async function runKachiku(n: number, idleSeconds: number): Promise<Result> {
  const rssBefore = rssAfterGc();
  const mgr = new Manager({
    name: 'bench.kachiku.io/informer',
    config: controlPlaneConfig(),
    namespace: NS,
    log: newLogger('warn'),
  });
  const widgets = mgr.informer<Widget>(widgetGvr);
  let reconciled = 0;
  const controller = mgr
    .controller({ name: 'noop', concurrency: 1, reconcile: async () => void reconciled++ })
    .for(widgets);
  const stop = new AbortController();
  const t0 = performance.now();
  const running = mgr.run(stop.signal);
  await widgets.waitForSync();
  const syncSeconds = (performance.now() - t0) / 1000;
  if (widgets.size !== n) throw new Error(`cache holds ${widgets.size} objects, expected ${n}`);
  // The initial wave: every object's key once. Then the same again, timed on its own.
  while (reconciled < n) await sleep(10);
  const rssSynced = rssAfterGc();
  const before = reconciled;
  const t1 = performance.now();
  for (const w of widgets.list())
    controller.enqueue({ namespace: w.metadata.namespace, name: w.metadata.name });
  while (reconciled < before + n) await sleep(1);
  const reconcilesPerSecond = Math.round(n / ((performance.now() - t1) / 1000));
  const idle = await idleCpu(idleSeconds);
  stop.abort();
  await running;
  return {
    impl: 'kachiku Informer + Controller',
    objects: n,
    syncSeconds: Math.round(syncSeconds * 100) / 100,
    rssBeforeMb: mb(rssBefore),
    rssSyncedMb: mb(rssSynced),
    reconcilesPerSecond,
    idleCpuPercent: idle,
  };
}

async function runClientNode(n: number, idleSeconds: number): Promise<Result> {
  const rssBefore = rssAfterGc();
  const kc: KubeConfig = controlPlaneConfig();
  const api = kc.makeApiClient(CustomObjectsApi);
  const path = `/apis/${widgetGvr.group}/${widgetGvr.version}/namespaces/${NS}/${widgetGvr.resource}`;
  const list = () =>
    api.listNamespacedCustomObject({
      group: widgetGvr.group,
      version: widgetGvr.version,
      namespace: NS,
      plural: widgetGvr.resource,
    }) as Promise<{
      metadata: { resourceVersion: string };
      items: KubernetesObject[];
    }>;
  const informer = makeInformer(kc, path, list as never);
  const t0 = performance.now();
  await informer.start();
  const syncSeconds = (performance.now() - t0) / 1000;
  const size = informer.list().length;
  if (size !== n) throw new Error(`cache holds ${size} objects, expected ${n}`);
  const rssSynced = rssAfterGc();
  const idle = await idleCpu(idleSeconds);
  await informer.stop();
  return {
    impl: 'client-node makeInformer',
    objects: n,
    syncSeconds: Math.round(syncSeconds * 100) / 100,
    rssBeforeMb: mb(rssBefore),
    rssSyncedMb: mb(rssSynced),
    idleCpuPercent: idle,
  };
}

function child(mode: string, n: number, idle: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), mode, String(n), String(idle)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`${mode} exited ${code}`)),
    );
  });
}

const [mode, nArg, idleArg] = process.argv.slice(2);
if (mode === 'kachiku' || mode === 'client-node') {
  const r =
    mode === 'kachiku'
      ? await runKachiku(Number(nArg), Number(idleArg))
      : await runClientNode(Number(nArg), Number(idleArg));
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
} else {
  const n = Number(mode ?? 10_000);
  const idle = Number(nArg ?? 30);
  await populate(new Rest(controlPlaneConfig()), n);
  const results = [await child('kachiku', n, idle), await child('client-node', n, idle)];
  console.log(
    `| implementation | objects | initial sync (s) | RSS before (MB) | RSS synced (MB) | cache (MB) | no-op reconciles/s | idle CPU (% of a core, ${idle} s) |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.impl} | ${r.objects} | ${r.syncSeconds} | ${r.rssBeforeMb} | ${r.rssSyncedMb} | ${r.rssSyncedMb - r.rssBeforeMb} | ${r.reconcilesPerSecond ?? '—'} | ${r.idleCpuPercent} |`,
    );
  }
}

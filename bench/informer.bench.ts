// Benchmark of the runtime's cache and queue (issue 3): N objects of one kind in the lab's
// control plane; for kachiku's Informer + Controller (whole objects, and metadata only),
// client-node's makeInformer, and client-go's dynamic and metadata-only informers (the Go
// program in bench/client-go, built into the cache by its build.sh), each in its own process:
// time to initial sync, RSS (after GC) with the cache full, reconciles per second through the
// work queue with a no-op reconciler, idle CPU with nothing changing, and the TCP sockets held to
// the apiserver once synced. Every implementation runs `rounds` times, interleaved (the order
// turns from round to round); the table shows medians.
//   node --expose-gc dist/bench/informer.bench.js [objects] [idle seconds] [rounds]
// It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { execFileSync, spawn } from 'node:child_process';
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
import { labState } from '../test/support/lab.js';
import { socketsHeld } from './sockets.js';
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
  sockets: number;
}

const apiserverPort = () => Number(new URL(controlPlaneConfig().getCurrentCluster()!.server).port);

async function runKachiku(n: number, idleSeconds: number, metadataOnly: boolean): Promise<Result> {
  const rssBefore = rssAfterGc();
  const mgr = new Manager({
    name: 'bench.kachiku.io/informer',
    config: controlPlaneConfig(),
    namespace: NS,
    log: newLogger('warn'),
  });
  const widgets = mgr.informer<Widget>(widgetGvr, { metadataOnly });
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
  const sockets = socketsHeld(apiserverPort());
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
    impl: `kachiku Informer + Controller${metadataOnly ? ', metadata only' : ''}`,
    objects: n,
    syncSeconds: Math.round(syncSeconds * 100) / 100,
    rssBeforeMb: mb(rssBefore),
    rssSyncedMb: mb(rssSynced),
    reconcilesPerSecond,
    idleCpuPercent: idle,
    sockets,
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
  const sockets = socketsHeld(apiserverPort());
  const idle = await idleCpu(idleSeconds);
  await informer.stop();
  return {
    impl: 'client-node makeInformer',
    objects: n,
    syncSeconds: Math.round(syncSeconds * 100) / 100,
    rssBeforeMb: mb(rssBefore),
    rssSyncedMb: mb(rssSynced),
    idleCpuPercent: idle,
    sockets,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * The list path's parts, `rounds` times (medians): one list of everything from the watch cache
 * through Rest (request, body read as text, JSON.parse), and JSON.parse alone on the same text.
 */
async function listCost(rest: Rest, rounds: number): Promise<void> {
  const totals: number[] = [];
  const parses: number[] = [];
  let megabytes = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const list = await rest.list<Widget>(widgetGvr, NS, { resourceVersion: '0' });
    totals.push(performance.now() - t0);
    const text = JSON.stringify(list);
    megabytes = text.length / 1e6;
    const t1 = performance.now();
    JSON.parse(text);
    parses.push(performance.now() - t1);
  }
  console.error(
    `list of ${NS} at resourceVersion=0 (${megabytes.toFixed(1)} MB of JSON): ${Math.round(median(totals))} ms, of which JSON.parse ${Math.round(median(parses))} ms (medians of ${rounds})`,
  );
}

const MODES = [
  'kachiku',
  'kachiku-metadata',
  'client-node',
  'client-go-dynamic',
  'client-go-metadata',
] as const;

function child(mode: (typeof MODES)[number], n: number, idle: number, goBinary: string) {
  return new Promise<Result>((resolve, reject) => {
    const cp = labState().kube!.clusters.find((c) => c.role === 'control-plane')!;
    const [command, args] = mode.startsWith('client-go-')
      ? [
          goBinary,
          [
            `-mode=${mode.slice('client-go-'.length)}`,
            `-kubeconfig=${cp.kubeconfig}`,
            `-namespace=${NS}`,
            `-group=${widgetGvr.group}`,
            `-version=${widgetGvr.version}`,
            `-resource=${widgetGvr.resource}`,
            `-objects=${n}`,
            `-idle=${idle}`,
          ],
        ]
      : [
          process.execPath,
          ['--expose-gc', fileURLToPath(import.meta.url), mode, String(n), String(idle)],
        ];
    const p = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`${mode} exited ${code}`)),
    );
  });
}

const [mode, nArg, idleArg] = process.argv.slice(2);
if (mode === 'kachiku' || mode === 'kachiku-metadata' || mode === 'client-node') {
  const r =
    mode === 'client-node'
      ? await runClientNode(Number(nArg), Number(idleArg))
      : await runKachiku(Number(nArg), Number(idleArg), mode === 'kachiku-metadata');
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
} else {
  const n = Number(mode ?? 10_000);
  const idle = Number(nArg ?? 30);
  const rounds = Number(idleArg ?? 3);
  const goBinary = execFileSync(
    'bash',
    [fileURLToPath(new URL('../../bench/client-go/build.sh', import.meta.url))],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  const rest = new Rest(controlPlaneConfig());
  await populate(rest, n);
  await listCost(rest, rounds);
  await rest.close();
  const runs = new Map<string, Result[]>(MODES.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    // Interleaved: each round starts with the next implementation.
    const order = [...MODES.slice(r % MODES.length), ...MODES.slice(0, r % MODES.length)];
    for (const m of order) {
      const result = await child(m, n, idle, goBinary);
      console.error(JSON.stringify({ round: r + 1, ...result }));
      runs.get(m)!.push(result);
    }
  }
  console.log(
    `| implementation | objects | initial sync (s), median (runs) | RSS before (MB) | RSS synced (MB) | cache (MB) | no-op reconciles/s | idle CPU (% of a core, ${idle} s) | sockets to the apiserver |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const rs of runs.values()) {
    const m = (f: (r: Result) => number | undefined) => median(rs.map((r) => f(r) ?? NaN));
    const reconciles = m((r) => r.reconcilesPerSecond);
    console.log(
      `| ${rs[0]!.impl} | ${rs[0]!.objects} | ${m((r) => r.syncSeconds)} (${rs.map((r) => r.syncSeconds).join(', ')}) | ${m((r) => r.rssBeforeMb)} | ${m((r) => r.rssSyncedMb)} | ${m((r) => r.rssSyncedMb - r.rssBeforeMb)} | ${Number.isNaN(reconciles) ? '—' : reconciles} | ${m((r) => r.idleCpuPercent)} | ${m((r) => r.sockets)} |`,
    );
  }
}

// Benchmark of the runtime's HTTP client: requests per second through `Rest` and the TCP
// connections it opens and holds to the apiserver, for this tree and for another build of the
// runtime (e.g. the commit before REST moved from node-fetch to undici), in the same sitting,
// interleaved, each in a process of its own:
//   node dist/bench/rest.bench.js [other dist dir] [rounds] [seconds per phase]
// Phases: GETs of one object with 1 and with 32 in flight, LISTs of 500 objects (one page)
// with 1 in flight, then five informers at once (a custom resource in one namespace;
// configmaps, secrets, serviceaccounts and namespaces cluster-wide) from start to synced and
// 3 s after. The other tree needs its own node_modules and a build (`npx tsc`); its runtime
// must offer the same Rest (constructor, get, list) and Informer (constructor, start,
// waitForSync, stop) as this one. The child counts the TLS connections it opens; the parent
// samples the sockets it holds (bench/sockets.ts). It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SocketSampler, countTlsConnects } from './sockets.js';

const NS = 'bench-rest';
const OBJECTS = 500;
const here = dirname(fileURLToPath(import.meta.url));
const thisTree = resolve(here, '..');

interface Phase {
  phase: string;
  /** Requests per second; for the informers, the seconds until all five synced. */
  perSecond?: number;
  syncSeconds?: number;
  opened: number;
  maxHeld: number;
  heldAtEnd: number;
}

// The runtime of one tree, loaded from its build (`root` is its dist/ directory).
interface Runtime {
  Rest: new (config: unknown) => {
    get(gvr: unknown, ns: string | undefined, name: string): Promise<unknown>;
    list(gvr: unknown, ns: string | undefined, q?: Record<string, unknown>): Promise<unknown>;
    close?(): Promise<void>;
  };
  Informer: new (
    rest: unknown,
    gvr: unknown,
    opts: { namespace?: string },
  ) => { start(): void; waitForSync(): Promise<void>; stop(): Promise<void> };
  controlPlaneConfig(): { getCurrentCluster(): { server: string } | null };
  widgetGvr: { group: string; version: string; resource: string; namespaced: boolean };
}

async function load(root: string): Promise<Runtime> {
  const imp = (p: string) => import(pathToFileURL(resolve(root, p)).href);
  const [rest, informer, kube] = await Promise.all([
    imp('src/runtime/rest.js'),
    imp('src/runtime/informer.js'),
    imp('test/support/kube.js'),
  ]);
  return { ...rest, ...informer, ...kube } as Runtime;
}

const core = (resource: string, namespaced = true) => ({
  group: '',
  version: 'v1',
  resource,
  namespaced,
});

/** In the child: runs the phases, announcing each on stdout so the parent counts connections. */
async function runChild(root: string, seconds: number): Promise<void> {
  const opened = countTlsConnects();
  const rt = await load(root);
  const config = rt.controlPlaneConfig();
  const rest = new rt.Rest(config);
  const say = (line: string) => process.stdout.write(line + '\n');
  const phase = async (name: string, body: () => Promise<Record<string, number>>) => {
    say(`start ${name}`);
    await sleep(300); // the parent's sampler starts
    const before = opened();
    const figures = await body();
    const connections = opened() - before;
    await sleep(300);
    say(`end ${name} ${JSON.stringify({ ...figures, opened: connections })}`);
    await sleep(300);
  };
  const hammer = (concurrency: number, op: () => Promise<unknown>) => async () => {
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          await op();
          n++;
        }
      }),
    );
    return { perSecond: Math.round(n / ((performance.now() - t0) / 1000)) };
  };
  await phase(
    'GET, 1 in flight',
    hammer(1, () => rest.get(rt.widgetGvr, NS, 'w-000000')),
  );
  await phase(
    'GET, 32 in flight',
    hammer(32, () => rest.get(rt.widgetGvr, NS, 'w-000000')),
  );
  await phase(
    `LIST of ${OBJECTS}, 1 in flight`,
    hammer(1, () => rest.list(rt.widgetGvr, NS, { limit: OBJECTS })),
  );
  await phase('5 informers', async () => {
    const informers = [
      new rt.Informer(rest, rt.widgetGvr, { namespace: NS }),
      new rt.Informer(rest, core('configmaps'), {}),
      new rt.Informer(rest, core('secrets'), {}),
      new rt.Informer(rest, core('serviceaccounts'), {}),
      new rt.Informer(rest, core('namespaces', false), {}),
    ];
    const t0 = performance.now();
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync()));
    const syncSeconds = Math.round((performance.now() - t0) / 10) / 100;
    await sleep(3000);
    // The parent reads the sockets held before the informers stop.
    say('settled');
    await sleep(500);
    await Promise.all(informers.map((i) => i.stop()));
    return { syncSeconds };
  });
  await rest.close?.();
}

/** In the parent: one child over every phase, its connections counted from outside. */
function child(root: string, seconds: number, port: number): Promise<Phase[]> {
  return new Promise((resolvePhases, reject) => {
    const p = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), 'child', root, `${seconds}`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const phases: Phase[] = [];
    let sampler: SocketSampler | undefined;
    let heldAtEnd = -1;
    createInterface({ input: p.stdout }).on('line', (line) => {
      const [, what, rest] = /^(\w+) ?(.*)$/.exec(line) ?? [];
      if (what === 'start') {
        sampler = new SocketSampler(port, p.pid!);
        heldAtEnd = -1;
      } else if (what === 'settled') {
        heldAtEnd = sampler!.sample();
      } else if (what === 'end') {
        const m = /^(.*) (\{.*\})$/.exec(rest!)!;
        if (heldAtEnd < 0) heldAtEnd = sampler!.sample();
        const maxHeld = sampler!.stop();
        phases.push({ phase: m[1]!, ...JSON.parse(m[2]!), maxHeld, heldAtEnd });
      }
    });
    p.once('exit', (code) =>
      code === 0 ? resolvePhases(phases) : reject(new Error(`child exited ${code}`)),
    );
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function populate(rt: Runtime): Promise<void> {
  const rest = new rt.Rest(
    rt.controlPlaneConfig(),
  ) as unknown as import('../src/runtime/rest.js').Rest;
  const { ensureWidgetCrd, widget } = await import('../test/support/kube.js');
  const { ensureNamespace } = await import('./support.js');
  const { isAlreadyExists } = await import('../src/runtime/rest.js');
  await ensureWidgetCrd(rest);
  await ensureNamespace(rest, NS);
  for (let i = 0; i < OBJECTS; i += 50)
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        rest
          .create(rt.widgetGvr, widget(NS, `w-${String(i + j).padStart(6, '0')}`))
          .catch((e) => (isAlreadyExists(e) ? undefined : Promise.reject(e))),
      ),
    );
  await rest.close();
}

const [mode, a1, a2] = process.argv.slice(2);
if (mode === 'child') {
  await runChild(a1!, Number(a2));
  process.exit(0);
} else {
  const other = mode ? resolve(mode) : undefined;
  const rounds = Number(a1 ?? 3);
  const seconds = Number(a2 ?? 5);
  const rt = await load(thisTree);
  await populate(rt);
  const port = Number(new URL(rt.controlPlaneConfig().getCurrentCluster()!.server).port);
  const trees = other ? [thisTree, other] : [thisTree];
  const runs = new Map<string, Phase[][]>(trees.map((t) => [t, []]));
  for (let r = 0; r < rounds; r++) {
    // Interleaved, the order alternating from round to round.
    for (const tree of r % 2 ? [...trees].reverse() : trees) {
      const phases = await child(tree, seconds, port);
      console.error(JSON.stringify({ tree, round: r + 1, phases }));
      runs.get(tree)!.push(phases);
    }
  }
  console.log(
    `| runtime | phase | requests/s (or sync s) | connections opened | most sockets held | sockets held at the end |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const [tree, rs] of runs) {
    for (const [i, p] of rs[0]!.entries()) {
      const m = (f: (x: Phase) => number | undefined) => median(rs.map((r) => f(r[i]!) ?? NaN));
      const rate =
        p.perSecond !== undefined ? m((x) => x.perSecond) : `${m((x) => x.syncSeconds)} s`;
      console.log(
        `| ${tree} | ${p.phase} | ${rate} | ${m((x) => x.opened)} | ${m((x) => x.maxHeld)} | ${m((x) => x.heldAtEnd)} |`,
      );
    }
  }
}

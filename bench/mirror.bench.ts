// Benchmark of the LoadBalancerMirror (issue 4): N mirrors × L listeners × M members in one
// controller, against the lab's real Octavia and moto.
//   node --expose-gc dist/bench/mirror.bench.js [mirrors] [listeners] [members] [interval] [cycles]
// Measures: time until every mirror is Ready; Octavia and AWS calls and apiserver writes per
// steady-state cycle, averaged over `cycles` intervals (default 10, the controller's
// awsCheckEvery, so that the periodic drift check is counted in its share) per mirror and per
// target group (AWS writes should be zero); the latency from a member change in Octavia to its
// target registered, as a fraction of the interval (p50, p99), beside a sync's own time (p50,
// p99); the AWS calls of the first cycle after a restart of the controller (reading by the ARNs
// in status, and again with those reads refused, i.e. the region scan every mirror made before);
// the controller's RSS and CPU. It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts
// one.
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../src/runtime/manager.js';
import { Rest, isAlreadyExists } from '../src/runtime/rest.js';
import { newLogger } from '../src/runtime/log.js';
import { parseDuration } from '../src/runtime/duration.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { applyCrds } from '../src/cli/crds.js';
import { benchLab, ensureNamespace, pct } from './support.js';
import type { LoadBalancerMirror } from '../src/api/loadbalancermirror.js';
import {
  mirrorGvr,
  registerLoadBalancerMirror,
} from '../src/controllers/loadbalancermirror/reconciler.js';
import { mirrorNaming, realMirrorClouds } from '../src/controllers/loadbalancermirror/clouds.js';
import { OctaviaBuilder, type MemberInput } from '../lab/src/octavia.js';
import { CONTROLLER_NAME } from '../src/api/kind.js';

const [mirrorsArg, listenersArg, membersArg, intervalArg, cyclesArg] = process.argv.slice(2);
const N = Number(mirrorsArg ?? 200);
const L = Number(listenersArg ?? 2);
const M = Number(membersArg ?? 10);
const interval = intervalArg ?? '30s';
const intervalMs = parseDuration(interval);
const cycles = Number(cyclesArg ?? 10);
const NS = 'bench-mirror';

const { lab, config, rest } = benchLab();
const octavia = new OctaviaBuilder(lab.openstack!);

// Distinct on-prem addresses per mirror, listener and member: no two targets share an IP.
const members = (i: number, l: number, count: number): MemberInput[] =>
  Array.from({ length: count }, (_, m) => ({
    address: `10.${100 + l}.${m}.${i + 1}`,
    protocol_port: 8000 + l,
  }));

async function ensureLoadBalancer(i: number): Promise<{ id: string; pools: string[] }> {
  const name = `bench-${i}`;
  const found = await octavia.findLoadBalancer(name);
  if (found) {
    const pools = await octavia.call('GET', `/pools?loadbalancer_id=${found}`);
    const ids = ((pools.body.pools as { id: string; listeners: { id: string }[] }[]) ?? []).map(
      (p) => p.id,
    );
    if (ids.length === L) return { id: found, pools: ids };
    await octavia.deleteLoadBalancer(found);
  }
  const id = await octavia.loadBalancer(name);
  const pools: string[] = [];
  for (let l = 0; l < L; l++) {
    const listener = await octavia.listener(id, 'TCP', 8000 + l);
    const pool = await octavia.pool(id, listener, 'TCP');
    await octavia.setMembers(id, pool, members(i, l, M));
    pools.push(pool);
  }
  return { id, pools };
}

/** f(0) … f(n - 1), at most `width` at once. */
const inParallel = <T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> =>
  mapLimit(
    Array.from({ length: n }, (_, i) => i),
    width,
    f,
  );

// ---- set-up
let t = performance.now();
await applyCrds(config);
await ensureNamespace(rest, NS);
// 8 at a time: the lab's octavia-worker runs 5 flows at once.
const lbs = await inParallel(N, 8, ensureLoadBalancer);
console.error(
  `Octavia: ${N} load balancers × ${L} listeners × ${M} members ready in ${((performance.now() - t) / 1000).toFixed(0)} s`,
);

// ---- the controller, with counters on every API call
type Calls = Record<'octavia' | 'awsReads' | 'awsWrites' | 'kubeWrites', Map<string, number>>;
const count = (map: Map<string, number>, op: string) => map.set(op, (map.get(op) ?? 0) + 1);
const registeredAt = new Map<string, number>();

interface Running {
  calls: Calls;
  /** Each sync's seconds, in the order they ended. */
  syncSeconds: number[];
  /** Each read of an Octavia load balancer's tree (a sync's Octavia part), in seconds. */
  treeSeconds: number[];
  /** The mirrors that have synced at least once. */
  synced: Set<string>;
  stop: () => Promise<void>;
}

/**
 * One controller. `scan`: every read of AWS by the ARNs in status or memory is refused, so each
 * mirror's first sync scans the region, as every sync after a restart did before status was
 * read (the code since is otherwise the same).
 */
function startController(opts: { scan?: boolean } = {}): Running {
  const calls: Calls = {
    octavia: new Map(),
    awsReads: new Map(),
    awsWrites: new Map(),
    kubeWrites: new Map(),
  };
  const syncSeconds: number[] = [];
  const treeSeconds: number[] = [];
  const synced = new Set<string>();
  const mgr = new Manager({ name: CONTROLLER_NAME, config, namespace: NS, log: newLogger('warn') });
  // Every apiserver write the controller makes (views made by withSignal share this method).
  mgr.rest.request = function (this: Rest, method, path, o) {
    if (method !== 'GET') count(calls.kubeWrites, writeKind(method, path));
    return Rest.prototype.request.call(this, method, path, o);
  } as Rest['request'];
  const clouds = realMirrorClouds(mgr.rest, {
    octavia: (op) => count(calls.octavia, op),
    aws: (_service, op) =>
      count(/^(Describe|Get|List)/.test(op) ? calls.awsReads : calls.awsWrites, op),
  });
  registerLoadBalancerMirror(mgr, {
    naming: mirrorNaming,
    onSync: (_outcome, seconds, key) => {
      syncSeconds.push(seconds);
      synced.add(key);
    },
    clouds: {
      octavia: async (m) => {
        const client = await clouds.octavia(m);
        return {
          ...client,
          getTree: async (id, lb) => {
            const t0 = performance.now();
            try {
              return await client.getTree(id, lb);
            } finally {
              treeSeconds.push((performance.now() - t0) / 1000);
            }
          },
        };
      },
      route53: (m) => clouds.route53(m),
      aws: async (m) => {
        const api = await clouds.aws(m);
        return {
          ...api,
          ...(opts.scan && { observeKnown: () => Promise.resolve(undefined) }),
          apply: async (a, arns) => {
            await api.apply(a, arns);
            if (a.kind === 'registerTargets')
              for (const x of a.targets) registeredAt.set(`${x.ip}:${x.port}`, performance.now());
          },
        };
      },
    },
  });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  return { calls, syncSeconds, treeSeconds, synced, stop: () => (ctl.abort(), running) };
}

/** "PUT loadbalancermirrors/status", "POST events": what an apiserver write was. */
function writeKind(method: string, path: string): string {
  const p = path.split('?')[0]!.split('/');
  const i = p.indexOf('namespaces');
  const [resource, , sub] = i >= 0 ? p.slice(i + 2) : p.slice(-1);
  return `${method} ${resource}${sub ? `/${sub}` : ''}`;
}

const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
const load = () => loadavg()[0]!.toFixed(1);
const loads: string[] = [];

/**
 * The first cycle after a restart: a new controller, until it has synced every mirror once
 * (each is enqueued at start). Its AWS calls (a mirror that syncs again meanwhile reads
 * nothing from AWS: its plan is the one just confirmed).
 */
async function restarted(opts: { scan?: boolean }) {
  const ctl = startController(opts);
  const t0 = performance.now();
  while (ctl.synced.size < N) {
    if (performance.now() - t0 > Math.max(intervalMs, 900_000))
      throw new Error(`after a restart only ${ctl.synced.size} of ${N} mirrors synced`);
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  await ctl.stop();
  const reads = Object.fromEntries([...ctl.calls.awsReads].sort());
  return {
    seconds,
    reads: total(ctl.calls.awsReads),
    writes: total(ctl.calls.awsWrites),
    readsByOp: reads,
    load: load(),
  };
}

const first = startController();
const cpu0 = process.cpuUsage();

t = performance.now();
await inParallel(N, 8, async (i) =>
  rest
    .create<LoadBalancerMirror>(mirrorGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'LoadBalancerMirror',
      metadata: { name: `m-${i}`, namespace: NS },
      spec: {
        octavia: { loadBalancerID: lbs[i]!.id, cloud: lab.openstack!.cloud },
        aws: {
          region: lab.aws!.region,
          vpcID: lab.aws!.vpc.id,
          subnetIDs: lab.aws!.subnets.map((s) => s.id),
        },
        syncInterval: interval,
      },
    })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    }),
);
for (;;) {
  const list = await rest.list<LoadBalancerMirror>(mirrorGvr, NS);
  const ready = list.items.filter((m) =>
    m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
  if (ready >= N) break;
  await sleep(1000);
}
const convergeSeconds = (performance.now() - t) / 1000;
console.error(`all ${N} mirrors Ready in ${convergeSeconds.toFixed(1)} s`);

loads.push(load());

// ---- the steady state: `cycles` intervals, each mirror syncing once per interval on average
await sleep(intervalMs * 1.2);
const { calls } = first;
for (const map of Object.values(calls)) map.clear();
const steadyFrom = first.syncSeconds.length;
const treesFrom = first.treeSeconds.length;
await sleep(intervalMs * cycles);
loads.push(load());
const sum = (map: Map<string, number>) => total(map) / cycles;
const steady = {
  octavia: Math.round(sum(calls.octavia)),
  reads: Math.round(sum(calls.awsReads)),
  writes: Math.round(sum(calls.awsWrites) * 10) / 10,
  kube: Math.round(sum(calls.kubeWrites) * 10) / 10,
  syncs: (first.syncSeconds.length - steadyFrom) / cycles,
};
const perCycle = (map: Map<string, number>) =>
  Object.fromEntries([...map].map(([k, n]) => [k, Math.round((n / cycles) * 10) / 10]));
const readsByOp = perCycle(calls.awsReads);
const kubeByKind = perCycle(calls.kubeWrites);
const syncTimes = first.syncSeconds.slice(steadyFrom).sort((a, b) => a - b);
const treeTimes = first.treeSeconds.slice(treesFrom).sort((a, b) => a - b);

// ---- member change → target registered, for up to 20 mirrors
const K = Math.min(N, 20);
const runPort = 20000 + Math.floor(Math.random() * 40000);
const changedAt = new Map<string, number>();
await inParallel(K, 4, async (i) => {
  // A port of this run's own, so that a rerun on the same load balancers changes something.
  const added = { address: `10.100.${M}.${i + 1}`, protocol_port: runPort };
  await octavia.setMembers(lbs[i]!.id, lbs[i]!.pools[0]!, [...members(i, 0, M), added]);
  changedAt.set(`${added.address}:${added.protocol_port}`, performance.now());
});
const changeDeadline = performance.now() + intervalMs * 5;
while (![...changedAt.keys()].every((k) => registeredAt.has(k))) {
  if (performance.now() > changeDeadline)
    throw new Error('a member change was not registered within 5 intervals');
  await sleep(200);
}
const latencies = [...changedAt]
  .map(([k, at]) => (registeredAt.get(k)! - at) / intervalMs)
  .sort((a, b) => a - b);
loads.push(load());

(globalThis as { gc?: () => void }).gc?.();
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
const cpu = process.cpuUsage(cpu0);
const wallS = (performance.now() - t) / 1000;
await first.stop();

// ---- restarts: the first cycle of a new controller, reading by ARN, then scanning
const byArn = await restarted({});
const scanned = await restarted({ scan: true });

const tgs = N * L;
const f2 = (x: number) => x.toFixed(2);
const syncP = (p: number) => pct(syncTimes, p) / (intervalMs / 1000);
console.log(
  `| mirrors × listeners × members | interval | all Ready | Octavia calls / cycle | AWS reads / cycle | AWS writes / cycle | apiserver writes / cycle | change → registered p50 / p99 (× interval) | sync time p50 / p99 (× interval) | RSS | CPU | load (1 min) |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
console.log(
  `| ${N} × ${L} × ${M} | ${interval} | ${convergeSeconds.toFixed(1)} s | ${steady.octavia} (${(steady.octavia / N).toFixed(1)} per mirror) | ${steady.reads} (${(steady.reads / tgs).toFixed(1)} per target group) | ${steady.writes} | ${steady.kube} (${(steady.kube / N).toFixed(2)} per mirror) | ${f2(pct(latencies, 50))} / ${f2(pct(latencies, 99))} | ${f2(syncP(50))} / ${f2(syncP(99))} | ${rssMb} MB | ${(((cpu.user + cpu.system) / 1e6 / wallS) * 100).toFixed(1)} % of a core | ${loads.join(' / ')} |`,
);
console.log(
  `steady state: ${f2(steady.syncs)} syncs per cycle (${f2(steady.syncs / N)} per mirror); change → registered p99 ${f2(pct(latencies, 99))} against the bound 1 + sync p99 = ${f2(1 + syncP(99))}`,
);
console.log(
  `a sync's own time p50 / p99: ${f2(pct(syncTimes, 50))} / ${f2(pct(syncTimes, 99))} s${
    // A whole tree is read only when the load balancer changed, or every 10th sync.
    treeTimes.length
      ? `, of which reading Octavia's whole tree (${treeTimes.length} read) ${f2(pct(treeTimes, 50))} / ${f2(pct(treeTimes, 99))} s`
      : '; no whole tree was read in the window'
  }`,
);
console.log(`AWS reads per steady cycle by operation: ${JSON.stringify(readsByOp)}`);
console.log(`apiserver writes per steady cycle: ${JSON.stringify(kubeByKind)}`);
for (const [name, r] of [
  ['by the ARNs in status', byArn],
  ['region scan (ARN reads refused)', scanned],
] as const) {
  console.log(
    `first cycle after a restart, ${name}: ${r.reads} AWS reads (${(r.reads / N).toFixed(1)} per mirror), ${r.writes} writes, in ${r.seconds.toFixed(1)} s, load ${r.load}; reads by operation: ${JSON.stringify(r.readsByOp)}`,
  );
}
process.exit(0);

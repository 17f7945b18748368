// Benchmark of the LoadBalancerMirror (issue 4): N mirrors × L listeners × M members in one
// controller, against the lab's real Octavia and moto.
//   node --expose-gc dist/bench/mirror.bench.js [mirrors] [listeners] [members] [interval] [cycles]
// Measures: time until every mirror is Ready; Octavia and AWS calls per steady-state cycle,
// averaged over `cycles` intervals (default 10, the controller's awsCheckEvery, so that the
// periodic drift check is counted in its share) per mirror and per target group (AWS writes
// should be zero); the latency from a member
// change in Octavia to its target registered, as a fraction of the interval (p50, p99);
// the controller's RSS and CPU. It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts
// one.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../src/runtime/manager.js';
import { isAlreadyExists } from '../src/runtime/rest.js';
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
const calls = {
  octavia: new Map<string, number>(),
  awsReads: new Map<string, number>(),
  awsWrites: new Map<string, number>(),
};
const count = (map: Map<string, number>, op: string) => map.set(op, (map.get(op) ?? 0) + 1);
const registeredAt = new Map<string, number>();
const mgr = new Manager({ name: CONTROLLER_NAME, config, namespace: NS, log: newLogger('warn') });
const clouds = realMirrorClouds(mgr.rest, {
  octavia: (op) => count(calls.octavia, op),
  aws: (_service, op) =>
    count(/^(Describe|Get|List)/.test(op) ? calls.awsReads : calls.awsWrites, op),
});
registerLoadBalancerMirror(mgr, {
  naming: mirrorNaming,
  clouds: {
    octavia: (m) => clouds.octavia(m),
    route53: (m) => clouds.route53(m),
    aws: async (m) => {
      const api = await clouds.aws(m);
      return {
        ...api,
        apply: async (a, arns) => {
          await api.apply(a, arns);
          if (a.kind === 'registerTargets')
            for (const x of a.targets) registeredAt.set(`${x.ip}:${x.port}`, performance.now());
        },
      };
    },
  },
});
const stop = new AbortController();
const running = mgr.run(stop.signal);
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

// ---- the steady state: `cycles` intervals, each mirror syncing once per interval on average
await sleep(intervalMs * 1.2);
for (const map of Object.values(calls)) map.clear();
await sleep(intervalMs * cycles);
const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0) / cycles;
const steady = {
  octavia: Math.round(sum(calls.octavia)),
  reads: Math.round(sum(calls.awsReads)),
  writes: sum(calls.awsWrites),
};
const readsByOp = Object.fromEntries([...calls.awsReads].map(([op, n]) => [op, n / cycles]));

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

(globalThis as { gc?: () => void }).gc?.();
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
const cpu = process.cpuUsage(cpu0);
const wallS = (performance.now() - t) / 1000;
stop.abort();
await running;

const tgs = N * L;
console.log(
  `| mirrors × listeners × members | interval | all Ready | Octavia calls / cycle | AWS reads / cycle | AWS writes / cycle | change → registered p50 / p99 (× interval) | RSS | CPU |`,
);
console.log('|---|---|---|---|---|---|---|---|---|');
console.log(
  `| ${N} × ${L} × ${M} | ${interval} | ${convergeSeconds.toFixed(1)} s | ${steady.octavia} (${(steady.octavia / N).toFixed(1)} per mirror) | ${steady.reads} (${(steady.reads / tgs).toFixed(1)} per target group) | ${steady.writes} | ${pct(latencies, 50).toFixed(2)} / ${pct(latencies, 99).toFixed(2)} | ${rssMb} MB | ${(((cpu.user + cpu.system) / 1e6 / wallS) * 100).toFixed(1)} % of a core |`,
);
console.log(`AWS reads per steady cycle by operation: ${JSON.stringify(readsByOp)}`);
process.exit(0);

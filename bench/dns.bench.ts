// Benchmark of DNS failover (issue 5): N mirrors in controller mode, each side of every mirror
// a real local TCP server (one for all "Octavia" sides, one for all "NLB" sides), against the
// lab's real Octavia and moto.
//   node --expose-gc dist/bench/dns.bench.js [mirrors] [cycles]
// Measures: Route 53 calls per steady-state cycle (sync interval 10 s, averaged over `cycles`
// intervals, default 10: the controller's awsCheckEvery); then failover time, from the moment
// the Octavia side stops answering to each mirror's Route 53 change being accepted, for one
// mirror (5 trials) and for all N at once; then recovery. It needs a running lab
// (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { Manager } from '../src/runtime/manager.js';
import { newLogger } from '../src/runtime/log.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { applyCrds } from '../src/cli/crds.js';
import { benchLab, ensureNamespace, pct } from './support.js';
import type { DnsSpec, LoadBalancerMirror } from '../src/api/loadbalancermirror.js';
import {
  mirrorGvr,
  registerLoadBalancerMirror,
} from '../src/controllers/loadbalancermirror/reconciler.js';
import { mirrorNaming, realMirrorClouds } from '../src/controllers/loadbalancermirror/clouds.js';
import { OctaviaBuilder } from '../lab/src/octavia.js';
import { LoopbackServer } from '../test/support/tcp.js';
import { CONTROLLER_NAME } from '../src/api/kind.js';

const N = Number(process.argv[2] ?? 100);
const cycles = Number(process.argv[3] ?? 10);
const INTERVAL_MS = 10_000;
const NS = 'bench-dns';

const { lab, config, rest } = benchLab();
const octavia = new OctaviaBuilder(lab.openstack!);

const seconds = (ms: number) => (ms / 1000).toFixed(1);

// ---- set-up: Octavia load balancers, 8 at a time (the lab's octavia-worker runs 5 flows at once)
let t = performance.now();
await applyCrds(config);
await ensureNamespace(rest, NS);
const lbs = await mapLimit(
  Array.from({ length: N }, (_, i) => i),
  8,
  async (i) => (await octavia.findLoadBalancer(`dns-${i}`)) ?? octavia.loadBalancer(`dns-${i}`),
);
const r53 = new Route53Client({});
const zone = await r53.send(
  new CreateHostedZoneCommand({ Name: `bench-${Date.now()}.test`, CallerReference: randomUUID() }),
);
const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
const zoneName = zone.HostedZone!.Name!.replace(/\.$/, '');
console.error(`Octavia: ${N} load balancers in ${seconds(performance.now() - t)} s`);

const octaviaSide = new LoopbackServer();
const nlbSide = new LoopbackServer();
await octaviaSide.start();
await nlbSide.start();

// ---- the controller, counting Route 53 calls and timing each mirror's record changes
const r53Calls = new Map<string, number>();
const changed = new Map<string, number>(); // mirror → when its last ChangeResourceRecordSets returned
const mgr = new Manager({ name: CONTROLLER_NAME, config, namespace: NS, log: newLogger('warn') });
const clouds = realMirrorClouds(mgr.rest, {
  aws: (service, op) => {
    if (service === 'route53') r53Calls.set(op, (r53Calls.get(op) ?? 0) + 1);
  },
});
registerLoadBalancerMirror(mgr, {
  naming: mirrorNaming,
  clouds: {
    octavia: (m) => clouds.octavia(m),
    aws: (m) => clouds.aws(m),
    route53: async (m) => {
      const api = await clouds.route53(m);
      return {
        ...api,
        changeRecords: async (zone, changes, comment) => {
          await api.changeRecords(zone, changes, comment);
          changed.set(m.metadata.name, performance.now());
        },
      };
    },
  },
});
const stop = new AbortController();
const running = mgr.run(stop.signal);
const cpu0 = process.cpuUsage();

const dns = (i: number): DnsSpec => ({
  hostedZone: { id: zoneId },
  recordNames: [`m${i}.${zoneName}`],
  octaviaAddress: '127.0.0.1',
  failoverMode: 'controller',
  weights: { octavia: 90, nlb: 10 },
  healthChecks: {
    octavia: { type: 'TCP', port: octaviaSide.port, interval: 10, failureThreshold: 1 },
    nlb: { type: 'TCP', host: '127.0.0.1', port: nlbSide.port, interval: 10, failureThreshold: 1 },
  },
});
t = performance.now();
await mapLimit(
  Array.from({ length: N }, (_, i) => i),
  8,
  async (i) =>
    rest.create<LoadBalancerMirror>(mirrorGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'LoadBalancerMirror',
      metadata: { name: `m-${i}`, namespace: NS },
      spec: {
        octavia: { loadBalancerID: lbs[i]!, cloud: lab.openstack!.cloud },
        aws: {
          region: lab.aws!.region,
          vpcID: lab.aws!.vpc.id,
          subnetIDs: lab.aws!.subnets.map((s) => s.id),
        },
        syncInterval: '10s',
        dns: dns(i),
      },
    }),
);
const serving = async (side: string) =>
  (await rest.list<LoadBalancerMirror>(mirrorGvr, NS)).items.filter(
    (m) => m.status?.dns?.servingSide === side,
  ).length;
while ((await serving('both')) < N) await sleep(1000);
console.error(`all ${N} mirrors serving both sides in ${seconds(performance.now() - t)} s`);

// ---- steady state
await sleep(INTERVAL_MS * 1.2);
r53Calls.clear();
await sleep(INTERVAL_MS * cycles);
const perCycle = (op?: string) =>
  [...r53Calls].filter(([o]) => !op || o === op).reduce((n, [, c]) => n + c, 0) / cycles;
const steady = {
  all: perCycle(),
  writes:
    [...r53Calls].filter(([o]) => !/^(Get|List)/.test(o)).reduce((n, [, c]) => n + c, 0) / cycles,
  byOp: Object.fromEntries([...r53Calls].map(([o, c]) => [o, c / cycles])),
};

// ---- failover: the Octavia side stops answering; each mirror's change timed from then
async function failover(names: string[]): Promise<number[]> {
  for (const n of names) changed.delete(n);
  const at = performance.now();
  await octaviaSide.stop();
  const deadline = at + 120_000;
  while (!names.every((n) => (changed.get(n) ?? 0) > at)) {
    if (performance.now() > deadline) throw new Error('failover not done within 120 s');
    await sleep(50);
  }
  const times = names.map((n) => changed.get(n)! - at).sort((a, b) => a - b);
  // Recovery, so that the next trial starts from both sides serving.
  await octaviaSide.start();
  while ((await serving('both')) < N) await sleep(500);
  return times;
}

const one: number[] = [];
if (N >= 1) {
  // One mirror only: the others' Octavia side points elsewhere for these trials.
  // Simplest honest set-up: a second Octavia server just for mirror 0.
  const solo = new LoopbackServer();
  await solo.start();
  await rest.patch(
    mirrorGvr,
    NS,
    'm-0',
    [{ op: 'replace', path: '/spec/dns/healthChecks/octavia/port', value: solo.port }],
    'json',
  );
  while (
    (await rest.get<LoadBalancerMirror>(mirrorGvr, NS, 'm-0')).status?.dns?.healthChecks?.find(
      (h) => h.side === 'octavia',
    )?.state !== 'Healthy'
  )
    await sleep(500);
  for (let trial = 0; trial < 5; trial++) {
    changed.delete('m-0');
    const at = performance.now();
    await solo.stop();
    while ((changed.get('m-0') ?? 0) <= at) await sleep(50);
    one.push(changed.get('m-0')! - at);
    await solo.start();
    while (
      (await rest.get<LoadBalancerMirror>(mirrorGvr, NS, 'm-0')).status?.dns?.servingSide !== 'both'
    )
      await sleep(250);
    // Start the next trial at a different point of the probe cycle.
    await sleep(1000 + trial * 1700);
  }
  one.sort((a, b) => a - b);
}
const names = Array.from({ length: N }, (_, i) => `m-${i}`).filter((n) => N === 1 || n !== 'm-0');
const all = await failover(names);

(globalThis as { gc?: () => void }).gc?.();
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
const cpu = process.cpuUsage(cpu0);
const wallS = (performance.now() - t) / 1000;
stop.abort();
await running;
await nlbSide.stop();

console.log(
  '| mirrors | Route 53 calls / steady cycle (10 s) | of which writes | failover, 1 mirror: min / p50 / max (5 trials) | failover, all at once: p50 / p99 / max | RSS | CPU |',
);
console.log('|---|---|---|---|---|---|---|');
console.log(
  `| ${N} | ${steady.all.toFixed(1)} | ${steady.writes.toFixed(1)} | ${seconds(one[0]!)} / ${seconds(pct(one, 50))} / ${seconds(one[one.length - 1]!)} s | ${seconds(pct(all, 50))} / ${seconds(pct(all, 99))} / ${seconds(all[all.length - 1]!)} s (${all.length} mirrors) | ${rssMb} MB | ${(((cpu.user + cpu.system) / 1e6 / wallS) * 100).toFixed(1)} % of a core |`,
);
console.log(`Route 53 calls per steady cycle by operation: ${JSON.stringify(steady.byOp)}`);
process.exit(0);

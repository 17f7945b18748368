// Benchmark of the MirrorPolicy (issue 16): how soon a load balancer that becomes selected in
// Octavia has its NLB serving targets, with Octavia's notifications and with the poll only.
//   node --expose-gc dist/bench/mirrorpolicy.bench.js [load balancers] [poll interval] [new]
// Setup: N Octavia load balancers, each with a TCP listener, a pool and one member, untagged.
// Phase "notify": a policy selecting tag A, listInterval 10m, listening on the lab's RabbitMQ;
// the N load balancers are tagged A, 5 at a time; for each, from Octavia's update.end (seen by
// the bench's own AMQP queue) to its mirror created, and to the mirror Ready with its target
// registered in moto (the NLB serving targets). Then `new` bare load balancers created with tag A:
// from create.end to the mirror created and to its NLB made. Phase "poll": the mirrors deleted,
// a policy selecting tag B without notifications, listInterval = the poll interval; the N load
// balancers tagged B: from the tag's update.end to the mirror created and Ready. The controllers
// (mirror and policy) run in this process as kachiku's ServiceAccount; moto for AWS.
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../src/runtime/manager.js';
import { isAlreadyExists, isNotFound } from '../src/runtime/rest.js';
import { newLogger } from '../src/runtime/log.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { applyCrds } from '../src/cli/crds.js';
import { secretGvr } from '../src/runtime/core.js';
import { benchLab, ensureNamespace, pct } from './support.js';
import type { LoadBalancerMirror } from '../src/api/loadbalancermirror.js';
import { LOAD_BALANCER_LABEL, type MirrorPolicy } from '../src/api/mirrorpolicy.js';
import {
  mirrorGvr,
  registerLoadBalancerMirror,
} from '../src/controllers/loadbalancermirror/reconciler.js';
import { mirrorNaming, realMirrorClouds } from '../src/controllers/loadbalancermirror/clouds.js';
import {
  policyGvr,
  registerMirrorPolicy,
  type PolicyStep,
} from '../src/controllers/mirrorpolicy/reconciler.js';
import { realPolicyClouds } from '../src/controllers/mirrorpolicy/clouds.js';
import { listenNotifications } from '../src/clouds/openstack/notifications.js';
import { OctaviaBuilder } from '../lab/src/octavia.js';
import { CONTROLLER_NAME } from '../src/api/kind.js';

const [nArg, pollArg, newArg] = process.argv.slice(2);
const N = Number(nArg ?? 50);
const poll = pollArg ?? '30s';
const NEW = Number(newArg ?? 10);
const run = Date.now().toString(36);
// A namespace per run: a run stopped half-way leaves nothing in the next one's way.
const NS = `bench-mirrorpolicy-${run}`;
const TAG_A = `bench-a-${run}`;
const TAG_B = `bench-b-${run}`;

const { lab, config, rest } = benchLab();
const os = lab.openstack!;
const aws = lab.aws!;
const octavia = new OctaviaBuilder(os);

/** When the bench's own queue saw each Octavia event, by `${event} ${load balancer id}`. */
const events = new Map<string, number>();
const listener = listenNotifications({
  url: os.rabbitmqUrl,
  onEvent: (e) => {
    const key = `${e.eventType} ${e.loadBalancerID}`;
    if (!events.has(key)) events.set(key, performance.now());
  },
});

/** Mirrors as the bench sees them (a list every 100 ms): first seen, first Ready with targets. */
const seen = new Map<string, number>();
const served = new Map<string, number>();
let watching = true;
// Started once the CRDs are applied (a fresh lab has none yet).
const watch = async () => {
  while (watching) {
    const list = await rest.list<LoadBalancerMirror>(mirrorGvr, NS);
    const now = performance.now();
    for (const m of list.items) {
      const id = m.metadata.labels?.[LOAD_BALANCER_LABEL];
      if (!id) continue;
      const k = `${m.metadata.name}`;
      if (!seen.has(k)) seen.set(k, now);
      const ready = m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready && m.status?.loadBalancer?.arn && !served.has(k)) served.set(k, now);
    }
    await sleep(100);
  }
};

function policy(name: string, tag: string, notify: boolean, listInterval: string): MirrorPolicy {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MirrorPolicy',
    metadata: { name, namespace: NS },
    spec: {
      octavia: { cloud: os.cloud, selector: { tags: [tag] } },
      template: {
        aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
        syncInterval: '60s',
      },
      listInterval,
      gracePeriod: '10m',
      ...(notify && { notifications: { secretRef: { name: 'amqp' } } }),
    },
  };
}

async function tag(id: string, tags: string[]): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await octavia.call('PUT', `/loadbalancers/${id}`, { loadbalancer: { tags } });
    if (r.status === 200) break;
    if (r.status !== 409 || i > 120) throw new Error(`tag ${id}: ${r.status}`);
    await sleep(500);
  }
  await octavia.waitActive(id);
}

/** The policy controller's steps for each load balancer: the first time each was passed. */
const steps = new Map<string, Map<PolicyStep, number>>();
const STEPS: PolicyStep[] = [
  'received',
  'enqueued',
  'reconcile',
  'secret',
  'octavia',
  'planned',
  'posting',
  'created',
];
function onStep(step: PolicyStep, id: string, at: number): void {
  const m = steps.get(id) ?? new Map<PolicyStep, number>();
  // A step is counted once the notification was received (a reconcile already running when it
  // came in did not take it: the next one does).
  if (!m.has(step) && (step === 'received' || m.has('received'))) m.set(step, at);
  steps.set(id, m);
}

/** The time between consecutive steps of these load balancers' notifications (a step a path
 * does not take is skipped: the fast path reads no Secret). */
function breakdown(label: string, ids: string[], eventAt: (id: string) => number | undefined) {
  const gaps = new Map<string, number[]>();
  for (const id of ids) {
    let prev = eventAt(id);
    let prevName = 'event (bench queue)';
    if (prev === undefined) continue;
    for (const s of STEPS) {
      const at = steps.get(id)?.get(s);
      if (at === undefined) continue;
      const k = `${prevName} -> ${s}`;
      gaps.set(k, [...(gaps.get(k) ?? []), at - prev]);
      prev = at;
      prevName = s;
    }
  }
  const lines = [...gaps].map(([k, d]) => `${k}: ${stat(d)}`);
  console.log(`  ${label} breakdown:\n    ${lines.join('\n    ')}`);
}

/** The policy controller's Octavia calls (operation → ms), printed and reset by each phase. */
const policyCalls = new Map<string, number[]>();
function printCalls(label: string): void {
  for (const [op, ms] of policyCalls)
    console.log(`  ${label}: policy's Octavia ${op}: ${stat(ms)}`);
  policyCalls.clear();
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${(pct(s, 50) / 1000).toFixed(2)} s, p99 ${(pct(s, 99) / 1000).toFixed(2)} s, max ${(s[s.length - 1]! / 1000).toFixed(2)} s (n=${s.length})`;
};

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(250);
  }
}

async function phase(
  label: string,
  policyName: string,
  ids: string[],
  tagOf: (id: string) => string[],
  event: string,
): Promise<void> {
  // This phase's events only (an earlier phase's update.end of the same load balancer is older).
  for (const id of ids) {
    events.delete(`${event} ${id}`);
    steps.delete(id);
  }
  const t0 = performance.now();
  await mapLimit(ids, 5, (id) => tag(id, tagOf(id)));
  await until(
    `${label}: every mirror serving`,
    async () => (ids.every((id) => served.has(`${policyName}-${id}`)) ? true : undefined),
    15 * 60_000,
  );
  const created: number[] = [];
  const serving: number[] = [];
  for (const id of ids) {
    const at = events.get(`${event} ${id}`);
    if (at === undefined) throw new Error(`${label}: no ${event} seen for ${id}`);
    created.push(seen.get(`${policyName}-${id}`)! - at);
    serving.push(served.get(`${policyName}-${id}`)! - at);
  }
  console.log(
    `${label}: ${ids.length} load balancers tagged in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`  ${event} -> mirror created: ${stat(created)}`);
  console.log(`  ${event} -> NLB serving its target: ${stat(serving)}`);
  breakdown(label, ids, (id) => events.get(`${event} ${id}`));
  printCalls(label);
}

async function main() {
  await applyCrds(config);
  const watcher = watch();
  await ensureNamespace(rest, NS);
  await rest
    .create(secretGvr, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'amqp', namespace: NS },
      stringData: { url: os.rabbitmqUrl },
    })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });

  const mgr = new Manager({
    name: CONTROLLER_NAME,
    config,
    namespace: NS,
    log: newLogger(process.env.BENCH_LOG ? 'debug' : 'silent'),
  });
  registerLoadBalancerMirror(mgr, {
    clouds: realMirrorClouds(mgr.rest),
    naming: mirrorNaming,
    pendingRetryMs: 500,
  });
  registerMirrorPolicy(mgr, {
    clouds: realPolicyClouds(mgr.rest, {
      octavia: (op, _outcome, seconds) =>
        void policyCalls.set(op, [...(policyCalls.get(op) ?? []), seconds * 1000]),
    }),
    onStep,
  });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);

  const t0 = performance.now();
  const ids = await mapLimit(
    Array.from({ length: N }, (_, i) => i),
    5,
    async (i) => {
      const id = await octavia.loadBalancer(`bmp-${run}-${i}`);
      const l = await octavia.listener(id, 'TCP', 80);
      const p = await octavia.pool(id, l, 'TCP');
      await octavia.member(id, p, {
        address: `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        protocol_port: 8080,
      });
      return id;
    },
  );
  console.log(
    `setup: ${N} load balancers (listener, pool, member) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  // Notifications.
  await rest.create(policyGvr, policy('notify', TAG_A, true, '10m'));
  await until(
    'policy listening',
    async () => {
      const p = await rest.get<MirrorPolicy>(policyGvr, NS, 'notify');
      return p.status?.conditions?.some((c) => c.type === 'Notifications' && c.status === 'True') &&
        p.status.lastListTime
        ? true
        : undefined;
    },
    60_000,
  );
  await phase('notify', 'notify', ids, () => [TAG_A], 'octavia.loadbalancer.update.end');

  const fresh: string[] = [];
  const t1 = performance.now();
  await mapLimit(
    Array.from({ length: NEW }, (_, i) => i),
    5,
    async (i) =>
      void fresh.push(await octavia.loadBalancer(`bmp-${run}-new-${i}`, { tags: [TAG_A] })),
  );
  await until(
    'new: every mirror made its NLB',
    async () => (fresh.every((id) => served.has(`notify-${id}`)) ? true : undefined),
    10 * 60_000,
  );
  const created = fresh.map(
    (id) => seen.get(`notify-${id}`)! - events.get(`octavia.loadbalancer.create.end ${id}`)!,
  );
  const nlb = fresh.map(
    (id) => served.get(`notify-${id}`)! - events.get(`octavia.loadbalancer.create.end ${id}`)!,
  );
  console.log(
    `new: ${NEW} tagged load balancers created in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
  );
  console.log(`  create.end -> mirror created: ${stat(created)}`);
  console.log(`  create.end -> NLB made (no listener yet): ${stat(nlb)}`);
  breakdown('new', fresh, (id) => events.get(`octavia.loadbalancer.create.end ${id}`));
  printCalls('new');

  // Poll only: the notify policy and its mirrors go first (their claims with them).
  await rest.delete(policyGvr, NS, 'notify');
  await rest.request('DELETE', `/apis/kachiku.io/v1alpha1/namespaces/${NS}/loadbalancermirrors`);
  await until(
    'mirrors gone',
    async () => ((await rest.list(mirrorGvr, NS)).items.length === 0 ? true : undefined),
    15 * 60_000,
  );
  await rest.create(policyGvr, policy('poll', TAG_B, false, poll));
  await sleep(1000);
  await phase(
    `poll (listInterval ${poll})`,
    'poll',
    ids,
    () => [TAG_B],
    'octavia.loadbalancer.update.end',
  );

  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}`,
  );
  // Clean up: mirrors (and their NLBs), then the load balancers.
  await rest.delete(policyGvr, NS, 'poll').catch((e) => {
    if (!isNotFound(e)) throw e;
  });
  await rest.request('DELETE', `/apis/kachiku.io/v1alpha1/namespaces/${NS}/loadbalancermirrors`);
  await until(
    'mirrors gone',
    async () => ((await rest.list(mirrorGvr, NS)).items.length === 0 ? true : undefined),
    15 * 60_000,
  );
  watching = false;
  await watcher;
  ctl.abort();
  await running;
  await listener.stop();
  await mapLimit([...ids, ...fresh], 5, (id) => octavia.deleteLoadBalancer(id));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

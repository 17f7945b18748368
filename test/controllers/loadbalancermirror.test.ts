// The LoadBalancerMirror against the lab: real Keystone and Octavia, moto for AWS, the
// control-plane apiserver, and the controller running in this process on the real clients.
// Where moto cannot check something (AvailabilityZone "all", one IP on two ports) the tests
// assert on what kachiku sent, recorded at the controller's AWS port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  DescribeLoadBalancerAttributesCommand,
  ModifyLoadBalancerAttributesCommand,
  RemoveTagsCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Manager } from '../../src/runtime/manager.js';
import { isNotFound, type Gvr, type KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import type {
  LoadBalancerMirror,
  LoadBalancerMirrorStatus,
} from '../../src/api/loadbalancermirror.js';
import {
  FINALIZER,
  mirrorGvr,
  registerLoadBalancerMirror,
} from '../../src/controllers/loadbalancermirror/reconciler.js';
import { realMirrorClouds, mirrorNaming } from '../../src/controllers/loadbalancermirror/clouds.js';
import type { Action } from '../../src/controllers/loadbalancermirror/plan.js';
import { OWNER_TAG } from '../../src/controllers/loadbalancermirror/plan.js';
import { AwsError } from '../../src/clouds/aws/errors.js';
import { startLabProcess, stopLabProcess } from '../../lab/src/lab.js';
import { namespaceGvr } from '../support/kube.js';
import { kachikuManager, kachikuNamespace, mirrorLab } from '../support/mirrorlab.js';
import { until } from '../support/wait.js';
import { secretGvr } from '../../src/runtime/core.js';

// The controller finds OpenStack and AWS the standard way: clouds.yaml and the AWS settings.
const { lab, aws, os, config, rest, octavia } = mirrorLab();
const elb = new ElasticLoadBalancingV2Client({});

let ns = '';
const sent: Action[] = [];
let crashAfter: string | undefined;
let dead = false;
/**
 * Faults: target-group deletes refused as in use; NLB deletes that AWS "accepts" but that leave
 * it there; a read of the stack held this many ms (once).
 */
const faults = { tgInUse: 0, lbNoop: 0, slowReadMs: 0 };
/** Reads of the stack that were held by faults.slowReadMs. */
let slowReads = 0;
async function maybeSlow(): Promise<void> {
  const ms = faults.slowReadMs;
  if (ms <= 0) return;
  faults.slowReadMs = 0;
  await sleep(ms);
  slowReads++;
}
const deletes = { targetGroup: 0, loadBalancer: 0 };
/** How the controller read AWS: region-wide scans, and reads by ARN. */
const reads = { scan: 0, byArn: 0 };
let mgr: Manager;
let stop: () => Promise<void>;

let syncs = 0;
/** One Octavia read of a sync, or a sync's end; a load balancer read keeps what it answered. */
interface OctaviaRead {
  read: 'loadBalancer' | 'tree' | 'sync';
  answered?: string;
}
const octaviaReads = new Map<string, OctaviaRead[]>();
function startController(): void {
  mgr = kachikuManager(
    ns,
    newLogger(
      process.env.TEST_LOG === 'debug' ? 'debug' : process.env.TEST_LOG ? 'warn' : 'silent',
    ),
  );
  const clouds = realMirrorClouds(mgr.rest);
  registerLoadBalancerMirror(mgr, {
    naming: mirrorNaming,
    pendingRetryMs: 500,
    // Drift made by hand is looked for every second sync (10 s here).
    awsCheckEvery: 2,
    // Octavia's whole tree every third sync when its load balancer's updated_at stands still.
    octaviaReadEvery: 3,
    // Syncs are counted here: status (lastSyncTime) is written only when something changed.
    onSync: (_outcome, _s, key) => (syncs++, octaviaReads.get(key)?.push({ read: 'sync' })),
    clouds: {
      // Which Octavia reads each mirror's syncs made, a 'sync' after each sync's own.
      octavia: async (m) => {
        const client = await clouds.octavia(m);
        const key = `${m.metadata.namespace}/${m.metadata.name}`;
        const log = octaviaReads.get(key) ?? octaviaReads.set(key, []).get(key)!;
        return {
          getLoadBalancer: async (id) => {
            const entry: OctaviaRead = { read: 'loadBalancer' };
            log.push(entry);
            const lb = await client.getLoadBalancer(id);
            entry.answered = `${lb.provisioning_status} ${lb.updated_at}`;
            return lb;
          },
          getTree: (id, lb) => (log.push({ read: 'tree' }), client.getTree(id, lb)),
        };
      },
      route53: (m) => clouds.route53(m),
      // Record every action the controller sends to AWS.
      aws: async (m) => {
        const api = await clouds.aws(m);
        return {
          ...api,
          observe: async (...args) => (reads.scan++, await maybeSlow(), api.observe(...args)),
          observeKnown: async (...args) => (
            reads.byArn++,
            await maybeSlow(),
            api.observeKnown(...args)
          ),
          apply: async (a, arns) => {
            if (dead) throw new Error('this controller has crashed');
            sent.push(a);
            if (a.kind === 'deleteTargetGroup') {
              deletes.targetGroup++;
              if (faults.tgInUse > 0) {
                faults.tgInUse--;
                throw new AwsError('InUse', 'DeleteTargetGroup', 'ResourceInUse', 'in use');
              }
            }
            return api.apply(a, arns);
          },
          deleteLoadBalancer: async (arn) => {
            deletes.loadBalancer++;
            if (faults.lbNoop > 0) {
              faults.lbNoop--;
              return;
            }
            return api.deleteLoadBalancer(arn);
          },
        };
      },
    },
    // A crash: from this action on, this controller makes no further AWS call.
    afterAction: (what) => {
      if (crashAfter && what.startsWith(crashAfter)) {
        dead = true;
        throw new Error(`simulated crash after "${what}"`);
      }
    },
  });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
}

before(async () => {
  ns = await kachikuNamespace(rest, config, 'lbm');
  startController();
});
after(async () => {
  await stop();
  await rest.delete(namespaceGvr, undefined, ns);
});

function mirrorOf(
  name: string,
  loadBalancerID: string,
  extra: Partial<LoadBalancerMirror['spec']> = {},
): LoadBalancerMirror {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name, namespace: ns },
    spec: {
      octavia: { loadBalancerID, cloud: os.cloud },
      aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
      syncInterval: '5s',
      ...extra,
    },
  };
}

const getMirror = (name: string) => rest.get<LoadBalancerMirror>(mirrorGvr, ns, name);
const condition = (m: LoadBalancerMirror, type: string) =>
  m.status?.conditions?.find((c) => c.type === type);

/** Waits until the mirror is gone (its finalizer done). */
const untilGone = (name: string, timeoutMs: number) =>
  until(
    `${name} gone`,
    () =>
      getMirror(name).then(
        () => undefined,
        (e) => (isNotFound(e) ? true : undefined),
      ),
    timeoutMs,
    250,
  );

/** Every ELBv2 resource carrying the mirror's owner tag. */
async function owned(
  name: string,
): Promise<{ loadBalancers: string[]; targetGroups: string[]; listeners: string[] }> {
  const owner = `${ns}/${name}`;
  const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const listeners = (
    await Promise.all(
      lbs.map((lb) =>
        elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn })),
      ),
    )
  ).flatMap((r) => r.Listeners ?? []);
  const arns = [
    ...lbs.map((l) => l.LoadBalancerArn!),
    ...tgs.map((t) => t.TargetGroupArn!),
    ...listeners.map((l) => l.ListenerArn!),
  ];
  const mine = new Set<string>();
  for (let i = 0; i < arns.length; i += 20) {
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
    for (const d of tags.TagDescriptions ?? [])
      if (d.Tags?.some((t) => t.Key === OWNER_TAG && t.Value === owner)) mine.add(d.ResourceArn!);
  }
  return {
    loadBalancers: lbs.filter((l) => mine.has(l.LoadBalancerArn!)).map((l) => l.LoadBalancerArn!),
    targetGroups: tgs.filter((t) => mine.has(t.TargetGroupArn!)).map((t) => t.TargetGroupArn!),
    listeners: listeners.filter((l) => mine.has(l.ListenerArn!)).map((l) => l.ListenerArn!),
  };
}

async function targets(targetGroupArn: string): Promise<string[]> {
  const h = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (h.TargetHealthDescriptions ?? []).map((d) => `${d.Target?.Id}:${d.Target?.Port}`).sort();
}

// A shared Octavia load balancer: TCP 5432 and HTTP 80, a disabled member, a weight-0 member,
// two members sharing an IP on different ports, and health monitors.
let lbId = '';
let pools: { tcp: string; http: string } = { tcp: '', http: '' };
before(async () => {
  lbId = await octavia.loadBalancer(`lbm-${randomUUID().slice(0, 6)}`);
  const tcpListener = await octavia.listener(lbId, 'TCP', 5432);
  const httpListener = await octavia.listener(lbId, 'HTTP', 80);
  pools = {
    tcp: await octavia.pool(lbId, tcpListener, 'TCP'),
    http: await octavia.pool(lbId, httpListener, 'HTTP'),
  };
  await octavia.member(lbId, pools.tcp, { address: '192.168.10.11', protocol_port: 5432 });
  await octavia.member(lbId, pools.tcp, {
    address: '192.168.10.12',
    protocol_port: 5432,
    admin_state_up: false,
  });
  await octavia.member(lbId, pools.tcp, {
    address: '192.168.10.13',
    protocol_port: 5432,
    weight: 0,
  });
  await octavia.member(lbId, pools.http, { address: '192.168.10.21', protocol_port: 8080 });
  await octavia.member(lbId, pools.http, { address: '192.168.10.21', protocol_port: 8081 });
  await octavia.healthMonitor(lbId, pools.tcp, {
    type: 'TCP',
    delay: 10,
    timeout: 5,
    max_retries: 3,
  });
  await octavia.healthMonitor(lbId, pools.http, {
    type: 'HTTP',
    delay: 15,
    timeout: 5,
    max_retries: 4,
    url_path: '/healthz',
    expected_codes: '200',
  });
});
after(async () => {
  await octavia.deleteLoadBalancer(lbId);
});

test('an Octavia load balancer becomes an NLB with the right listeners, target groups, targets and health checks', async () => {
  await rest.create(mirrorGvr, mirrorOf('web', lbId));
  const m = await until(
    'Ready',
    async () => {
      const m = await getMirror('web');
      return condition(m, 'Ready')?.status === 'True' ? m : undefined;
    },
    60_000,
    250,
  );
  assert.ok(m.metadata.finalizers?.includes(FINALIZER));
  assert.equal(condition(m, 'Synced')?.status, 'True');
  assert.equal(m.status?.observedGeneration, m.metadata.generation);
  assert.equal(m.status?.membersSeen, 5);
  assert.deepEqual(
    m.status?.listeners?.map((l) => `${l.octaviaProtocol}:${l.port}->${l.protocol}`).sort(),
    ['HTTP:80->TCP', 'TCP:5432->TCP'],
  );
  assert.ok(m.status?.notMirrored?.some((n) => n.feature === 'listener protocol HTTP'));
  assert.ok(m.status?.loadBalancer?.dnsName);

  const res = await owned('web');
  assert.equal(res.loadBalancers.length, 1);
  assert.equal(res.targetGroups.length, 2);
  assert.equal(res.listeners.length, 2);
  const lb = (
    await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: res.loadBalancers }))
  ).LoadBalancers![0]!;
  assert.equal(lb.Type, 'network');
  assert.equal(lb.Scheme, 'internal');
  const tgs = (
    await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: res.targetGroups }))
  ).TargetGroups!;
  const tcp = tgs.find((t) => t.Port === 5432)!;
  const http = tgs.find((t) => t.Port === 80)!;
  assert.equal(tcp.TargetType, 'ip');
  assert.equal(tcp.Protocol, 'TCP');
  assert.deepEqual(
    [tcp.HealthCheckProtocol, tcp.HealthCheckIntervalSeconds, tcp.HealthyThresholdCount],
    ['TCP', 10, 3],
  );
  assert.deepEqual(
    [
      http.HealthCheckProtocol,
      http.HealthCheckPath,
      http.HealthCheckIntervalSeconds,
      http.HealthyThresholdCount,
    ],
    ['HTTP', '/healthz', 15, 4],
  );
  assert.deepEqual(
    await targets(tcp.TargetGroupArn!),
    ['192.168.10.11:5432'],
    'disabled and weight-0 members are left out',
  );
  // moto keys targets by IP: what kachiku sent is the check for one IP on two ports and AZ "all".
  // The first registration carries both; moto then keeps one of them, so a later sync may send
  // the one it dropped again (AWS keeps both) — never anything else.
  const sentHttp = sent
    .filter(
      (a): a is Extract<Action, { kind: 'registerTargets' }> =>
        a.kind === 'registerTargets' && a.targetGroup === http.TargetGroupName,
    )
    .map((a) => a.targets.map((t) => `${t.ip}:${t.port}@${t.availabilityZone}`).sort());
  const both = ['192.168.10.21:8080@all', '192.168.10.21:8081@all'];
  assert.deepEqual(sentHttp[0], both);
  for (const again of sentHttp.slice(1))
    assert.ok(again.length === 1 && both.includes(again[0]!), `sent again: ${again.join(', ')}`);
  const listeners = (
    await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))
  ).Listeners!;
  assert.deepEqual(listeners.map((l) => `${l.Protocol}:${l.Port}`).sort(), ['TCP:5432', 'TCP:80']);
});

test('each AWS change made for the mirror is an event on it', async () => {
  const eventsGvr: Gvr = {
    group: 'events.k8s.io',
    version: 'v1',
    resource: 'events',
    namespaced: true,
  };
  const reasons = await until(
    'events',
    async () => {
      const list = await rest.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
        eventsGvr,
        ns,
      );
      const seen = new Set(
        list.items.filter((e) => e.regarding?.name === 'web').map((e) => e.reason ?? ''),
      );
      return ['CreateLoadBalancer', 'CreateTargetGroup', 'RegisterTargets', 'CreateListener'].every(
        (r) => seen.has(r),
      )
        ? seen
        : undefined;
    },
    10_000,
    250,
  );
  assert.ok(reasons.size >= 4);
});

test('each OpenStack call reaches the metrics hook once', async () => {
  const seen = new Map<string, number>();
  const clouds = realMirrorClouds(rest, {
    octavia: (op) => seen.set(op, (seen.get(op) ?? 0) + 1),
  });
  const client = await clouds.octavia(mirrorOf('count', lbId));
  await client.getTree(lbId);
  // A new session's token, then the shared load balancer: its listeners, its two pools, each
  // with members and a health monitor.
  assert.deepEqual(Object.fromEntries(seen), {
    authenticate: 1,
    getLoadBalancer: 1,
    listListeners: 1,
    listPools: 1,
    listMembers: 2,
    getHealthMonitor: 2,
  });
});

test('in sync: further syncs, a drift check among them, write nothing to AWS', async () => {
  const before = sent.length;
  // With awsCheckEvery 2 every other sync reads only its target groups' targets: two full
  // syncs after this point include one that read the stack again (drift check).
  const start = syncs;
  // The sync in flight now may be one; three complete syncs hold two full ones after this point.
  await until(
    'two syncs after now',
    async () => (syncs >= start + 3 ? true : undefined),
    30_000,
    250,
  );

  // moto keys targets by IP only (reference/aws.md): the two members on 192.168.10.21 collapse
  // into one there, so kachiku registers the missing port again on every sync. In AWS that
  // group is in sync too; every other write would be a bug.
  const writes = sent
    .slice(before)
    .filter(
      (a) => !(a.kind === 'registerTargets' && a.targets.every((t) => t.ip === '192.168.10.21')),
    );
  assert.deepEqual(writes, [], 'no AWS write but the re-registrations moto forces');
});

/**
 * The mirror's syncs that began at or after its `from`-th Octavia read and are complete: each
 * its reads, e.g. 'loadBalancer tree', and what its load balancer read answered (provisioning
 * status and updated_at). A sync's first read is its load balancer's: reads before the first
 * such are the end of a sync begun before.
 */
function syncsOf(name: string, from: number): { reads: string; answered: string }[] {
  const syncs: { reads: string; answered: string }[] = [];
  let current: OctaviaRead[] = [];
  for (const r of (octaviaReads.get(`${ns}/${name}`) ?? []).slice(from)) {
    if (r.read !== 'sync') current.push(r);
    else {
      if (current[0]?.read === 'loadBalancer')
        syncs.push({
          reads: current.map((c) => c.read).join(' '),
          answered: current[0].answered ?? '',
        });
      current = [];
    }
  }
  return syncs;
}
const octaviaReadsOf = (name: string) => octaviaReads.get(`${ns}/${name}`)?.length ?? 0;
/** Mirror `name`'s syncs from its `from`-th Octavia read, once `enough` says there are enough. */
async function syncsUntil(
  name: string,
  from: number,
  what: string,
  enough: (syncs: { reads: string; answered: string }[]) => boolean,
) {
  await until(what, async () => enough(syncsOf(name, from)) || undefined, 30_000, 250);
  return syncsOf(name, from);
}

test('an unchanged load balancer costs one Octavia read a sync, the whole tree every third; a change is read whole at once', async () => {
  // Steady (the mirror made before, nothing changed in Octavia since): any three syncs in a
  // row read the whole tree once.
  const steady = (
    await syncsUntil('web', octaviaReadsOf('web'), 'three syncs', (s) => s.length >= 3)
  ).slice(0, 3);
  assert.deepEqual(
    steady.map((s) => s.reads).sort(),
    ['loadBalancer', 'loadBalancer', 'loadBalancer tree'],
    `three syncs in a row: ${steady.map((s) => s.reads).join(' | ')}`,
  );
  // A change to the load balancer (its description; members and monitors move updated_at the
  // same way): from the first sync that finds it ACTIVE again with its new updated_at, two
  // syncs read the whole tree, as updated_at has whole seconds, then one read a sync again.
  // (Syncs while Octavia is PENDING_UPDATE read it whole too, and plan nothing.)
  const was = steady[0]!.answered;
  const from = octaviaReadsOf('web');
  await octavia.describe(lbId, 'changed');
  const isNew = (s: { answered: string }) => s.answered.startsWith('ACTIVE ') && s.answered !== was;
  const all = await syncsUntil('web', from, 'three syncs after the change', (s) => {
    const i = s.findIndex(isNew);
    return i >= 0 && s.length >= i + 3;
  });
  const after = all.slice(all.findIndex(isNew)).slice(0, 3);
  assert.deepEqual(
    after.map((s) => s.reads),
    ['loadBalancer tree', 'loadBalancer tree', 'loadBalancer'],
    `after the change: ${all.map((s) => `${s.reads} (${s.answered})`).join(' | ')}`,
  );
});

test('a restarted controller reads AWS by the ARNs in status, not by a region scan', async () => {
  await stop();
  reads.scan = 0;
  reads.byArn = 0;
  const before = syncs;
  const writes = sent.length;
  startController();
  await until('a sync after the restart', () => (syncs > before ? true : undefined), 20_000, 100);
  assert.equal(reads.scan, 0, 'no region-wide scan');
  assert.ok(reads.byArn >= 1, 'AWS read by the ARNs recorded in status');
  const m = await getMirror('web');
  assert.equal(condition(m, 'Ready')?.status, 'True');
  assert.deepEqual(
    sent
      .slice(writes)
      .filter(
        (a) => !(a.kind === 'registerTargets' && a.targets.every((t) => t.ip === '192.168.10.21')),
      ),
    [],
    'and nothing written',
  );
});

test('a sync that took longer than its interval is followed by the next at once, not by none', async () => {
  const slowBefore = slowReads;
  // The next sync that reads AWS (every other one here) takes over 6 s, the interval 5 s.
  faults.slowReadMs = 6000;
  await until('a slow sync', () => (slowReads > slowBefore ? true : undefined), 20_000, 50);
  const from = syncs;
  // That sync ends (one), and the next starts at once (two); before, a sync longer than its
  // interval asked for a requeue after 0 ms, which the controller reads as none: the mirror was
  // never synced again.
  await until('the slow sync and the next', () => (syncs >= from + 2 ? true : undefined), 15_000);
});

test('members added, disabled and removed in Octavia are followed within one interval', async () => {
  const tcpArn = (await getMirror('web')).status!.listeners!.find(
    (l) => l.port === 5432,
  )!.targetGroupARN!;
  const added = await octavia.member(lbId, pools.tcp, {
    address: '192.168.10.14',
    protocol_port: 5432,
  });
  const t0 = Date.now();
  await until(
    'added member registered',
    async () => ((await targets(tcpArn)).includes('192.168.10.14:5432') ? true : undefined),
    20_000,
    250,
  );
  assert.ok(
    Date.now() - t0 <= 5000 * 1.1 + 3000,
    `followed in ${Date.now() - t0} ms (interval 5 s)`,
  );
  await octavia.updateMember(lbId, pools.tcp, added, { admin_state_up: false });
  await until(
    'disabled member deregistered',
    async () => (!(await targets(tcpArn)).includes('192.168.10.14:5432') ? true : undefined),
    20_000,
    250,
  );
  const again = await octavia.member(lbId, pools.tcp, {
    address: '192.168.10.15',
    protocol_port: 5432,
  });
  await until(
    'registered',
    async () => ((await targets(tcpArn)).includes('192.168.10.15:5432') ? true : undefined),
    20_000,
    250,
  );
  await octavia.deleteMember(lbId, pools.tcp, again);
  await until(
    'removed member deregistered',
    async () => ((await targets(tcpArn)).join() === '192.168.10.11:5432' ? true : undefined),
    20_000,
    250,
  );
});

/**
 * What status.lastPutBack names, without the re-registrations moto forces (it keys targets by
 * IP only, so a drift check finds one of the two targets on 192.168.10.21 missing each time).
 */
const putBack = (m: LoadBalancerMirror) =>
  (m.status?.lastPutBack?.what ?? []).filter(
    (w) => !/^register 1 target\(s\) in \S+: 192\.168\.10\.21:\d+$/.test(w),
  );

/**
 * Polls status.lastPutBack until the ones written after `before` (the one there before the
 * change) named every pattern between them; a later drift check may replace one, so what each
 * poll saw is kept.
 */
async function untilPutBack(
  name: string,
  before: LoadBalancerMirrorStatus['lastPutBack'],
  want: RegExp[],
): Promise<string[]> {
  const seen = new Set<string>();
  return until(
    `status.lastPutBack names ${want.join(', ')}`,
    async () => {
      const m = await getMirror(name);
      const last = m.status?.lastPutBack;
      if (last && !isDeepStrictEqual(last, before)) for (const w of putBack(m)) seen.add(w);
      return want.every((re) => [...seen].some((w) => re.test(w))) ? [...seen] : undefined;
    },
    30_000,
    100,
  );
}

test('drift made by hand in AWS is put back, and status says what was put back', async () => {
  const before = await getMirror('web');
  // Creating the stack, following Octavia's members and a restart put nothing back.
  assert.deepEqual(putBack(before), [], 'nothing put back before anything was changed by hand');
  const tcpArn = before.status!.listeners!.find((l) => l.port === 5432)!.targetGroupARN!;
  const tgName = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tcpArn] })))
    .TargetGroups![0]!.TargetGroupName!;
  await elb.send(
    new ModifyTargetGroupCommand({
      TargetGroupArn: tcpArn,
      HealthCheckIntervalSeconds: 30,
      HealthyThresholdCount: 7,
    }),
  );
  await until(
    'health check restored',
    async () => {
      const tg = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tcpArn] })))
        .TargetGroups![0]!;
      return tg.HealthCheckIntervalSeconds === 10 && tg.HealthyThresholdCount === 3
        ? true
        : undefined;
    },
    20_000,
    250,
  );
  const named = await untilPutBack('web', before.status?.lastPutBack, [
    new RegExp(`^set the health check of ${tgName} \\(TCP\\)$`),
  ]);
  assert.deepEqual(named, [`set the health check of ${tgName} (TCP)`], 'and nothing else');
});

test('an NLB attribute and a target-group tag changed by hand are put back, each with an event and in status', async () => {
  const m = await getMirror('web');
  const lbArn = m.status!.loadBalancer!.arn;
  const tgArn = m.status!.listeners!.find((l) => l.port === 5432)!.targetGroupARN!;
  await elb.send(
    new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: lbArn,
      Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }],
    }),
  );
  await elb.send(
    new RemoveTagsCommand({ ResourceArns: [tgArn], TagKeys: ['kachiku.io/resource'] }),
  );
  await until(
    'attribute and tag put back',
    async () => {
      const attrs =
        (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn })))
          .Attributes ?? [];
      const tags =
        (await elb.send(new DescribeTagsCommand({ ResourceArns: [tgArn] }))).TagDescriptions?.[0]
          ?.Tags ?? [];
      return attrs.some(
        (a) => a.Key === 'load_balancing.cross_zone.enabled' && a.Value === 'true',
      ) && tags.some((t) => t.Key === 'kachiku.io/resource' && t.Value === 'targetgroup/5432-TCP')
        ? true
        : undefined;
    },
    30_000,
    250,
  );
  const eventsGvr: Gvr = {
    group: 'events.k8s.io',
    version: 'v1',
    resource: 'events',
    namespaced: true,
  };
  await until(
    'put-back events',
    async () => {
      const list = await rest.list<KubeObject & { reason?: string; note?: string }>(eventsGvr, ns);
      const reasons = new Set(
        list.items.filter((e) => /^put back/.test(e.note ?? '')).map((e) => e.reason),
      );
      return reasons.has('SetLoadBalancerAttributes') && reasons.has('Retag') ? true : undefined;
    },
    10_000,
    250,
  );
  const named = await untilPutBack('web', m.status?.lastPutBack, [
    /^put back the NLB's attributes: load_balancing\.cross_zone\.enabled=true$/,
    /^put back the tags of target group \S+: set kachiku\.io\/resource$/,
  ]);
  assert.equal(named.length, 2, `only those two: ${named.join('; ')}`);
});

test("Octavia's API down: Degraded, and the NLB's targets are left untouched", async () => {
  const tcpArn = (await getMirror('web')).status!.listeners!.find(
    (l) => l.port === 5432,
  )!.targetGroupARN!;
  const before = await targets(tcpArn);
  await stopLabProcess(lab.dir, 'octavia-api');
  let sentBefore = 0;
  try {
    await until(
      'Degraded',
      async () =>
        condition(await getMirror('web'), 'Degraded')?.status === 'True' ? true : undefined,
      40_000,
      250,
    );
    // From the sync that found Octavia gone on (a sync that read Octavia just before may still
    // have written; syncs of one mirror never overlap, so none is in flight now).
    sentBefore = sent.length;
    const m = await getMirror('web');
    assert.equal(condition(m, 'Degraded')?.reason, 'OctaviaUnreachable');
    assert.match(condition(m, 'Degraded')!.message, /nothing was changed in AWS/);
    await sleep(6000);
    assert.deepEqual(await targets(tcpArn), before);
    assert.equal(sent.length, sentBefore, 'no AWS write while Octavia is unreachable');
  } finally {
    await startLabProcess(lab.dir, 'octavia-api');
    // Serving again before the next test, whatever this one found.
    await until(
      "Octavia's API back",
      async () => ((await fetch(`${os.octaviaUrl}/healthcheck`)).ok ? true : undefined),
      60_000,
      250,
    );
  }
  await until(
    'recovered',
    async () =>
      condition(await getMirror('web'), 'Degraded')?.status === 'False' ? true : undefined,
    60_000,
    500,
  );
});

test('a crash between creating the target groups and the listeners leaves no duplicate after a restart', async () => {
  const other = await octavia.loadBalancer(`crash-${randomUUID().slice(0, 6)}`);
  try {
    const l = await octavia.listener(other, 'TCP', 6000);
    const p = await octavia.pool(other, l, 'TCP');
    await octavia.member(other, p, { address: '192.168.20.1', protocol_port: 6000 });
    crashAfter = 'create target group';
    await rest.create(mirrorGvr, mirrorOf('crashy', other));
    await until(
      'the crash',
      async () => ((await owned('crashy')).targetGroups.length === 1 ? true : undefined),
      30_000,
      200,
    );
    await stop(); // the controller died half-way: NLB and target group made, no listener
    crashAfter = undefined;
    dead = false;
    startController();
    assert.equal((await owned('crashy')).listeners.length, 0);
    await until(
      'Ready after the restart',
      async () =>
        condition(await getMirror('crashy'), 'Ready')?.status === 'True' ? true : undefined,
      60_000,
      250,
    );
    const res = await owned('crashy');
    assert.deepEqual(
      [res.loadBalancers.length, res.targetGroups.length, res.listeners.length],
      [1, 1, 1],
      'adopted, not duplicated',
    );
    await rest.delete(mirrorGvr, ns, 'crashy');
    await until(
      'deleted',
      () =>
        getMirror('crashy').then(
          () => undefined,
          (e) => (isNotFound(e) ? true : undefined),
        ),
      60_000,
      250,
    );
  } finally {
    if (dead) {
      dead = false;
      await stop();
      startController();
    }
    crashAfter = undefined;
    await octavia.deleteLoadBalancer(other);
  }
});

async function expectRefused(
  name: string,
  spec: LoadBalancerMirror,
  reason: string,
  message: RegExp,
): Promise<void> {
  await rest.create(mirrorGvr, spec);
  const m = await until(
    `${name}: ${reason}`,
    async () => {
      const m = await getMirror(name);
      return condition(m, 'Ready')?.reason === reason ? m : undefined;
    },
    40_000,
    250,
  );
  assert.equal(condition(m, 'Ready')?.status, 'False');
  assert.match(condition(m, 'Ready')!.message, message);
  assert.deepEqual(
    await owned(name),
    { loadBalancers: [], targetGroups: [], listeners: [] },
    'nothing half-created',
  );
  await rest.delete(mirrorGvr, ns, name);
  await untilGone(name, 30_000);
}

test("a Secret's clouds.yaml with one cloud and none named uses that cloud, not the controller's OS_CLOUD", async () => {
  const oneCloud = `clouds:\n  tenant:\n    auth:\n      auth_url: ${os.keystoneUrl}\n      username: ${os.user.name}\n      password: ${os.user.password}\n      project_name: ${os.project.name}\n      user_domain_name: ${os.user.domain}\n      project_domain_name: ${os.project.domain}\n    region_name: ${os.region}\n`;
  await rest.create(secretGvr, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'one-cloud', namespace: ns },
    stringData: { 'clouds.yaml': oneCloud },
  } as never);
  const saved = process.env.OS_CLOUD;
  process.env.OS_CLOUD = 'the-controllers-own-cloud';
  try {
    const unknown = randomUUID();
    const spec = mirrorOf('one-cloud', unknown);
    spec.spec.octavia = { loadBalancerID: unknown, credentialsSecretRef: { name: 'one-cloud' } };
    // Keystone accepted the Secret's cloud and Octavia was asked: not InvalidSpec.
    await expectRefused('one-cloud', spec, 'LoadBalancerNotFound', /not found|could not be found/i);
  } finally {
    if (saved === undefined) delete process.env.OS_CLOUD;
    else process.env.OS_CLOUD = saved;
  }
});

test('bad input gets a clear condition and nothing is created', async () => {
  await expectRefused(
    'unknown-lb',
    mirrorOf('unknown-lb', randomUUID()),
    'LoadBalancerNotFound',
    /not found|could not be found/i,
  );

  const badClouds = `clouds:\n  bad:\n    auth:\n      auth_url: ${os.keystoneUrl}\n      username: ${os.user.name}\n      password: wrong-password\n      project_name: ${os.project.name}\n      user_domain_name: ${os.user.domain}\n      project_domain_name: ${os.project.domain}\n    region_name: ${os.region}\n`;
  await rest.create(secretGvr, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'bad-os', namespace: ns },
    stringData: { 'clouds.yaml': badClouds },
  } as never);
  // (A load balancer nobody mirrors yet: the duplicate check comes before Octavia is asked.)
  const unmirrored = randomUUID();
  const wrongPassword = mirrorOf('wrong-password', unmirrored);
  wrongPassword.spec.octavia = {
    loadBalancerID: unmirrored,
    credentialsSecretRef: { name: 'bad-os' },
  };
  await expectRefused('wrong-password', wrongPassword, 'AuthenticationFailed', /401|authenticat/i);

  const ec2 = new EC2Client({});
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }));
  const foreign = await ec2.send(
    new CreateSubnetCommand({
      VpcId: vpc.Vpc!.VpcId!,
      CidrBlock: '10.99.1.0/24',
      AvailabilityZone: 'us-east-1a',
    }),
  );
  const outside = mirrorOf('outside', lbId);
  outside.spec.aws.subnetIDs = [aws.subnets[0]!.id, foreign.Subnet!.SubnetId!];
  await expectRefused('outside', outside, 'SubnetNotInVPC', new RegExp(foreign.Subnet!.SubnetId!));

  await expectRefused('twin', mirrorOf('twin', lbId), 'DuplicateMirror', new RegExp(`${ns}/web`));
});

test('deleting the mirror deletes everything kachiku made in AWS, verified before the finalizer goes', async () => {
  assert.equal((await owned('web')).loadBalancers.length, 1);
  // A target group refused as in use at first, and an NLB delete that leaves it there.
  faults.tgInUse = 1;
  faults.lbNoop = 1;
  const before = { ...deletes };
  await rest.delete(mirrorGvr, ns, 'web');
  await until(
    'gone',
    () =>
      getMirror('web').then(
        () => undefined,
        (e) => (isNotFound(e) ? true : undefined),
      ),
    60_000,
    250,
  );
  assert.deepEqual(await owned('web'), { loadBalancers: [], targetGroups: [], listeners: [] });
  assert.equal(faults.tgInUse + faults.lbNoop, 0, 'both faults were met');
  assert.ok(
    deletes.loadBalancer - before.loadBalancer >= 2,
    'the NLB still there was deleted again',
  );
  assert.ok(
    deletes.targetGroup - before.targetGroup >= 3,
    'the in-use target group was asked again',
  );
});

test('a mirror that made nothing in AWS is deleted at once, even when AWS cannot be reached', async () => {
  const name = 'no-aws-secret';
  const spec = mirrorOf(name, lbId);
  spec.spec.aws.credentialsSecretRef = { name: 'never-existed' };
  await rest.create(mirrorGvr, spec);
  await until(
    'SecretNotFound',
    async () => {
      const m = await getMirror(name);
      return condition(m, 'Ready')?.reason === 'SecretNotFound' ? m : undefined;
    },
    30_000,
    250,
  );
  await rest.delete(mirrorGvr, ns, name);
  await untilGone(name, 10_000);
});

test('a mirror that made something keeps its finalizer with a clear condition while AWS cannot be reached, until deletionPolicy Retain', async () => {
  const kept = await octavia.loadBalancer(`gone-${randomUUID().slice(0, 6)}`);
  try {
    const l = await octavia.listener(kept, 'TCP', 7100);
    const p = await octavia.pool(kept, l, 'TCP');
    await octavia.member(kept, p, { address: '192.168.31.1', protocol_port: 7100 });
    const name = 'lost-creds';
    // moto takes any credentials.
    await rest.create(secretGvr, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'aws-creds', namespace: ns },
      stringData: {
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      },
    } as never);
    const spec = mirrorOf(name, kept);
    spec.spec.aws.credentialsSecretRef = { name: 'aws-creds' };
    await rest.create(mirrorGvr, spec);
    const m = await until(
      'Ready',
      async () => {
        const m = await getMirror(name);
        return condition(m, 'Ready')?.status === 'True' ? m : undefined;
      },
      60_000,
      250,
    );
    const lbArn = m.status!.loadBalancer!.arn;
    await rest.delete(secretGvr, ns, 'aws-creds');
    await rest.delete(mirrorGvr, ns, name);
    const waiting = await until(
      'Deleting condition',
      async () => {
        const m = await getMirror(name);
        return /cannot reach AWS to clean up.*deletionPolicy: Retain/.test(
          condition(m, 'Ready')?.message ?? '',
        )
          ? m
          : undefined;
      },
      30_000,
      250,
    );
    assert.equal(condition(waiting, 'Ready')?.reason, 'Deleting');
    await rest.patch(mirrorGvr, ns, name, { spec: { deletionPolicy: 'Retain' } }, 'merge');
    await untilGone(name, 30_000);
    // Clean up by hand, as an operator who retained it would.
    const lbListeners =
      (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners ?? [];
    for (const x of lbListeners) {
      await elb.send(new DeleteListenerCommand({ ListenerArn: x.ListenerArn }));
      const tg = x.DefaultActions?.[0]?.TargetGroupArn;
      if (tg) await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
    }
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
  } finally {
    await octavia.deleteLoadBalancer(kept);
  }
});

test('deletionPolicy Retain leaves the NLB in place without kachiku’s tags', async () => {
  const kept = await octavia.loadBalancer(`keep-${randomUUID().slice(0, 6)}`);
  try {
    const l = await octavia.listener(kept, 'TCP', 7000);
    const p = await octavia.pool(kept, l, 'TCP');
    await octavia.member(kept, p, { address: '192.168.30.1', protocol_port: 7000 });
    await rest.create(mirrorGvr, mirrorOf('kept', kept, { deletionPolicy: 'Retain' }));
    const m = await until(
      'Ready',
      async () => {
        const m = await getMirror('kept');
        return condition(m, 'Ready')?.status === 'True' ? m : undefined;
      },
      60_000,
      250,
    );
    const lbArn = m.status!.loadBalancer!.arn;
    const tgArn = m.status!.listeners![0]!.targetGroupARN!;
    await rest.delete(mirrorGvr, ns, 'kept');
    await until(
      'gone',
      () =>
        getMirror('kept').then(
          () => undefined,
          (e) => (isNotFound(e) ? true : undefined),
        ),
      60_000,
      250,
    );
    assert.deepEqual(
      await owned('kept'),
      { loadBalancers: [], targetGroups: [], listeners: [] },
      'no longer tagged as kachiku’s',
    );
    const lbs =
      (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] })))
        .LoadBalancers ?? [];
    assert.equal(lbs.length, 1, 'the NLB is still there');
    assert.deepEqual(await targets(tgArn), ['192.168.30.1:7000'], 'still serving its targets');
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: [lbArn, tgArn] }));
    for (const d of tags.TagDescriptions ?? [])
      assert.ok(!d.Tags?.some((t) => t.Key?.startsWith('kachiku.io/')), JSON.stringify(d.Tags));
    // Clean up by hand, as an operator who retained it would.
    const listeners =
      (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners ?? [];
    for (const x of listeners)
      await elb.send(new DeleteListenerCommand({ ListenerArn: x.ListenerArn }));
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tgArn }));
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
  } finally {
    await octavia.deleteLoadBalancer(kept);
  }
});

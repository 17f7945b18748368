// MirrorPolicy against the lab: real Keystone and Octavia (whose worker sends its event
// notifications to the lab's RabbitMQ), moto for AWS, the control-plane apiserver; the mirror and
// policy controllers run in this process as kachiku's ServiceAccount, on the real clients. The
// policy lists every 10 minutes, so a mirror that appears within the test's timeouts was made
// from Octavia's notification, not from the poll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import type { LoadBalancerMirror } from '../../src/api/loadbalancermirror.js';
import type { MirrorPolicy } from '../../src/api/mirrorpolicy.js';
import { secretGvr } from '../../src/runtime/core.js';
import { leaseGvr } from '../../src/runtime/leader.js';
import {
  mirrorGvr,
  registerLoadBalancerMirror,
} from '../../src/controllers/loadbalancermirror/reconciler.js';
import { mirrorNaming, realMirrorClouds } from '../../src/controllers/loadbalancermirror/clouds.js';
import { OCTAVIA_TAG } from '../../src/controllers/loadbalancermirror/plan.js';
import { claimName } from '../../src/controllers/loadbalancermirror/claim.js';
import { policyGvr, registerMirrorPolicy } from '../../src/controllers/mirrorpolicy/reconciler.js';
import { realPolicyClouds } from '../../src/controllers/mirrorpolicy/clouds.js';
import { mirrorName } from '../../src/controllers/mirrorpolicy/plan.js';
import { namespaceGvr } from '../support/kube.js';
import { until } from '../support/wait.js';
import { kachikuManager, kachikuNamespace, mirrorLab } from '../support/mirrorlab.js';

const { aws, os, config, rest, octavia } = mirrorLab();
const elb = new ElasticLoadBalancingV2Client({});
// Only this file's load balancers carry it.
const TAG = `kachiku-mirror-${randomUUID().slice(0, 8)}`;

let ns = '';
const stops: (() => Promise<void>)[] = [];

/** A kachiku replica: the mirror controller and, unless `mirrorsOnly`, the policy controller. */
function startReplica(mirrorsOnly = false): void {
  const mgr = kachikuManager(ns);
  registerLoadBalancerMirror(mgr, {
    clouds: realMirrorClouds(mgr.rest),
    naming: mirrorNaming,
    pendingRetryMs: 500,
  });
  if (!mirrorsOnly) registerMirrorPolicy(mgr, { clouds: realPolicyClouds(mgr.rest) });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stops.push(() => (ctl.abort(), running));
}

const lbs: string[] = [];
async function loadBalancer(tags: string[]): Promise<string> {
  const id = await octavia.loadBalancer(`mp-${randomUUID().slice(0, 6)}`, { tags });
  lbs.push(id);
  return id;
}

before(async () => {
  ns = await kachikuNamespace(rest, config, 'mp');
  await rest.create(secretGvr, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'amqp', namespace: ns },
    stringData: { url: os.rabbitmqUrl },
  });
  startReplica();
});
after(async () => {
  // Mirrors first, while the controller runs, so that their NLBs go too.
  await rest.request('DELETE', `/apis/kachiku.io/v1alpha1/namespaces/${ns}/mirrorpolicies`);
  await rest.request('DELETE', `/apis/kachiku.io/v1alpha1/namespaces/${ns}/loadbalancermirrors`);
  await until(
    'mirrors gone',
    async () => ((await rest.list(mirrorGvr, ns)).items.length === 0 ? true : undefined),
    60_000,
    500,
  );
  for (const stop of stops) await stop();
  await rest.delete(namespaceGvr, undefined, ns);
  await Promise.all(lbs.map((id) => octavia.deleteLoadBalancer(id)));
});

function policyOf(name: string, over: Partial<MirrorPolicy['spec']> = {}): MirrorPolicy {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MirrorPolicy',
    metadata: { name, namespace: ns },
    spec: {
      octavia: { cloud: os.cloud, selector: { tags: [TAG] } },
      template: {
        aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
        syncInterval: '10s',
      },
      listInterval: '10m',
      gracePeriod: '4s',
      notifications: { secretRef: { name: 'amqp' } },
      ...over,
    },
  };
}

function mirrorOf(name: string, loadBalancerID: string): LoadBalancerMirror {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name, namespace: ns },
    spec: {
      octavia: { loadBalancerID, cloud: os.cloud },
      aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
      syncInterval: '10s',
    },
  };
}

const getPolicy = (name: string) => rest.get<MirrorPolicy>(policyGvr, ns, name);
const getMirror = (name: string) =>
  rest.get<LoadBalancerMirror>(mirrorGvr, ns, name).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
const condition = (
  o: { status?: { conditions?: { type: string; status: string; reason: string }[] } },
  type: string,
) => o.status?.conditions?.find((c) => c.type === type);

const untilReady = (name: string, timeoutMs: number) =>
  until(
    `${name} Ready`,
    async () => {
      const m = await getMirror(name);
      return m && condition(m, 'Ready')?.status === 'True' ? m : undefined;
    },
    timeoutMs,
    250,
  );

/** The NLBs in moto tagged as mirrors of this Octavia load balancer. */
async function nlbsOf(loadBalancerID: string): Promise<string[]> {
  const all = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const arns = all.map((l) => l.LoadBalancerArn!);
  const found: string[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    const t = await elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
    for (const d of t.TagDescriptions ?? [])
      if (d.Tags?.some((x) => x.Key === OCTAVIA_TAG && x.Value === loadBalancerID))
        found.push(d.ResourceArn!);
  }
  return found;
}

let lb1 = '';

test('a load balancer created in Octavia with the tag gets its mirror and NLB from the notification, not the poll', async () => {
  await rest.create(policyGvr, policyOf('web'));
  // The policy's first list (at creation) is done and it listens: what comes later is news.
  await until(
    'listed and listening',
    async () => {
      const p = await getPolicy('web');
      return p.status?.lastListTime && condition(p, 'Notifications')?.status === 'True'
        ? p
        : undefined;
    },
    30_000,
    250,
  );
  lb1 = await loadBalancer([TAG]);
  const m = await untilReady(mirrorName('web', lb1), 60_000);
  assert.equal(m.metadata.labels?.['kachiku.io/mirror-policy'], 'web');
  assert.equal(m.metadata.ownerReferences?.[0]?.kind, 'MirrorPolicy');
  assert.equal(m.spec.syncInterval, '10s');
  assert.equal((await nlbsOf(lb1)).length, 1);
  const p = await getPolicy('web');
  assert.ok(p.status?.lastNotification, 'the list was triggered by a notification');
  assert.equal(p.status?.matched, 1);
  assert.equal(p.status?.mirrors, 1);
  assert.equal(condition(p, 'Mirrored')?.status, 'True');
});

test('editing the policy updates its mirrors', async () => {
  const p = await getPolicy('web');
  p.spec.template.syncInterval = '20s';
  p.spec.template.aws.tags = { team: 'edge' };
  await rest.replace(policyGvr, p);
  const m = await until(
    'mirror updated',
    async () => {
      const m = await getMirror(mirrorName('web', lb1));
      return m?.spec.syncInterval === '20s' ? m : undefined;
    },
    30_000,
    250,
  );
  assert.deepEqual(m.spec.aws.tags, { team: 'edge' });
  assert.equal(m.spec.octavia.loadBalancerID, lb1);
});

test('a mirror made by hand wins: the policy reports the conflict and makes none', async () => {
  const lb2 = await loadBalancer([]);
  await rest.create(mirrorGvr, mirrorOf('by-hand', lb2));
  await untilReady('by-hand', 60_000);
  // Tagged now: Octavia sends update.end, the policy reads that load balancer at once.
  const r = await octavia.call('PUT', `/loadbalancers/${lb2}`, { loadbalancer: { tags: [TAG] } });
  assert.equal(r.status, 200);
  const p = await until(
    'conflict reported',
    async () => {
      const p = await getPolicy('web');
      return p.status?.conflicts?.some((c) => c.loadBalancerID === lb2) ? p : undefined;
    },
    30_000,
    250,
  );
  assert.deepEqual(p.status?.conflicts, [
    {
      loadBalancerID: lb2,
      mirror: 'by-hand',
      reason: 'mirrored by a LoadBalancerMirror made by hand',
    },
  ]);
  assert.equal(condition(p, 'Mirrored')?.reason, 'MirrorConflict');
  assert.equal(p.status?.matched, 2);
  assert.equal(await getMirror(mirrorName('web', lb2)), undefined);
  assert.equal(condition((await getMirror('by-hand'))!, 'Ready')?.status, 'True');
  assert.equal((await nlbsOf(lb2)).length, 1);
});

test('a load balancer deleted in Octavia: its mirror and NLB go after the grace period', async () => {
  const name = mirrorName('web', lb1);
  await octavia.deleteLoadBalancer(lb1);
  const missing = await until(
    'missing',
    async () => (await getPolicy('web')).status?.missing?.find((m) => m.loadBalancerID === lb1),
    30_000,
    100,
  );
  assert.ok(await getMirror(name), 'not deleted before the grace period');
  await until('mirror gone', async () => ((await getMirror(name)) ? undefined : true), 60_000, 100);
  assert.ok(
    Date.now() >= Date.parse(missing.since) + 4000,
    'deleted only once the grace period had passed',
  );
  assert.deepEqual(await nlbsOf(lb1), []);
});

/** Exactly one of the two mirrors of `lb` is its owner; the other is a DuplicateMirror. */
async function oneOwner(a: string, b: string, lb: string): Promise<void> {
  const settled = await until(
    'one Ready, one DuplicateMirror',
    async () => {
      const ms = await Promise.all([getMirror(a), getMirror(b)]);
      const reasons = ms.map((m) => (m ? condition(m, 'Synced')?.reason : undefined));
      const ready = ms.filter((m) => m && condition(m, 'Ready')?.status === 'True');
      return ready.length === 1 && reasons.includes('DuplicateMirror') ? ms : undefined;
    },
    60_000,
    250,
  );
  const owner = settled.find((m) => condition(m!, 'Ready')?.status === 'True')!;
  const lease = await rest.get<KubeObject & { spec: { holderIdentity: string } }>(
    leaseGvr,
    ns,
    claimName(lb),
  );
  assert.equal(lease.spec.holderIdentity, owner.metadata.uid);
  assert.equal((await nlbsOf(lb)).length, 1);
}

test('two mirrors of one load balancer created together: one owner, the other DuplicateMirror, one NLB', async () => {
  const lb = await loadBalancer([]);
  await Promise.all([
    rest.create(mirrorGvr, mirrorOf('twin-a', lb)),
    rest.create(mirrorGvr, mirrorOf('twin-b', lb)),
  ]);
  await oneOwner('twin-a', 'twin-b', lb);
});

test('the same with two controller replicas both reconciling', async () => {
  // A second replica without leader election (as during a handover gone wrong): both reconcile
  // every mirror at once.
  startReplica(true);
  const lb = await loadBalancer([]);
  await Promise.all([
    rest.create(mirrorGvr, mirrorOf('pair-a', lb)),
    rest.create(mirrorGvr, mirrorOf('pair-b', lb)),
  ]);
  await oneOwner('pair-a', 'pair-b', lb);
  // The owner goes: the claim is released and the other takes over.
  const [a, b] = await Promise.all([getMirror('pair-a'), getMirror('pair-b')]);
  const owner = condition(a!, 'Ready')?.status === 'True' ? a! : b!;
  const other = owner === a ? b! : a!;
  await rest.delete(mirrorGvr, ns, owner.metadata.name);
  await untilReady(other.metadata.name, 60_000);
  assert.equal((await nlbsOf(lb)).length, 1);
});

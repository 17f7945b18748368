// The MemberCluster controller against the lab: the control-plane apiserver holds the
// MemberClusters and kubeconfig Secrets, the lab's member clusters (real apiservers, kwok Nodes)
// are probed, and one member's apiserver is stopped and frozen to see Reachable follow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Manager } from '../../src/runtime/manager.js';
import { Rest, isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { ClusterRegistry } from '../../src/runtime/clusters.js';
import { eventGvr } from '../../src/runtime/events.js';
import { applyCrds } from '../../src/cli/crds.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import {
  memberClusterGvr,
  registerMemberClusterController,
  type MemberClusterDeps,
} from '../../src/controllers/membercluster/reconciler.js';
import { nodeGvr } from '../../src/controllers/membercluster/probe.js';
import { registerMemberClusters } from '../../src/controllers/membercluster/index.js';
import { startLabProcess, stopLabProcess } from '../../lab/src/lab.js';
import { labState } from '../support/lab.js';
import {
  controlPlaneConfig,
  grantSecrets,
  kachikuConfig,
  memberKubeconfig,
  namespaceGvr,
  testNamespace,
} from '../support/kube.js';
import { until } from '../support/wait.js';
import { secretGvr } from '../../src/runtime/core.js';
import { CONTROLLER_NAME } from '../../src/api/kind.js';

const lab = labState();
const members = lab.kube!.clusters.filter((c) => c.role === 'member');
const onprem = members.find((c) => c.name === 'onprem-a')!;
const eks = members.find((c) => c.name === 'eks-b')!;
const config = controlPlaneConfig();
const rest = new Rest(config);
const id = randomUUID().slice(0, 6);
const mcName = (what: string) => `mc-${what}-${id}`;

let ns = '';
let registry: ClusterRegistry;
let mgr: Manager;
const changes: string[] = [];
let stop: (() => Promise<void>) | undefined;
const made = new Set<string>();

/**
 * A manager running only this controller, with its own registry; `withMetrics` registers it as
 * `kachiku controller` does.
 */
async function startController(
  deps: Omit<MemberClusterDeps, 'registry' | 'onProbe'>,
  withMetrics = false,
): Promise<void> {
  await stop?.();
  mgr = new Manager({
    name: CONTROLLER_NAME,
    config: kachikuConfig(),
    namespace: ns,
    log: newLogger(
      process.env.TEST_LOG === 'debug' ? 'debug' : process.env.TEST_LOG ? 'warn' : 'silent',
    ),
  });
  registry = new ClusterRegistry({ log: mgr.log, metrics: mgr.metrics });
  registry.onChange((name) => changes.push(name));
  if (withMetrics) registerMemberClusters(mgr, registry, deps);
  else registerMemberClusterController(mgr, { registry, ...deps });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
}

before(async () => {
  await applyCrds(config);
  ns = await testNamespace(rest, 'mc');
  await grantSecrets(rest, ns);
  // Watch-driven first: probes are a minute apart, so anything faster comes from the watches.
  await startController({ probeIntervalMs: 60_000 });
});
after(async () => {
  await stop?.();
  for (const name of made)
    await rest.delete(memberClusterGvr, undefined, name).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  await rest.delete(namespaceGvr, undefined, ns);
});

// kachiku's own identity in the member (an exec plugin, as EKS kubeconfigs have), not the admin's.
const kubeconfigOf = (c: { name: string }) => memberKubeconfig(c.name);

async function putSecret(name: string, data: Record<string, string>): Promise<void> {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  };
  await rest.apply(secretGvr, secret as KubeObject, { fieldManager: 'test', force: true });
}

async function createCluster(
  name: string,
  secret: string,
  extra: Partial<MemberCluster['spec']> = {},
): Promise<void> {
  made.add(name);
  await rest.create<MemberCluster>(memberClusterGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MemberCluster',
    metadata: { name },
    spec: {
      kubeconfigSecretRef: { namespace: ns, name: secret },
      provider: 'onprem',
      failureDomain: 'dc-a',
      ...extra,
    },
  });
}

const getCluster = (name: string) => rest.get<MemberCluster>(memberClusterGvr, undefined, name);
const condition = (mc: MemberCluster, type: string) =>
  mc.status?.conditions?.find((c) => c.type === type);

/** Waits until the cluster's condition `type` has `status` (and `reason`, if given). */
function untilCondition(
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 30_000,
): Promise<MemberCluster> {
  return until(
    `${name} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const mc = await getCluster(name);
      const c = condition(mc, type);
      return c?.status === status && (!reason || c.reason === reason) ? mc : undefined;
    },
    timeoutMs,
    100,
  );
}

test('both lab members registered from kubeconfig Secrets become Ready and Reachable', async () => {
  const started = Date.now();
  await putSecret('onprem-a', { kubeconfig: kubeconfigOf(onprem) });
  await putSecret('eks-b', { config: kubeconfigOf(eks) });
  const a = mcName('onprem');
  const b = mcName('eks');
  await createCluster(a, 'onprem-a');
  // eks-b's Secret keeps the kubeconfig under another key.
  await createCluster(b, 'eks-b', {
    kubeconfigSecretRef: { namespace: ns, name: 'eks-b', key: 'config' },
    provider: 'eks',
    failureDomain: 'us-east-1',
  });

  for (const name of [a, b]) {
    const mc = await untilCondition(name, 'Ready', 'True');
    assert.equal(condition(mc, 'Reachable')?.status, 'True');
    assert.equal(condition(mc, 'Ready')?.reason, 'ProbeSucceeded');
    assert.match(mc.status?.kubernetesVersion ?? '', /^v1\.33\.\d+/);
    assert.deepEqual(mc.status?.nodes, { ready: 3, total: 3 });
    // Three kwok Nodes of 16 CPUs and 64 GiB each.
    assert.deepEqual(mc.status?.allocatable, { cpu: '48', memory: '192Gi' });
    assert.equal(mc.status?.observedGeneration, mc.metadata.generation);
    assert.equal(mc.status?.probe?.consecutiveFailures, 0);
    assert.ok((mc.status?.probe?.consecutiveSuccesses ?? 0) >= 1);
    for (const c of mc.status?.conditions ?? [])
      assert.equal(c.observedGeneration, mc.metadata.generation, c.type);

    const conn = registry.get(name);
    assert.ok(conn, `the registry holds ${name}`);
    assert.equal(conn.reachable, true);
  }
  // The connections reach the right clusters, through shared informers too.
  const nodes = registry.get(b)!.informer(nodeGvr);
  await nodes.waitForSync();
  assert.deepEqual(
    nodes
      .list()
      .map((n) => n.metadata.name)
      .sort(),
    eks.nodes,
  );
  assert.equal(registry.get(b)!.informer(nodeGvr), nodes);
  const onpremNodes = await registry.get(a)!.rest.list(nodeGvr, undefined);
  assert.deepEqual(onpremNodes.items.map((n) => n.metadata.name).sort(), onprem.nodes);
  assert.ok(changes.includes(a) && changes.includes(b));
  assert.ok(Date.now() - started < 20_000, 'registered without waiting for a probe interval');
});

test('a missing kubeconfig Secret says so; creating it connects without a restart', async () => {
  const name = mcName('missing');
  await createCluster(name, `absent-${id}`);
  let mc = await untilCondition(name, 'Ready', 'False', 'KubeconfigMissing');
  assert.match(condition(mc, 'Ready')!.message, new RegExp(`Secret ${ns}/absent-${id} not found`));
  assert.equal(condition(mc, 'Reachable')?.status, 'Unknown');
  assert.equal(registry.get(name), undefined);

  // A Secret without the key is just as missing.
  await putSecret(`absent-${id}`, { other: 'x' });
  mc = await untilCondition(name, 'Ready', 'False', 'KubeconfigMissing');
  await until('the missing-key message', async () =>
    /has no key "kubeconfig"/.test(condition(await getCluster(name), 'Ready')?.message ?? '')
      ? true
      : undefined,
  );

  // Probes are a minute apart: only the Secret watch can make this quick.
  const fixed = Date.now();
  await putSecret(`absent-${id}`, { kubeconfig: kubeconfigOf(onprem) });
  mc = await untilCondition(name, 'Ready', 'True', undefined, 15_000);
  assert.ok(Date.now() - fixed < 15_000);
  assert.deepEqual(mc.status?.nodes, { ready: 3, total: 3 });
  assert.equal(registry.get(name)?.reachable, true);
});

test('a garbage kubeconfig gives KubeconfigInvalid without quoting it; fixing it connects', async () => {
  const name = mcName('garbage');
  const secret = `garbage-${id}`;
  await putSecret(secret, { kubeconfig: 'apiVersion: v1\nusers: [[[ token: hunter2-SECRET' });
  await createCluster(name, secret);
  let mc = await untilCondition(name, 'Ready', 'False', 'KubeconfigInvalid');
  const message = condition(mc, 'Ready')!.message;
  assert.match(message, /not valid YAML/);
  assert.doesNotMatch(message, /hunter2|SECRET/);
  assert.equal(registry.get(name), undefined);

  // Valid YAML that is no kubeconfig is invalid too.
  await putSecret(secret, { kubeconfig: 'just: some yaml' });
  mc = await until('the no-current-context message', async () => {
    const m = await getCluster(name);
    return /no current-context/.test(condition(m, 'Ready')?.message ?? '') ? m : undefined;
  });
  assert.equal(condition(mc, 'Ready')?.reason, 'KubeconfigInvalid');

  await putSecret(secret, { kubeconfig: kubeconfigOf(eks) });
  await untilCondition(name, 'Ready', 'True', undefined, 15_000);
  assert.ok(registry.get(name));
});

test('cordoned: Ready stays True with reason Cordoned', async () => {
  const name = mcName('onprem');
  await rest.patch(memberClusterGvr, undefined, name, { spec: { cordoned: true } }, 'merge');
  const mc = await untilCondition(name, 'Ready', 'True', 'Cordoned');
  assert.match(condition(mc, 'Ready')!.message, /no new Prods/);
  await rest.patch(memberClusterGvr, undefined, name, { spec: { cordoned: false } }, 'merge');
  await untilCondition(name, 'Ready', 'True', 'ProbeSucceeded');
});

/** Every status seen while waiting, to check what Reachable said on the way. */
/** Every version of a MemberCluster written from now until `done` holds (a watch: none missed). */
async function watchUntil(
  name: string,
  done: (mc: MemberCluster) => boolean,
  timeoutMs: number,
): Promise<MemberCluster[]> {
  const fieldSelector = `metadata.name=${name}`;
  const list = await rest.list<MemberCluster>(memberClusterGvr, undefined, { fieldSelector });
  const seen: MemberCluster[] = [...list.items];
  if (seen.some(done)) return seen;
  for await (const ev of rest.watch(
    memberClusterGvr,
    undefined,
    { fieldSelector, resourceVersion: list.metadata.resourceVersion },
    AbortSignal.timeout(timeoutMs),
  )) {
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
    const mc = ev.object as MemberCluster;
    seen.push(mc);
    if (done(mc)) return seen;
  }
  throw new Error(`${name} did not get there within ${timeoutMs} ms`);
}

test('a stopped member apiserver: Unreachable only after 3 failed probes, back after 2 good ones', async () => {
  // Fast probes from here on; a new manager and registry pick the clusters up again.
  await startController(
    {
      probeIntervalMs: 1000,
      probeTimeoutMs: 1500,
      failuresToUnreachable: 3,
      successesToReachable: 2,
      prodsHosted: (cluster) => (cluster === mcName('onprem') ? 2 : 0),
    },
    true,
  );
  const name = mcName('onprem');
  const other = mcName('eks');
  await until('the new registry connects', () => registry.get(name));
  await until('prods hosted reported', async () =>
    (await getCluster(name)).status?.prods === 2 ? true : undefined,
  );
  const apiserver = `${onprem.name}-apiserver`;
  const stopped = Date.now();
  // Watched while the apiserver shuts down (SIGTERM, then a grace period): it stops answering
  // well before its process ends.
  const stopping = stopLabProcess(lab.dir, apiserver);
  let down: MemberCluster[] = [];
  let tookMs = 0;
  try {
    down = await watchUntil(name, (mc) => condition(mc, 'Reachable')?.status === 'False', 20_000);
    tookMs = Date.now() - stopped;
  } finally {
    await stopping;
    await startLabProcess(lab.dir, apiserver);
  }
  const last = down.at(-1)!;
  for (const mc of down) {
    const failures = mc.status?.probe?.consecutiveFailures ?? 0;
    if (failures > 0 && failures < 3)
      assert.equal(condition(mc, 'Reachable')?.status, 'True', `after ${failures} failure(s)`);
  }
  assert.ok(
    down.some((mc) => (mc.status?.probe?.consecutiveFailures ?? 0) === 1),
    `a failed probe was seen before Unreachable: ${JSON.stringify(
      down.map((mc) => [mc.status?.probe, condition(mc, 'Reachable')?.status]),
    )}`,
  );
  assert.equal(last.status?.probe?.consecutiveFailures, 3);
  assert.equal(condition(last, 'Reachable')?.reason, 'ProbeFailed');
  assert.match(condition(last, 'Reachable')!.message, /3 probe\(s\) in a row failed/);
  assert.equal(condition(last, 'Ready')?.status, 'False');
  // The last known facts stay.
  assert.deepEqual(last.status?.nodes, { ready: 3, total: 3 });
  assert.ok(tookMs < 10_000, `unreachable after ${tookMs} ms`);
  assert.equal(registry.get(name)?.reachable, false);
  assert.equal(registry.get(other)?.reachable, true, 'the other member is unaffected');
  const metrics = await mgr.metrics.registry.metrics();
  assert.match(metrics, new RegExp(`kachiku_membercluster_reachable\\{cluster="${name}"\\} 0`));
  assert.match(metrics, new RegExp(`kachiku_membercluster_reachable\\{cluster="${other}"\\} 1`));
  assert.match(
    metrics,
    /kachiku_membercluster_probe_seconds_count\{cluster="[^"]+",outcome="failure"\}/,
  );
  assert.equal(condition(await getCluster(other), 'Reachable')?.status, 'True');

  // Started again: True only after two good probes in a row.
  const up = await watchUntil(name, (mc) => condition(mc, 'Reachable')?.status === 'True', 60_000);
  const afterOne = up.filter((mc) => (mc.status?.probe?.consecutiveSuccesses ?? 0) === 1);
  // Written while counting (probeWriteDue), so the watch must have seen it.
  assert.ok(afterOne.length > 0, 'the state after one good probe was seen');
  for (const mc of afterOne)
    assert.equal(condition(mc, 'Reachable')?.status, 'False', 'one success is not enough');
  assert.equal(up.at(-1)?.status?.probe?.consecutiveSuccesses, 2);
  await untilCondition(name, 'Ready', 'True');
  assert.equal(registry.get(name)?.reachable, true);

  const events = await rest.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
    eventGvr,
    'default',
  );
  const reasons = events.items.filter((e) => e.regarding?.name === name).map((e) => e.reason);
  assert.ok(reasons.includes('ClusterUnreachable'), `events: ${reasons.join(', ')}`);
  assert.ok(reasons.includes('ClusterReachable'), `events: ${reasons.join(', ')}`);
});

test('a frozen member apiserver is caught by the probe timeout', async () => {
  const name = mcName('eks');
  const pid = labState().processes.find((p) => p.name === `${eks.name}-apiserver`)!.pid;
  await untilCondition(name, 'Reachable', 'True');
  const frozen = Date.now();
  process.kill(pid, 'SIGSTOP');
  try {
    // Three probes, each bounded by the 1.5 s timeout, a second apart.
    await untilCondition(name, 'Reachable', 'False', 'ProbeFailed', 20_000);
    assert.ok(Date.now() - frozen < 15_000, `unreachable after ${Date.now() - frozen} ms`);
    assert.match(
      condition(await getCluster(name), 'Reachable')!.message,
      /timeout|timed out|aborted/i,
    );
    assert.equal(registry.get(name)?.reachable, false);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await untilCondition(name, 'Reachable', 'True', undefined, 30_000);
  assert.equal(registry.get(name)?.reachable, true);
});

test('deleting a MemberCluster drops its connection', async () => {
  const name = mcName('missing');
  assert.ok(registry.get(name));
  const notified = changes.length;
  await rest.delete(memberClusterGvr, undefined, name);
  await until('the connection is dropped', () => (registry.get(name) ? undefined : true));
  assert.ok(changes.slice(notified).includes(name));
  await until('the object is gone', () =>
    getCluster(name).then(
      () => undefined,
      (err) => (isNotFound(err) ? true : undefined),
    ),
  );
  assert.ok(registry.get(mcName('onprem')), 'the others stay');
});

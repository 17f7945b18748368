// A leader that loses its lease stops acting at once, as controller-runtime's does: two real
// `kachiku controller` processes on the lab; the leader is cut off from the control-plane
// apiserver (a frozen TCP proxy between them) while it mirrors an Octavia load balancer into
// AWS, its ELBv2 writes slowed by a proxy in front of moto. The standby takes over; the old
// leader must not have sent one more AWS write once the new one holds the lease (timestamps of
// the AWS proxy's own request log against the Lease's acquireTime), and it exits non-zero.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Rest, isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { leaseGvr } from '../../src/runtime/leader.js';
import { applyCrds } from '../../src/cli/crds.js';
import type { LoadBalancerMirror } from '../../src/api/loadbalancermirror.js';
import { mirrorGvr } from '../../src/controllers/loadbalancermirror/reconciler.js';
import { awsEnv } from '../../lab/src/parts/aws.js';
import { OctaviaBuilder } from '../../lab/src/octavia.js';
import { labState } from '../support/lab.js';
import {
  controlPlaneConfig,
  grantSecrets,
  kachikuConfig,
  namespaceGvr,
  testNamespace,
} from '../support/kube.js';
import { CONTROLLER_NAMESPACE } from '../../src/api/rbac.js';
import { until, within } from '../support/wait.js';
import { freezableProxy } from '../support/tcp.js';
import { isElbWrite, startAwsProxy, type Sent } from '../support/awsproxy.js';
import { kachikuController, logLine, shortLease } from '../support/process.js';

const lab = labState();
const aws = lab.aws!;
const os = lab.openstack!;
const config = controlPlaneConfig();
// The replicas run as kachiku's ServiceAccount (deploy/rbac): their Lease is in kachiku-system.
const identity = kachikuConfig();
const directKubeconfig = lab.kube!.clusters.find(
  (c) => c.role === 'control-plane',
)!.kachikuKubeconfig!;
const rest = new Rest(config);
const octavia = new OctaviaBuilder(os);
const LEASE = `kachiku-leaseloss-${randomUUID().slice(0, 6)}`;
/** How long the AWS proxy holds each of the old leader's ELBv2 writes. */
const SLOW_MS = 1500;

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; acquireTime?: string };
}

let lbId = '';
before(async () => {
  await applyCrds(config);
  // Two listeners, each with a pool of members: a first sync of some ten ELBv2 writes.
  lbId = await octavia.loadBalancer(`leaseloss-${randomUUID().slice(0, 6)}`);
  for (const [port, members] of [
    [80, ['192.168.30.11', '192.168.30.12']],
    [443, ['192.168.30.21', '192.168.30.22']],
  ] as const) {
    const listener = await octavia.listener(lbId, 'TCP', port);
    const pool = await octavia.pool(lbId, listener, 'TCP');
    for (const address of members)
      await octavia.member(lbId, pool, { address, protocol_port: port + 8000 });
  }
});
after(() => octavia.deleteLoadBalancer(lbId));

/** The control plane's kubeconfig with its server replaced (a proxy), in a file of its own. */
function kubeconfigVia(port: number): string {
  const kc = new KubeConfig();
  kc.loadFromString(identity.exportConfig());
  (kc.getCurrentCluster() as { server: string }).server = `https://127.0.0.1:${port}`;
  const file = join(mkdtempSync(join(tmpdir(), 'kachiku-leaseloss-')), 'kubeconfig');
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

function replica(ns: string, identity: string, kubeconfig: string, awsEndpoint: string) {
  return kachikuController(
    [
      '--kubeconfig',
      kubeconfig,
      '--identity',
      identity,
      '--namespace',
      ns,
      '--secret-namespaces',
      ns,
      ...shortLease(LEASE),
      '--metrics-bind-address',
      '0',
      '--health-probe-bind-address',
      '0',
    ],
    { ...awsEnv(aws), AWS_ENDPOINT_URL: awsEndpoint, OS_CLIENT_CONFIG_FILE: os.cloudsYaml },
  );
}

const lease = () => rest.get<Lease>(leaseGvr, CONTROLLER_NAMESPACE, LEASE);
const holder = () => lease().then((l) => l.spec?.holderIdentity);
const describe = (s: Sent) => `${s.action} at ${new Date(s.at).toISOString()}`;

test('a leader cut off from the apiserver sends no AWS write once the next leader holds the lease, and exits non-zero', async (t) => {
  const ns = await testNamespace(rest, 'leaseloss');
  await grantSecrets(rest, ns);
  const kube = await freezableProxy(new URL(config.getCurrentCluster()!.server));
  const awsA = await startAwsProxy(aws.endpoint);
  const awsB = await startAwsProxy(aws.endpoint);
  awsA.slow(isElbWrite, SLOW_MS);
  const a = replica(ns, 'replica-a', kubeconfigVia(kube.port), awsA.url);
  let b: ReturnType<typeof replica> | undefined;
  try {
    await until('replica-a leads', async () => (await holder()) === 'replica-a' || undefined);
    b = replica(ns, 'replica-b', directKubeconfig, awsB.url);
    const standby = b;
    await until('replica-b waits to lead', () => logLine(standby, 'waiting to lead'));

    const mirror: LoadBalancerMirror = {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'LoadBalancerMirror',
      metadata: { name: 'web', namespace: ns },
      spec: {
        octavia: { loadBalancerID: lbId, cloud: os.cloud },
        aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
      },
    };
    await rest.create(mirrorGvr, mirror);
    // The leader's first sync is under way in AWS: its second write has arrived.
    await until('replica-a writing to AWS', () =>
      awsA.sent.filter(isElbWrite).length >= 2 ? true : undefined,
    );
    const frozenAt = Date.now();
    kube.freeze({ newConnections: true });

    await until(
      'replica-b takes over',
      async () => (await holder()) === 'replica-b' || undefined,
      20_000,
      50,
    );
    const acquiredAt = Date.parse((await lease()).spec?.acquireTime ?? '');
    assert.ok(Number.isFinite(acquiredAt), 'the Lease records when replica-b acquired it');
    // Whatever the deposed leader still does happens before it exits (or a drain's worth later).
    const code = await within(a.exited, 45_000, 'the deposed leader to exit');
    const lostAt = Date.parse(
      String(logLine(a, 'leadership lost: could not renew the lease')?.time),
    );
    const writes = awsA.sent.filter(isElbWrite);
    const last = writes.at(-1)!;
    t.diagnostic(
      `apiserver frozen at +0 ms; replica-a lost the lease at +${lostAt - frozenAt} ms; replica-b acquired it at +${acquiredAt - frozenAt} ms; replica-a's last ELBv2 write (${last.action}) arrived at +${last.at - frozenAt} ms; ${writes.length} writes from replica-a, ${writes.filter((s) => s.abandoned).length} cancelled while held; replica-a exited (${code}) at +${(a.exitedAt ?? NaN) - frozenAt} ms`,
    );
    assert.deepEqual(
      writes.filter((s) => s.at >= acquiredAt).map(describe),
      [],
      `AWS writes of the deposed leader after replica-b acquired the lease at ${new Date(acquiredAt).toISOString()}`,
    );
    assert.equal(code, 1, 'the deposed leader exits non-zero');
    assert.ok(
      logLine(a, 'leadership lost: in-flight reconciles cancelled, no new work starts'),
      'the deposed leader says what it did',
    );
    assert.ok(lostAt < acquiredAt, 'it gave up before the next leader could take over');

    // The new leader finishes the job.
    const ready = await until(
      'the mirror Ready under replica-b',
      async () => {
        const m = await rest.get<LoadBalancerMirror>(mirrorGvr, ns, 'web');
        return m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          ? m
          : undefined;
      },
      60_000,
    );
    assert.ok(ready.status?.loadBalancer?.arn);
    assert.ok(awsB.sent.some(isElbWrite), 'replica-b wrote what was left to AWS');
  } finally {
    // replica-b removes what the mirror made in AWS (its finalizer) before the namespace goes.
    await rest.delete(mirrorGvr, ns, 'web').catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    if (b && b.exitCode === null)
      await until(
        'the mirror finalized',
        () =>
          rest.get(mirrorGvr, ns, 'web').then(
            () => undefined,
            (err) => (isNotFound(err) ? true : undefined),
          ),
        60_000,
      );
    b?.kill('SIGTERM');
    a.kill('SIGKILL');
    await b?.exited;
    kube.close();
    await awsA.close();
    await awsB.close();
    await rest.delete(namespaceGvr, undefined, ns);
    await rest.delete(leaseGvr, CONTROLLER_NAMESPACE, LEASE).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
});

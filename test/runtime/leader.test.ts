// Leader election between real `kachiku controller` processes on the lab's control plane:
// one leads; a killed leader is replaced within the lease duration; a graceful stop hands over
// at once.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Rest, isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { leaseGvr } from '../../src/runtime/leader.js';
import { CONTROLLER_NAMESPACE } from '../../src/api/rbac.js';
import { labState } from '../support/lab.js';
import { controlPlaneConfig, namespaceGvr, testNamespace } from '../support/kube.js';
import { until } from '../support/wait.js';
import { kachikuController, shortLease } from '../support/process.js';
import { applyCrds } from '../../src/cli/crds.js';

// The replicas run as kachiku's ServiceAccount (deploy/rbac): Leases only in kachiku-system.
const kubeconfig = labState().kube!.clusters.find(
  (c) => c.role === 'control-plane',
)!.kachikuKubeconfig!;
const rest = new Rest(controlPlaneConfig());
// The controllers' informers need their CRDs (or they never sync).
before(() => applyCrds(controlPlaneConfig()));

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

/** A `kachiku controller` process with a short lease named `lease`, or with `args` instead. */
function controller(
  lease: string,
  identity: string,
  args = [
    ...shortLease(lease),
    '--metrics-bind-address',
    '0',
    '--health-probe-bind-address',
    '127.0.0.1:0',
  ],
) {
  return kachikuController(['--kubeconfig', kubeconfig, '--identity', identity, ...args]);
}

const holder = (lease: string) =>
  rest.get<Lease>(leaseGvr, CONTROLLER_NAMESPACE, lease).then(
    (l) => l.spec?.holderIdentity,
    () => undefined,
  );
const leads = (c: { lines: string[] }) => c.lines.some((l) => l.includes('"became leader"'));

test('only one of two managers leads; a killed leader is replaced within the lease; a graceful stop hands over at once', async () => {
  const ns = await testNamespace(rest, 'leader');
  try {
    const a = controller(ns, 'replica-a');
    await until(
      'replica-a leads',
      async () => ((await holder(ns)) === 'replica-a' ? true : undefined),
      30_000,
    );
    const b = controller(ns, 'replica-b');
    await until(
      'replica-b is waiting',
      () => (b.lines.some((l) => l.includes('"waiting to lead"')) ? true : undefined),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await holder(ns), 'replica-a', 'the lease stays with the leader while it renews');
    assert.ok(leads(a) && !leads(b), 'only one replica leads');

    // A crash: no release. The standby waits for the lease to expire by its own clock (3 s).
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await until(
      'replica-b takes over',
      async () => ((await holder(ns)) === 'replica-b' ? true : undefined),
      15_000,
      50,
    );
    const takeover = Date.now() - killedAt;
    assert.ok(
      takeover >= 1500 && takeover <= 3000 + 500 + 1500,
      `took over after ${takeover} ms (lease 3 s, retry 0.5 s)`,
    );

    // A graceful stop releases the lease: the next standby takes it at its next retry.
    const c = controller(ns, 'replica-c');
    await until(
      'replica-c is waiting',
      () => (c.lines.some((l) => l.includes('"waiting to lead"')) ? true : undefined),
      30_000,
    );
    const stoppedAt = Date.now();
    b.kill('SIGTERM');
    await until(
      'replica-c takes over',
      async () => ((await holder(ns)) === 'replica-c' ? true : undefined),
      15_000,
      50,
    );
    const handover = Date.now() - stoppedAt;
    assert.ok(handover < 1500, `handed over in ${handover} ms, well inside the 3 s lease`);
    assert.equal(await b.exited, 0, 'the stopped replica exits cleanly');
    assert.ok(b.lines.some((l) => l.includes('"released the lease"')));
    const lease = await rest.get<Lease>(leaseGvr, CONTROLLER_NAMESPACE, ns);
    assert.equal(lease.spec?.leaseTransitions, 2);
    c.kill('SIGTERM');
    await c.exited;
  } finally {
    await rest.delete(namespaceGvr, undefined, ns);
    await rest.delete(leaseGvr, CONTROLLER_NAMESPACE, ns).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
});

test('a controller with nothing to watch and no servers keeps running until SIGTERM', async () => {
  const c = controller('', 'lonely', [
    '--no-leader-elect',
    '--metrics-bind-address',
    '0',
    '--health-probe-bind-address',
    '0',
  ]);
  await until(
    'started',
    () => (c.lines.some((l) => l.includes('"starting controllers"')) ? true : undefined),
    30_000,
  );
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(c.exitCode, null, 'still running');
  c.kill('SIGTERM');
  assert.equal(await c.exited, 0);
  assert.ok(c.lines.some((l) => l.includes('"manager stopped"')));
});

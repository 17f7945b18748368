// kachiku with the identities its users give it, against the lab:
// - in a cluster: a real `kachiku controller` process that finds only what a Pod has — the
//   ServiceAccount token and CA in /var/run/secrets/kubernetes.io/serviceaccount (a tmpfs in a
//   mount namespace of its own) and KUBERNETES_SERVICE_HOST/PORT — bound to deploy/rbac;
// - member clusters through an exec credential plugin (as EKS kubeconfigs are), renewed before
//   its reported expiry, asked again after a 401;
// - revoked credentials: a clear condition, no hot loop, recovery once fixed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Manager } from '../../src/runtime/manager.js';
import { Rest, isNotFound, type Gvr, type KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { ClusterRegistry } from '../../src/runtime/clusters.js';
import { secretGvr } from '../../src/runtime/core.js';
import { registerMemberClusterController } from '../../src/controllers/membercluster/reconciler.js';
import { memberClusterGvr } from '../../src/controllers/membercluster/index.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import { applyCrds } from '../../src/cli/crds.js';
import { CONTROLLER_NAMESPACE, MEMBER_ROLE } from '../../src/api/rbac.js';
import {
  ensureServiceAccount,
  execUser,
  kubeconfigFor,
  restFor,
  serviceAccountToken,
} from '../../lab/src/identities.js';
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

const lab = labState();
const config = controlPlaneConfig();
const rest = new Rest(config);
const controlPlane = lab.kube!.clusters.find((c) => c.role === 'control-plane')!;
const member = lab.kube!.clusters.find((c) => c.role === 'member')!;
const memberAdmin = restFor(member.kubeconfig);
const ca = readFileSync(lab.kube!.pki.caCert, 'utf8');
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const id = randomUUID().slice(0, 6);
const made: string[] = [];
const children: ChildProcess[] = [];
let ns = '';
let mgr: Manager | undefined;
let stopMgr: (() => Promise<void>) | undefined;

const crbGvr: Gvr = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource: 'clusterrolebindings',
  namespaced: false,
};
const saGvr: Gvr = { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true };

before(async () => {
  await applyCrds(config);
  ns = await testNamespace(rest, 'ident');
  await grantSecrets(rest, ns);
});
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await stopMgr?.();
  for (const name of made) await rest.delete(memberClusterGvr, undefined, name).catch(ignore404);
  await rest.delete(namespaceGvr, undefined, ns);
});

function ignore404(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

async function putSecret(namespace: string, name: string, kubeconfig: string): Promise<void> {
  await rest.apply(
    secretGvr,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
    } as KubeObject,
    { fieldManager: 'test', force: true },
  );
}

async function createCluster(name: string, secretNamespace: string, secret: string) {
  made.push(name);
  await rest.create<MemberCluster>(memberClusterGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MemberCluster',
    metadata: { name },
    spec: {
      kubeconfigSecretRef: { namespace: secretNamespace, name: secret },
      provider: 'eks',
      failureDomain: `fd-${name}`,
    },
  } as MemberCluster);
}

const ready = async (name: string) => {
  const mc = await rest.get<MemberCluster>(memberClusterGvr, undefined, name);
  return mc.status?.conditions?.find((c) => c.type === 'Ready');
};

/**
 * The MemberCluster controller in this process, as kachiku's ServiceAccount (once; after the
 * in-cluster test, which must be the only controller while it runs).
 */
async function startController(): Promise<void> {
  if (mgr) return;
  mgr = new Manager({
    config: kachikuConfig(),
    name: 'kachiku-test',
    namespace: ns,
    log: newLogger(process.env.TEST_LOG ? 'debug' : 'silent'),
  });
  const registry = new ClusterRegistry({ log: mgr.log, metrics: mgr.metrics });
  registerMemberClusterController(mgr, {
    registry,
    probeIntervalMs: 1000,
    probeTimeoutMs: 2000,
    failuresToUnreachable: 1,
    successesToReachable: 1,
  });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stopMgr = () => (ctl.abort(), running);
}

test('in a cluster: a controller with only a ServiceAccount token and deploy/rbac reconciles', async () => {
  // What the kubelet mounts into a Pod: a token of kachiku-system/kachiku, the CA, the namespace.
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-sa-'));
  const { token } = await serviceAccountToken(rest, CONTROLLER_NAMESPACE, 'kachiku', 3600);
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), ca);
  writeFileSync(join(dir, 'namespace'), CONTROLLER_NAMESPACE);
  const mount = '/var/run/secrets/kubernetes.io/serviceaccount';
  mkdirSync(mount, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), 'kachiku-home-'));
  const port = new URL(controlPlane.server).port;
  // Its own mount namespace: the tmpfs is seen by this process only, like a Pod's volume.
  const script = `mount -t tmpfs tmpfs ${mount} && cp ${dir}/token ${dir}/ca.crt ${dir}/namespace ${mount}/ && exec "$0" "$@"`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: port,
  };
  const lease = `incluster-${id}`;
  const child = spawn(
    'unshare',
    [
      '--mount',
      'sh',
      '-c',
      script,
      process.execPath,
      main,
      'controller',
      '--leader-election-id',
      lease,
      '--metrics-bind-address',
      '0',
      '--health-probe-bind-address',
      '127.0.0.1:0',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const lines: string[] = [];
  child.stdout.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  assert.ok(!existsSync(join(mount, 'token')), 'the token is not visible outside its namespace');

  // A member registered the way users do: its kubeconfig (exec plugin) in a Secret in
  // kachiku-system, the one namespace whose Secrets the controller reads by default.
  const secret = `incluster-${id}`;
  await putSecret(CONTROLLER_NAMESPACE, secret, memberKubeconfig(member.name));
  const name = `incluster-${id}`;
  await createCluster(name, CONTROLLER_NAMESPACE, secret);
  try {
    const cond = await until(
      'the in-cluster controller to make the member Ready',
      async () => ((await ready(name))?.status === 'True' ? ready(name) : undefined),
      30_000,
      250,
    );
    assert.equal(cond?.reason, 'ProbeSucceeded');
    assert.ok(
      lines.some((l) => l.includes('"became leader"')),
      'it leads with its own Lease',
    );
    assert.ok(
      !lines.some((l) => /"level":(50|60)/.test(l)),
      `no error logged:\n${lines.filter((l) => /"level":(50|60)/.test(l)).join('\n')}`,
    );
  } finally {
    child.kill('SIGTERM');
    await rest.delete(secretGvr, CONTROLLER_NAMESPACE, secret).catch(ignore404);
    await rest
      .delete(
        { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true },
        CONTROLLER_NAMESPACE,
        lease,
      )
      .catch(ignore404);
  }
});

test('a Secret outside the namespaces kachiku may read: SecretNotReadable, nothing read', async () => {
  await startController();
  const other = await testNamespace(rest, 'ident-other');
  try {
    await putSecret(other, 'kc', memberKubeconfig(member.name));
    const name = `outside-${id}`;
    await createCluster(name, other, 'kc');
    const cond = await until('SecretNotReadable', async () =>
      (await ready(name))?.reason === 'SecretNotReadable' ? ready(name) : undefined,
    );
    assert.match(cond!.message, /kachiku-secret-reader/);
  } finally {
    await rest.delete(namespaceGvr, undefined, other);
  }
});

/** A ServiceAccount of its own in the member, bound to the member RBAC, to revoke at will. */
async function memberAccount(sa: string): Promise<void> {
  await ensureServiceAccount(memberAdmin, CONTROLLER_NAMESPACE, sa);
  await memberAdmin.apply(
    crbGvr,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `kachiku-test-${sa}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: MEMBER_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: CONTROLLER_NAMESPACE }],
    } as KubeObject,
    { fieldManager: 'test', force: true },
  );
}

const runsOf = (log: string) =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [at, expires] = l.split(' ');
          return { at: Date.parse(at!), expires: Date.parse(expires!) };
        })
    : [];

test('an exec plugin token is renewed before its reported expiry, while the member stays Ready', async () => {
  await startController();
  const sa = `renew-${id}`;
  await memberAccount(sa);
  const log = join(mkdtempSync(join(tmpdir(), 'kachiku-exec-')), 'runs');
  const kubeconfig = kubeconfigFor(
    member.name,
    member.server,
    ca,
    execUser(member.kubeconfig, { ttlSeconds: 15, log, serviceAccount: sa }),
  );
  await putSecret(ns, 'renew', kubeconfig);
  const name = `renew-${id}`;
  await createCluster(name, ns, 'renew');
  await until('Ready through the exec plugin', async () =>
    (await ready(name))?.status === 'True' ? true : undefined,
  );
  // Probes every second keep asking for the token: it must be renewed before it expires. The
  // reported life is 15 s, so renewal starts 3 s before: room for a probe's second and the
  // plugin's own run (a Node process and a TokenRequest) on a busy machine.
  await until('a renewal', () => (runsOf(log).length >= 2 ? true : undefined), 30_000);
  const runs = runsOf(log);
  for (let i = 1; i < runs.length; i++)
    assert.ok(
      runs[i]!.at < runs[i - 1]!.expires,
      `run ${i + 1} at ${new Date(runs[i]!.at).toISOString()} came before the expiry of run ${i} (${new Date(runs[i - 1]!.expires).toISOString()})`,
    );
  assert.equal((await ready(name))?.status, 'True');
});

test('a revoked token: a clear condition, no hot loop, and recovery when fixed', async () => {
  await startController();
  const sa = `revoke-${id}`;
  await memberAccount(sa);
  const log = join(mkdtempSync(join(tmpdir(), 'kachiku-exec-')), 'runs');
  await putSecret(
    ns,
    'revoke',
    kubeconfigFor(
      member.name,
      member.server,
      ca,
      execUser(member.kubeconfig, { log, serviceAccount: sa }),
    ),
  );
  // And one with a static token of the same account (what a token kubeconfig holds).
  const { token } = await serviceAccountToken(memberAdmin, CONTROLLER_NAMESPACE, sa, 600);
  await putSecret(ns, 'static', kubeconfigFor(member.name, member.server, ca, { token }));
  const execName = `revoke-${id}`;
  const staticName = `static-${id}`;
  await createCluster(execName, ns, 'revoke');
  await createCluster(staticName, ns, 'static');
  for (const n of [execName, staticName])
    await until(`${n} Ready`, async () => ((await ready(n))?.status === 'True' ? true : undefined));

  // Revoked: the account is deleted, so every token it had is refused (401).
  await memberAdmin.delete(saGvr, CONTROLLER_NAMESPACE, sa);
  const staticCond = await until('static: Unauthorized', async () =>
    (await ready(staticName))?.reason === 'Unauthorized' ? ready(staticName) : undefined,
  );
  assert.match(staticCond!.message, /401/);
  // The exec plugin is asked again after the 401; it cannot mint for a missing account.
  const execCond = await until('exec: CredentialsFailed', async () =>
    (await ready(execName))?.reason === 'CredentialsFailed' ? ready(execName) : undefined,
  );
  assert.match(execCond!.message, /exec credential plugin .* failed/);
  const before = runsOf(log).length;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 8_000));
  const during = runsOf(log).length - before;
  // Probes run every second; a run after a refusal waits at least 2 s: no more than one per 2 s.
  assert.ok(during <= Math.ceil((Date.now() - t0) / 2_000) + 1, `${during} plugin runs in 8 s`);

  // Fixed: the account is back; the exec plugin's next run gives a good token, no restart.
  await memberAccount(sa);
  await until('exec: Ready again', async () =>
    (await ready(execName))?.status === 'True' ? true : undefined,
  );
  // A static token stays revoked until the Secret holds a new one.
  assert.equal((await ready(staticName))?.reason, 'Unauthorized');
  const fresh = await serviceAccountToken(memberAdmin, CONTROLLER_NAMESPACE, sa, 600);
  await putSecret(
    ns,
    'static',
    kubeconfigFor(member.name, member.server, ca, { token: fresh.token }),
  );
  await until('static: Ready again', async () =>
    (await ready(staticName))?.status === 'True' ? true : undefined,
  );
  await memberAdmin.delete(saGvr, CONTROLLER_NAMESPACE, sa).catch(ignore404);
});

// The lab's Kubernetes: one etcd (Debian) shared through --etcd-prefix, and for each cluster a
// kube-apiserver, kube-controller-manager and kube-scheduler built from the Go module proxy
// (lab/scripts/build-kube.sh). Member clusters also get kwok, which plays the kubelet for a few
// fake Nodes, so Deployments there really become Available.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { PartContext, PartHealth } from '../part.js';
import { makePki, type Pki } from '../pki.js';
import { freePort } from '../ports.js';
import { isAlive, waitUntil, type ProcRecord } from '../proc.js';
import { ok } from '../http.js';
import {
  controlPlaneIdentity,
  execUser,
  kubeconfigFor,
  memberIdentity,
  restFor,
  serviceAccountToken,
  writeKubeconfig,
} from '../identities.js';
import { CONTROLLER_NAMESPACE, SERVICE_ACCOUNT } from '../../../src/api/rbac.js';

const PART = 'kubernetes';

export interface ClusterSpec {
  name: string;
  role: 'control-plane' | 'member';
  /** Where a real cluster of this kind would run; kachiku keeps provider differences here. */
  provider: 'onprem' | 'eks' | 'none';
  region: string;
  zones: string[];
}

export interface KubeCluster extends ClusterSpec {
  server: string;
  kubeconfig: string;
  etcdPrefix: string;
  ports: { apiserver: number; controllerManager: number; scheduler: number; kwok?: number };
  nodes: string[];
  /**
   * kachiku's own identity there: in the control plane a ServiceAccount token kubeconfig bound
   * to deploy/rbac; in a member an exec-plugin kubeconfig bound to deploy/rbac/member.
   */
  kachikuKubeconfig?: string;
}

export interface KubeState {
  version: string;
  binDir: string;
  /** A kubectl of the same version, for tests that drive kubectl (absent in a lab started before it was built). */
  kubectl?: string;
  etcd: { url: string; dataDir: string };
  /** One kubeconfig with a context per cluster, the control plane's current. */
  kubeconfig: string;
  pki: Pki;
  clusters: KubeCluster[];
}

/** The default topology: the control plane and `members` member clusters, on-prem and EKS alternating. */
export function defaultClusters(members: number): ClusterSpec[] {
  const specs: ClusterSpec[] = [
    { name: 'kachiku', role: 'control-plane', provider: 'none', region: 'lab', zones: [] },
  ];
  for (let i = 0; i < members; i++) {
    const letter = String.fromCharCode(97 + i);
    specs.push(
      i % 2 === 0
        ? {
            name: `onprem-${letter}`,
            role: 'member',
            provider: 'onprem',
            region: `dc-${letter}`,
            zones: [`dc-${letter}-1`, `dc-${letter}-2`],
          }
        : {
            name: `eks-${letter}`,
            role: 'member',
            provider: 'eks',
            region: 'us-east-1',
            zones: ['us-east-1a', 'us-east-1b'],
          },
    );
  }
  return specs;
}

export async function startKube(
  lab: PartContext,
  binDir: string,
  version: string,
  clusters: ClusterSpec[],
): Promise<KubeState> {
  const pki = await makePki(lab, PART);
  // etcd 3.4 has no --unsafe-no-fsync: its data lives on tmpfs, one directory per lab.
  const dataDir = `/dev/shm/kachiku-etcd-${createHash('sha256').update(lab.dir).digest('hex').slice(0, 10)}`;
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const etcd = lab.start({
    name: 'etcd',
    part: PART,
    command: 'etcd',
    args: [
      '--name=lab',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=lab=${peerUrl}`,
      '--initial-cluster-state=new',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ],
  });
  await waitUntil(PART, 'etcd health', () => ok(`${etcdUrl}/health`), {
    proc: etcd,
    timeoutMs: 30_000,
  });

  const started = await Promise.all(
    clusters.map((c) => startCluster(lab, binDir, pki, etcdUrl, c)),
  );
  await Promise.all(started.map((c) => makeIdentity(c, pki)));
  const state: KubeState = {
    version,
    binDir,
    kubectl: join(binDir, 'kubectl'),
    etcd: { url: etcdUrl, dataDir },
    kubeconfig: lab.path('kube', 'kubeconfig'),
    pki,
    clusters: started,
  };
  writeFileSync(state.kubeconfig, kubeconfigYaml(pki, started), { mode: 0o600 });
  return state;
}

async function startCluster(
  lab: PartContext,
  binDir: string,
  pki: Pki,
  etcdUrl: string,
  spec: ClusterSpec,
): Promise<KubeCluster> {
  const dir = (f: string) => lab.path('kube', spec.name, f);
  const ports = {
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const cluster: KubeCluster = {
    ...spec,
    server,
    kubeconfig: dir('kubeconfig'),
    etcdPrefix: `/kachiku-lab/${spec.name}`,
    ports,
    nodes: [],
  };
  writeFileSync(cluster.kubeconfig, kubeconfigYaml(pki, [cluster]), { mode: 0o600 });
  const tls = { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };

  const apiserver = lab.start({
    name: `${spec.name}-apiserver`,
    part: PART,
    command: join(binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdUrl}`,
      `--etcd-prefix=${cluster.etcdPrefix}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${dir('certs')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://kubernetes.default.svc.${spec.name}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--profiling=false',
      '--v=1',
    ],
  });
  await waitUntil(PART, `${spec.name} apiserver /readyz`, () => ok(`${server}/readyz`, tls), {
    proc: apiserver,
    timeoutMs: 90_000,
  });

  const common = [
    `--kubeconfig=${cluster.kubeconfig}`,
    `--authentication-kubeconfig=${cluster.kubeconfig}`,
    `--authorization-kubeconfig=${cluster.kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--v=1',
  ];
  const kcm = lab.start({
    name: `${spec.name}-controller-manager`,
    part: PART,
    command: join(binDir, 'kube-controller-manager'),
    args: [
      ...common,
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${dir('kcm-certs')}`,
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      // kwok's nodes are fake: do not evict their pods if a heartbeat comes late on a busy machine.
      '--node-monitor-grace-period=10m',
    ],
  });
  const scheduler = lab.start({
    name: `${spec.name}-scheduler`,
    part: PART,
    command: join(binDir, 'kube-scheduler'),
    args: [...common, `--secure-port=${ports.scheduler}`, `--cert-dir=${dir('scheduler-certs')}`],
  });
  let kwok: ProcRecord | undefined;
  if (spec.role === 'member') {
    const kwokPort = await freePort();
    cluster.ports.kwok = kwokPort;
    kwok = lab.start({
      name: `${spec.name}-kwok`,
      part: PART,
      command: join(binDir, 'kwok'),
      args: [
        `--kubeconfig=${cluster.kubeconfig}`,
        `--config=${join(binDir, 'kwok-stages.yaml')}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        `--server-address=127.0.0.1:${kwokPort}`,
        '--cidr=10.244.0.0/16',
        '--node-ip=10.244.0.1',
      ],
    });
  }
  await waitUntil(
    PART,
    `${spec.name} controller-manager /healthz`,
    () => ok(`https://127.0.0.1:${ports.controllerManager}/healthz`),
    { proc: kcm, timeoutMs: 60_000 },
  );
  await waitUntil(
    PART,
    `${spec.name} scheduler /healthz`,
    () => ok(`https://127.0.0.1:${ports.scheduler}/healthz`),
    { proc: scheduler, timeoutMs: 60_000 },
  );
  if (kwok) cluster.nodes = await createNodes(cluster, kwok);
  // Where kachiku runs in the control plane: its leader election Lease lives there.
  return cluster;
}

/** Three fake Nodes spread over the cluster's zones; kwok marks them Ready. */
async function createNodes(cluster: KubeCluster, kwok: ProcRecord): Promise<string[]> {
  const api = client(cluster).makeApiClient(CoreV1Api);
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    const name = `${cluster.name}-node-${i}`;
    const zone = cluster.zones[i % cluster.zones.length] ?? cluster.region;
    const node: V1Node = {
      metadata: {
        name,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node.kubernetes.io/instance-type': 'kwok',
          'topology.kubernetes.io/region': cluster.region,
          'topology.kubernetes.io/zone': zone,
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '16', memory: '64Gi', pods: '110' },
        capacity: { cpu: '16', memory: '64Gi', pods: '110' },
      },
    };
    await api.createNode({ body: node }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
    names.push(name);
  }
  await waitUntil(
    PART,
    `${cluster.name} nodes Ready`,
    async () => {
      const list = await api.listNode();
      const ready = list.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length >= names.length;
    },
    { proc: kwok, timeoutMs: 60_000, intervalMs: 500 },
  );
  return names;
}

export function client(cluster: Pick<KubeCluster, 'kubeconfig'>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc;
}

function kubeconfigYaml(pki: Pki, clusters: KubeCluster[]): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map((c) => ({
      name: c.name,
      cluster: { server: c.server, 'certificate-authority': pki.caCert },
    })),
    users: [
      {
        name: 'kachiku-admin',
        user: { 'client-certificate': pki.adminCert, 'client-key': pki.adminKey },
      },
    ],
    contexts: clusters.map((c) => ({
      name: c.name,
      context: { cluster: c.name, user: 'kachiku-admin' },
    })),
    'current-context': clusters[0]?.name,
  });
}

export async function kubeHealth(s: KubeState, processes: ProcRecord[]): Promise<PartHealth[]> {
  const alive = (name: string) => processes.some((p) => p.name === name && isAlive(p));
  const tls = { ca: s.pki.caCert, cert: s.pki.adminCert, key: s.pki.adminKey };
  const out: PartHealth[] = [
    { part: 'etcd', ok: await ok(`${s.etcd.url}/health`).catch(() => false), detail: s.etcd.url },
  ];
  for (const c of s.clusters) {
    const ready = await ok(`${c.server}/readyz`, tls).catch(() => false);
    const members = ['controller-manager', 'scheduler', ...(c.ports.kwok ? ['kwok'] : [])];
    const down = members.filter((m) => !alive(`${c.name}-${m}`));
    out.push({
      part: `cluster ${c.name}`,
      ok: ready && down.length === 0,
      detail: `${c.role} ${c.server}${ready ? '' : ' (apiserver not ready)'}${down.length ? ` (not running: ${down.join(', ')})` : ''}`,
    });
  }
  return out;
}

export function kubeEnv(s: KubeState): Record<string, string> {
  const env: Record<string, string> = { KUBECONFIG: s.kubeconfig };
  for (const c of s.clusters) {
    const name = c.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    env[`KACHIKU_KUBECONFIG_${name}`] = c.kubeconfig;
    if (!c.kachikuKubeconfig) continue;
    if (c.role === 'control-plane') env.KACHIKU_CONTROLLER_KUBECONFIG = c.kachikuKubeconfig;
    else env[`KACHIKU_MEMBER_KUBECONFIG_${name}`] = c.kachikuKubeconfig;
  }
  return env;
}

/** How long the lab's control-plane ServiceAccount token lives (the lab's own lifetime, roughly). */
const CONTROL_PLANE_TOKEN_SECONDS = 7 * 24 * 3600;

async function makeIdentity(cluster: KubeCluster, pki: Pki): Promise<void> {
  const admin = restFor(cluster.kubeconfig);
  const ca = readFileSync(pki.caCert, 'utf8');
  const path = cluster.kubeconfig.replace(/kubeconfig$/, 'kachiku.kubeconfig');
  try {
    if (cluster.role === 'control-plane') {
      await controlPlaneIdentity(admin);
      const { token } = await serviceAccountToken(
        admin,
        CONTROLLER_NAMESPACE,
        SERVICE_ACCOUNT,
        CONTROL_PLANE_TOKEN_SECONDS,
      );
      writeKubeconfig(path, kubeconfigFor(cluster.name, cluster.server, ca, { token }));
    } else {
      await memberIdentity(admin);
      writeKubeconfig(
        path,
        kubeconfigFor(cluster.name, cluster.server, ca, execUser(cluster.kubeconfig)),
      );
    }
  } finally {
    await admin.close();
  }
  cluster.kachikuKubeconfig = path;
}

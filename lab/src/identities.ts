// The identities kachiku has where users run it, made in the lab for anyone to use: in the
// control plane, the ServiceAccount kachiku-system/kachiku bound to exactly the generated RBAC
// (deploy/rbac) with a token kubeconfig; in every member cluster, the same ServiceAccount bound
// to the member RBAC (deploy/rbac/member), reached through an exec credential plugin, as EKS
// kubeconfigs are (the plugin mints a short-lived ServiceAccount token, like `aws eks get-token`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { Rest, isAlreadyExists, type Gvr, type KubeObject } from '../../src/runtime/rest.js';
import { CONTROLLER_NAMESPACE, SERVICE_ACCOUNT, rbacObjects } from '../../src/api/rbac.js';

const rbac = (resource: string, namespaced: boolean): Gvr => ({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource,
  namespaced,
});
const gvrs: Record<string, Gvr> = {
  Namespace: { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
  ServiceAccount: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  ClusterRole: rbac('clusterroles', false),
  ClusterRoleBinding: rbac('clusterrolebindings', false),
  Role: rbac('roles', true),
  RoleBinding: rbac('rolebindings', true),
};

/** Server-side apply of RBAC objects as the lab's admin (idempotent). */
export async function applyObjects(rest: Rest, objects: KubeObject[]): Promise<void> {
  for (const o of objects) {
    const gvr = gvrs[o.kind ?? ''];
    if (!gvr) throw new Error(`lab identities: no resource known for kind ${o.kind}`);
    await rest.apply(gvr, o, { fieldManager: 'kachiku-lab', force: true });
  }
}

const namespaceObject = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

/** The control plane's identity: what deploy/rbac holds, applied as it is generated. */
export async function controlPlaneIdentity(rest: Rest): Promise<void> {
  const o = rbacObjects();
  await applyObjects(rest, [
    namespaceObject(CONTROLLER_NAMESPACE),
    o.serviceAccount,
    o.clusterRole,
    o.clusterRoleBinding,
    o.role,
    o.roleBinding,
    o.secretReader,
    o.secretReaderBinding,
  ]);
}

/** A member cluster's identity for kachiku: deploy/rbac/member. */
export async function memberIdentity(rest: Rest): Promise<void> {
  const o = rbacObjects();
  await applyObjects(rest, [
    namespaceObject(CONTROLLER_NAMESPACE),
    o.serviceAccount,
    o.memberRole,
    o.memberRoleBinding,
  ]);
}

/** A token of a ServiceAccount (TokenRequest API), valid `seconds` (the apiserver's minimum is 600). */
export async function serviceAccountToken(
  rest: Rest,
  namespace: string,
  name: string,
  seconds: number,
): Promise<{ token: string; expirationTimestamp: string }> {
  const res = await rest.request<{ status: { token: string; expirationTimestamp: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: Math.max(600, seconds) },
      },
    },
  );
  return res.status;
}

export async function ensureServiceAccount(
  rest: Rest,
  namespace: string,
  name: string,
): Promise<void> {
  await rest
    .create(gvrs.ServiceAccount!, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace },
    })
    .catch((err) => {
      if (!isAlreadyExists(err)) throw err;
    });
}

interface KubeconfigUser {
  token?: string;
  exec?: {
    apiVersion: string;
    command: string;
    args: string[];
    env?: { name: string; value: string }[] | null;
    interactiveMode: 'Never';
  };
}

/** A kubeconfig for one cluster and one user (CA inlined, so it can go into a Secret as is). */
export function kubeconfigFor(
  name: string,
  server: string,
  caPem: string,
  user: KubeconfigUser,
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server,
          'certificate-authority-data': Buffer.from(caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: SERVICE_ACCOUNT, user }],
    contexts: [{ name, context: { cluster: name, user: SERVICE_ACCOUNT } }],
    'current-context': name,
  });
}

/**
 * The exec plugin for a member: this lab's own command that mints a token of
 * kachiku-system/kachiku with the member's admin kubeconfig (as `aws eks get-token` signs with
 * the user's AWS credentials). `ttlSeconds` is the expiry the plugin reports (shorter than the
 * token's real life, to test renewal); `log` gets a line per run.
 */
export function execUser(
  adminKubeconfig: string,
  opts: { ttlSeconds?: number; log?: string; serviceAccount?: string } = {},
): KubeconfigUser {
  const env = [
    ...(opts.ttlSeconds
      ? [{ name: 'KACHIKU_EXEC_TTL_SECONDS', value: String(opts.ttlSeconds) }]
      : []),
    ...(opts.log ? [{ name: 'KACHIKU_EXEC_LOG', value: opts.log }] : []),
  ];
  return {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: process.execPath,
      args: [
        fileURLToPath(new URL('./exec-token.js', import.meta.url)),
        '--kubeconfig',
        adminKubeconfig,
        '--service-account',
        `${CONTROLLER_NAMESPACE}/${opts.serviceAccount ?? SERVICE_ACCOUNT}`,
      ],
      env: env.length ? env : null,
      interactiveMode: 'Never',
    },
  };
}

export function writeKubeconfig(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

export function restFor(kubeconfigPath: string): Rest {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return new Rest(kc);
}

// Test helpers for the lab's control-plane cluster: a throwaway namespace per test file and a
// test CRD, so the runtime is tested without any kachiku kind.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import {
  Rest,
  isAlreadyExists,
  isNotFound,
  type Gvr,
  type KubeObject,
} from '../../src/runtime/rest.js';
import { labState } from './lab.js';
import { controlPlaneIdentity } from '../../lab/src/identities.js';
import { until } from './wait.js';
import { namespaceGvr, secretGvr } from '../../src/runtime/core.js';
import { gvrOf } from '../../src/api/kind.js';
import { memberClusterKind, type MemberCluster } from '../../src/api/membercluster.js';
import { prodKind } from '../../src/api/prod.js';
import { secretReaderBindingIn } from '../../src/api/rbac.js';

// The tests' one name for it.
export { namespaceGvr };

export function controlPlaneConfig(): KubeConfig {
  const cluster = labState().kube?.clusters.find((c) => c.role === 'control-plane');
  if (!cluster) throw new Error('the lab has no control-plane cluster');
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc;
}

/**
 * kachiku's own identity in the control plane, as it runs in a cluster: the lab's ServiceAccount
 * token for kachiku-system/kachiku, bound to exactly the generated RBAC (deploy/rbac). Every
 * controller under test runs with it, so a permission missing from deploy/rbac fails a test.
 */
export function kachikuConfig(): KubeConfig {
  const cluster = labState().kube?.clusters.find((c) => c.role === 'control-plane');
  if (!cluster?.kachikuKubeconfig) throw new Error('the lab has no kachiku identity: lab up again');
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kachikuKubeconfig);
  return kc;
}

/**
 * kachiku's kubeconfig for a member cluster, as a user registers it: an exec credential plugin
 * minting tokens of the member's kachiku ServiceAccount (deploy/rbac/member).
 */
export function memberKubeconfig(name: string): string {
  const cluster = labState().kube?.clusters.find((c) => c.name === name);
  if (!cluster?.kachikuKubeconfig) throw new Error(`the lab has no kachiku identity in ${name}`);
  return readFileSync(cluster.kachikuKubeconfig, 'utf8');
}

/**
 * Puts the generated RBAC in place as it is now (a lab reused across changes may hold older
 * rules), and lets kachiku read Secrets in `namespace`, as an operator does for a namespace
 * whose objects name credentials Secrets: a RoleBinding to ClusterRole kachiku-secret-reader.
 */
export async function grantSecrets(rest: Rest, namespace: string): Promise<void> {
  await controlPlaneIdentity(rest);
  await rest.apply(rolebindingGvr, secretReaderBindingIn(namespace) as KubeObject, {
    fieldManager: 'test',
    force: true,
  });
}

const rolebindingGvr: Gvr = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource: 'rolebindings',
  namespaced: true,
};

const crdGvr: Gvr = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  resource: 'customresourcedefinitions',
  namespaced: false,
};

export async function testNamespace(rest: Rest, prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await rest.create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { observed?: number; note?: string };
}

/** The runtime tests' managers report events as this controller. */
export const TEST_CONTROLLER = 'runtimetest.kachiku.io/controller';

export const widgetGvr: Gvr = {
  group: 'runtimetest.kachiku.io',
  version: 'v1',
  resource: 'widgets',
  namespaced: true,
};

/** Installs the Widget test CRD (idempotent) and waits until it is served. */
export async function ensureWidgetCrd(rest: Rest): Promise<Gvr> {
  const name = `${widgetGvr.resource}.${widgetGvr.group}`;
  await rest
    .create(crdGvr, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group: widgetGvr.group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: {
                    type: 'object',
                    properties: { observed: { type: 'integer' }, note: { type: 'string' } },
                  },
                },
              },
            },
          },
        ],
      },
    } as KubeObject)
    .catch((err) => {
      if (!isAlreadyExists(err)) throw err;
    });
  await until('Widget CRD established', async () => {
    const crd = await rest.get<
      KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
    >(crdGvr, undefined, name);
    return (
      crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ||
      undefined
    );
  });
  // Established can come a moment before the resource is served by discovery-less clients.
  await until('widgets served', () => rest.list(widgetGvr, 'default').then(() => true));
  return widgetGvr;
}

export function widget(namespace: string, name: string, size = 1): Widget {
  return {
    apiVersion: 'runtimetest.kachiku.io/v1',
    kind: 'Widget',
    metadata: { name, namespace },
    spec: { size },
  };
}

/**
 * For one test file: the control plane, the Widget CRD, and a namespace of the file's own,
 * created before its tests and deleted after them.
 */
export function widgetTestbed(prefix: string): { config: KubeConfig; rest: Rest; ns: string } {
  const config = controlPlaneConfig();
  const bed = { config, rest: new Rest(config), ns: '' };
  before(async () => {
    await ensureWidgetCrd(bed.rest);
    bed.ns = await testNamespace(bed.rest, prefix);
  });
  after(async () => {
    await bed.rest.delete(namespaceGvr, undefined, bed.ns);
  });
  return bed;
}

/** A lab member registered under a name of the test's own, in a failure domain. */
export interface MemberToRegister {
  /** The lab's name of the cluster (onprem-a, eks-b, …). */
  lab: string;
  /** The MemberCluster's name (and its kubeconfig Secret's). */
  name: string;
  domain: string;
  provider: MemberCluster['spec']['provider'];
}

/**
 * Registers lab members as a user does: per cluster a Secret in `namespace` with kachiku's
 * kubeconfig for it and a MemberCluster naming it, not draining, labelled `labels` (or what the
 * function gives for that cluster). Applied, so a re-run over what an earlier one left is fine.
 */
export async function registerMembers(
  rest: Rest,
  namespace: string,
  clusters: readonly MemberToRegister[],
  labels: Record<string, string> | ((c: MemberToRegister) => Record<string, string>),
): Promise<void> {
  const fieldManager = 'kachiku-test';
  for (const c of clusters) {
    await rest.apply(
      secretGvr,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: c.name, namespace },
        data: { kubeconfig: Buffer.from(memberKubeconfig(c.lab)).toString('base64') },
      } as KubeObject,
      { fieldManager },
    );
    await rest.apply<MemberCluster>(
      gvrOf(memberClusterKind),
      {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'MemberCluster',
        metadata: { name: c.name },
        spec: {
          kubeconfigSecretRef: { name: c.name, namespace },
          provider: c.provider,
          failureDomain: c.domain,
          labels: typeof labels === 'function' ? labels(c) : labels,
          drain: false,
        },
      },
      { fieldManager },
    );
  }
}

/**
 * Deletes every Prod in `namespace` and waits until they are gone — while the controllers still
 * run, so that what the Prods made in the members goes too.
 */
export async function deleteProds(rest: Rest, namespace: string, timeoutMs: number): Promise<void> {
  const prodGvr = gvrOf(prodKind);
  const prods = await rest.list(prodGvr, namespace);
  await Promise.all(
    prods.items.map((p) =>
      rest.delete(prodGvr, namespace, p.metadata.name).catch((err) => {
        if (!isNotFound(err)) throw err;
      }),
    ),
  );
  await until(
    'every Prod gone',
    async () => ((await rest.list(prodGvr, namespace)).items.length === 0 ? true : undefined),
    timeoutMs,
    250,
  );
}

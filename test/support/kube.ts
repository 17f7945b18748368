// Test helpers for the lab's control-plane cluster: a throwaway namespace per test file and a
// test CRD, so the runtime is tested without any kachiku kind.
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Rest, isAlreadyExists, type Gvr, type KubeObject } from '../../src/runtime/rest.js';
import { labState } from './lab.js';
import { until } from './wait.js';
import { namespaceGvr } from '../../src/runtime/core.js';

// The tests' one name for it.
export { namespaceGvr };

export function controlPlaneConfig(): KubeConfig {
  const cluster = labState().kube?.clusters.find((c) => c.role === 'control-plane');
  if (!cluster) throw new Error('the lab has no control-plane cluster');
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc;
}

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

// What the benchmarks against the lab share: the running lab (its OpenStack and AWS settings
// exported as the controller would find them), the control-plane client, a namespace, and
// percentiles.
import { KubeConfig } from '@kubernetes/client-node';
import { Rest, isAlreadyExists } from '../src/runtime/rest.js';
import { namespaceGvr } from '../src/runtime/core.js';
import { readState, defaultLabDir } from '../lab/src/context.js';
import type { LabState } from '../lab/src/state.js';
import { awsEnv } from '../lab/src/parts/aws.js';
import { openstackEnv } from '../lab/src/parts/openstack.js';

export function benchLab(): { lab: LabState; config: KubeConfig; rest: Rest } {
  const lab = readState(process.env.KACHIKU_LAB_DIR ?? defaultLabDir());
  if (!lab?.readyAt) throw new Error('no running lab: set KACHIKU_LAB_DIR or use bench/run.sh');
  Object.assign(process.env, openstackEnv(lab.openstack!), awsEnv(lab.aws!));
  const cp = lab.kube!.clusters.find((c) => c.role === 'control-plane')!;
  const config = new KubeConfig();
  config.loadFromFile(cp.kubeconfig);
  return { lab, config, rest: new Rest(config) };
}

export async function ensureNamespace(rest: Rest, name: string): Promise<void> {
  await rest
    .create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
}

/** The p-th percentile of sorted values (nearest rank). */
export const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

// `kachiku crds`: print, write (deploy/) or apply the kachiku.io CustomResourceDefinitions.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { renderCrds } from '../api/crds.js';
import { renderRbac } from '../api/rbac.js';
import { renderChart } from '../api/chart.js';
import { GENERATED_HEADER, type GeneratedFile } from '../api/render.js';
import { repoRoot } from '../../lab/src/paths.js';

/** Every generated file under deploy/ (the chart's CRDs and RBAC template included). */
export const renderDeploy = (): GeneratedFile[] => [
  ...renderCrds(),
  ...renderRbac(),
  ...renderChart(),
];

/** Writes the generated files and removes generated files no kind produces any more (a renamed
 *  or dropped kind); files without the generated header are left alone. */
export function writeDeploy(root = repoRoot): string[] {
  const files = renderDeploy();
  const wanted = new Set(files.map((f) => f.filename));
  for (const dir of new Set(files.map((f) => dirname(f.filename)))) {
    mkdirSync(join(root, dir), { recursive: true });
    for (const name of readdirSync(join(root, dir))) {
      const rel = `${dir}/${name}`;
      if (name.endsWith('.yaml') && !wanted.has(rel)) {
        const text = readFileSync(join(root, rel), 'utf8');
        if (text.startsWith(GENERATED_HEADER)) rmSync(join(root, rel));
      }
    }
  }
  for (const f of files) writeFileSync(join(root, f.filename), f.yaml);
  return files.map((f) => f.filename);
}

export interface ApplyOptions {
  /** How long to wait for each CRD to become Established. */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

/**
 * Server-side applies the CRDs (field manager `kachiku`, force) and waits until each is
 * Established. The objects go through client-node's loadAllYaml: KubernetesObjectApi serializes
 * a CRD from client-node's model form (`_default`, `x_kubernetes_validations`, …), and would
 * silently drop those keys from plain JSON.
 */
export async function applyCrds(kc: KubeConfig, o: ApplyOptions = {}): Promise<string[]> {
  const objects = loadAllYaml(
    renderCrds()
      .map((f) => f.yaml)
      .join('---\n'),
  ) as KubernetesObject[];
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    await client.patch(obj, undefined, undefined, 'kachiku', true, PatchStrategy.ServerSideApply);
    o.log?.(`applied ${obj.metadata?.name}`);
  }
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const names = objects.map((obj) => obj.metadata!.name!);
  for (const name of names) {
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      const conditions = crd.status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) {
        const why = conditions.map((c) => `${c.type}=${c.status} ${c.message ?? ''}`).join('; ');
        throw new Error(`CRD ${name} is not Established: ${why || 'no conditions yet'}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    o.log?.(`${name} established`);
  }
  return names;
}

export function crdsCommand(): Command {
  return new Command('crds')
    .description(
      'print the kachiku.io CRDs as YAML; --write regenerates deploy/crds, deploy/rbac and the CRDs and RBAC of deploy/chart; --apply installs the CRDs',
    )
    .option(
      '--write',
      'write deploy/crds, deploy/rbac and deploy/chart/{crds,templates/rbac.yaml} in the repository',
    )
    .option(
      '--apply',
      'server-side apply the CRDs (field manager kachiku) and wait until they are Established',
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig for --apply (default: $KUBECONFIG or ~/.kube/config)',
    )
    .action(async (o: { write?: boolean; apply?: boolean; kubeconfig?: string }) => {
      const log = (msg: string) => console.error(`crds: ${msg}`);
      if (o.write) for (const f of writeDeploy()) log(`wrote ${f}`);
      if (o.apply) {
        const kc = new KubeConfig();
        if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
        else kc.loadFromDefault();
        await applyCrds(kc, { log });
      }
      if (!o.write && !o.apply)
        process.stdout.write(
          renderCrds()
            .map((f) => f.yaml)
            .join('---\n'),
        );
    });
}

// CustomResourceDefinitions of kachiku.io/v1alpha1, generated from the kinds' TypeBox schemas.
import { Type } from '@sinclair/typebox';
import type { KindInfo, PrinterColumn } from './kind.js';
import { loadBalancerMirrorKind } from './loadbalancermirror.js';
import { memberClusterKind } from './membercluster.js';
import { prodKind } from './prod.js';
import { fleetKind } from './fleet.js';
import { tenantKind } from './tenant.js';
import { routerKind } from './router.js';
import { releaseKind } from './release.js';
import { tenantSliceKind } from './tenantslice.js';
import { mirrorPolicyKind } from './mirrorpolicy.js';
import { generatedFile, type GeneratedFile } from './render.js';
import { structuralErrors, toStructural, type JSONSchemaProps } from './schema.js';

/** Every kind, in the order the CRDs are printed and applied. */
export const allKinds: KindInfo[] = [
  loadBalancerMirrorKind,
  memberClusterKind,
  prodKind,
  fleetKind,
  tenantKind,
  routerKind,
  releaseKind,
  tenantSliceKind,
  mirrorPolicyKind,
];

/** A CRD as plain JSON: what the YAML holds and the apiserver takes. (client-node's
 *  V1CustomResourceDefinition is its model form, with `_default`, `x_kubernetes_…` keys.) */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}

export const crdName = (k: KindInfo) => `${k.plural}.${k.group}`;

export function crdFor(k: KindInfo): CustomResourceDefinition {
  const root = Type.Object(
    {
      apiVersion: Type.Optional(
        Type.String({ description: 'the versioned schema of this object', maxLength: 253 }),
      ),
      kind: Type.Optional(Type.String({ description: 'the kind of this object', maxLength: 253 })),
      // Only `type` here: the apiserver validates metadata itself.
      metadata: Type.Optional(Type.Unsafe({ type: 'object' })),
      spec: k.spec,
      status: Type.Optional(k.status),
    },
    { description: k.description },
  );
  const openAPIV3Schema = toStructural(root);
  const errors = structuralErrors(openAPIV3Schema);
  if (errors.length) throw new Error(`${k.kind}: not a structural schema:\n${errors.join('\n')}`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(k), labels: { 'app.kubernetes.io/part-of': 'kachiku' } },
    spec: {
      group: k.group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: k.categories,
      },
      scope: k.scope,
      versions: [
        {
          name: k.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

/** deploy/crds/<group>_<plural>.yaml, one per kind (controller-gen's naming). */
export const renderCrds = (): GeneratedFile[] =>
  allKinds.map((k) => generatedFile(`deploy/crds/${k.group}_${k.plural}.yaml`, [crdFor(k)]));

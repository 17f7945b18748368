// What each kind file declares about its kind: names, scope, printer columns and the schemas of
// spec and status. crds.ts turns a KindInfo into a CustomResourceDefinition.
import type { TSchema } from '@sinclair/typebox';
import type { Gvr, ObjectMeta } from '../runtime/rest.js';

export const GROUP = 'kachiku.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
/** kachiku's name as the reporting controller of its Kubernetes events. */
export const CONTROLLER_NAME = `${GROUP}/controller`;

/** additionalPrinterColumns: what `kubectl get` shows. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority?: number;
}

export interface KindInfo<Spec extends TSchema = TSchema, Status extends TSchema = TSchema> {
  group: typeof GROUP;
  version: typeof VERSION;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  categories: string[];
  description: string;
  printerColumns: PrinterColumn[];
  spec: Spec;
  status: Status;
}

export function defineKind<Spec extends TSchema, Status extends TSchema>(
  k: Omit<KindInfo<Spec, Status>, 'group' | 'version' | 'categories'>,
): KindInfo<Spec, Status> {
  return { group: GROUP, version: VERSION, categories: ['kachiku'], ...k };
}

/** The kind's resource as the REST client and informers name it. */
export const gvrOf = (k: KindInfo): Gvr => ({
  group: k.group,
  version: k.version,
  resource: k.plural,
  namespaced: k.scope === 'Namespaced',
});

/** An object of a kachiku.io kind as read from the apiserver. */
export interface KachikuObject<Kind extends string, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: Kind;
  /** As the apiserver sends it (JSON: timestamps are strings). */
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export const conditionColumn = (type: string, priority = 0): PrinterColumn => ({
  name: type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  ...(priority ? { priority } : {}),
});

export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};

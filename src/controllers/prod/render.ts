// What a Prod spec means in its member cluster: a namespace, per component a Deployment and (with
// ports) a Service, and the raw manifests, all templated with TEMPLATE_VARIABLES and labelled
// back to the Prod. Pure: the reconciler applies what this returns, in order.
import { createHash } from 'node:crypto';
import { TEMPLATE_VARIABLES, type Component, type ProdSpec } from '../../api/prod.js';
import type { Gvr, KubeObject } from '../../runtime/rest.js';
import { deploymentGvr, namespaceGvr, serviceGvr } from '../../runtime/core.js';

export const PROD_LABEL = 'kachiku.io/prod';
export const PROD_NAMESPACE_LABEL = 'kachiku.io/prod-namespace';
export const APP_LABEL = 'kachiku.io/app';
export const COMPONENT_LABEL = 'kachiku.io/component';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** `<namespace>/<name>` of the Prod, exact even where a label value had to be shortened. */
export const OWNER_ANNOTATION = 'kachiku.io/prod-owner';

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateVars = Record<TemplateVariable, string>;

/** A spec that cannot be rendered: `reason` is the condition reason to report. */
export class RenderError extends Error {
  constructor(
    readonly reason: 'TemplateError' | 'InvalidSpec',
    message: string,
  ) {
    super(message);
    this.name = 'RenderError';
  }
}

export interface ProdRef {
  /** The Prod's namespace in the control-plane cluster. */
  namespace: string;
  name: string;
}

export interface DesiredObject {
  gvr: Gvr;
  object: KubeObject & Record<string, unknown>;
}

export interface Rendered {
  /** The Prod's namespace in its member cluster. */
  namespace: string;
  vars: TemplateVars;
  /** The Namespace first, then manifests, Deployments and Services: the order of applying. */
  objects: DesiredObject[];
}

/** Finds the resource of a manifest's kind (discovery in the member cluster). */
export type ResolveKind = (apiVersion: string, kind: string) => Gvr | undefined;

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** A label value: the text itself when it fits, else a prefix and a hash (deterministic). */
export function labelValue(s: string): string {
  if (s.length <= 63 && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(s)) return s;
  const prefix = s.slice(0, 54).replace(/[^-A-Za-z0-9_.]/g, '-');
  return `${prefix}-${short(s)}`.replace(/^[^A-Za-z0-9]+/, '');
}

/** `prod-<name>`, or a shortened name with a hash when that is no DNS label of ≤ 63 characters. */
export function prodNamespace(name: string): string {
  const plain = `prod-${name}`;
  if (plain.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(plain)) return plain;
  const stem = plain
    .slice(0, 54)
    .replace(/[^-a-z0-9]/g, '-')
    .replace(/-+$/, '');
  return `${stem}-${short(name)}`;
}

export function prodLabels(prod: ProdRef, app: string): Record<string, string> {
  return {
    [PROD_LABEL]: labelValue(prod.name),
    [PROD_NAMESPACE_LABEL]: labelValue(prod.namespace),
    [APP_LABEL]: app,
    [MANAGED_BY_LABEL]: 'kachiku',
  };
}

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Replaces `{{variable}}`; an unknown variable is a TemplateError naming where it was found. */
export function substitute(text: string, vars: TemplateVars, where: string): string {
  return text.replace(TEMPLATE, (_, name: string) => {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      throw new RenderError(
        'TemplateError',
        `${where}: unknown template variable {{${name}}} (known: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')})`,
      );
    }
    return vars[name as TemplateVariable];
  });
}

/** Substitutes in every string value of a JSON value (keys are left as they are). */
export function substituteDeep(value: unknown, vars: TemplateVars, where: string): unknown {
  if (typeof value === 'string') return substitute(value, vars, where);
  if (Array.isArray(value)) return value.map((v, i) => substituteDeep(v, vars, `${where}[${i}]`));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteDeep(v, vars, `${where}.${k}`)]),
    );
  return value;
}

const compact = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function container(c: Component, vars: TemplateVars): Record<string, unknown> {
  const where = `spec.components[${c.name}]`;
  const probe = c.readinessProbe;
  return compact({
    name: c.name,
    image: substitute(c.image, vars, `${where}.image`),
    ports: c.ports?.map((p) => ({
      name: p.name,
      containerPort: p.port,
      protocol: p.protocol ?? 'TCP',
    })),
    env: c.env?.map((e) => ({
      name: e.name,
      value: substitute(e.value, vars, `${where}.env[${e.name}]`),
    })),
    resources: c.resources
      ? compact({
          requests: c.resources.requests ? compact({ ...c.resources.requests }) : undefined,
          limits: c.resources.limits ? compact({ ...c.resources.limits }) : undefined,
        })
      : undefined,
    readinessProbe: probe
      ? compact({
          httpGet: probe.httpGet
            ? { path: probe.httpGet.path, port: probe.httpGet.port }
            : undefined,
          tcpSocket: probe.tcpSocket ? { port: probe.tcpSocket.port } : undefined,
          periodSeconds: probe.periodSeconds,
          failureThreshold: probe.failureThreshold,
        })
      : undefined,
  });
}

function componentObjects(
  c: Component,
  ns: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  vars: TemplateVars,
): DesiredObject[] {
  const own = { ...labels, [COMPONENT_LABEL]: c.name };
  const selector = { [PROD_LABEL]: labels[PROD_LABEL] as string, [COMPONENT_LABEL]: c.name };
  const deployment: DesiredObject = {
    gvr: deploymentGvr,
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: c.name, namespace: ns, labels: own, annotations },
      spec: {
        replicas: c.replicas ?? 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: own },
          spec: { containers: [container(c, vars)] },
        },
      },
    },
  };
  if (!c.ports?.length) return [deployment];
  const service: DesiredObject = {
    gvr: serviceGvr,
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: c.name, namespace: ns, labels: own, annotations },
      spec: {
        type: c.expose ?? 'ClusterIP',
        selector,
        ports: c.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.port,
          protocol: p.protocol ?? 'TCP',
        })),
      },
    },
  };
  return [deployment, service];
}

function manifestObject(
  raw: Record<string, unknown>,
  i: number,
  ns: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  vars: TemplateVars,
  resolve: ResolveKind,
): DesiredObject {
  const where = `spec.manifests[${i}]`;
  const m = substituteDeep(raw, vars, where) as Record<string, unknown>;
  const meta = (m.metadata ?? {}) as Record<string, unknown>;
  const { apiVersion, kind } = m;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof meta.name !== 'string')
    throw new RenderError('InvalidSpec', `${where}: needs apiVersion, kind and metadata.name`);
  if (apiVersion === 'v1' && kind === 'Namespace')
    throw new RenderError('InvalidSpec', `${where}: a Prod has one namespace, made by kachiku`);
  const gvr = resolve(apiVersion, kind);
  if (!gvr)
    throw new RenderError(
      'InvalidSpec',
      `${where}: the member cluster does not serve ${kind} (${apiVersion})`,
    );
  const metadata = {
    ...meta,
    name: meta.name,
    labels: { ...((meta.labels ?? {}) as Record<string, string>), ...labels },
    annotations: { ...((meta.annotations ?? {}) as Record<string, string>), ...annotations },
  } as KubeObject['metadata'];
  if (gvr.namespaced) metadata.namespace = ns;
  else delete metadata.namespace;
  return { gvr, object: { ...m, apiVersion, kind, metadata } };
}

/**
 * The objects of a Prod in `cluster`. Throws RenderError for an unknown template variable or a
 * manifest that cannot be applied; then nothing of this spec should be applied.
 */
export function renderProd(
  prod: ProdRef,
  spec: ProdSpec,
  cluster: string,
  resolve: ResolveKind,
): Rendered {
  const ns = prodNamespace(prod.name);
  const vars: TemplateVars = {
    name: prod.name,
    namespace: ns,
    app: spec.app,
    version: spec.version,
    cluster,
  };
  const labels = prodLabels(prod, spec.app);
  const annotations = { [OWNER_ANNOTATION]: `${prod.namespace}/${prod.name}` };
  const objects: DesiredObject[] = [
    {
      gvr: namespaceGvr,
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels, annotations } },
    },
    ...(spec.manifests ?? []).map((m, i) =>
      manifestObject(m, i, ns, labels, annotations, vars, resolve),
    ),
    ...(spec.components ?? []).flatMap((c) => componentObjects(c, ns, labels, annotations, vars)),
  ];
  const seen = new Set<string>();
  for (const { gvr, object } of objects) {
    const id = `${gvr.resource}.${gvr.group}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (seen.has(id))
      throw new RenderError(
        'InvalidSpec',
        `${object.kind} ${object.metadata.name} is defined twice (a component and a manifest?)`,
      );
    seen.add(id);
  }
  return { namespace: ns, vars, objects };
}

/** The Prod a member-cluster object belongs to, from its owner annotation. */
export function ownerOf(obj: KubeObject): ProdRef | undefined {
  const owner = obj.metadata.annotations?.[OWNER_ANNOTATION];
  const i = owner?.indexOf('/') ?? -1;
  if (!owner || i <= 0) return undefined;
  return { namespace: owner.slice(0, i), name: owner.slice(i + 1) };
}

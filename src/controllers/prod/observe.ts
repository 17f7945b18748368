// What the member cluster says about a Prod, as its status puts it: per component desired/ready
// replicas and image, whether every Deployment has rolled out, what the Prod requests, where it
// answers; and whether an observed object already holds what kachiku would apply. Pure.
import type { ProdSpec, ProdStatus } from '../../api/prod.js';
import type { KubeObject } from '../../runtime/rest.js';
import { formatCpu, formatMemory, parseQuantity } from '../../runtime/quantity.js';

export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    template?: { spec?: { containers?: { name: string; image?: string }[] } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
  };
}

export interface Service extends KubeObject {
  spec?: { type?: string; clusterIP?: string; ports?: { name?: string; port: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export type ComponentStatus = NonNullable<ProdStatus['components']>[number];

export interface ComponentsObserved {
  components: ComponentStatus[];
  /** Every Deployment exists, runs the desired image and has finished rolling out. */
  rolledOut: boolean;
  /** Components with fewer ready replicas than desired (after a rollout: lost pods). */
  short: ComponentStatus[];
  /** Components with desired replicas but none ready. */
  down: ComponentStatus[];
}

/** Per component, as its Deployment stands; `images` are the images kachiku applies. */
export function observeComponents(
  spec: ProdSpec,
  images: ReadonlyMap<string, string>,
  deployments: ReadonlyMap<string, Deployment>,
): ComponentsObserved {
  let rolledOut = true;
  const components: ComponentStatus[] = [];
  for (const c of spec.components ?? []) {
    const d = deployments.get(c.name);
    const want = c.replicas ?? 1;
    const image = d?.spec?.template?.spec?.containers?.find((x) => x.name === c.name)?.image ?? '';
    const st = d?.status ?? {};
    const ready = st.readyReplicas ?? 0;
    components.push({ name: c.name, image, desired: want, ready });
    const done =
      d !== undefined &&
      image === images.get(c.name) &&
      d.spec?.replicas === want &&
      (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      (st.updatedReplicas ?? 0) === want &&
      (st.replicas ?? 0) === want &&
      (st.availableReplicas ?? 0) >= want;
    if (!done) rolledOut = false;
  }
  return {
    components,
    rolledOut,
    short: components.filter((c) => c.ready < c.desired),
    down: components.filter((c) => c.desired > 0 && c.ready === 0),
  };
}

/** CPU and memory requested by all replicas of all components. */
export function requested(spec: ProdSpec): ProdStatus['requests'] {
  let cpu = 0;
  let memory = 0;
  for (const c of spec.components ?? []) {
    const n = c.replicas ?? 1;
    const r = c.resources?.requests;
    if (r?.cpu !== undefined) cpu += n * parseQuantity(r.cpu);
    if (r?.memory !== undefined) memory += n * parseQuantity(r.memory);
  }
  return { cpu: formatCpu(cpu), memory: formatMemory(memory) };
}

/**
 * Where each exposed component answers: a LoadBalancer's ingress once it has one, else the
 * Service's in-cluster name (reachable from inside the member cluster's network).
 */
export function endpoints(
  spec: ProdSpec,
  namespace: string,
  services: ReadonlyMap<string, Service>,
): NonNullable<ProdStatus['endpoints']> {
  const out: NonNullable<ProdStatus['endpoints']> = [];
  for (const c of spec.components ?? []) {
    const svc = services.get(c.name);
    if (!svc || !c.ports?.length) continue;
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const host =
      svc.spec?.type === 'LoadBalancer'
        ? (ingress?.ip ?? ingress?.hostname)
        : `${c.name}.${namespace}.svc`;
    if (!host) continue;
    for (const p of c.ports) out.push({ component: c.name, address: `${host}:${p.port}` });
  }
  return out;
}

/**
 * Whether `observed` already holds every field of `desired` (what server-side apply would set):
 * objects by key, arrays element by element and of the same length, scalars by their text
 * (quantities are int-or-string). Fields the server added (defaults, status) do not count, so an
 * up-to-date object is not written again; a field changed by hand does.
 */
export function covers(observed: unknown, desired: unknown): boolean {
  if (desired === null || typeof desired !== 'object')
    return (
      observed !== undefined &&
      observed !== null &&
      typeof observed !== 'object' &&
      String(observed) === String(desired)
    );
  if (Array.isArray(desired))
    return (
      Array.isArray(observed) &&
      observed.length === desired.length &&
      desired.every((d, i) => covers(observed[i], d))
    );
  if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false;
  const o = observed as Record<string, unknown>;
  return Object.entries(desired).every(([k, v]) => covers(o[k], v));
}

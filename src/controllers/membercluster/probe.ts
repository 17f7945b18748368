// Probing a member cluster (GET /version, list Nodes) under a short timeout, and the pure parts:
// Node summaries, resource quantity sums, and the hysteresis that turns a run of probe results
// into Reachable True/False.
import { ApiError, resourcePath, type Gvr, type KubeList, type Rest } from '../../runtime/rest.js';
import type { KubeObject } from '../../runtime/rest.js';
import { formatCpu, formatMemory, parseQuantity } from '../../runtime/quantity.js';

export const nodeGvr: Gvr = { group: '', version: 'v1', resource: 'nodes', namespaced: false };

export interface Node extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: {
    allocatable?: Record<string, string>;
    conditions?: { type: string; status: string }[];
  };
}

export interface NodeSummary {
  nodes: { ready: number; total: number };
  /** Summed over Ready nodes; a resource no Ready node reports is left out. */
  allocatable: { cpu?: string; memory?: string };
}

export interface ProbeResult extends NodeSummary {
  kubernetesVersion: string;
}

/** A failed probe; `code` is the HTTP status when the apiserver answered. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/**
 * One probe. Every request is bounded by `timeoutMs`, so a stopped apiserver (connection
 * refused) fails at once and a frozen one within the timeout. Rejects with an Error whose
 * message says which call failed.
 */
export async function probeCluster(rest: Rest, timeoutMs: number): Promise<ProbeResult> {
  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      const why =
        err instanceof ApiError
          ? `${err.code} ${err.reason}: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err);
      throw new ProbeError(`${what}: ${why}`, err instanceof ApiError ? err.code : undefined);
    }
  };
  const [version, nodes] = await Promise.all([
    call('GET /version', () =>
      rest.request<{ gitVersion?: string }>('GET', '/version', { timeoutMs }),
    ),
    call('list nodes', () => listNodes(rest, timeoutMs)),
  ]);
  return { kubernetesVersion: version.gitVersion ?? 'unknown', ...summarizeNodes(nodes) };
}

async function listNodes(rest: Rest, timeoutMs: number): Promise<Node[]> {
  const nodes: Node[] = [];
  let cont: string | undefined;
  do {
    const page: KubeList<Node> = await rest.request('GET', resourcePath(nodeGvr), {
      query: { limit: 500, continue: cont },
      timeoutMs,
    });
    nodes.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  return nodes;
}

export function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function summarizeNodes(nodes: readonly Node[]): NodeSummary {
  const ready = nodes.filter(isNodeReady);
  let millicores = 0;
  let bytes = 0;
  let hasCpu = false;
  let hasMemory = false;
  for (const n of ready) {
    const a = n.status?.allocatable ?? {};
    if (a.cpu !== undefined) {
      millicores += ceil(parseQuantity(a.cpu) * 1000);
      hasCpu = true;
    }
    if (a.memory !== undefined) {
      bytes += ceil(parseQuantity(a.memory));
      hasMemory = true;
    }
  }
  return {
    nodes: { ready: ready.length, total: nodes.length },
    allocatable: {
      ...(hasCpu && { cpu: formatCpu(millicores / 1000) }),
      ...(hasMemory && { memory: formatMemory(bytes) }),
    },
  };
}

/** Rounds up as Kubernetes does, ignoring binary floating-point noise (0.1 * 1000). */
const ceil = (x: number) => Math.ceil(Number(x.toPrecision(15)));

export type Reachability = 'True' | 'False' | 'Unknown';

export interface ProbeHistory {
  reachable: Reachability;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

/**
 * The hysteresis: Reachable turns False only after `failuresToUnreachable` failures in a row and
 * True again only after `successesToReachable` successes in a row, so one lost probe neither
 * flaps the cluster nor moves its Prods. A cluster never judged yet (Unknown) is Reachable after
 * its first success, and stays Unknown while it fails fewer than N times.
 */
export function nextReachability(
  prev: ProbeHistory,
  ok: boolean,
  thresholds: { failuresToUnreachable: number; successesToReachable: number },
): ProbeHistory {
  const consecutiveFailures = ok ? 0 : prev.consecutiveFailures + 1;
  const consecutiveSuccesses = ok ? prev.consecutiveSuccesses + 1 : 0;
  let reachable = prev.reachable;
  if (!ok && consecutiveFailures >= thresholds.failuresToUnreachable) reachable = 'False';
  else if (ok && prev.reachable === 'Unknown') reachable = 'True';
  else if (ok && consecutiveSuccesses >= thresholds.successesToReachable) reachable = 'True';
  return { reachable, consecutiveFailures, consecutiveSuccesses };
}

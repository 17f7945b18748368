// A Fleet and its Prods as the Fleet and Prod controllers would leave them, for tests and
// benchmarks of what reads the placement (the Router) without running those controllers: the
// router unit tests' fixtures (src/controllers/router/testing.ts) created in a namespace, each
// Prod with its status.endpoints written; and for the benchmarks that run the Fleet controller
// itself, the members and Prods it places on (benchFleet).
import { createServer, type Server } from 'node:http';
import type { Gvr, Rest } from '../../src/runtime/rest.js';
import { applyCrds } from '../../src/cli/crds.js';
import { namespaceGvr } from '../../src/runtime/core.js';
import { tenantKind } from '../../src/api/tenant.js';
import { routerKind, type Router } from '../../src/api/router.js';
import type { MemberCluster } from '../../src/api/membercluster.js';
import { memberClusterGvr } from '../../src/controllers/membercluster/reconciler.js';
import { FLEET_LABEL, ROLE_LABEL } from '../../src/controllers/fleet/prods.js';
import { controlPlaneIdentity } from '../../lab/src/identities.js';
import { labHAProxy } from '../../lab/src/router.js';
import type { RouterState } from '../../lab/src/parts/haproxy.js';
import { until } from './wait.js';
import { updateStatus } from '../../src/runtime/objects.js';
import { mapLimit } from '../../src/runtime/concurrency.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { prodKind, type Prod, type ProdStatus } from '../../src/api/prod.js';
import { fleet, prod } from '../../src/controllers/router/testing.js';

/** Creates the Fleet routed by `routing` and its Prods, each answering at its addresses. */
export async function standInFleet(
  rest: Rest,
  namespace: string,
  name: string,
  routing: NonNullable<Fleet['spec']['routing']>,
  prods: Record<string, string[]>,
): Promise<void> {
  const f = fleet(name, routing);
  await rest.create<Fleet>(gvrOf(fleetKind), { ...f, metadata: { name, namespace } });
  await mapLimit(Object.entries(prods), 8, async ([p, addresses]) => {
    const { metadata, spec, status } = prod(p, addresses, { fleet: name });
    // A Prod needs components to be valid.
    const created = await rest.create<Prod>(gvrOf(prodKind), {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Prod',
      metadata: { ...metadata, namespace },
      spec: { ...spec, components: f.spec.template.components },
    });
    await updateStatus<ProdStatus, Prod>(rest, gvrOf(prodKind), created, () => status!);
  });
}

/** What benchFleet stood in for, and how to remove it. */
export interface BenchFleet {
  /** Each Prod's name, `<fleet>-<domain>-<n>`, the domains a, b, c taking turns. */
  prods: string[];
  /** The MemberCluster of a failure domain. */
  clusterOf: (domain: string) => string;
  /** The Fleet as created (its uid owns the Prods). */
  fleet: Fleet;
  /** Deletes the namespace and the MemberClusters, closes the Prods' servers. */
  close: () => Promise<void>;
}

/**
 * For the benchmarks of the Fleet, Router and Release controllers without the MemberCluster and
 * Prod controllers (bench/rollback.bench.ts, bench/release.bench.ts): in a new namespace, three
 * MemberClusters (domains a, b, c) written Ready and Reachable, Router `edge` on the lab's HAProxy,
 * the Fleet (`prods` Prods, `capacity` each, routed by `edge`, no rebalancing) and its Prods written
 * Ready on 1.0.0, each answering at `ipOf(i):port` with a loopback HTTP server (the app's pods:
 * kwok starts none) whose body is `answer(prod)`.
 */
export async function benchFleet(
  rest: Rest,
  opts: {
    namespace: string;
    /** Kinds to wait for until served, besides Fleet, Tenant, Router and Prod. */
    kinds?: Gvr[];
    /** Labels the MemberClusters run=<id> (the Fleet's clusterSelector) and names them. */
    id: string;
    clusterPrefix: string;
    fleet: string;
    prods: number;
    capacity: number;
    haproxy: RouterState;
    ipOf: (i: number) => string;
    port: number;
    answer: (prod: string) => string;
    /** Who writes the statuses (their conditions' message). */
    who: string;
  },
): Promise<BenchFleet> {
  const { namespace: ns, id } = opts;
  const [fleetGvr, prodGvr] = [gvrOf(fleetKind), gvrOf(prodKind)];
  const domains = ['a', 'b', 'c'];
  const clusterOf = (d: string) => `${opts.clusterPrefix}-${id}-${d}`;
  const prods = Array.from(
    { length: opts.prods },
    (_, i) => `${opts.fleet}-${domains[i % 3]}-${Math.floor(i / 3) + 1}`,
  );
  const cond = (type: string) => ({
    type,
    status: 'True' as const,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    reason: 'Bench',
    message: `written by ${opts.who}`,
  });
  const servers: Server[] = [];
  const close = async () => {
    await rest.delete(namespaceGvr, undefined, ns).catch(() => undefined);
    for (const d of domains)
      await rest.delete(memberClusterGvr, undefined, clusterOf(d)).catch(() => undefined);
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  };

  await applyCrds(rest.config);
  await controlPlaneIdentity(rest);
  await rest.create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  try {
    for (const gvr of [
      fleetGvr,
      gvrOf(tenantKind),
      gvrOf(routerKind),
      prodGvr,
      ...(opts.kinds ?? []),
    ])
      await until(`${gvr.resource} served`, () => rest.list(gvr, ns).then(() => true));
    // MemberClusters: no MemberCluster controller runs, they are said to be healthy.
    for (const d of domains) {
      const mc = await rest.create<MemberCluster>(memberClusterGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'MemberCluster',
        metadata: { name: clusterOf(d) },
        spec: {
          kubeconfigSecretRef: { name: 'none', namespace: ns },
          provider: 'onprem',
          failureDomain: d,
          labels: { run: id },
        },
      });
      await rest.replace(
        memberClusterGvr,
        { ...mc, status: { conditions: [cond('Ready'), cond('Reachable')] } },
        'status',
      );
    }
    for (let i = 0; i < prods.length; i++) {
      const name = prods[i]!;
      const srv = createServer((_q, res) => {
        res.writeHead(200, { 'x-prod': name });
        res.end(opts.answer(name));
      });
      srv.keepAliveTimeout = 2000;
      servers.push(srv);
      await new Promise<void>((ok) => srv.listen(opts.port, opts.ipOf(i), ok));
    }
    await rest.create<Router>(gvrOf(routerKind), {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Router',
      metadata: { name: 'edge', namespace: ns },
      spec: { haproxy: labHAProxy(opts.haproxy, '1s') },
    });
    const components = [{ name: 'web', image: 'x/shop:{{version}}' }];
    const fleet = await rest.create<Fleet>(fleetGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Fleet',
      metadata: { name: opts.fleet, namespace: ns },
      spec: {
        app: 'shop',
        version: '1.0.0',
        template: { components, capacity: opts.capacity },
        prods: { total: opts.prods },
        clusterSelector: { matchLabels: { run: id } },
        routing: { router: 'edge' },
        // No rebalancing while a run is timed (set high between runs to even out again).
        drain: { rebalanceMovesPerMinute: 0 },
      },
    });
    await mapLimit(
      prods.map((name, i) => ({ name, i })),
      8,
      async ({ name, i }) => {
        const cluster = clusterOf(domains[i % 3]!);
        const p = await rest.create<Prod>(prodGvr, {
          apiVersion: 'kachiku.io/v1alpha1',
          kind: 'Prod',
          metadata: {
            name,
            namespace: ns,
            labels: { [FLEET_LABEL]: opts.fleet, [ROLE_LABEL]: 'standard' },
            ownerReferences: [
              {
                apiVersion: 'kachiku.io/v1alpha1',
                kind: 'Fleet',
                name: opts.fleet,
                uid: fleet.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            app: 'shop',
            version: '1.0.0',
            cluster,
            role: 'standard',
            capacity: opts.capacity,
            components,
          },
        });
        const status: ProdStatus = {
          phase: 'Ready',
          cluster,
          version: '1.0.0',
          conditions: [cond('Ready')],
          endpoints: [{ component: 'web', address: `${opts.ipOf(i)}:${opts.port}` }],
        };
        await rest.replace(prodGvr, { ...p, status }, 'status');
      },
    );
    return { prods, clusterOf, fleet, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// Benchmark of the Router's DNS mode (issue 13): the first publication of N tenants as Route 53
// records, a single tenant's move (status write → moto holds its new record), and a drain of
// every tenant whose primary is in domain a. The Router controller runs in this process (as
// kachiku's ServiceAccount, that controller alone, with the client's Route 53 limit of 5
// requests/s), through the recording proxy of test/support/awsproxy.ts in front of the lab's
// moto; this process plays the Fleet controller (Tenant statuses, 16 writes at a time) and the
// Prod controller (status.endpoints), so what is timed is the DNS routing.
//   node dist/bench/dnsrouting.bench.js [tenants=1000] [prods=12] [moves=20]
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { Manager } from '../src/runtime/manager.js';
import { newLogger } from '../src/runtime/log.js';
import { mapLimit } from '../src/runtime/concurrency.js';
import { Rest } from '../src/runtime/rest.js';
import { updateStatus } from '../src/runtime/objects.js';
import { namespaceGvr } from '../src/runtime/core.js';
import { applyCrds } from '../src/cli/crds.js';
import { gvrOf, CONTROLLER_NAME } from '../src/api/kind.js';
import { fleetKind } from '../src/api/fleet.js';
import { tenantKind, type Tenant, type TenantStatus } from '../src/api/tenant.js';
import { routerKind, type Router } from '../src/api/router.js';
import { registerRouterController } from '../src/controllers/router/reconciler.js';
import { realRoute53 } from '../src/controllers/router/dns/clients.js';
import { tenant } from '../src/controllers/router/testing.js';
import { standInFleet } from '../test/support/standins.js';
import { controlPlaneIdentity } from '../lab/src/identities.js';
import { awsEnv } from '../lab/src/parts/aws.js';
import { labState } from '../test/support/lab.js';
import { controlPlaneConfig, kachikuConfig } from '../test/support/kube.js';
import { until } from '../test/support/wait.js';
import { percentile } from '../test/support/traffic.js';
import { startAwsProxy } from '../test/support/awsproxy.js';

const [N, P, MOVES] = [1000, 12, 20].map((d, i) => Number(process.argv[2 + i] ?? d)) as [
  number,
  number,
  number,
];
const aws = labState().aws!;
Object.assign(process.env, awsEnv(aws));
const r53 = new Route53Client({});
const rest = new Rest(controlPlaneConfig());
const tenantGvr = gvrOf(tenantKind);
const routerGvr = gvrOf(routerKind);
const ns = `bench-dns-${randomUUID().slice(0, 6)}`;
const ms = (x: number) => `${Math.round(x)} ms`;

/** Prod i is in domain 'abc'[i % 3] and answers at 198.51.100.(10 + i). */
const prods = Array.from({ length: P }, (_, i) => `p-${'abc'[i % 3]}-${i}`);
const ipOf = (p: string) => `198.51.100.${10 + prods.indexOf(p)}`;
const outsideA = (i: number) =>
  prods.filter((p) => !p.startsWith('p-a-'))[i % Math.ceil((2 * P) / 3)]!;

async function main(): Promise<void> {
  console.log(
    `dns routing bench: ${N} tenants (30 % Dual), ${P} Prods, ${MOVES} single moves; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  await applyCrds(controlPlaneConfig());
  await controlPlaneIdentity(rest);
  await rest.create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (const gvr of [gvrOf(fleetKind), tenantGvr, routerGvr])
    await until(`${gvr.resource} served`, () => rest.list(gvr, ns).then(() => true));
  const zoneName = `${ns}.example.com`;
  const zone = await r53.send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: randomUUID() }),
  );
  const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
  const proxy = await startAwsProxy(aws.endpoint);
  const batches = (since: number) =>
    proxy.sent.slice(since).filter((s) => s.method === 'POST' && /\/rrset\/?$/.test(s.path));
  const changes = (since: number) =>
    batches(since).reduce((n, s) => n + (s.body.match(/<Change>/g)?.length ?? 0), 0);
  let stop: (() => Promise<void>) | undefined;
  try {
    await standInFleet(
      rest,
      ns,
      'shop',
      { router: 'dns', ttl: 60 },
      Object.fromEntries(prods.map((p) => [p, [`${ipOf(p)}:8080`]])),
    );
    const names = Array.from({ length: N }, (_, i) => `t-${String(i).padStart(5, '0')}`);
    const placed = new Map<string, TenantStatus['prods']>(
      names.map((t, i) => [
        t,
        i % 10 < 3
          ? { primary: prods[i % P]!, secondary: prods[(i + 1) % P]! }
          : { primary: prods[i % P]! },
      ]),
    );
    const place = async (t: string) => {
      const obj = await rest.get<Tenant>(tenantGvr, ns, t);
      await updateStatus<TenantStatus, Tenant>(rest, tenantGvr, obj, (s) => ({
        ...s,
        prods: placed.get(t),
      }));
    };
    const hostOf = (t: string) => `${t}.${zoneName}`;
    await mapLimit(names, 16, async (t) => {
      const { spec } = tenant(t, [hostOf(t)], undefined, undefined, { fleet: 'shop' });
      await rest.create<Tenant>(tenantGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'Tenant',
        metadata: { name: t, namespace: ns },
        spec: { ...spec, redundancy: placed.get(t)!.secondary ? 'Dual' : 'Single' },
      });
      await place(t);
    });

    const mgr = new Manager({
      name: CONTROLLER_NAME,
      config: kachikuConfig(),
      namespace: ns,
      log: newLogger(process.env.BENCH_LOG === 'debug' ? 'debug' : 'warn'),
    });
    registerRouterController(mgr, { route53: realRoute53(mgr.rest, { endpoint: proxy.url }) });
    const abort = new AbortController();
    const running = mgr.run(abort.signal);
    stop = () => (abort.abort(), running);

    // 1. First publication.
    let since = proxy.sent.length;
    let t0 = performance.now();
    await rest.create<Router>(routerGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Router',
      metadata: { name: 'dns', namespace: ns },
      spec: { route53: { hostedZone: { id: zoneId }, resyncInterval: '10m' } },
    });
    const ready = await until(
      'the Router Ready with every host',
      async () => {
        const r = await rest.get<Router>(routerGvr, ns, 'dns');
        const ok = r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return ok && r.status?.table?.hosts === N ? r : undefined;
      },
      600_000,
      200,
    );
    console.log(
      `first publication: ${ms(performance.now() - t0)}, ${batches(since).length} change batches, ${changes(since)} changes, ${ready.status!.dns!.healthChecks} health checks, ${proxy.sent.length - since} Route 53 requests`,
    );

    // 2. Single moves: a Single tenant's primary moved to another Prod.
    const lat: number[] = [];
    since = proxy.sent.length;
    const singles = names.filter((t) => !placed.get(t)!.secondary);
    for (let k = 0; k < MOVES; k++) {
      const t = singles[k * 7]!;
      const to = prods[(prods.indexOf(placed.get(t)!.primary!) + 1) % P]!;
      placed.set(t, { primary: to });
      t0 = performance.now();
      await place(t);
      await until(
        `${t} on ${to}`,
        async () => {
          const out = await r53.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: zoneId,
              StartRecordName: hostOf(t),
              StartRecordType: 'A',
              MaxItems: 1,
            }),
          );
          return out.ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value === ipOf(to) || undefined;
        },
        30_000,
        10,
      );
      lat.push(performance.now() - t0);
      await sleep(100);
    }
    console.log(
      `single move, status write → record in Route 53: p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}, max ${ms(Math.max(...lat))} (n=${lat.length}); ${changes(since)} changes in ${batches(since).length} batches`,
    );

    // 3. Drain of domain a: every tenant with its primary there moves (Dual: the secondary
    // promoted, a new secondary outside a).
    const moved = names.filter((t) => placed.get(t)!.primary!.startsWith('p-a-'));
    moved.forEach((t, i) => {
      const was = placed.get(t)!;
      const secondary = was.secondary ? outsideA(i + 1) : undefined;
      const primary =
        was.secondary && !was.secondary.startsWith('p-a-') ? was.secondary : outsideA(i);
      placed.set(t, secondary && secondary !== primary ? { primary, secondary } : { primary });
    });
    since = proxy.sent.length;
    t0 = performance.now();
    await mapLimit(moved, 16, place);
    const written = performance.now() - t0;
    const want = new Map(moved.map((t) => [`${hostOf(t)}.`, ipOf(placed.get(t)!.primary!)]));
    await until(
      'every moved host published',
      async () => {
        const held = new Map<string, string>();
        let start: { n?: string; t?: string; i?: string } = {};
        for (;;) {
          const out = await r53.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: zoneId,
              ...(start.n && { StartRecordName: start.n, StartRecordType: start.t as 'A' }),
              ...(start.i && { StartRecordIdentifier: start.i }),
            }),
          );
          for (const rs of out.ResourceRecordSets ?? [])
            if (rs.Type === 'A' && rs.Failover !== 'SECONDARY')
              held.set(rs.Name!, rs.ResourceRecords?.[0]?.Value ?? '');
          if (!out.IsTruncated) break;
          start = { n: out.NextRecordName, t: out.NextRecordType, i: out.NextRecordIdentifier };
        }
        return [...want].every(([h, ip]) => held.get(h) === ip) || undefined;
      },
      600_000,
      250,
    );
    console.log(
      `drain of domain a: ${moved.length} tenants moved, status writes ${ms(written)}, every record published ${ms(performance.now() - t0)} after the first write; ${changes(since)} changes in ${batches(since).length} batches, ${proxy.sent.length - since} Route 53 requests`,
    );
  } finally {
    // Records and checks go with the Router (its finalizer), then the namespace.
    await rest.delete(routerGvr, ns, 'dns').catch(() => {});
    await until(
      'the Router gone',
      async () => (await rest.list(routerGvr, ns)).items.length === 0 || undefined,
      600_000,
      500,
    );
    await stop?.();
    await proxy.close();
    await rest.delete(namespaceGvr, undefined, ns);
  }
}

await main();

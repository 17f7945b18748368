// The Router's DNS mode (issue 13) against the lab: the Router controller in this process, as
// kachiku's ServiceAccount, the control-plane apiserver, and moto as Route 53, reached through a
// recording proxy (test/support/awsproxy.ts) that shows every change batch the controller sent.
//
// Stand-ins: this test plays the Fleet and Prod controllers — it writes each Tenant's placement
// (status.prods) and each Prod's status.endpoints as they do — since the DNS mode's input is
// that placement and the placement itself is tested in fleet.test.ts and router.test.ts. What
// moto cannot show is not asserted: DNS answers and Route 53's own health checking; the records,
// failover pairs, health checks and their links are read back from Route 53's API. moto lets a
// simple and a failover record share a name (AWS does not): the test asserts the name holds
// only one kind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateHostedZoneCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourceCommand,
  Route53Client,
  type HealthCheck,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { Manager } from '../../src/runtime/manager.js';
import { Rest } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { updateStatus } from '../../src/runtime/objects.js';
import { secretGvr } from '../../src/runtime/core.js';
import { applyCrds } from '../../src/cli/crds.js';
import { gvrOf } from '../../src/api/kind.js';
import { CONTROLLER_NAME } from '../../src/api/kind.js';
import { fleetKind } from '../../src/api/fleet.js';
import { tenantKind, type Tenant, type TenantStatus } from '../../src/api/tenant.js';
import { routerKind, type Router, type RouterSpec } from '../../src/api/router.js';
import { registerRouterController } from '../../src/controllers/router/reconciler.js';
import { realRoute53 } from '../../src/controllers/router/dns/clients.js';
import { changeRecords } from '../../src/clouds/aws/route53.js';
import { callerPrefix, OWNER_TAG } from '../../src/controllers/router/dns/plan.js';
import { awsEnv } from '../../lab/src/parts/aws.js';
import { tenant as tenantOf } from '../../src/controllers/router/testing.js';
import { standInFleet } from '../support/standins.js';
import { startAwsProxy, type AwsProxy, type Sent } from '../support/awsproxy.js';
import { until } from '../support/wait.js';
import { labState } from '../support/lab.js';
import * as kube from '../support/kube.js';

const config = kube.controlPlaneConfig();
const rest = new Rest(config);
const aws = labState().aws!;
Object.assign(process.env, awsEnv(aws));
const r53 = new Route53Client({});
const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const routerGvr = gvrOf(routerKind);

const FLEET = 'shop';
const ROUTER = 'dns';
/** Where each stand-in Prod answers (documentation addresses: moto checks none). */
const PRODS: Record<string, string[]> = {
  p1: ['203.0.113.11:8080', '203.0.113.12:8080'],
  p2: ['203.0.113.21:8080'],
  p3: ['203.0.113.31:8080'],
  // Prods that answer at a name (an NLB's, a LoadBalancerMirror's record): CNAMEs.
  n1: ['nlb-b.elb.us-east-1.amazonaws.com:443', 'nlb-a.elb.us-east-1.amazonaws.com:443'],
  n2: ['mirror.lb.example.org:443'],
};

/** A valid spec.haproxy, for what the schema refuses. */
const AN_HAPROXY = {
  instances: [{ name: 'a', runtimeAPI: '127.0.0.1:1' }],
  map: 'm',
  slots: 1,
  serversPerSlot: 1,
};

let ns = '';
let zoneId = '';
let zone = '';
let proxy: AwsProxy;
let stop: () => Promise<void> = async () => {};

/** The Router controller alone, as kachiku's ServiceAccount. */
function startController(): void {
  const mgr = new Manager({
    name: CONTROLLER_NAME,
    config: kube.kachikuConfig(),
    namespace: ns,
    log: newLogger(process.env.TEST_LOG ? 'debug' : 'silent'),
  });
  // The controller's Route 53 goes through the proxy; the test's own calls go to moto.
  registerRouterController(mgr, { route53: realRoute53(mgr.rest, { endpoint: proxy.url }) });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
}

before(async () => {
  await applyCrds(config);
  ns = await kube.testNamespace(rest, 'routerdns');
  for (const gvr of [fleetGvr, tenantGvr, routerGvr])
    await until(`${gvr.resource} served`, () => rest.list(gvr, ns).then(() => true), 30_000);
  await kube.grantSecrets(rest, ns);
  // moto takes any credentials; the controller reads them from this Secret.
  await rest.create(secretGvr, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'aws-creds', namespace: ns },
    stringData: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
  } as never);
  zone = `${ns}.example.com`;
  const z = await r53.send(
    new CreateHostedZoneCommand({ Name: zone, CallerReference: randomUUID() }),
  );
  zoneId = z.HostedZone!.Id!.replace('/hostedzone/', '');

  proxy = await startAwsProxy(aws.endpoint);
  startController();

  await standInFleet(rest, ns, FLEET, { router: ROUTER, ttl: 30 }, PRODS);
});

after(async () => {
  try {
    // Routers first, while the controller runs: their finalizer removes what they made.
    for (const r of (await rest.list<Router>(routerGvr, ns)).items) {
      await rest.delete(routerGvr, ns, r.metadata.name);
      await gone(r.metadata.name, 30_000);
    }
  } finally {
    await stop();
    await proxy?.close();
    await rest.delete(kube.namespaceGvr, undefined, ns);
  }
});

// ---------------------------------------------------------------------------------------------

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (r: Router, type: string) =>
  (r.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const getRouter = (name = ROUTER) => rest.get<Router>(routerGvr, ns, name);
const fq = (host: string) => `${host}.${zone}.`;

async function tenant(name: string, hosts: string[], placed: TenantStatus['prods']) {
  const t = tenantOf(
    name,
    hosts.map((h) => `${h}.${zone}`),
    placed?.primary,
    placed?.secondary,
    { fleet: FLEET },
  );
  const { spec } = t;
  await rest.create<Tenant>(tenantGvr, { ...t, metadata: { name, namespace: ns }, spec });
  await place(name, placed);
}

/** What the Fleet controller does when it places (or moves) a tenant. */
async function place(name: string, prods: TenantStatus['prods']): Promise<void> {
  const t = await rest.get<Tenant>(tenantGvr, ns, name);
  await updateStatus<TenantStatus, Tenant>(rest, tenantGvr, t, (s) => ({ ...s, prods }));
}

function routerOf(name: string, route53: RouterSpec['route53']): Router {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Router',
    metadata: { name, namespace: ns },
    spec: { route53 },
  };
}

async function zoneRecords(): Promise<ResourceRecordSet[]> {
  const out: ResourceRecordSet[] = [];
  let start: string | undefined;
  let type: string | undefined;
  let id: string | undefined;
  for (;;) {
    const page = await r53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ...(start && { StartRecordName: start, StartRecordType: type as 'A' }),
        ...(id && { StartRecordIdentifier: id }),
      }),
    );
    out.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) return out;
    [start, type, id] = [page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier];
  }
}
const unescape = (n: string | undefined) => (n ?? '').replace(/\\052/g, '*');
const at = async (host: string, type = 'A') =>
  (await zoneRecords()).filter((r) => unescape(r.Name) === fq(host) && r.Type === type);
const values = (r: ResourceRecordSet | undefined) => r?.ResourceRecords?.map((v) => v.Value);

async function healthChecksOfRouter(name = ROUTER): Promise<HealthCheck[]> {
  const all = (await r53.send(new ListHealthChecksCommand({}))).HealthChecks ?? [];
  const prefix = callerPrefix({ namespace: ns, name });
  return all.filter((h) => h.CallerReference?.startsWith(prefix));
}

/** Record changes the controller sent (one per <Change> of its ChangeResourceRecordSets). */
const changesSent = (since = 0) =>
  proxy.sent
    .slice(since)
    .filter((s: Sent) => s.method === 'POST' && /\/rrset\/?$/.test(s.path))
    .flatMap((s) =>
      [
        ...s.body.matchAll(
          /<Change>.*?<Action>(\w+)<\/Action>.*?<Name>([^<]+)<\/Name>.*?<\/Change>/gs,
        ),
      ].map((m) => `${m[1]} ${unescape(m[2])}`),
    );
/** Route 53 calls the controller made that are not reads. */
const writesSent = (since = 0) =>
  proxy.sent
    .slice(since)
    .filter((s) => s.method !== 'GET')
    .map((s) => `${s.method} ${s.path.replace(/\?.*$/, '')}`);

/** The Router once its status, written for its current generation, satisfies `pred`. */
const routerWhen = (name: string, what: string, pred: (r: Router) => boolean) =>
  until(
    `${name}: ${what}`,
    async () => {
      const r = await getRouter(name);
      return r.status?.observedGeneration === r.metadata.generation && pred(r) ? r : undefined;
    },
    30_000,
    250,
  );
const ready = (name: string, pred: (r: Router) => boolean = () => true) =>
  routerWhen(name, 'Ready', (r) => condition(r, 'Ready')?.status === 'True' && pred(r));

/** Waits for the Router to be gone (its finalizer done). */
const gone = (name: string, ms: number) =>
  until(
    `${name} gone`,
    async () =>
      (await rest.list(routerGvr, ns)).items.every((r) => r.metadata.name !== name) || undefined,
    ms,
    250,
  );

// ---------------------------------------------------------------------------------------------

test('bad input: the schema refuses a Router with both modes or neither; an unknown zone is a clear condition, nothing created', async () => {
  const refused = (spec: unknown, pattern: RegExp) =>
    assert.rejects(
      rest.create(routerGvr, { ...routerOf('refused', undefined), spec } as never),
      pattern,
    );
  await refused({}, /exactly one of spec.haproxy and spec.route53/);
  await refused(
    {
      route53: { hostedZone: { id: zoneId } },
      haproxy: AN_HAPROXY,
    },
    /exactly one of spec.haproxy and spec.route53/,
  );
  await refused(
    { route53: { hostedZone: { id: zoneId, name: zone } } },
    /exactly one of spec.route53.hostedZone.id/,
  );

  await rest.create(
    routerGvr,
    routerOf('nozone', {
      region: aws.region,
      credentialsSecretRef: { name: 'aws-creds' },
      hostedZone: { name: 'no-such-zone.example.org' },
    }),
  );
  const r = await routerWhen(
    'nozone',
    'Ready: HostedZoneNotFound',
    (r) => condition(r, 'Ready')?.reason === 'HostedZoneNotFound',
  );
  assert.equal(condition(r, 'Ready')!.status, 'False');
  assert.match(condition(r, 'Ready')!.message, /no-such-zone\.example\.org.*nothing was created/);
  assert.equal(condition(r, 'Degraded')?.reason, 'HostedZoneNotFound');
  assert.deepEqual(await healthChecksOfRouter('nozone'), []);
  // A Router's mode is immutable (records would be left behind by an L7 Router).
  await assert.rejects(
    rest.patch(
      routerGvr,
      ns,
      'nozone',
      [
        { op: 'remove', path: '/spec/route53' },
        { op: 'add', path: '/spec/haproxy', value: AN_HAPROXY },
      ],
      'json',
    ),
    /mode \(haproxy or route53\) is immutable/,
  );
  // A Router that made nothing goes at once.
  await rest.delete(routerGvr, ns, 'nozone');
  await gone('nozone', 10_000);
});

test('records as specified: a simple A per Single host, a failover pair with a health check per Dual host, wildcards, conflicts left alone', async () => {
  // A record someone else made, at a host a tenant claims.
  await changeRecords(
    r53,
    zoneId,
    [{ action: 'UPSERT', record: { name: fq('taken'), ttl: 300, values: ['192.0.2.99'] } }],
    'someone else',
  );
  await tenant('solo', ['solo'], { primary: 'p1' });
  await tenant('duo', ['duo', '*.duo'], { primary: 'p1', secondary: 'p2' });
  await tenant('pair', ['pair'], { primary: 'p2', secondary: 'p3' });
  await tenant('squatter', ['taken'], { primary: 'p3' });
  await rest.create(
    routerGvr,
    routerOf(ROUTER, {
      region: aws.region,
      credentialsSecretRef: { name: 'aws-creds' },
      hostedZone: { id: zoneId },
      healthCheck: { type: 'HTTP', path: '/healthz', interval: 10, failureThreshold: 2 },
      resyncInterval: '2s',
    }),
  );
  const r = await ready(ROUTER, (r) => r.status?.table?.hosts === 4);
  assert.equal(r.status!.dns!.hostedZoneID, zoneId);
  // What the Prod controller reads to call a Prod InService.
  assert.deepEqual(r.status!.dns!.prods, ['p1', 'p2', 'p3']);
  assert.ok(r.metadata.finalizers?.includes('kachiku.io/router-dns'));

  // Single: one simple record, the Fleet's TTL, the Prod's addresses.
  const [solo, ...soloMore] = await at('solo');
  assert.deepEqual(soloMore, []);
  assert.deepEqual(
    [solo!.SetIdentifier, solo!.Failover, solo!.TTL, values(solo)],
    [undefined, undefined, 30, ['203.0.113.11', '203.0.113.12']],
  );

  // Dual: PRIMARY with the health check of the primary's endpoint, SECONDARY, nothing else.
  const checks = await healthChecksOfRouter();
  for (const host of ['duo', '*.duo', 'pair']) {
    const rs = await at(host);
    assert.equal(rs.length, 2, `a failover pair at ${host}, no simple record`);
    const primary = rs.find((x) => x.Failover === 'PRIMARY')!;
    const secondary = rs.find((x) => x.Failover === 'SECONDARY')!;
    const [p, s] = host === 'pair' ? ['p2', 'p3'] : ['p1', 'p2'];
    assert.deepEqual(
      values(primary),
      PRODS[p]!.map((a) => a.split(':')[0]),
    );
    assert.deepEqual(
      values(secondary),
      PRODS[s]!.map((a) => a.split(':')[0]),
    );
    assert.equal(secondary.HealthCheckId, undefined);
    const hc = checks.find((h) => h.Id === primary.HealthCheckId);
    assert.ok(hc, `the PRIMARY at ${host} names a health check of the Router`);
    assert.deepEqual(
      [
        hc.HealthCheckConfig!.IPAddress,
        hc.HealthCheckConfig!.Port,
        hc.HealthCheckConfig!.Type,
        hc.HealthCheckConfig!.ResourcePath,
        hc.HealthCheckConfig!.RequestInterval,
        hc.HealthCheckConfig!.FailureThreshold,
      ],
      [PRODS[p]![0]!.split(':')[0], 8080, 'HTTP', '/healthz', 10, 2],
    );
    assert.notEqual(primary.SetIdentifier, secondary.SetIdentifier);
  }
  // One check per primary Prod endpoint (p1 for duo and *.duo, p2 for pair), tagged.
  assert.equal(checks.length, 2);
  for (const hc of checks) {
    const tags = await r53.send(
      new ListTagsForResourceCommand({ ResourceType: 'healthcheck', ResourceId: hc.Id }),
    );
    assert.ok(
      tags.ResourceTagSet?.Tags?.some((t) => t.Key === OWNER_TAG && t.Value === `${ns}/${ROUTER}`),
    );
  }
  // Ownership records, one per host.
  assert.equal((await at('_kachiku.solo', 'TXT')).length, 1);

  // The foreign record is untouched; the host is listed with a RecordConflict.
  const taken = await at('taken');
  assert.deepEqual(
    taken.map((x) => [x.TTL, values(x)]),
    [[300, ['192.0.2.99']]],
  );
  assert.equal(condition(r, 'Degraded')?.reason, 'RecordConflict');
  assert.match(
    condition(r, 'Degraded')!.message,
    new RegExp(`taken\\.${zone.replace(/\./g, '\\.')}`),
  );
  assert.deepEqual(r.status!.dns!.conflicts, [`${fq('taken')}: A`]);

  // Up to date: resyncs (every 2 s) read the zone and write nothing, to Route 53 or the status.
  const since = proxy.sent.length;
  await sleep(5_000);
  assert.deepEqual(writesSent(since), []);
  assert.equal((await getRouter()).metadata.resourceVersion, r.metadata.resourceVersion);
  assert.ok(
    proxy.sent.slice(since).some((s) => s.method === 'GET' && /\/rrset/.test(s.path)),
    'the zone was read again',
  );
});

test('a tenant moved: only its record changes, nothing else is written', async () => {
  // A Single tenant's cluster drained: the placement names another Prod.
  let since = proxy.sent.length;
  await place('solo', { primary: 'p3' });
  await until(
    'solo on p3',
    async () => (values((await at('solo'))[0])?.[0] === '203.0.113.31' ? true : undefined),
    15_000,
    100,
  );
  await ready(ROUTER);
  await sleep(1_000);
  assert.deepEqual(changesSent(since), [`UPSERT ${fq('solo')}`]);
  assert.deepEqual(
    writesSent(since).length,
    1,
    'one ChangeResourceRecordSets, no health check call',
  );

  // A Dual tenant's primary moved to p3: the PRIMARY of both its hosts changes, naming a new
  // check of p3's endpoint; p1's check, used by no record any more, goes after the records.
  const checksBefore = (await healthChecksOfRouter())
    .map((h) => h.HealthCheckConfig!.IPAddress)
    .sort();
  assert.deepEqual(checksBefore, ['203.0.113.11', '203.0.113.21']);
  since = proxy.sent.length;
  await place('duo', { primary: 'p3', secondary: 'p2' });
  await until(
    'duo primary on p3',
    async () => {
      const p = (await at('duo')).find((x) => x.Failover === 'PRIMARY');
      return values(p)?.[0] === '203.0.113.31' ? true : undefined;
    },
    15_000,
    100,
  );
  await until(
    "p1's check deleted",
    async () => {
      const ips = (await healthChecksOfRouter()).map((h) => h.HealthCheckConfig!.IPAddress).sort();
      return ips.join() === '203.0.113.21,203.0.113.31' ? true : undefined;
    },
    15_000,
    100,
  );
  await sleep(1_000);
  assert.deepEqual(changesSent(since).sort(), [`UPSERT ${fq('*.duo')}`, `UPSERT ${fq('duo')}`]);
  const newCheck = (await healthChecksOfRouter()).find(
    (h) => h.HealthCheckConfig!.IPAddress === '203.0.113.31',
  )!;
  for (const host of ['duo', '*.duo'])
    assert.equal(
      (await at(host)).find((x) => x.Failover === 'PRIMARY')!.HealthCheckId,
      newCheck.Id,
    );
  // Nothing else: pair and solo as they were.
  assert.deepEqual(values((await at('solo'))[0]), ['203.0.113.31']);
  assert.equal((await at('pair')).length, 2);
});

test('a restarted controller adopts its records and health checks: it reads, writes nothing', async () => {
  const ids = (await healthChecksOfRouter()).map((h) => h.Id).sort();
  await stop();
  const since = proxy.sent.length;
  startController();
  // The new controller remembers nothing: its first sync reads the zone and the checks.
  await until(
    'the zone read by the new controller',
    async () => proxy.sent.slice(since).some((x) => /\/rrset/.test(x.path)) || undefined,
    15_000,
    100,
  );
  await sleep(3_000);
  assert.deepEqual(writesSent(since), []);
  assert.deepEqual((await healthChecksOfRouter()).map((h) => h.Id).sort(), ids);
});

test('a Single tenant made Dual: its simple record gives way to the pair in one batch', async () => {
  const since = proxy.sent.length;
  await place('solo', { primary: 'p3', secondary: 'p1' });
  const rs = await until(
    'a failover pair at solo',
    async () => {
      const rs = await at('solo');
      return rs.some((x) => x.Failover === 'PRIMARY') ? rs : undefined;
    },
    15_000,
    100,
  );
  // moto would keep a simple record beside the pair (AWS refuses that): it must be gone.
  assert.deepEqual(rs.map((x) => x.Failover).sort(), ['PRIMARY', 'SECONDARY']);
  await sleep(1_000);
  const batches = proxy.sent
    .slice(since)
    .filter((x) => x.method === 'POST' && /\/rrset\/?$/.test(x.path));
  assert.equal(batches.length, 1, 'one atomic batch');
  assert.deepEqual(changesSent(since).sort(), [
    `DELETE ${fq('solo')}`,
    `UPSERT ${fq('solo')}`,
    `UPSERT ${fq('solo')}`,
  ]);
  // p3's check (already there for duo) is shared, not made again.
  assert.equal(
    rs.find((x) => x.Failover === 'PRIMARY')!.HealthCheckId,
    (await at('duo')).find((x) => x.Failover === 'PRIMARY')!.HealthCheckId,
  );
});

test('Prods at a name: a CNAME per Single host, a CNAME failover pair with an FQDN check per Dual host; moved to IP Prods → A records, nothing left over', async () => {
  await tenant('named', ['named'], { primary: 'n1' });
  await tenant('namedduo', ['namedduo'], { primary: 'n1', secondary: 'n2' });
  const cnames = await until(
    'CNAMEs at named and namedduo',
    async () => {
      const single = await at('named', 'CNAME');
      const pair = await at('namedduo', 'CNAME');
      return single.length === 1 && pair.length === 2 ? { single, pair } : undefined;
    },
    15_000,
    100,
  );
  // The first of n1's names, sorted; the Fleet's TTL.
  assert.deepEqual(
    cnames.single.map((x) => [x.SetIdentifier, x.TTL, values(x)]),
    [[undefined, 30, ['nlb-a.elb.us-east-1.amazonaws.com.']]],
  );
  const primary = cnames.pair.find((x) => x.Failover === 'PRIMARY')!;
  const secondary = cnames.pair.find((x) => x.Failover === 'SECONDARY')!;
  assert.deepEqual(values(primary), ['nlb-a.elb.us-east-1.amazonaws.com.']);
  assert.deepEqual(values(secondary), ['mirror.lb.example.org.']);
  assert.equal(secondary.HealthCheckId, undefined);
  const hc = (await healthChecksOfRouter()).find((h) => h.Id === primary.HealthCheckId);
  assert.ok(hc, 'the PRIMARY CNAME names a health check of the Router');
  assert.deepEqual(
    [
      hc.HealthCheckConfig!.FullyQualifiedDomainName?.replace(/\.?$/, '.'),
      hc.HealthCheckConfig!.IPAddress,
      hc.HealthCheckConfig!.Port,
      hc.HealthCheckConfig!.Type,
      hc.HealthCheckConfig!.ResourcePath,
    ],
    ['nlb-a.elb.us-east-1.amazonaws.com.', undefined, 443, 'HTTP', '/healthz'],
  );
  // No A beside a CNAME (AWS refuses it; moto would not).
  assert.deepEqual([...(await at('named')), ...(await at('namedduo'))], []);
  const r = await ready(ROUTER, (r) => r.status?.dns?.prods?.includes('n2') ?? false);
  // Their names are published, not listed as endpoints missing.
  assert.doesNotMatch(condition(r, 'Degraded')!.message, /\bn[12]: /);
  // Settled: resyncs (every 2 s) read back the CNAMEs as written and write nothing.
  await sleep(1_000);
  let since = proxy.sent.length;
  await sleep(5_000);
  assert.deepEqual(writesSent(since), []);

  // Moved to IP Prods: per host the CNAMEs are deleted and the A records written in one batch;
  // the FQDN check, used by no record any more, goes after.
  since = proxy.sent.length;
  await place('named', { primary: 'p2' });
  await place('namedduo', { primary: 'p2', secondary: 'p3' });
  await until(
    'A records at named and namedduo, no CNAME, no FQDN check',
    async () => {
      const a = [...(await at('named')), ...(await at('namedduo'))];
      const c = [...(await at('named', 'CNAME')), ...(await at('namedduo', 'CNAME'))];
      const fqdnChecks = (await healthChecksOfRouter()).filter(
        (h) => h.HealthCheckConfig!.FullyQualifiedDomainName,
      );
      return a.length === 3 && c.length === 0 && fqdnChecks.length === 0 ? true : undefined;
    },
    15_000,
    100,
  );
  assert.deepEqual(values((await at('named'))[0]), ['203.0.113.21']);
  assert.deepEqual((await at('namedduo')).map((x) => [x.Failover, values(x)]).sort(), [
    ['PRIMARY', ['203.0.113.21']],
    ['SECONDARY', ['203.0.113.31']],
  ]);
  await sleep(1_000);
  const sent = changesSent(since);
  assert.deepEqual(sent.filter((c) => c.endsWith(` ${fq('named')}`)).sort(), [
    `DELETE ${fq('named')}`,
    `UPSERT ${fq('named')}`,
  ]);
  assert.deepEqual(sent.filter((c) => c.endsWith(` ${fq('namedduo')}`)).sort(), [
    `DELETE ${fq('namedduo')}`,
    `DELETE ${fq('namedduo')}`,
    `UPSERT ${fq('namedduo')}`,
    `UPSERT ${fq('namedduo')}`,
  ]);
});

test('deleting the Router removes its records and health checks, and only those', async () => {
  await rest.delete(routerGvr, ns, ROUTER);
  await gone(ROUTER, 30_000);
  const left = (await zoneRecords())
    .filter((r) => r.Type === 'A' || r.Type === 'TXT' || r.Type === 'CNAME')
    .map((r) => `${r.Type} ${unescape(r.Name)}`);
  assert.deepEqual(left, [`A ${fq('taken')}`]);
  assert.deepEqual(await healthChecksOfRouter(), []);
});

// DNS failover of a LoadBalancerMirror against the lab: real Octavia and moto (Route 53, ELBv2),
// the control-plane apiserver, the controller in this process, and, since the lab's Octavia
// has no data plane, two real local TCP servers standing in for the two sides in controller
// mode. What moto cannot check (DNS answers, Route 53's own health checking) is not asserted;
// the records, health checks and their links are read back from Route 53's API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeResourceRecordSetsCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourceCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { Manager } from '../../src/runtime/manager.js';
import { isNotFound } from '../../src/runtime/rest.js';
import type { LoadBalancerMirror } from '../../src/api/loadbalancermirror.js';
import {
  mirrorGvr,
  registerLoadBalancerMirror,
} from '../../src/controllers/loadbalancermirror/reconciler.js';
import { realMirrorClouds, mirrorNaming } from '../../src/controllers/loadbalancermirror/clouds.js';
import { callerPrefix } from '../../src/controllers/loadbalancermirror/dns.js';
import { OWNER_TAG } from '../../src/controllers/loadbalancermirror/plan.js';
import { namespaceGvr } from '../support/kube.js';
import { kachikuManager, kachikuNamespace, mirrorLab, testZone } from '../support/mirrorlab.js';
import { until } from '../support/wait.js';
import { LoopbackServer } from '../support/tcp.js';

const { aws, os, config, rest, octavia } = mirrorLab();
const r53 = new Route53Client({});

let ns = '';
let zoneId = '';
let zoneName = '';
let lbId = '';
let mgr: Manager;
let stop: () => Promise<void>;
/** Every Route 53 write the controller sent, by operation. */
const writes: string[] = [];

let syncs = 0;
function startController(): void {
  mgr = kachikuManager(ns);
  registerLoadBalancerMirror(mgr, {
    naming: mirrorNaming,
    pendingRetryMs: 500,
    awsCheckEvery: 2,
    // Syncs are counted here: status (lastSyncTime) is written only when something changed.
    onSync: () => void syncs++,
    clouds: realMirrorClouds(mgr.rest, {
      aws: (service, op) => {
        if (service === 'route53' && !/^(Get|List)/.test(op)) writes.push(op);
      },
    }),
  });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
}

before(async () => {
  ns = await kachikuNamespace(rest, config, 'dns');
  ({ zoneId, zoneName } = await testZone(r53, ns));
  lbId = await octavia.loadBalancer(`dns-${randomUUID().slice(0, 6)}`);
  const l = await octavia.listener(lbId, 'TCP', 443);
  const p = await octavia.pool(lbId, l, 'TCP');
  await octavia.member(lbId, p, { address: '192.168.30.1', protocol_port: 443 });

  startController();
});
after(async () => {
  await stop();
  await rest.delete(namespaceGvr, undefined, ns);
  await octavia.deleteLoadBalancer(lbId).catch(() => {});
});

const getMirror = (name: string) => rest.get<LoadBalancerMirror>(mirrorGvr, ns, name);
const condition = (m: LoadBalancerMirror, type: string) =>
  m.status?.conditions?.find((c) => c.type === type);

function mirrorOf(name: string, dns: LoadBalancerMirror['spec']['dns']): LoadBalancerMirror {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name, namespace: ns },
    spec: {
      octavia: { loadBalancerID: lbId, cloud: os.cloud },
      aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
      syncInterval: '5s',
      ...(dns && { dns }),
    },
  };
}

async function setDns(name: string, dns: LoadBalancerMirror['spec']['dns'] | null): Promise<void> {
  // A JSON patch replaces spec.dns whole (a merge patch would merge hostedZone.id and .name).
  await rest.patch(
    mirrorGvr,
    ns,
    name,
    dns ? [{ op: 'add', path: '/spec/dns', value: dns }] : [{ op: 'remove', path: '/spec/dns' }],
    'json',
  );
}

/** The weighted A records at a name, by SetIdentifier. */
async function recordsAt(name: string): Promise<ResourceRecordSet[]> {
  const out = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (out.ResourceRecordSets ?? []).filter(
    (r) => r.Name === `${name}.` && r.Type === 'A' && r.SetIdentifier,
  );
}

async function weightsAt(name: string): Promise<string> {
  const rs = await recordsAt(name);
  const of = (alias: boolean) => rs.find((r) => Boolean(r.AliasTarget) === alias)?.Weight;
  return `octavia ${of(false)}, nlb ${of(true)}`;
}

/** Health checks made for the mirror, found the way the controller finds them. */
async function healthChecksOf(m: LoadBalancerMirror) {
  const all = (await r53.send(new ListHealthChecksCommand({}))).HealthChecks ?? [];
  return all.filter((h) => h.CallerReference?.startsWith(callerPrefix(m.metadata.uid!)));
}

/** A simple A record made by someone else, as kachiku must leave it. */
async function foreignRecord(name: string, address: string): Promise<void> {
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: name,
              Type: 'A',
              TTL: 300,
              ResourceRecords: [{ Value: address }],
            },
          },
        ],
      },
    }),
  );
}

const dnsSynced = (name: string) =>
  until(
    `${name}: DNSSynced`,
    async () => {
      const m = await getMirror(name);
      const c = condition(m, 'DNSSynced');
      return c?.status === 'True' && c.observedGeneration === m.metadata.generation ? m : undefined;
    },
    30_000,
    250,
  );

test('bad input: an unknown zone is a clear condition and nothing is created in Route 53', async () => {
  await rest.create(
    mirrorGvr,
    mirrorOf('web', {
      hostedZone: { name: 'no-such-zone.example.org' },
      recordNames: [`www.${zoneName}`],
      octaviaAddress: '203.0.113.10',
      healthChecks: { octavia: { port: 443 } },
    }),
  );
  const m = await until(
    'HostedZoneNotFound',
    async () => {
      const m = await getMirror('web');
      return condition(m, 'DNSSynced')?.reason === 'HostedZoneNotFound' ? m : undefined;
    },
    30_000,
    250,
  );
  assert.match(condition(m, 'DNSSynced')!.message, /no-such-zone\.example\.org/);
  assert.equal(condition(m, 'Ready')?.status, 'False');
  assert.equal((await healthChecksOf(m)).length, 0);
  assert.equal((await recordsAt(`www.${zoneName}`)).length, 0);

  // The schema refuses what it can see is wrong, naming the field.
  const refused = async (dns: unknown, pattern: RegExp) => {
    const err = await rest
      .create(mirrorGvr, {
        ...mirrorOf('refused', undefined),
        spec: { ...mirrorOf('x', undefined).spec, dns },
      } as never)
      .then(
        () => undefined,
        (e: Error) => e,
      );
    assert.ok(err, 'the apiserver accepted it');
    assert.match(err.message, pattern);
  };
  const base = { hostedZone: { id: zoneId }, recordNames: [`a.${zoneName}`] };
  await refused(
    { ...base, weights: { octavia: 0, nlb: 0 }, healthChecks: { octavia: { port: 1 } } },
    /must not both be 0/,
  );
  await refused(
    { ...base, healthChecks: { octavia: { port: 443, interval: 15 } } },
    /interval.*(10|30)|Unsupported value: 15/,
  );
});

test('route53 mode: weighted records and health checks exactly as specified', async () => {
  const names = [`www.${zoneName}`, `api.${zoneName}`];
  await setDns('web', {
    hostedZone: { id: zoneId },
    recordNames: names,
    ttl: 30,
    octaviaAddress: '203.0.113.10',
    healthChecks: {
      octavia: { type: 'HTTP', port: 443, path: '/healthz', interval: 10, failureThreshold: 2 },
      nlb: { type: 'TCP', port: 443 },
    },
  });
  const m = await dnsSynced('web');
  const nlb = m.status!.loadBalancer!;
  const hcs = await healthChecksOf(m);
  assert.equal(hcs.length, 2);
  const octaviaHc = hcs.find((h) => h.HealthCheckConfig?.IPAddress === '203.0.113.10')!;
  const nlbHc = hcs.find((h) => h.HealthCheckConfig?.FullyQualifiedDomainName)!;
  assert.deepEqual(
    {
      type: octaviaHc.HealthCheckConfig!.Type,
      port: octaviaHc.HealthCheckConfig!.Port,
      path: octaviaHc.HealthCheckConfig!.ResourcePath,
      interval: octaviaHc.HealthCheckConfig!.RequestInterval,
      threshold: octaviaHc.HealthCheckConfig!.FailureThreshold,
    },
    { type: 'HTTP', port: 443, path: '/healthz', interval: 10, threshold: 2 },
  );
  assert.equal(nlbHc.HealthCheckConfig!.FullyQualifiedDomainName, nlb.dnsName);
  assert.equal(nlbHc.HealthCheckConfig!.Type, 'TCP');
  const tags = await r53.send(
    new ListTagsForResourceCommand({ ResourceType: 'healthcheck', ResourceId: octaviaHc.Id }),
  );
  assert.ok(tags.ResourceTagSet?.Tags?.some((t) => t.Key === OWNER_TAG && t.Value === `${ns}/web`));

  const identifiers = new Set<string>();
  for (const name of names) {
    const rs = await recordsAt(name);
    assert.equal(rs.length, 2, `two weighted records at ${name}`);
    const addr = rs.find((r) => !r.AliasTarget)!;
    const alias = rs.find((r) => r.AliasTarget)!;
    assert.deepEqual(
      [addr.Weight, addr.TTL, addr.ResourceRecords?.map((v) => v.Value), addr.HealthCheckId],
      [90, 30, ['203.0.113.10'], octaviaHc.Id],
    );
    assert.equal(alias.Weight, 10);
    assert.equal(alias.HealthCheckId, nlbHc.Id);
    assert.equal(alias.AliasTarget!.DNSName!.replace(/\.$/, ''), nlb.dnsName.replace(/\.$/, ''));
    assert.equal(alias.AliasTarget!.HostedZoneId, nlb.canonicalHostedZoneID);
    assert.equal(alias.AliasTarget!.EvaluateTargetHealth, true);
    for (const r of rs) identifiers.add(r.SetIdentifier!);
  }
  assert.equal(identifiers.size, 4, 'SetIdentifiers are unique per record name');
  assert.equal(m.status!.dns!.servingSide, 'both');
  assert.equal(m.status!.dns!.records!.length, 4);
  assert.deepEqual(m.status!.dns!.healthChecks!.map((h) => h.side).sort(), ['nlb', 'octavia']);

  // In sync: further syncs write nothing to Route 53.
  const before = writes.length;
  await sleep(11_000);
  assert.deepEqual(writes.slice(before), []);
});

test('a restarted controller adopts its records and health checks: no new ones, no writes', async () => {
  const m = await getMirror('web');
  const ids = (await healthChecksOf(m)).map((h) => h.Id).sort();
  await stop();
  const before = writes.length;
  const syncsBefore = syncs;
  startController();
  // The new controller's first sync reads Route 53 in full (it remembers nothing).
  await until(
    'a sync by the new controller',
    async () => (syncs > syncsBefore ? true : undefined),
    30_000,
    250,
  );
  await sleep(6_000);
  assert.deepEqual(writes.slice(before), []);
  assert.deepEqual((await healthChecksOf(m)).map((h) => h.Id).sort(), ids);
});

test('weights changed through the spec; health checks kept', async () => {
  const before = await healthChecksOf(await getMirror('web'));
  const m0 = await getMirror('web');
  await setDns('web', { ...m0.spec.dns!, weights: { octavia: 50, nlb: 50 } });
  await dnsSynced('web');
  assert.equal(await weightsAt(`www.${zoneName}`), 'octavia 50, nlb 50');
  assert.deepEqual(
    (await healthChecksOf(await getMirror('web'))).map((h) => h.Id).sort(),
    before.map((h) => h.Id).sort(),
  );
});

test('a record edited by hand is put back', async () => {
  const [addr] = (await recordsAt(`www.${zoneName}`)).filter((r) => !r.AliasTarget);
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { ...addr!, Weight: 7 } }] },
    }),
  );
  assert.equal(await weightsAt(`www.${zoneName}`), 'octavia 7, nlb 50');
  await until(
    'weight restored',
    async () => ((await weightsAt(`www.${zoneName}`)) === 'octavia 50, nlb 50' ? true : undefined),
    30_000,
    500,
  );
});

test('maintenance: all traffic to the NLB, then back', async () => {
  const m0 = await getMirror('web');
  const normal = { ...m0.spec.dns!, weights: { octavia: 90, nlb: 10 } };
  await setDns('web', {
    ...normal,
    failoverMode: 'maintenance',
    weights: { octavia: 0, nlb: 100 },
  });
  let m = await dnsSynced('web');
  assert.equal(await weightsAt(`www.${zoneName}`), 'octavia 0, nlb 100');
  assert.equal(m.status!.dns!.servingSide, 'nlb');
  assert.equal(condition(m, 'DNSSynced')!.reason, 'Maintenance');
  const since = m.status!.dns!.servingSince!;
  assert.ok(Date.now() - Date.parse(since) < 60_000);
  assert.deepEqual(
    m.status!.dns!.lastFailover && [
      m.status!.dns!.lastFailover.from,
      m.status!.dns!.lastFailover.to,
    ],
    ['both', 'nlb'],
  );
  // No failover in maintenance: the health checks are gone (after the records stopped using them).
  assert.equal((await healthChecksOf(m)).length, 0);
  assert.ok((await recordsAt(`www.${zoneName}`)).every((r) => !r.HealthCheckId));

  await setDns('web', normal);
  m = await dnsSynced('web');
  assert.equal(await weightsAt(`www.${zoneName}`), 'octavia 90, nlb 10');
  assert.equal(m.status!.dns!.servingSide, 'both');
  assert.equal((await healthChecksOf(m)).length, 2);
});

test('removing spec.dns deletes the records and health checks, and status.dns', async () => {
  const m0 = await getMirror('web');
  const dns = m0.spec.dns!;
  await setDns('web', null);
  await until(
    'status.dns gone',
    async () => ((await getMirror('web')).status?.dns ? undefined : true),
    30_000,
    250,
  );
  assert.equal((await recordsAt(`www.${zoneName}`)).length, 0);
  assert.equal((await healthChecksOf(m0)).length, 0);
  await setDns('web', dns);
  await dnsSynced('web');
  assert.equal((await recordsAt(`www.${zoneName}`)).length, 2);
});

// ---- controller mode, with real TCP servers as the two sides

test('controller mode: a side that stops answering gets weight 0 within the bound, and back', async () => {
  const octaviaSide = new LoopbackServer();
  const nlbSide = new LoopbackServer();
  await octaviaSide.start();
  await nlbSide.start();
  try {
    const m0 = await getMirror('web');
    await setDns('web', {
      hostedZone: { id: zoneId },
      recordNames: m0.spec.dns!.recordNames,
      octaviaAddress: '127.0.0.1',
      failoverMode: 'controller',
      weights: { octavia: 90, nlb: 10 },
      healthChecks: {
        octavia: { type: 'TCP', port: octaviaSide.port, interval: 10, failureThreshold: 1 },
        nlb: {
          type: 'TCP',
          host: '127.0.0.1',
          port: nlbSide.port,
          interval: 10,
          failureThreshold: 1,
        },
      },
    });
    let m = await dnsSynced('web');
    // Route 53 health checks are for public addresses only: none in controller mode.
    assert.equal((await healthChecksOf(m)).length, 0);
    await until(
      'both sides probed healthy',
      async () =>
        (await getMirror('web')).status?.dns?.healthChecks?.every((h) => h.state === 'Healthy')
          ? true
          : undefined,
      30_000,
      250,
    );
    assert.equal(await weightsAt(`www.${zoneName}`), 'octavia 90, nlb 10');

    // Bound: failureThreshold × interval (10 s) + one reconcile; 5 s slack for the reconcile.
    let t = Date.now();
    await octaviaSide.stop();
    await until(
      'octavia weight 0',
      async () => ((await weightsAt(`www.${zoneName}`)) === 'octavia 0, nlb 10' ? true : undefined),
      // Longer than the bound, so that a slow failover fails the assertion below, not the wait.
      40_000,
      100,
    );
    const failover = Date.now() - t;
    assert.ok(failover <= 15_000, `failover took ${failover} ms`);
    // The status is written just after the Route 53 change.
    m = await until(
      'status: serving nlb',
      async () => {
        const m = await getMirror('web');
        return m.status?.dns?.servingSide === 'nlb' ? m : undefined;
      },
      5_000,
      100,
    );
    assert.equal(condition(m, 'Degraded')?.reason, 'SideUnhealthy');
    assert.match(m.status!.dns!.lastFailover!.reason, /octavia side fails/);

    // A controller restarted during the failover neither undoes it nor writes anything.
    const writesBefore = writes.length;
    await stop();
    startController();
    await sleep(8_000);
    assert.equal(await weightsAt(`www.${zoneName}`), 'octavia 0, nlb 10');
    assert.deepEqual(writes.slice(writesBefore), []);

    t = Date.now();
    await octaviaSide.start();
    await until(
      'weights restored',
      async () =>
        (await weightsAt(`www.${zoneName}`)) === 'octavia 90, nlb 10' ? true : undefined,
      15_000,
      100,
    );
    await until(
      'status: serving both',
      async () => {
        const m = await getMirror('web');
        return m.status?.dns?.servingSide === 'both' && condition(m, 'Degraded')?.status === 'False'
          ? true
          : undefined;
      },
      5_000,
      100,
    );

    // Both down: the weights stay as they were, never both 0, and the condition says so.
    await octaviaSide.stop();
    await nlbSide.stop();
    m = await until(
      'BothSidesUnhealthy',
      async () => {
        const m = await getMirror('web');
        return condition(m, 'Degraded')?.reason === 'BothSidesUnhealthy' ? m : undefined;
      },
      30_000,
      250,
    );
    assert.match(condition(m, 'Degraded')!.message, /left as they were/);
    assert.notEqual(await weightsAt(`www.${zoneName}`), 'octavia 0, nlb 0');
    assert.equal(m.status!.dns!.servingSide, 'none');
  } finally {
    await octaviaSide.stop().catch(() => {});
    await nlbSide.stop().catch(() => {});
  }
});

test('a name that holds a record kachiku does not own is not touched: RecordConflict', async () => {
  const taken = `taken.${zoneName}`;
  await foreignRecord(taken, '198.51.100.1');
  const m0 = await getMirror('web');
  await setDns('web', {
    ...m0.spec.dns!,
    failoverMode: 'route53',
    recordNames: [...m0.spec.dns!.recordNames, taken],
  });
  const m = await until(
    'RecordConflict',
    async () => {
      const m = await getMirror('web');
      return condition(m, 'DNSSynced')?.reason === 'RecordConflict' ? m : undefined;
    },
    30_000,
    250,
  );
  assert.match(condition(m, 'DNSSynced')!.message, new RegExp(`${taken}.*does not own`));
  const out = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  const there = (out.ResourceRecordSets ?? []).filter((r) => r.Name === `${taken}.`);
  assert.equal(there.length, 1);
  assert.equal(there[0]!.ResourceRecords![0]!.Value, '198.51.100.1');
  await setDns('web', { ...m0.spec.dns!, failoverMode: 'route53' });
  await dnsSynced('web');
});

test('deleting the mirror removes every record and health check kachiku made, and nothing else', async () => {
  const neighbour = `neighbour.${zoneName}`;
  await foreignRecord(neighbour, '198.51.100.2');
  const m = await getMirror('web');
  assert.ok((await healthChecksOf(m)).length > 0);
  await rest.delete(mirrorGvr, ns, 'web');
  await until(
    'mirror gone',
    async () =>
      (await getMirror('web').then(
        () => false,
        (e) => isNotFound(e),
      )) || undefined,
    60_000,
    250,
  );
  assert.equal((await healthChecksOf(m)).length, 0);
  const out = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  const left = (out.ResourceRecordSets ?? []).filter((r) => r.Type === 'A');
  assert.deepEqual(left.map((r) => r.Name).sort(), [
    `neighbour.${zoneName}.`,
    `taken.${zoneName}.`,
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  effectiveWeights,
  planDns,
  probeTargets,
  servingSide,
  setIdentifier,
  type DnsInput,
} from './dns.js';
import { Prober } from './prober.js';

const input = (dns: Partial<DnsInput['spec']> = {}, extra: Partial<DnsInput> = {}): DnsInput => ({
  namespace: 'shop',
  name: 'web',
  uid: '0b8f7a52-1111-2222-3333-444455556666',
  generation: 3,
  spec: {
    hostedZone: { id: 'Z1' },
    recordNames: ['www.example.com', 'API.example.com.'],
    healthChecks: { octavia: { port: 443 } },
    ...dns,
  },
  nlb: { dnsName: 'kk-web.elb.amazonaws.com', hostedZoneId: 'Z26RNL4JYFTOTI' },
  octaviaAddress: '203.0.113.10',
  ...extra,
});

test('route53 mode: an address and an alias record per name, with the health checks that exist', () => {
  const plan = planDns(input());
  assert.equal(plan.mode, 'route53');
  assert.deepEqual(plan.weights, { octavia: 90, nlb: 10 });
  assert.equal(plan.records.length, 4);
  assert.deepEqual(
    plan.records.map((r) => [r.name, r.side, r.weight, r.healthCheck]),
    [
      ['www.example.com.', 'octavia', 90, 'octavia'],
      ['www.example.com.', 'nlb', 10, undefined],
      ['api.example.com.', 'octavia', 90, 'octavia'],
      ['api.example.com.', 'nlb', 10, undefined],
    ],
  );
  assert.deepEqual(plan.records[0]!.values, ['203.0.113.10']);
  assert.equal(plan.records[0]!.ttl, 60);
  assert.deepEqual(plan.records[1]!.alias, {
    hostedZoneId: 'Z26RNL4JYFTOTI',
    dnsName: 'kk-web.elb.amazonaws.com.',
    evaluateTargetHealth: true,
  });
  assert.equal(plan.healthChecks.length, 1);
  const hc = plan.healthChecks[0]!;
  assert.deepEqual(hc.spec, {
    type: 'TCP',
    ipAddress: '203.0.113.10',
    port: 443,
    requestInterval: 30,
    failureThreshold: 3,
  });
  assert.ok(hc.callerReference.length <= 64, hc.callerReference);
  assert.ok(hc.callerReference.startsWith('kk:0b8f7a52111122223333444455556666:o:'));
  assert.ok(hc.callerReference.endsWith(':3'), 'the generation makes a reference never reused');
});

test('SetIdentifiers differ per record name and per mirror', () => {
  const ids = new Set([
    setIdentifier('shop', 'web', 'octavia', 'a.example.com'),
    setIdentifier('shop', 'web', 'octavia', 'b.example.com'),
    setIdentifier('shop', 'web', 'nlb', 'a.example.com'),
    setIdentifier('shop', 'api', 'octavia', 'a.example.com'),
  ]);
  assert.equal(ids.size, 4);
  assert.equal(
    setIdentifier('shop', 'web', 'nlb', 'A.example.com.'),
    setIdentifier('shop', 'web', 'nlb', 'a.example.com'),
  );
});

test('an NLB health check names the NLB, or the host given', () => {
  const plan = planDns(
    input({ healthChecks: { octavia: { port: 443 }, nlb: { port: 80, type: 'HTTP' } } }),
  );
  const nlb = plan.healthChecks.find((h) => h.side === 'nlb')!;
  assert.equal(nlb.spec.fqdn, 'kk-web.elb.amazonaws.com');
  assert.equal(nlb.spec.path, '/');
  const viaHost = planDns(
    input({ healthChecks: { octavia: { port: 443, host: 'vip.example.com' } } }),
  ).healthChecks[0]!;
  assert.equal(viaHost.spec.fqdn, 'vip.example.com');
  assert.equal(viaHost.spec.ipAddress, undefined);
});

test('maintenance and controller modes make no Route 53 health checks', () => {
  for (const failoverMode of ['maintenance', 'controller'] as const) {
    const plan = planDns(input({ failoverMode }));
    assert.deepEqual(plan.healthChecks, []);
    assert.ok(plan.records.every((r) => r.healthCheck === undefined));
  }
  assert.deepEqual(
    planDns(input({ failoverMode: 'maintenance', weights: { octavia: 0, nlb: 100 } })).weights,
    { octavia: 0, nlb: 100 },
  );
});

test('controller mode: an unhealthy side gets 0, never both 0, both down leaves the weights', () => {
  const ctl = (octavia: string, nlb: string, weights = { octavia: 90, nlb: 10 }, current = {}) =>
    effectiveWeights(
      input(
        { failoverMode: 'controller', weights },
        {
          probes: { octavia: octavia as 'Healthy', nlb: nlb as 'Healthy' },
          current,
        },
      ),
    );
  assert.deepEqual(ctl('Healthy', 'Healthy').weights, { octavia: 90, nlb: 10 });
  assert.deepEqual(ctl('Unknown', 'Healthy').weights, { octavia: 90, nlb: 10 });
  // Not yet known, with weights already in Route 53 (a restart): those stay.
  assert.deepEqual(ctl('Unknown', 'Unknown', undefined, { octavia: 0, nlb: 10 }).weights, {
    octavia: 0,
    nlb: 10,
  });
  assert.deepEqual(ctl('Unhealthy', 'Healthy').weights, { octavia: 0, nlb: 10 });
  assert.equal(ctl('Unhealthy', 'Healthy').note?.reason, 'SideUnhealthy');
  assert.deepEqual(ctl('Healthy', 'Unhealthy').weights, { octavia: 90, nlb: 0 });
  // The healthy side had weight 0: it takes the failed side's weight.
  assert.deepEqual(ctl('Unhealthy', 'Healthy', { octavia: 100, nlb: 0 }).weights, {
    octavia: 0,
    nlb: 100,
  });
  const both = ctl('Unhealthy', 'Unhealthy', undefined, { octavia: 0, nlb: 10 });
  assert.deepEqual(both.weights, { octavia: 0, nlb: 10 });
  assert.equal(both.note?.reason, 'BothSidesUnhealthy');
});

test('controller mode probes: the NLB side falls back to the Octavia check, on the NLB', () => {
  const t = probeTargets(
    input({ failoverMode: 'controller', healthChecks: { octavia: { port: 443, interval: 10 } } }),
  )!;
  assert.deepEqual(t.octavia, {
    type: 'TCP',
    host: '203.0.113.10',
    port: 443,
    path: '/',
    intervalSeconds: 10,
    threshold: 3,
  });
  assert.equal(t.nlb.host, 'kk-web.elb.amazonaws.com');
  assert.equal(t.nlb.port, 443);
  assert.equal(probeTargets(input()), undefined);
});

test('serving side', () => {
  assert.equal(servingSide({ octavia: 90, nlb: 10 }, {}), 'both');
  assert.equal(servingSide({ octavia: 0, nlb: 10 }, {}), 'nlb');
  assert.equal(servingSide({ octavia: 90, nlb: 10 }, { nlb: 'Unhealthy' }), 'octavia');
  assert.equal(
    servingSide({ octavia: 90, nlb: 10 }, { octavia: 'Unhealthy', nlb: 'Unhealthy' }),
    'none',
  );
});

test('the prober turns a side unhealthy after threshold failures, and back after as many successes', async () => {
  const changes: string[] = [];
  let up = true;
  const prober = new Prober(
    (key) => changes.push(key),
    async () => up,
  );
  const target = {
    type: 'TCP' as const,
    host: 'h',
    port: 1,
    path: '/',
    intervalSeconds: 0.02,
    threshold: 2,
  };
  try {
    prober.ensure('ns/web', { octavia: target, nlb: { ...target, port: 2 } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(prober.health('ns/web')!.octavia.state, 'Healthy');
    up = false;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(prober.health('ns/web')!.octavia.state, 'Unhealthy');
    assert.ok(changes.length >= 4, 'each state change enqueues the mirror');
  } finally {
    prober.stopAll();
  }
  assert.equal(prober.health('ns/web'), undefined);
});

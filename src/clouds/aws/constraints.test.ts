import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  check,
  healthCheckProblems,
  isAllowedTargetIp,
  listenerProblems,
  loadBalancerProblems,
  nameProblems,
  targetGroupAttributeProblems,
  targetGroupProblems,
  targetProblems,
} from './constraints.js';
import { isAwsError } from './errors.js';
import type { HealthCheck, TargetGroup } from './types.js';

const hc: HealthCheck = {
  protocol: 'TCP',
  port: 'traffic-port',
  intervalSeconds: 30,
  timeoutSeconds: 10,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
};

test('names: at most 32 characters, alphanumerics and hyphens, no hyphen at an end, not internal-', () => {
  assert.deepEqual(nameProblems('k8s-shop-web-0123456789'), []);
  assert.deepEqual(nameProblems('a'.repeat(32)), []);
  assert.equal(nameProblems('a'.repeat(33)).length, 1);
  assert.equal(nameProblems('').length, 1);
  assert.equal(nameProblems('web_1').length, 1);
  assert.equal(nameProblems('-web').length, 1);
  assert.equal(nameProblems('web-').length, 1);
  assert.equal(nameProblems('internal-web').length, 1);
});

test('health check: interval 5–300, timeout 2–120, thresholds 2–10, port, protocol, no path on TCP', () => {
  assert.deepEqual(healthCheckProblems(hc), []);
  for (const [field, ok, bad] of [
    ['intervalSeconds', [5, 300], [4, 301]],
    ['timeoutSeconds', [2, 120], [1, 121]],
    ['healthyThreshold', [2, 10], [1, 11]],
    ['unhealthyThreshold', [2, 10], [1, 11]],
  ] as const) {
    for (const v of ok)
      assert.deepEqual(healthCheckProblems({ ...hc, [field]: v }), [], `${field} ${v}`);
    for (const v of bad)
      assert.equal(healthCheckProblems({ ...hc, [field]: v }).length, 1, `${field} ${v}`);
  }
  assert.deepEqual(healthCheckProblems({ ...hc, port: '8080' }), []);
  assert.equal(healthCheckProblems({ ...hc, port: '0' }).length, 1);
  assert.equal(healthCheckProblems({ ...hc, port: '65536' }).length, 1);
  assert.equal(healthCheckProblems({ ...hc, protocol: 'UDP' as 'TCP' }).length, 1);
  assert.equal(healthCheckProblems({ ...hc, path: '/' }).length, 1);
  assert.deepEqual(healthCheckProblems({ ...hc, protocol: 'HTTP', path: '/', matcher: '200' }), []);
});

test('preserve_client_ip cannot be turned off on UDP, TCP_UDP, QUIC and TCP_QUIC target groups', () => {
  const off = { 'preserve_client_ip.enabled': 'false' };
  assert.deepEqual(targetGroupAttributeProblems('TCP', off), []);
  assert.deepEqual(targetGroupAttributeProblems('TLS', off), []);
  for (const p of ['UDP', 'TCP_UDP', 'QUIC', 'TCP_QUIC'])
    assert.match(targetGroupAttributeProblems(p, off).join(), /preserve_client_ip/, p);
  assert.deepEqual(
    targetGroupAttributeProblems('UDP', { 'preserve_client_ip.enabled': 'true' }),
    [],
  );
});

test('attributes: deregistration delay 0–3600, booleans, source_ip stickiness, proxy protocol v2 only', () => {
  const d = (v: string) =>
    targetGroupAttributeProblems('TCP', { 'deregistration_delay.timeout_seconds': v });
  assert.deepEqual(d('0'), []);
  assert.deepEqual(d('3600'), []);
  assert.equal(d('-1').length, 1);
  assert.equal(d('3601').length, 1);
  assert.equal(d('1.5').length, 1);
  assert.equal(targetGroupAttributeProblems('TCP', { 'stickiness.enabled': 'yes' }).length, 1);
  assert.equal(targetGroupAttributeProblems('TCP', { 'stickiness.type': 'lb_cookie' }).length, 1);
  assert.deepEqual(targetGroupAttributeProblems('TCP', { 'stickiness.type': 'source_ip' }), []);
  assert.deepEqual(
    targetGroupAttributeProblems('TCP', { 'proxy_protocol_v2.enabled': 'true' }),
    [],
  );
  assert.equal(
    targetGroupAttributeProblems('TCP', { 'proxy_protocol_v1.enabled': 'true' }).length,
    1,
  );
});

test('IP targets outside the VPC: RFC 1918 and 100.64.0.0/10 only, AvailabilityZone all, port 1–65535', () => {
  for (const ip of [
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.254',
  ])
    assert.ok(isAllowedTargetIp(ip), ip);
  for (const ip of [
    '8.8.8.8',
    '172.15.0.1',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '203.0.113.9',
    'fd00::1',
    '10.0.0.256',
  ])
    assert.ok(!isAllowedTargetIp(ip), ip);
  assert.deepEqual(targetProblems([{ ip: '10.0.0.1', port: 80, availabilityZone: 'all' }]), []);
  assert.equal(targetProblems([{ ip: '10.0.0.1', port: 0, availabilityZone: 'all' }]).length, 1);
  assert.equal(
    targetProblems([{ ip: '10.0.0.1', port: 80, availabilityZone: 'us-east-1a' }]).length,
    1,
  );
});

test('listeners: TCP → TCP or TCP_UDP, UDP → UDP or TCP_UDP, TCP_UDP → TCP_UDP, TLS → TCP or TLS', () => {
  const ok = (protocol: 'TCP' | 'UDP' | 'TCP_UDP' | 'TLS', tg: 'TCP' | 'UDP' | 'TCP_UDP' | 'TLS') =>
    listenerProblems({ port: 53, protocol, targetGroupProtocol: tg }).length === 0;
  assert.ok(ok('TCP', 'TCP') && ok('TCP', 'TCP_UDP') && !ok('TCP', 'UDP') && !ok('TCP', 'TLS'));
  assert.ok(ok('UDP', 'UDP') && ok('UDP', 'TCP_UDP') && !ok('UDP', 'TCP'));
  assert.ok(ok('TCP_UDP', 'TCP_UDP') && !ok('TCP_UDP', 'TCP') && !ok('TCP_UDP', 'UDP'));
  assert.ok(ok('TLS', 'TCP') && ok('TLS', 'TLS') && !ok('TLS', 'UDP'));
  assert.equal(listenerProblems({ port: 0, protocol: 'TCP' }).length, 1);
});

test('a target group and a load balancer are checked whole; check() throws a typed Invalid error', () => {
  const tg: TargetGroup = {
    name: 'tg-53-udp',
    protocol: 'UDP',
    port: 53,
    vpcId: 'vpc-1',
    targetType: 'ip',
    healthCheck: hc,
    attributes: { 'preserve_client_ip.enabled': 'false' },
    tags: {},
    targets: [{ ip: '8.8.8.8', port: 53, availabilityZone: 'all' }],
  };
  assert.equal(targetGroupProblems(tg).length, 2);
  assert.equal(
    loadBalancerProblems({ name: 'nlb', attributes: { 'load_balancing.cross_zone.enabled': 'on' } })
      .length,
    1,
  );
  assert.doesNotThrow(() => check('X', []));
  assert.throws(
    () => check('CreateTargetGroup', targetGroupProblems(tg)),
    (err: unknown) => isAwsError(err, 'Invalid') && err.code === 'ValidationError',
  );
});

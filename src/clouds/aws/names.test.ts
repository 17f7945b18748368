import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadBalancerName,
  MAX_NAME,
  targetGroupName,
  type LoadBalancerNameInput,
  type TargetGroupNameInput,
} from './names.js';

// ELBv2's rule (and moto's, which also refuses double hyphens).
const valid = /^(?!.*--)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

const lb: LoadBalancerNameInput = {
  cluster: 'prod-eu',
  namespace: 'team-payments',
  name: 'checkout-frontend',
  scheme: 'internal',
  vpcId: 'vpc-0123456789abcdef0',
};

const tg: TargetGroupNameInput = {
  cluster: 'prod-eu',
  namespace: 'team-payments',
  name: 'checkout-frontend',
  key: '6f1c2a10-8f5e-4c7a-9d1b-3a2f0e9c7b11',
  protocol: 'TCP',
  port: 443,
  targetType: 'ip',
  vpcId: 'vpc-0123456789abcdef0',
};

test('load balancer names: kk-<ns 8>-<name 8>-<hash 10>, valid, deterministic', () => {
  const name = loadBalancerName(lb);
  assert.match(name, /^kk-teampaym-checkout-[0-9a-f]{10}$/);
  assert.ok(name.length <= MAX_NAME);
  assert.match(name, valid);
  assert.equal(loadBalancerName({ ...lb }), name);
});

test('load balancer names change with anything that makes the NLB unique', () => {
  const name = loadBalancerName(lb);
  for (const change of [
    { cluster: 'prod-us' },
    { namespace: 'team-payment' },
    { name: 'checkout-frontend2' },
    { scheme: 'internet-facing' as const },
    { vpcId: 'vpc-1' },
  ])
    assert.notEqual(loadBalancerName({ ...lb, ...change }), name, JSON.stringify(change));
  // Same readable part, different objects: the hash still tells them apart.
  assert.notEqual(
    loadBalancerName({ ...lb, name: 'checkout-frontend-a' }),
    loadBalancerName({ ...lb, name: 'checkout-frontend-b' }),
  );
});

test('target group names: kk-<name>-<port><protocol>-<hash 10>, valid, deterministic', () => {
  const name = targetGroupName(tg);
  assert.match(name, /^kk-checkout-443tcp-[0-9a-f]{10}$/);
  assert.equal(targetGroupName({ ...tg }), name);
  // The widest port and protocol still fit, by shortening the readable name.
  const widest = targetGroupName({ ...tg, port: 65535, protocol: 'TCP_UDP' });
  assert.match(widest, /^kk-checko-65535tcpudp-[0-9a-f]{10}$/);
  assert.equal(widest.length, MAX_NAME);
});

test('target group names change when an immutable field changes', () => {
  const name = targetGroupName(tg);
  for (const change of [
    { protocol: 'TCP_UDP' as const },
    { protocol: 'UDP' as const },
    { protocol: 'TLS' as const },
    { port: 8443 },
    { vpcId: 'vpc-fedcba9876543210f' },
    { key: 'another-pool' },
    { namespace: 'team-other' },
    { cluster: '' },
  ])
    assert.notEqual(targetGroupName({ ...tg, ...change }), name, JSON.stringify(change));
  // A target type other than ip is not in the type, but must still change the hash.
  assert.notEqual(targetGroupName({ ...tg, targetType: 'instance' as 'ip' }), name);
});

test('names stay valid for any Kubernetes name and port', () => {
  const nasty = ['a', 'a-b', 'a.b.c', '-x-', 'x'.repeat(253), '0', 'z--z', '...'];
  for (const namespace of nasty)
    for (const objectName of nasty)
      for (const [port, protocol] of [
        [1, 'TCP'],
        [53, 'UDP'],
        [65535, 'TCP_UDP'],
        [443, 'TLS'],
      ] as const) {
        const names = [
          loadBalancerName({ ...lb, namespace, name: objectName }),
          targetGroupName({ ...tg, namespace, name: objectName, port, protocol }),
        ];
        for (const n of names) {
          assert.ok(n.length <= MAX_NAME, n);
          assert.match(n, valid, n);
        }
      }
});

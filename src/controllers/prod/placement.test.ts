import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeProd, type ClusterCandidate } from './placement.js';

const cluster = (
  name: string,
  failureDomain: string,
  extra: Partial<ClusterCandidate> = {},
): ClusterCandidate => ({
  name,
  failureDomain,
  ready: true,
  reachable: true,
  cordoned: false,
  ...extra,
});

test('the failure domain with the fewest Prods of the same app wins', () => {
  const clusters = [cluster('a1', 'dc-a'), cluster('a2', 'dc-a'), cluster('b1', 'dc-b')];
  const prods = [
    { app: 'shop', cluster: 'a1' },
    { app: 'other', cluster: 'b1' },
    { app: 'other', cluster: 'b1' },
  ];
  assert.deepEqual(placeProd('shop', clusters, prods), { cluster: 'b1' });
});

test('ties go to the cluster with the fewest Prods, then to the name', () => {
  const clusters = [cluster('c', 'x'), cluster('b', 'x'), cluster('a', 'y')];
  assert.deepEqual(placeProd('shop', clusters, []), { cluster: 'a' });
  const prods = [{ app: 'other', cluster: 'c' }];
  assert.deepEqual(
    placeProd('shop', clusters.slice(0, 2), prods),
    { cluster: 'b' },
    'b has fewer Prods than c',
  );
});

test('three Prods of one app spread over two domains as they are placed one by one', () => {
  const clusters = [cluster('onprem-a', 'dc-a'), cluster('eks-b', 'us-east-1')];
  const placed: { app: string; cluster: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const p = placeProd('shop', clusters, placed);
    placed.push({ app: 'shop', cluster: p.cluster! });
  }
  assert.deepEqual(
    placed.map((p) => p.cluster),
    ['eks-b', 'onprem-a', 'eks-b'],
  );
});

test('only Ready, Reachable, uncordoned clusters are candidates', () => {
  const clusters = [
    cluster('a', 'x', { ready: false }),
    cluster('b', 'x', { reachable: false }),
    cluster('c', 'x', { cordoned: true }),
    cluster('d', 'y'),
  ];
  assert.deepEqual(placeProd('shop', clusters, [{ app: 'shop', cluster: 'd' }]), {
    cluster: 'd',
  });
  const none = placeProd('shop', clusters.slice(0, 3), []);
  assert.equal(none.cluster, undefined);
  assert.match(none.reason ?? '', /a: not Ready; b: unreachable; c: cordoned/);
  assert.match(placeProd('shop', [], []).reason ?? '', /no MemberCluster/);
});

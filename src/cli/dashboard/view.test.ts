import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fleet } from '../../api/fleet.js';
import type { MemberCluster } from '../../api/membercluster.js';
import type { Prod } from '../../api/prod.js';
import type { Release } from '../../api/release.js';
import type { Tenant } from '../../api/tenant.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import {
  compareVersions,
  fleetMap,
  hostMatches,
  mirrorsView,
  nextHistory,
  releaseView,
  searchTenants,
  tenantsView,
  type State,
} from './view.js';

const NS = 'shop';
const cluster = (name: string, domain: string, extra: Partial<MemberCluster['spec']> = {}) =>
  ({
    metadata: { name },
    spec: {
      provider: 'onprem',
      failureDomain: domain,
      kubeconfigSecretRef: { name, namespace: 'x' },
      ...extra,
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  }) as unknown as MemberCluster;
const prod = (
  name: string,
  c: string,
  version: string,
  phase = 'InService',
  specVersion = version,
) =>
  ({
    metadata: { name, namespace: NS, labels: { 'kachiku.io/fleet': 'web' } },
    spec: { app: 'web', version: specVersion, cluster: c },
    status: { phase, version },
  }) as unknown as Prod;
const tenant = (name: string, primary?: string, secondary?: string, hosts = [`${name}.example`]) =>
  ({
    metadata: { name, namespace: NS },
    spec: { fleet: 'web', hosts, redundancy: secondary ? 'Dual' : 'Single' },
    status: {
      prods: { primary, secondary },
      conditions: [{ type: 'Placed', status: primary ? 'True' : 'False', message: 'no room' }],
    },
  }) as unknown as Tenant;
const fleet = {
  metadata: { name: 'web', namespace: NS },
  spec: { app: 'web', version: '1.2.0' },
  status: {
    readyProds: 3,
    tenants: { total: 3, placed: 2, unplaced: 1 },
    fill: { percent: 40 },
    prods: [{ name: 'web-a1', used: 3, capacity: 10 }],
    drains: [{ cluster: 'b', phase: 'Moving', tenantsLeft: 2 }],
  },
} as unknown as Fleet;

const state = (over: Partial<State> = {}): State => ({
  fleets: [fleet],
  prods: [
    prod('web-a1', 'a', '1.2.0'),
    prod('web-b1', 'b', '1.10.0', 'WarmingUp'),
    prod('web-b2', 'b', '1.2.0', 'Ready', '1.10.0'),
  ],
  tenants: [tenant('t1', 'web-a1', 'web-b1'), tenant('t2', 'web-a1'), tenant('t3')],
  clusters: [cluster('b', 'east', { drain: true }), cluster('a', 'west'), cluster('c', 'east')],
  releases: [],
  routers: [],
  mirrors: [],
  now: Date.parse('2026-01-01T00:10:00Z'),
  ...over,
});

test('versions sort numerically', () => {
  assert.deepEqual(['1.10.0', '1.2.0', '1.9.1', '1.2.0-rc1'].sort(compareVersions), [
    '1.2.0',
    '1.2.0-rc1',
    '1.9.1',
    '1.10.0',
  ]);
});

test('fleet map: failure domains → clusters → Prods, with tenant copies, fill and drains', () => {
  const m = fleetMap(state());
  assert.deepEqual(
    m.domains.map((d) => [d.name, d.clusters.map((c) => [c.name, c.prods.map((p) => p.name)])]),
    [
      [
        'east',
        [
          ['b', ['web-b1', 'web-b2']],
          ['c', []],
        ],
      ],
      ['west', [['a', ['web-a1']]]],
    ],
  );
  assert.deepEqual(m.versions, ['1.2.0', '1.10.0']);
  const a1 = m.domains[1]!.clusters[0]!.prods[0]!;
  assert.deepEqual(
    { tenants: a1.tenants, fill: a1.fill, versionIndex: a1.versionIndex, phase: a1.phase },
    { tenants: 2, fill: 30, versionIndex: 0, phase: 'InService' },
  );
  const b = m.domains[0]!.clusters[0]!;
  assert.equal(b.draining, true);
  assert.equal(b.cordoned, true);
  assert.deepEqual(b.drains, ['shop/web: Moving (2 left)']);
  const b2 = b.prods[1]!;
  assert.equal(b2.version, '1.2.0');
  assert.equal(b2.updatingTo, '1.10.0');
  assert.deepEqual(m.fleets[0]!.tenants, { total: 3, placed: 2, unplaced: 1, exposed: 0 });
});

test('fleet map: a Prod in a cluster with no MemberCluster still shows', () => {
  const m = fleetMap(state({ prods: [prod('lost', 'gone', '1.0.0')], clusters: [] }));
  assert.deepEqual(m.domains[0]!.clusters[0]!.name, 'gone');
  assert.equal(m.domains[0]!.clusters[0]!.ready, 'Unknown');
});

const release = (status: Release['status'], spec: Partial<Release['spec']> = {}) =>
  ({
    metadata: { name: 'web-1.10.0', namespace: NS },
    spec: { fleet: 'web', version: '1.10.0', ...spec },
    status,
  }) as unknown as Release;

test('release: waves with their Prods, gates and the alerts that stopped it', () => {
  const r = releaseView(
    release({
      phase: 'RollingBack',
      fromVersion: '1.2.0',
      startTime: '2026-01-01T00:00:00Z',
      currentWave: 1,
      waves: [
        {
          step: 'canary',
          state: 'Passed',
          prods: [{ name: 'web-a1', reason: 'fewest', tenants: 2 }],
        },
        {
          step: 'single',
          state: 'Failed',
          prods: [{ name: 'web-b1', reason: 'single', tenants: 1 }],
        },
      ],
      prods: [
        { name: 'web-a1', wave: 0, state: 'Passed' },
        { name: 'web-b1', wave: 1, state: 'RollingBack', message: 'gate errors failed' },
      ],
      gates: [
        { wave: 0, gate: 'errors', result: 'Passed' },
        { wave: 1, gate: 'errors', result: 'Failed', alerts: ['HighErrorRate', 'Latency'] },
      ],
      rollback: { startTime: '2026-01-01T00:05:00Z', reason: 'gate errors', tenantsMoved: 1 },
    }),
    Date.parse('2026-01-01T00:10:00Z'),
  );
  assert.equal(r.elapsed, 600);
  assert.equal(r.active, true);
  assert.deepEqual(r.stoppedBy, ['HighErrorRate', 'Latency']);
  assert.deepEqual(
    r.waves.map((w) => [
      w.state,
      w.current,
      w.prods.map((p) => p.state),
      w.gates.map((g) => g.result),
    ]),
    [
      ['Passed', false, ['Passed'], ['Passed']],
      ['Failed', true, ['RollingBack'], ['Failed']],
    ],
  );
  assert.deepEqual(r.rollback, { reason: 'gate errors', tenantsMoved: 1, routed: false });
  assert.deepEqual(r.can, { pause: true, resume: false, abort: true });
});

test('release actions: what each phase allows', () => {
  const now = Date.now();
  assert.deepEqual(releaseView(release({ phase: 'Paused' }, { paused: true }), now).can, {
    pause: false,
    resume: true,
    abort: true,
  });
  assert.deepEqual(releaseView(release({ phase: 'Succeeded' }), now).can, {
    pause: false,
    resume: false,
    abort: false,
  });
  assert.deepEqual(releaseView(release({ phase: 'Progressing' }, { aborted: true }), now).can, {
    pause: false,
    resume: false,
    abort: false,
  });
  assert.equal(releaseView(release(undefined), now).phase, 'Pending');
});

test('tenant history: an entry per change of Prods, nothing while unplaced from the start', () => {
  let h = nextHistory([], tenant('t'), 0);
  assert.deepEqual(h, []);
  h = nextHistory(h, tenant('t', 'p1'), 1000);
  h = nextHistory(h, tenant('t', 'p1'), 2000);
  h = nextHistory(h, tenant('t', 'p2', 'p3'), 3000);
  h = nextHistory(h, tenant('t'), 4000);
  assert.deepEqual(
    h.map((e) => [e.time.slice(17, 19), e.primary, e.secondary]),
    [
      ['01', 'p1', undefined],
      ['03', 'p2', 'p3'],
      ['04', undefined, undefined],
    ],
  );
  let capped = [] as ReturnType<typeof nextHistory>;
  for (let i = 0; i < 10; i++) capped = nextHistory(capped, tenant('t', `p${i}`), i, 3);
  assert.deepEqual(
    capped.map((e) => e.primary),
    ['p7', 'p8', 'p9'],
  );
});

test('tenant search: a host finds who serves it (exact, then wildcard), else text', () => {
  const ts = tenantsView(
    state({
      tenants: [
        tenant('acme', 'web-a1', undefined, ['acme.example', '*.acme.example']),
        tenant('shop', 'web-b1', undefined, ['shop.acme.example']),
        tenant('other', 'web-b2'),
      ],
    }),
    new Map([['shop/acme', [{ time: 'x', primary: 'web-a1' }]]]),
  );
  assert.deepEqual(ts.find((t) => t.name === 'acme')!.history, [{ time: 'x', primary: 'web-a1' }]);
  const names = (q: string) => searchTenants(ts, q).map((t) => t.name);
  assert.deepEqual(names('shop.acme.example'), ['shop']);
  assert.deepEqual(names('api.acme.example'), ['acme']);
  assert.deepEqual(names(' ACME.example '), ['acme']);
  assert.deepEqual(names('oth'), ['other']);
  assert.deepEqual(names(''), ['acme', 'other', 'shop']);
  assert.equal(hostMatches('*.acme.example', 'acme.example'), false);
  assert.equal(hostMatches('*.acme.example', 'a.b.acme.example'), true);
  const unplaced = tenantsView(state(), new Map()).find((t) => t.name === 't3')!;
  assert.deepEqual([unplaced.placed, unplaced.placedMessage], ['False', 'no room']);
});

test('mirrors: both sides, the weights and who serves', () => {
  const m = {
    metadata: { name: 'lb', namespace: NS },
    spec: {
      octavia: { loadBalancerID: 'id-1' },
      aws: {},
      dns: { failoverMode: 'controller', recordNames: ['x.example'] },
    },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      loadBalancer: { arn: 'arn', dnsName: 'nlb.aws' },
      listeners: [
        { port: 80, protocol: 'TCP', octaviaListenerID: 'l1', octaviaProtocol: 'HTTP', targets: 2 },
      ],
      membersSeen: 2,
      targetsRegistered: 2,
      dns: {
        octaviaAddress: '203.0.113.5',
        records: [
          { name: 'x.example', setIdentifier: 'o', side: 'octavia', weight: 0 },
          { name: 'x.example', setIdentifier: 'n', side: 'nlb', weight: 10 },
        ],
        healthChecks: [{ side: 'octavia', state: 'Unhealthy' }],
        servingSide: 'nlb',
      },
    },
  } as unknown as LoadBalancerMirror;
  const [v] = mirrorsView(state({ mirrors: [m] }));
  assert.equal(v!.nlb!.dnsName, 'nlb.aws');
  assert.deepEqual(v!.octavia, { loadBalancerID: 'id-1', address: '203.0.113.5', members: 2 });
  assert.equal(v!.dns!.servingSide, 'nlb');
  assert.equal(v!.dns!.failoverMode, 'controller');
  assert.deepEqual(
    v!.dns!.records.map((r) => r.weight),
    [0, 10],
  );
  assert.deepEqual(v!.listeners[0], {
    port: 80,
    protocol: 'TCP',
    octaviaListenerID: 'l1',
    targets: 2,
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { Prod } from '../../api/prod.js';
import type { Release } from '../../api/release.js';
import type { Router } from '../../api/router.js';
import type { Tenant } from '../../api/tenant.js';
import { T0, at, clusterOf, fleetOf } from '../../controllers/fleet/testing.js';
import { COLOURS, NO_COLOURS, visible } from './output.js';
import {
  clusterState,
  fleetView,
  kindOf,
  listView,
  mirrorView,
  releaseView,
  requestsGoTo,
  tenantView,
  treeRows,
} from './views.js';

const o = { now: T0, colours: NO_COLOURS };
const ready = (reason = 'Reconciled') => ({
  type: 'Ready',
  status: 'True' as const,
  reason,
  message: '',
  lastTransitionTime: at(T0),
});

test('treeRows: branches ├── └── and the │ of an unfinished parent', () => {
  const rows = treeRows({
    cells: ['root'],
    children: [
      { cells: ['a'], children: [{ cells: ['a1'] }, { cells: ['a2'] }] },
      { cells: ['b'], children: [{ cells: ['b1'] }] },
    ],
  });
  assert.deepEqual(
    rows.map((r) => r[0]),
    ['root', '├──a', '│  ├──a1', '│  └──a2', '└──b', '   └──b1'],
  );
});

const fleet = () =>
  fleetOf(
    {},
    {
      conditions: [ready()],
      readyProds: 3,
      desiredProds: 4,
      tenants: { total: 5, placed: 4, unplaced: 1, exposed: 1 },
      fill: {
        percent: 25,
        domains: [
          { domain: 'da', used: 3, capacity: 20 },
          { domain: 'db', used: 2, capacity: 10 },
        ],
      },
      drains: [{ cluster: 'b', phase: 'Moving', tenantsLeft: 2 }],
      prods: [
        {
          name: 'web-da-2',
          cluster: 'a',
          domain: 'da',
          phase: 'InService',
          version: '1.0.0',
          tenants: 1,
          used: 1,
          capacity: 10,
          role: 'standard',
          state: 'open',
        },
        {
          name: 'web-da-1',
          cluster: 'a',
          domain: 'da',
          phase: 'InService',
          version: '1.0.0',
          tenants: 2,
          used: 2,
          capacity: 10,
          role: 'standard',
          state: 'open',
        },
        {
          name: 'web-db-1',
          cluster: 'b',
          domain: 'db',
          phase: 'Draining',
          version: '1.0.0',
          tenants: 2,
          used: 2,
          capacity: 10,
          role: 'test',
          state: 'leaving',
        },
        { name: 'web-new', phase: 'Pending' },
      ],
    },
  );

test('fleet: header, then domains → clusters (their state) → Prods sorted, with phase, version, tenants, fill', () => {
  const lines = fleetView(
    fleet(),
    [clusterOf('a', 'da'), clusterOf('b', 'db', { drain: true })],
    o,
  );
  assert.deepEqual(lines.slice(0, 11), [
    'Name:       web',
    'Namespace:  shop',
    'App:        shop',
    'Version:    1.0.0',
    'Prods:      3 ready, 4 desired',
    'Tenants:    4 placed, 1 unplaced, 1 Dual exposed',
    'Fill:       25%',
    'Drains:     b: Moving, 2 tenants left',
    'Ready:      True (Reconciled)',
    '',
    'NAME                  KIND      STATUS      VERSION   TENANTS   FILL',
  ]);
  assert.deepEqual(lines.slice(11), [
    'web                   Fleet     Ready       1.0.0     4         25%',
    '├──domain (none)      Domain                          0',
    '│  └──(unscheduled)   Cluster   Unknown               0',
    '│     └──web-new      Prod      Pending               0',
    '├──domain da          Domain                          3         3/20',
    '│  └──a               Cluster   Ready                 3',
    '│     ├──web-da-1     Prod      InService   1.0.0     2         2/10',
    '│     └──web-da-2     Prod      InService   1.0.0     1         1/10',
    '└──domain db          Domain                          2         2/10',
    '   └──b               Cluster   Draining              2',
    '      └──web-db-1     Prod      Draining    1.0.0     2         2/10',
  ]);
});

test('fleet -o wide: role and placement state columns; colours only when asked', () => {
  const wide = fleetView(fleet(), [], { ...o, wide: true });
  assert.match(wide[10]!, /ROLE\s+STATE$/);
  assert.match(
    wide.find((l) => l.includes('web-db-1'))!,
    /test\s+leaving$/,
  );
  const coloured = fleetView(fleet(), [], { ...o, colours: COLOURS });
  assert.ok(coloured.some((l) => l.includes('\x1b[32mInService\x1b[0m')));
  // Aligned on what shows: without the escapes, the same lines.
  assert.deepEqual(coloured.map(visible), fleetView(fleet(), [], o));
  assert.ok(!fleetView(fleet(), [], o).some((l) => l.includes('\x1b')));
});

test('fleet: a drained cluster whose Prods are gone still shows, under its domain, as Draining', () => {
  const f = fleet();
  f.status!.prods = f.status!.prods!.filter((p) => p.cluster !== 'b');
  f.status!.drains = [{ cluster: 'b', phase: 'Drained', tenantsLeft: 0 }];
  const lines = fleetView(f, [clusterOf('a', 'da'), clusterOf('b', 'db', { drain: true })], o);
  assert.deepEqual(lines.slice(-2), [
    '└──domain db          Domain                          0         2/10',
    '   └──b               Cluster   Draining              0',
  ]);
});

test('clusterState: drain over cordon over readiness; an unknown cluster is Unknown', () => {
  assert.equal(clusterState(clusterOf('a', 'd', { drain: true, cordoned: true })), 'Draining');
  assert.equal(clusterState(clusterOf('a', 'd', { cordoned: true })), 'Cordoned');
  assert.equal(clusterState(clusterOf('a', 'd', { ready: false })), 'NotReady');
  assert.equal(clusterState(undefined), 'Unknown');
});

function release(): Release {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web-2.0.0', namespace: 'shop' },
    spec: {
      fleet: 'web',
      version: '2.0.0',
      paused: true,
      strategy: { bakeTime: '2m', gates: [{ name: 'errors', matchers: ['prod="{{prod}}"'] }] },
    },
    status: {
      phase: 'Progressing',
      fromVersion: '1.0.0',
      startTime: at(T0 - 200_000),
      currentWave: 1,
      waves: [
        {
          step: 'test',
          prods: [{ name: 'web-c-2', reason: 'test Prod', tenants: 1 }],
          state: 'Passed',
          startTime: at(T0 - 200_000),
          bakeStart: at(T0 - 170_000),
          endTime: at(T0 - 50_000),
        },
        {
          step: 'canary',
          prods: [
            { name: 'web-a-1', reason: 'fewest tenants', tenants: 3 },
            { name: 'web-b-1', reason: 'fewest tenants', tenants: 2 },
          ],
          state: 'Baking',
          startTime: at(T0 - 50_000),
          bakeStart: at(T0 - 20_000),
        },
        {
          step: 'single',
          prods: [{ name: 'web-b-2', reason: 'Single', tenants: 4 }],
          state: 'Pending',
        },
      ],
      prods: [
        { name: 'web-c-2', wave: 0, state: 'Passed', since: at(T0 - 50_000) },
        { name: 'web-a-1', wave: 1, state: 'Baking', since: at(T0 - 20_000) },
        {
          name: 'web-b-1',
          wave: 1,
          state: 'WarmingUp',
          since: at(T0 - 5_000),
          message: 'warming up: 40/100 requests',
        },
        { name: 'web-b-2', wave: 2, state: 'Pending' },
      ],
      gates: [
        { wave: 0, gate: 'errors', result: 'Passed', checkedAt: at(T0 - 50_000) },
        {
          wave: 1,
          gate: 'errors',
          result: 'Failed',
          alerts: ['HighErrorRate', 'Slow'],
          checkedAt: at(T0 - 1_000),
        },
      ],
    },
  };
}

test('release: version from → to, a pause asked for, waves → Prods and gates with alert names and elapsed times', () => {
  const lines = releaseView(release(), o);
  assert.deepEqual(lines.slice(0, 9), [
    'Name:       web-2.0.0',
    'Namespace:  shop',
    'Fleet:      web',
    'Version:    1.0.0 → 2.0.0',
    'Phase:      Progressing (pause requested)',
    'Wave:       2 of 3',
    `Started:    ${at(T0 - 200_000)}`,
    'Elapsed:    3m20s',
    'Strategy:   bake 2m, on failure Rollback, gates: errors',
  ]);
  assert.deepEqual(lines.slice(10), [
    'NAME                   KIND      STATUS        TENANTS   ELAPSED           INFO',
    'web-2.0.0              Release   Progressing             3m20s',
    '├──wave 0 (test)       Wave      Passed        1         2m30s',
    '│  ├──web-c-2          Prod      Passed        1         50s',
    '│  └──gate errors      Gate      Passed                  checked 50s ago',
    '├──wave 1 (canary) ◀   Wave      Baking        5         50s               baking 20s',
    '│  ├──web-a-1          Prod      Baking        3         20s',
    '│  ├──web-b-1          Prod      WarmingUp     2         5s                warming up: 40/100 requests',
    '│  └──gate errors      Gate      Failed                  checked 1s ago    alerts: HighErrorRate, Slow',
    '└──wave 2 (single)     Wave      Pending       4',
    '   └──web-b-2          Prod      Pending       4',
  ]);
});

test('release not started: Pending, no waves, no elapsed time', () => {
  const r: Release = { ...release(), status: undefined };
  const lines = releaseView(r, o);
  assert.ok(lines.includes('Phase:      Pending (pause requested)'));
  assert.ok(!lines.some((l) => l.startsWith('Elapsed')));
  assert.equal(lines.at(-1), 'web-2.0.0   Release   Pending');
});

const tenant = (prods?: { primary?: string; secondary?: string }): Tenant => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme', namespace: 'shop' },
  spec: { fleet: 'web', redundancy: 'Dual', hosts: ['acme.example', '*.acme.example'] },
  status: {
    ...(prods && { prods }),
    conditions: [{ ...ready('Placed'), type: 'Placed' }],
    placedSince: at(T0 - 90_000),
  },
});
const router = (status: Router['status'], route53 = false): Router =>
  ({
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Router',
    metadata: { name: 'edge', namespace: 'shop' },
    spec: route53 ? { route53: {} } : { haproxy: {} },
    status,
  }) as unknown as Router;
const prod = (name: string, cluster: string, phase: string): Prod =>
  ({
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Prod',
    metadata: { name, namespace: 'shop' },
    spec: { app: 'shop', version: '1.0.0', cluster },
    status: { phase, cluster, version: '1.0.0' },
  }) as Prod;

test('requestsGoTo: placement alone, the Router slots, a held primary, Route 53, nowhere', () => {
  const t = tenant({ primary: 'p1', secondary: 'p2' });
  assert.equal(requestsGoTo(tenant(), undefined), 'nowhere: not placed');
  assert.equal(requestsGoTo(t, undefined), 'p1 (as placed; the Fleet names no Router)');
  assert.equal(requestsGoTo(t, undefined, 'edge'), 'p1 as placed, but Router edge does not exist');
  const slots = [
    { slot: 0, prod: 'p1', state: 'Active' as const },
    { slot: 1, prod: 'p2', state: 'Active' as const },
  ];
  assert.equal(requestsGoTo(t, router({ slots }), 'edge'), 'p1 (primary, Router edge)');
  assert.equal(
    requestsGoTo(t, router({ slots, held: ['p1'] }), 'edge'),
    'p2 (its primary p1 is held for a release by Router edge)',
  );
  assert.equal(
    requestsGoTo(t, router({ slots: [slots[1]!] }), 'edge'),
    'p2 (Router edge has no active slot for its primary p1)',
  );
  assert.equal(
    requestsGoTo(
      tenant({ primary: 'p1' }),
      router({ slots: [{ ...slots[0]!, state: 'Releasing' }] }),
      'edge',
    ),
    'nowhere yet: Router edge has no active slot for p1',
  );
  const dns = (prods: string[]) => router({ dns: { records: 2, healthChecks: 1, prods } }, true);
  assert.equal(requestsGoTo(t, dns(['p1', 'p2']), 'edge'), 'p1 (Route 53 records of Router edge)');
  assert.equal(requestsGoTo(t, dns([]), 'edge'), 'nowhere yet: Route 53 has no record for p1');
});

test('tenant: who it is, its copies with cluster, phase, version and slot, where requests go', () => {
  const t = tenant({ primary: 'web-a-1', secondary: 'web-b-1' });
  const r = router({
    slots: [
      { slot: 3, prod: 'web-a-1', state: 'Active' },
      { slot: 4, prod: 'web-b-1', state: 'Active' },
    ],
    held: ['web-a-1'],
  });
  const lines = tenantView(
    t,
    [prod('web-a-1', 'a', 'InService'), prod('web-b-1', 'b', 'InService')],
    r,
    'edge',
    o,
  );
  assert.deepEqual(lines, [
    'Name:            acme',
    'Namespace:       shop',
    'Fleet:           web',
    'Redundancy:      Dual',
    'Size:            1',
    'Hosts:           acme.example, *.acme.example',
    'Placed:          True (Placed)',
    'Since:           1m30s ago',
    'Requests go to:  web-b-1 (its primary web-a-1 is held for a release by Router edge)',
    '',
    'COPY        PROD      CLUSTER   PHASE       VERSION   ROUTED',
    'primary     web-a-1   a         InService   1.0.0     slot 3 Active, held',
    'secondary   web-b-1   b         InService   1.0.0     slot 4 Active',
  ]);
  // A Prod gone since: said so, not left blank.
  const gone = tenantView(t, [], undefined, undefined, o);
  assert.match(gone.at(-2)!, /^primary\s+web-a-1\s+NotFound$/);
});

function mirror(): LoadBalancerMirror {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name: 'db', namespace: 'shop' },
    spec: {
      octavia: { loadBalancerID: 'lb-1234', cloud: 'lab' },
      aws: { region: 'eu-west-1', vpcID: 'vpc-1', subnetIDs: ['subnet-1'] },
      dns: {
        hostedZone: { id: 'Z1' },
        recordNames: ['db.example.com'],
        failoverMode: 'controller',
        healthChecks: { octavia: { port: 5432 } },
      },
    },
    status: {
      conditions: [ready('Synced')],
      loadBalancer: { arn: 'arn:nlb', dnsName: 'db-123.elb.amazonaws.com' },
      listeners: [
        {
          port: 8080,
          protocol: 'TCP_UDP',
          octaviaListenerID: 'l2,l3',
          octaviaProtocol: 'TCP+UDP',
          targets: 1,
        },
        {
          port: 5432,
          protocol: 'TCP',
          octaviaListenerID: 'l1',
          octaviaProtocol: 'TCP',
          targetGroupARN: 'arn:tg',
          targets: 3,
        },
      ],
      membersSeen: 4,
      targetsRegistered: 4,
      lastSyncTime: at(T0 - 12_000),
      dns: {
        hostedZoneID: 'Z1',
        records: [
          { name: 'db.example.com', setIdentifier: 'db-nlb', side: 'nlb', weight: 255 },
          { name: 'db.example.com', setIdentifier: 'db-octavia', side: 'octavia', weight: 0 },
        ],
        healthChecks: [
          { side: 'octavia', state: 'Unhealthy' },
          { side: 'nlb', state: 'Healthy' },
        ],
        servingSide: 'nlb',
        servingSince: at(T0 - 60_000),
        lastFailover: {
          time: at(T0 - 60_000),
          from: 'both',
          to: 'nlb',
          reason: 'octavia unhealthy',
        },
      },
    },
  } as unknown as LoadBalancerMirror;
}

test('mirror: Octavia LB ↔ NLB, listeners by port with targets, DNS weights and health, serving side, last failover', () => {
  assert.deepEqual(mirrorView(mirror(), o), [
    'Name:        db',
    'Namespace:   shop',
    'Octavia LB:  lb-1234',
    'NLB:         db-123.elb.amazonaws.com',
    'Ready:       True (Synced)',
    'Last sync:   12s ago',
    'Targets:     4 registered, 4 Octavia members seen',
    '',
    'PORT   OCTAVIA   NLB       TARGETS',
    '5432   TCP       TCP       3',
    '8080   TCP+UDP   TCP_UDP   1',
    '',
    'DNS:            db.example.com (zone Z1)',
    'Failover mode:  controller',
    'Serving:        nlb (since 1m ago)',
    'Last failover:  both → nlb 1m ago: octavia unhealthy',
    '',
    'RECORD           SIDE      WEIGHT   HEALTH',
    'db.example.com   octavia   0        Unhealthy',
    'db.example.com   nlb       255      Healthy',
  ]);
});

test('mirror not synced yet, without DNS: says so, no empty tables', () => {
  const m = mirror();
  delete m.spec.dns;
  m.status = {};
  assert.deepEqual(mirrorView(m, o), [
    'Name:        db',
    'Namespace:   shop',
    'Octavia LB:  lb-1234',
    'NLB:         (not made yet)',
  ]);
});

test('lists: a row per object, NAMESPACE with -A; kind names as kubectl users type them', () => {
  const f = fleet();
  f.metadata.creationTimestamp = at(T0 - 3_600_000);
  assert.deepEqual(listView('fleet', [f], { ...o, allNamespaces: true }), [
    'NAMESPACE   NAME   APP    VERSION   PRODS   TENANTS   FILL   RELEASE   AGE',
    'shop        web    shop   1.0.0     3/4     4         25%              1h',
  ]);
  assert.deepEqual(listView('release', [release()], o), [
    'NAME        FLEET   VERSION   PHASE         WAVE   AGE',
    'web-2.0.0   web     2.0.0     Progressing   2/3',
  ]);
  assert.equal(kindOf('fl'), 'fleet');
  assert.equal(kindOf('Releases'), 'release');
  assert.equal(kindOf('loadbalancermirrors.kachiku.io'), 'mirror');
  assert.equal(kindOf('pods'), undefined);
});

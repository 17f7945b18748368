import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitsOneBatch, type RecordAtName, type RecordSet } from '../../../clouds/aws/route53.js';
import { fleet, prod, tenant } from '../testing.js';
import { dnsRoutes } from './routes.js';
import {
  batches,
  hostOfOwnerName,
  matchHealthChecks,
  ownerName,
  ownerValue,
  recordChanges,
  recordsOf,
  setIdentifier,
  viewZone,
  wantedHealthChecks,
} from './plan.js';

const owner = { namespace: 'shop', name: 'r' };
const ZONE = 'example.com';
const prods = [
  prod('p1', ['10.0.0.1:8080', '10.0.0.2:8080']),
  prod('p2', ['10.0.1.1:8080']),
  prod('p3', ['10.0.2.1:8080']),
];
const routesOf = (tenants: ReturnType<typeof tenant>[], ttl?: number) =>
  dnsRoutes({
    zone: ZONE,
    fleets: [fleet('f', { router: 'r', ...(ttl !== undefined && { ttl }) })],
    tenants,
    prods,
  });

/** The records of routes as Route 53 lists them. */
const listed = (sets: RecordSet[]): RecordAtName[] =>
  sets.map((s) => ({
    name: s.name,
    type: s.type ?? 'A',
    ...(s.setIdentifier && { setIdentifier: s.setIdentifier }),
    set: s,
  }));
const wantedOf = (routes: ReturnType<typeof routesOf>, ids = new Map<string, string>()) =>
  new Map(routes.routes.map((r) => [r.host, recordsOf(owner, r, (k) => ids.get(k))]));

test('routes: Single → one target, Dual → primary then secondary, TTL from the Fleet', () => {
  const r = routesOf([tenant('b', ['b.example.com'], 'p1', 'p2')], 30);
  assert.equal(r.routes.length, 1);
  const [b] = r.routes;
  assert.equal(b!.host, 'b.example.com.');
  assert.equal(b!.ttl, 30);
  assert.deepEqual(
    b!.targets.map((t) => [t.prod, t.addresses, t.port]),
    [
      ['p1', ['10.0.0.1', '10.0.0.2'], 8080],
      ['p2', ['10.0.1.1'], 8080],
    ],
  );
  const single = routesOf([tenant('s', ['s.example.com'], 'p3')]);
  assert.equal(single.routes[0]!.targets.length, 1);
  assert.equal(single.routes[0]!.ttl, 60);
});

test('routes: a wildcard is routed; outside the zone, unplaced, claimed twice → unrouted with why', () => {
  const r = routesOf([
    tenant('w', ['*.w.example.com'], 'p1'),
    tenant('out', ['www.other.org'], 'p1'),
    tenant('new', ['x.example.com'], undefined),
    tenant('old', ['dup.example.com'], 'p1', undefined, { created: '2024-01-01T00:00:00Z' }),
    tenant('young', ['dup.example.com'], 'p2'),
  ]);
  assert.deepEqual(
    r.routes.map((x) => [x.host, x.tenant]),
    [
      ['*.w.example.com.', 'w'],
      ['dup.example.com.', 'old'],
    ],
  );
  assert.deepEqual(r.unrouted, [
    'dup.example.com (tenant young): claimed first by tenant old',
    'www.other.org (tenant out): not in the hosted zone example.com.',
    'x.example.com (tenant new): not placed',
  ]);
  assert.deepEqual([...r.unroutedHosts].sort(), [
    'dup.example.com.',
    'www.other.org.',
    'x.example.com.',
  ]);
});

test('routes: a Dual tenant whose secondary has no address gets a simple record to its primary', () => {
  const r = dnsRoutes({
    zone: ZONE,
    fleets: [fleet('f')],
    tenants: [tenant('d', ['d.example.com'], 'p1', 'px')],
    prods: [...prods, prod('px', [])],
  });
  assert.deepEqual(
    r.routes[0]!.targets.map((t) => t.prod),
    ['p1'],
  );
  assert.deepEqual(r.noEndpoints, ['px: no endpoint in its status yet']);
  assert.deepEqual(r.noFailover, []);
});

const named = [
  prod('n1', ['b-nlb.elb.amazonaws.com:443', 'A-nlb.elb.amazonaws.com:443']),
  prod('n2', ['mirror.lb.example.org:443']),
];
const namedRoutes = (tenants: ReturnType<typeof tenant>[], extra = named) =>
  dnsRoutes({
    zone: ZONE,
    fleets: [fleet('f', { router: 'r', ttl: 20 })],
    tenants,
    prods: [...prods, ...extra],
  });

test('routes: a Prod at a name → a CNAME to its first name, sorted; a Dual pair of names → a CNAME failover pair with an FQDN check', () => {
  const r = namedRoutes([
    tenant('s', ['s.example.com'], 'n1'),
    tenant('d', ['d.example.com'], 'n1', 'n2'),
  ]);
  assert.deepEqual(r.noEndpoints, []);
  assert.deepEqual(
    r.routes.map((x) => [x.host, x.targets.map((t) => [t.prod, t.kind, t.addresses, t.port])]),
    [
      [
        'd.example.com.',
        [
          ['n1', 'name', ['a-nlb.elb.amazonaws.com.'], 443],
          ['n2', 'name', ['mirror.lb.example.org.'], 443],
        ],
      ],
      ['s.example.com.', [['n1', 'name', ['a-nlb.elb.amazonaws.com.'], 443]]],
    ],
  );
  const checks = wantedHealthChecks(owner, r.routes, { type: 'HTTPS', path: '/up', port: 8443 });
  assert.deepEqual(
    checks.map((c) => [c.key, c.spec]),
    [
      [
        'a-nlb.elb.amazonaws.com.:443',
        {
          type: 'HTTPS',
          fqdn: 'a-nlb.elb.amazonaws.com.',
          port: 8443,
          path: '/up',
          requestInterval: 30,
          failureThreshold: 3,
        },
      ],
    ],
  );
  const w = new Map(
    r.routes.map((x) => [
      x.host,
      recordsOf(owner, x, (k) => (k === checks[0]!.key ? 'hc-n' : undefined)),
    ]),
  );
  assert.deepEqual(w.get('s.example.com.')![0], {
    name: 's.example.com.',
    type: 'CNAME',
    ttl: 20,
    values: ['a-nlb.elb.amazonaws.com.'],
  });
  assert.deepEqual(
    w.get('d.example.com.')!.map((x) => [x.type, x.failover, x.values, x.healthCheckId]),
    [
      ['CNAME', 'PRIMARY', ['a-nlb.elb.amazonaws.com.'], 'hc-n'],
      ['CNAME', 'SECONDARY', ['mirror.lb.example.org.'], undefined],
      ['TXT', undefined, [ownerValue(owner)], undefined],
    ],
  );
});

test('routes: a Dual tenant of an IP Prod and a name Prod → its primary alone, said in noFailover', () => {
  const r = namedRoutes([tenant('m', ['m.example.com'], 'n2', 'p3')]);
  assert.deepEqual(
    r.routes[0]!.targets.map((t) => [t.prod, t.kind]),
    [['n2', 'name']],
  );
  assert.deepEqual(r.noFailover, [
    'm.example.com (tenant m): no failover, n2 answers at a name and p3 at an IP (Route 53 pairs records of one type only); n2 alone is published',
  ]);
  // The zone apex cannot hold a CNAME: unrouted, with why.
  const apex = namedRoutes([tenant('z', ['example.com'], 'n1')]);
  assert.deepEqual(apex.routes, []);
  assert.deepEqual(apex.unrouted, [
    'example.com (tenant z): n1 answers at a name and the zone apex cannot hold a CNAME',
  ]);
  // A Prod with IPs and names keeps its A record; its names are listed as before.
  const both = namedRoutes(
    [tenant('b', ['b.example.com'], 'nb')],
    [prod('nb', ['x.example.org:80', '10.1.1.1:80'])],
  );
  assert.deepEqual(both.routes[0]!.targets[0].kind, 'ip');
  assert.deepEqual(both.noEndpoints, ['nb: x.example.org:80: x.example.org is not an IP address']);
});

test('changes: a host whose Prod moved from an IP to a name → A deleted and CNAME written in one batch, and back', () => {
  for (const [from, to] of [
    ['p1', 'n1'],
    ['n1', 'p1'],
  ] as const) {
    for (const dual of [false, true]) {
      const second = dual ? (from === 'p1' ? 'p2' : 'n2') : undefined;
      const second2 = dual ? (to === 'p1' ? 'p2' : 'n2') : undefined;
      const before = namedRoutes([tenant('a', ['a.example.com'], from, second)]);
      const after = namedRoutes([tenant('a', ['a.example.com'], to, second2)]);
      const zone = listed([...wantedOf(before).values()].flat());
      const view = viewZone(owner, zone, new Set(['a.example.com.']));
      assert.deepEqual(view.conflicts, new Map());
      const perHost = recordChanges(wantedOf(after), view.owned, new Set());
      assert.equal(perHost.length, 1);
      const [oldType, newType] = from === 'p1' ? ['A', 'CNAME'] : ['CNAME', 'A'];
      const roles = dual ? ['PRIMARY', 'SECONDARY'] : ['simple'];
      assert.deepEqual(
        perHost[0]!.map(
          (c) => `${c.action} ${c.record.type ?? 'A'} ${c.record.failover ?? 'simple'}`,
        ),
        [
          ...roles.map((x) => `DELETE ${oldType} ${x}`),
          ...roles.map((x) => `UPSERT ${newType} ${x}`),
        ],
      );
      assert.equal(batches(perHost).length, 1);
    }
  }
});

test("zone: a CNAME at an owned host is the Router's; a CNAME at a host it does not own is a conflict", () => {
  const cname = {
    name: 'c.example.com.',
    type: 'CNAME' as const,
    ttl: 60,
    values: ['x.example.org.'],
  };
  const owned = listed([
    cname,
    { name: '_kachiku.c.example.com.', type: 'TXT', ttl: 300, values: [ownerValue(owner)] },
  ]);
  assert.deepEqual(
    viewZone(owner, owned, new Set(['c.example.com.'])).owned.get('c.example.com.')?.length,
    2,
  );
  const foreign = viewZone(owner, listed([cname]), new Set(['c.example.com.']));
  assert.deepEqual(foreign.conflicts, new Map([['c.example.com.', 'CNAME']]));
});

test('records: a simple A and its ownership TXT; a failover pair with the health check on the primary', () => {
  const r = routesOf([
    tenant('s', ['s.example.com'], 'p3'),
    tenant('d', ['*.d.example.com'], 'p1', 'p2'),
  ]);
  const w = wantedOf(r, new Map([['10.0.0.1:8080', 'hc-1']]));
  assert.deepEqual(w.get('s.example.com.'), [
    { name: 's.example.com.', ttl: 60, values: ['10.0.2.1'] },
    { name: '_kachiku.s.example.com.', type: 'TXT', ttl: 300, values: [ownerValue(owner)] },
  ]);
  const pair = w.get('*.d.example.com.')!;
  assert.deepEqual(
    pair.map((x) => [x.name, x.failover, x.setIdentifier, x.values, x.healthCheckId]),
    [
      [
        '*.d.example.com.',
        'PRIMARY',
        setIdentifier(owner, '*.d.example.com', 'primary'),
        ['10.0.0.1', '10.0.0.2'],
        'hc-1',
      ],
      [
        '*.d.example.com.',
        'SECONDARY',
        setIdentifier(owner, '*.d.example.com', 'secondary'),
        ['10.0.1.1'],
        undefined,
      ],
      ['_kachiku-wildcard.d.example.com.', undefined, undefined, [ownerValue(owner)], undefined],
    ],
  );
  assert.equal(hostOfOwnerName(ownerName('*.d.example.com')), '*.d.example.com.');
  assert.equal(hostOfOwnerName(ownerName('s.example.com')), 's.example.com.');
  // SetIdentifiers are unique per host (moto deletes by SetIdentifier alone).
  assert.notEqual(
    setIdentifier(owner, 'a.example.com', 'primary'),
    setIdentifier(owner, 'b.example.com', 'primary'),
  );
});

test('health checks: one per primary endpoint, shared; matched by settings, spare ones listed', () => {
  const r = routesOf([
    tenant('d1', ['d1.example.com'], 'p1', 'p2'),
    tenant('d2', ['d2.example.com'], 'p1', 'p3'),
    tenant('s', ['s.example.com'], 'p2'),
  ]);
  const wanted = wantedHealthChecks(owner, r.routes, { type: 'HTTP', path: '/healthz' });
  assert.deepEqual(
    wanted.map((w) => [w.key, w.prod, w.spec.type, w.spec.path, w.spec.port]),
    [['10.0.0.1:8080', 'p1', 'HTTP', '/healthz', 8080]],
  );
  assert.equal(wanted[0]!.tags['kachiku.io/router'], 'shop/r');
  const same = { id: 'hc-a', callerReference: 'x', ...wanted[0]!.spec };
  const other = { id: 'hc-b', callerReference: 'y', ...wanted[0]!.spec, ipAddress: '10.9.9.9' };
  assert.deepEqual(matchHealthChecks(wanted, [other, same]), {
    ids: new Map([['10.0.0.1:8080', 'hc-a']]),
    create: [],
    spare: ['hc-b'],
  });
  assert.deepEqual(matchHealthChecks(wanted, []).create, wanted);
});

test('changes: none when Route 53 holds the records; a moved tenant changes only its own record', () => {
  const before = routesOf([
    tenant('a', ['a.example.com'], 'p1'),
    tenant('b', ['b.example.com'], 'p2'),
  ]);
  const zone = listed([...wantedOf(before).values()].flat());
  const view = viewZone(owner, zone, new Set(before.routes.map((r) => r.host)));
  assert.deepEqual(view.conflicts, new Map());
  assert.deepEqual(recordChanges(wantedOf(before), view.owned, new Set()), []);

  const after = routesOf([
    tenant('a', ['a.example.com'], 'p3'),
    tenant('b', ['b.example.com'], 'p2'),
  ]);
  assert.deepEqual(recordChanges(wantedOf(after), view.owned, new Set()), [
    [{ action: 'UPSERT', record: { name: 'a.example.com.', ttl: 60, values: ['10.0.2.1'] } }],
  ]);
});

test('changes: Single → Dual replaces the simple record by the pair in one host batch; gone → all deleted', () => {
  const single = routesOf([tenant('a', ['a.example.com'], 'p1')]);
  const zone = listed([...wantedOf(single).values()].flat());
  const owned = viewZone(owner, zone, new Set(['a.example.com.'])).owned;
  const dual = routesOf([tenant('a', ['a.example.com'], 'p1', 'p2')]);
  const [host] = recordChanges(wantedOf(dual), owned, new Set());
  assert.deepEqual(
    host!.map((c) => `${c.action} ${c.record.type ?? 'A'} ${c.record.failover ?? 'simple'}`),
    ['DELETE A simple', 'UPSERT A PRIMARY', 'UPSERT A SECONDARY'],
  );
  // The tenant gone: its records and its ownership record go; an unrouted host's stay.
  const gone = viewZone(owner, zone, new Set()).owned;
  assert.deepEqual(
    recordChanges(new Map(), gone, new Set())
      .flat()
      .map((c) => `${c.action} ${c.record.name}`),
    ['DELETE _kachiku.a.example.com.', 'DELETE a.example.com.'],
  );
  assert.deepEqual(recordChanges(new Map(), gone, new Set(['a.example.com.'])), []);
});

test("ownership: others' records at a wanted host are a conflict, never touched; unwanted ones ignored", () => {
  const foreign: RecordAtName[] = [
    {
      name: 'a.example.com.',
      type: 'A',
      set: { name: 'a.example.com.', ttl: 300, values: ['192.0.2.1'] },
    },
    { name: 'b.example.com.', type: 'CNAME' },
    {
      name: 'c.example.com.',
      type: 'A',
      set: { name: 'c.example.com.', ttl: 300, values: ['192.0.2.3'] },
    },
    {
      name: '_kachiku.d.example.com.',
      type: 'TXT',
      set: {
        name: '_kachiku.d.example.com.',
        type: 'TXT',
        values: [ownerValue({ namespace: 'x', name: 'y' })],
      },
    },
  ];
  const v = viewZone(
    owner,
    foreign,
    new Set(['a.example.com.', 'b.example.com.', 'd.example.com.']),
  );
  assert.deepEqual([...v.conflicts.keys()].sort(), [
    'a.example.com.',
    'b.example.com.',
    'd.example.com.',
  ]);
  assert.equal(v.conflicts.get('b.example.com.'), 'CNAME');
  assert.equal(v.owned.size, 0);
  // At a host it owns, a record of someone else's SetIdentifier is a conflict as well.
  const ours = listed(
    [...wantedOf(routesOf([tenant('a', ['a.example.com'], 'p1')])).values()].flat(),
  );
  const mixed = [
    ...ours,
    {
      name: 'a.example.com.',
      type: 'A',
      setIdentifier: 'theirs',
      set: { name: 'a.example.com.', setIdentifier: 'theirs', weight: 1, values: ['192.0.2.9'] },
    },
  ];
  assert.match(
    viewZone(owner, mixed, new Set(['a.example.com.'])).conflicts.get('a.example.com.')!,
    /SetIdentifier theirs/,
  );
});

test("batches: within Route 53's limits (an UPSERT's values count twice), a host never split", () => {
  const host = (n: number) =>
    Array.from({ length: 3 }, (_, i) => ({
      action: 'UPSERT' as const,
      record: { name: `h${n}.example.com.`, setIdentifier: String(i), values: ['10.0.0.1'] },
    }));
  const out = batches(Array.from({ length: 400 }, (_, i) => host(i)));
  // 3 UPSERTs of one value: 6 of the 1000 records a batch may hold.
  assert.deepEqual(
    out.map((b) => b.length),
    [498, 498, 204],
  );
  assert.ok(out.every((b) => fitsOneBatch(b)));
  assert.equal(out[0]![497]!.record.name, out[0]![495]!.record.name);
  assert.ok(!fitsOneBatch(out[0]!.concat(out[2]!.slice(0, 3))));
});

test('hold and avoid: a held, then an avoided Prod goes second in its pairs; held lists it once no pair has it first', () => {
  const marked = (name: string, annotation: string) => {
    const p = prods.find((x) => x.metadata.name === name)!;
    return { ...p, metadata: { ...p.metadata, annotations: { [annotation]: 'x' } } };
  };
  const r = dnsRoutes({
    zone: ZONE,
    fleets: [fleet('f')],
    tenants: [
      tenant('d', ['d.example.com'], 'p1', 'p2'),
      tenant('e', ['e.example.com'], 'p2', 'p3'),
    ],
    prods: [marked('p1', 'kachiku.io/hold'), marked('p2', 'kachiku.io/avoid'), prods[2]!],
  });
  assert.deepEqual(
    r.routes.map((x) => x.targets.map((t) => t.prod)),
    [
      ['p1', 'p2'],
      ['p3', 'p2'],
    ],
  );
  // p1 is first for d (its other Prod is avoided): not yet held.
  assert.deepEqual(r.held, []);
  const r2 = dnsRoutes({
    zone: ZONE,
    fleets: [fleet('f')],
    tenants: [tenant('d', ['d.example.com'], 'p1', 'p3')],
    prods: [marked('p1', 'kachiku.io/hold'), ...prods.slice(1)],
  });
  assert.deepEqual(
    r2.routes[0]!.targets.map((t) => t.prod),
    ['p3', 'p1'],
  );
  assert.deepEqual(r2.held, ['p1']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudConfig } from './config.js';
import { OpenStackError } from './errors.js';
import { type Transport, createSession } from './keystone.js';
import { createOctaviaClient, octaviaBase } from './octavia.js';

test('octaviaBase: the catalog URL with or without the version', () => {
  assert.equal(octaviaBase('http://o:9876'), 'http://o:9876/v2');
  assert.equal(octaviaBase('http://o:9876/'), 'http://o:9876/v2');
  assert.equal(octaviaBase('http://o:9876/v2/'), 'http://o:9876/v2');
  assert.equal(octaviaBase('https://o/load-balancer/v2.0'), 'https://o/load-balancer/v2.0');
});

const cloud = (endpoint: string): CloudConfig => ({
  name: 'test',
  source: 'test',
  auth: {
    type: 'v3applicationcredential',
    authUrl: 'http://k/v3',
    applicationCredentialId: 'i',
    applicationCredentialSecret: 's',
  },
  interface: 'public',
  verify: true,
  endpointOverrides: { 'load-balancer': endpoint },
});

type Reply = { status: number; body?: unknown } | Error;

/**
 * An in-memory Keystone and Octavia behind the Transport: `routes` answers a path (with its
 * query), in order for repeated calls when given a list. Records every URL asked.
 */
function fakeOctavia(routes: Record<string, Reply | Reply[]>) {
  const urls: string[] = [];
  const fetch: Transport = async (url) => {
    if (url === 'http://k/v3/auth/tokens') {
      return reply(
        201,
        { token: { expires_at: new Date(Date.now() + 3.6e6).toISOString() } },
        'tok',
      );
    }
    const u = new URL(url);
    const key = `${u.pathname}${u.search}`;
    urls.push(key);
    const route = routes[key];
    const r = Array.isArray(route) ? route.shift() : route;
    if (!r) return reply(404, { faultstring: `no route ${key}` });
    if (r instanceof Error) throw r;
    return reply(r.status, r.body);
  };
  return { fetch, urls };
}

function reply(status: number, body: unknown, token?: string) {
  return {
    status,
    headers: new Headers(token ? { 'x-subject-token': token } : {}),
    text: async () => (body === undefined ? '' : JSON.stringify(body)),
  };
}

const refused = () => new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
const member = (id: string) => ({ id, address: `10.0.0.${id}`, protocol_port: 80 });

test('lists follow every page by marker, on our own host whatever the links say', async () => {
  const { fetch, urls } = fakeOctavia({
    '/v2/lbaas/pools/p1/members?limit=2': {
      status: 200,
      body: {
        members: [member('1'), member('2')],
        // Octavia behind a proxy links to the host it thinks it serves.
        members_links: [
          { rel: 'next', href: 'http://internal:9876/v2/lbaas/pools/p1/members?limit=2&marker=2' },
        ],
      },
    },
    '/v2/lbaas/pools/p1/members?limit=2&marker=2': {
      status: 200,
      body: {
        members: [member('3'), member('4')],
        members_links: [
          { rel: 'previous', href: 'http://internal/x?marker=3&page_reverse=True' },
          { rel: 'next', href: 'http://internal/x?limit=2&marker=4' },
        ],
      },
    },
    '/v2/lbaas/pools/p1/members?limit=2&marker=4': {
      status: 200,
      body: { members: [member('5')], members_links: [] },
    },
  });
  const octavia = createOctaviaClient(createSession(cloud('http://o'), { fetch }), { pageSize: 2 });
  const members = await octavia.listMembers('p1');
  assert.deepEqual(
    members.map((m) => m.id),
    ['1', '2', '3', '4', '5'],
  );
  assert.equal(urls.length, 3);
});

test('a next link that does not advance is a BadResponse, not a loop', async () => {
  const page = {
    status: 200,
    body: {
      pools: [{ id: 'a' }],
      pools_links: [{ rel: 'next', href: 'http://o/v2/lbaas/pools?marker=a' }],
    },
  };
  const { fetch } = fakeOctavia({
    '/v2/lbaas/pools?loadbalancer_id=lb&limit=1': page,
    '/v2/lbaas/pools?loadbalancer_id=lb&limit=1&marker=a': page,
  });
  const octavia = createOctaviaClient(createSession(cloud('http://o/v2'), { fetch }), {
    pageSize: 1,
  });
  await assert.rejects(octavia.listPools('lb'), {
    kind: 'BadResponse',
    message: /does not advance/,
  });
});

test('5xx and connection errors are retried with backoff; onCall sees each attempt', async () => {
  const lb = { id: 'lb', provisioning_status: 'ACTIVE' };
  const { fetch, urls } = fakeOctavia({
    '/v2/lbaas/loadbalancers/lb': [
      refused(),
      { status: 503, body: 'Service Unavailable' },
      { status: 200, body: { loadbalancer: lb } },
    ],
  });
  const calls: string[] = [];
  const octavia = createOctaviaClient(createSession(cloud('http://o'), { fetch }), {
    backoffMs: 1,
    onCall: (op, outcome, seconds) => {
      assert.ok(seconds >= 0);
      calls.push(`${op}:${outcome}`);
    },
  });
  assert.deepEqual(await octavia.getLoadBalancer('lb'), lb);
  assert.equal(urls.length, 3);
  assert.deepEqual(calls, ['getLoadBalancer:error', 'getLoadBalancer:error', 'getLoadBalancer:ok']);
});

test('after the last attempt the error says so', async () => {
  const { fetch, urls } = fakeOctavia({
    '/v2/lbaas/healthmonitors/hm': {
      status: 500,
      body: { faultstring: 'Internal Server Error', debuginfo: null },
    },
  });
  const octavia = createOctaviaClient(createSession(cloud('http://o'), { fetch }), {
    backoffMs: 1,
    attempts: 2,
  });
  await assert.rejects(octavia.getHealthMonitor('hm'), {
    kind: 'ServerError',
    status: 500,
    message: 'octavia getHealthMonitor: 500 Internal Server Error (after 2 attempts)',
  });
  assert.equal(urls.length, 2);
});

test('4xx is never retried: 403, 404 and 409 come back typed at once', async () => {
  for (const [status, kind] of [
    [403, 'Forbidden'],
    [404, 'NotFound'],
    [409, 'Conflict'],
    [400, 'BadResponse'],
  ] as const) {
    const { fetch, urls } = fakeOctavia({
      '/v2/lbaas/loadbalancers/lb': { status, body: { faultstring: `fault ${status}` } },
    });
    const octavia = createOctaviaClient(createSession(cloud('http://o'), { fetch }), {
      backoffMs: 1,
    });
    await assert.rejects(octavia.getLoadBalancer('lb'), (err: unknown) => {
      assert.ok(err instanceof OpenStackError);
      assert.equal(err.kind, kind);
      assert.equal(err.status, status);
      assert.equal(err.message, `octavia getLoadBalancer: ${status} fault ${status}`);
      return true;
    });
    assert.equal(urls.length, 1);
  }
});

test('an answer without the documented object is a BadResponse', async () => {
  const { fetch } = fakeOctavia({
    '/v2/lbaas/loadbalancers/lb': { status: 200, body: { oops: {} } },
  });
  const octavia = createOctaviaClient(createSession(cloud('http://o'), { fetch }));
  await assert.rejects(octavia.getLoadBalancer('lb'), {
    kind: 'BadResponse',
    message: /no "loadbalancer" object/,
  });
});

test('getTree: requests proportional to pools, not members', async () => {
  const members = Array.from({ length: 50 }, (_, i) => member(String(i)));
  const { fetch, urls } = fakeOctavia({
    '/v2/lbaas/loadbalancers/lb': { status: 200, body: { loadbalancer: { id: 'lb' } } },
    '/v2/lbaas/listeners?loadbalancer_id=lb&limit=1000': {
      status: 200,
      body: { listeners: [{ id: 'l1' }] },
    },
    '/v2/lbaas/pools?loadbalancer_id=lb&limit=1000': {
      status: 200,
      body: {
        pools: [
          { id: 'p1', healthmonitor_id: 'hm1', members: [{ id: '0' }, { id: '1' }] },
          { id: 'p2', healthmonitor_id: null },
        ],
      },
    },
    '/v2/lbaas/pools/p1/members?limit=1000': { status: 200, body: { members } },
    '/v2/lbaas/pools/p2/members?limit=1000': { status: 200, body: { members: [] } },
    '/v2/lbaas/healthmonitors/hm1': {
      status: 200,
      body: { healthmonitor: { id: 'hm1', type: 'TCP' } },
    },
  });
  const octavia = createOctaviaClient(createSession(cloud('http://o'), { fetch }));
  const tree = await octavia.getTree('lb');
  assert.equal(urls.length, 3 + 2 + 1);
  assert.equal(tree.loadBalancer.id, 'lb');
  assert.deepEqual(
    tree.listeners.map((l) => l.id),
    ['l1'],
  );
  assert.deepEqual(
    tree.pools.map((p) => [p.id, p.members.length, p.healthMonitor?.id ?? null]),
    [
      ['p1', 50, 'hm1'],
      ['p2', 0, null],
    ],
  );
  // The member ids the pool object names are kept beside the member list, to be checked.
  assert.deepEqual(
    tree.pools.map((p) => p.listedMemberIds),
    [['0', '1'], undefined],
  );
});

// The lab's OpenStack through plain HTTP, as kachiku will use it: Keystone v3 tokens (password
// and application credential) whose catalogs lead to Octavia, and an Octavia v2 load balancer
// built one object at a time, each step reaching ACTIVE through the real octavia-worker, with
// the 409 that production gives to a write while the load balancer is PENDING_*.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { labState } from '../support/lab.js';

const os = labState().openstack!;

interface CatalogEntry {
  type: string;
  name: string;
  endpoints: { url: string; interface: string; region: string; region_id: string }[];
}

interface Token {
  token: string;
  projectId: string | undefined;
  catalog: CatalogEntry[];
}

async function issueToken(auth: object): Promise<Token> {
  const res = await fetch(`${os.keystoneUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth }),
  });
  const body = (await res.json()) as {
    token: { project?: { id: string }; catalog?: CatalogEntry[] };
  };
  assert.equal(res.status, 201, JSON.stringify(body));
  const token = res.headers.get('x-subject-token');
  assert.ok(token, 'X-Subject-Token header');
  return { token, projectId: body.token.project?.id, catalog: body.token.catalog ?? [] };
}

const passwordAuth = () => ({
  identity: {
    methods: ['password'],
    password: {
      user: { name: os.user.name, domain: { name: os.user.domain }, password: os.user.password },
    },
  },
  scope: { project: { name: os.project.name, domain: { name: os.project.domain } } },
});

// An application credential carries its own scope: sending one is an error.
const appCredentialAuth = () => ({
  identity: {
    methods: ['application_credential'],
    application_credential: {
      id: os.applicationCredential.id,
      secret: os.applicationCredential.secret,
    },
  },
});

/** The public load-balancer endpoint of the lab's region, as a client finds it. */
function octaviaEndpoint(catalog: CatalogEntry[]): string {
  const service = catalog.find((c) => c.type === 'load-balancer');
  assert.ok(service, `catalog has a load-balancer service: ${JSON.stringify(catalog)}`);
  const ep = service.endpoints.find((e) => e.interface === 'public' && e.region_id === os.region);
  assert.ok(ep, `load-balancer has a public endpoint in ${os.region}`);
  return ep.url.replace(/\/+$/, '');
}

test('a password token is scoped to the project and its catalog holds load-balancer', async () => {
  const t = await issueToken(passwordAuth());
  assert.equal(t.projectId, os.project.id);
  assert.match(octaviaEndpoint(t.catalog), /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(t.catalog.some((c) => c.type === 'identity'));
});

test('an application credential token is scoped to the project and its catalog holds load-balancer', async () => {
  const t = await issueToken(appCredentialAuth());
  assert.equal(t.projectId, os.project.id);
  assert.match(octaviaEndpoint(t.catalog), /^http:\/\/127\.0\.0\.1:\d+$/);
});

// ---------------------------------------------------------------------------------------------

// Octavia's answers, read field by field in the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface OctaviaObject {
  id: string;
  provisioning_status: string;
  operating_status: string;
  [k: string]: unknown;
}

class Octavia {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${this.url}/v2/lbaas${path}`, {
      method,
      headers: {
        'x-auth-token': this.token,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (e.g. an HTML error page): keep the text for the assertion message
    }
    return { status: res.status, body: parsed };
  }

  /** A create/update that must be accepted; returns the object under `key`. */
  async write(method: string, path: string, key: string, body: unknown): Promise<OctaviaObject> {
    const r = await this.call(method, path, { [key]: body });
    assert.ok(
      r.status >= 200 && r.status < 300,
      `${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`,
    );
    return r.body[key] as OctaviaObject;
  }

  async get(path: string, key: string): Promise<OctaviaObject> {
    const r = await this.call('GET', path);
    assert.equal(r.status, 200, `GET ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body[key] as OctaviaObject;
  }

  /** Polls the load balancer until it is ACTIVE again; ERROR is fatal, as in production. */
  async waitActive(lbId: string, timeoutMs = 60_000): Promise<OctaviaObject> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lb = await this.get(`/loadbalancers/${lbId}`, 'loadbalancer');
      if (lb.provisioning_status === 'ACTIVE') return lb;
      assert.notEqual(lb.provisioning_status, 'ERROR', `load balancer ${lbId} went to ERROR`);
      assert.ok(Date.now() < deadline, `load balancer ${lbId} still ${lb.provisioning_status}`);
      await sleep(200);
    }
  }
}

test('build a load balancer one object at a time; writes while it is PENDING_* get 409', async (t) => {
  const { token, catalog } = await issueToken(passwordAuth());
  // The endpoint from the token's catalog, not from the lab state: proves the catalog.
  const octavia = new Octavia(octaviaEndpoint(catalog), token);
  const name = `labtest-${randomUUID().slice(0, 8)}`;
  const tags = ['kachiku-lab-test'];
  let lbId: string | undefined;

  t.after(async () => {
    if (!lbId) return;
    // Octavia refuses to delete a PENDING_* load balancer: wait out any a failed step left.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await octavia.call('DELETE', `/loadbalancers/${lbId}?cascade=true`);
      if (r.status === 204 || r.status === 404) break;
      if (r.status !== 409 || Date.now() > deadline) {
        assert.fail(
          `cleanup: DELETE load balancer ${lbId} -> ${r.status} ${JSON.stringify(r.body)}`,
        );
      }
      await sleep(250);
    }
    for (;;) {
      const r = await octavia.call('GET', `/loadbalancers/${lbId}`);
      if (r.status === 404 || r.body?.loadbalancer?.provisioning_status === 'DELETED') break;
      assert.ok(Date.now() < deadline, `cleanup: load balancer ${lbId} not deleted`);
      await sleep(250);
    }
  });

  let listenerId = '';
  let poolId = '';
  const memberIds: string[] = [];
  let monitorId = '';

  await t.test('load balancer', async () => {
    const lb = await octavia.write('POST', '/loadbalancers', 'loadbalancer', {
      name,
      // The no-op network driver accepts any subnet and hands out 198.51.100.1.
      vip_subnet_id: randomUUID(),
      provider: 'amphora',
      tags,
    });
    lbId = lb.id;
    assert.equal(lb.provisioning_status, 'PENDING_CREATE');
    assert.equal(lb.project_id, os.project.id);

    // Immutable while PENDING_CREATE (the worker takes about a second to build it): an update
    // of the load balancer and a child create are both refused with 409 Conflict.
    const update = await octavia.call('PUT', `/loadbalancers/${lb.id}`, {
      loadbalancer: { description: 'changed too early' },
    });
    assert.equal(update.status, 409, JSON.stringify(update.body));
    const child = await octavia.call('POST', '/listeners', {
      listener: { loadbalancer_id: lb.id, protocol: 'TCP', protocol_port: 81 },
    });
    assert.equal(child.status, 409, JSON.stringify(child.body));
    assert.match(child.body.faultstring, /immutable/i);

    const active = await octavia.waitActive(lb.id);
    assert.equal(active.name, name);
    assert.ok(active.vip_address, 'a VIP address');
  });

  await t.test('TCP listener', async () => {
    const listener = await octavia.write('POST', '/listeners', 'listener', {
      loadbalancer_id: lbId,
      name: `${name}-tcp-80`,
      protocol: 'TCP',
      protocol_port: 80,
    });
    listenerId = listener.id;
    assert.equal(listener.provisioning_status, 'PENDING_CREATE');
    await octavia.waitActive(lbId!);
    const got = await octavia.get(`/listeners/${listenerId}`, 'listener');
    assert.equal(got.provisioning_status, 'ACTIVE');
    assert.equal(got.protocol, 'TCP');
  });

  await t.test('pool', async () => {
    const pool = await octavia.write('POST', '/pools', 'pool', {
      listener_id: listenerId,
      name: `${name}-pool`,
      protocol: 'TCP',
      lb_algorithm: 'ROUND_ROBIN',
    });
    poolId = pool.id;
    await octavia.waitActive(lbId!);
    assert.equal((await octavia.get(`/pools/${poolId}`, 'pool')).provisioning_status, 'ACTIVE');
  });

  await t.test('two members', async () => {
    for (const [i, address] of ['192.0.2.10', '192.0.2.11'].entries()) {
      const member = await octavia.write('POST', `/pools/${poolId}/members`, 'member', {
        name: `${name}-m${i}`,
        address,
        protocol_port: 8080,
        weight: i + 1,
      });
      memberIds.push(member.id);
      await octavia.waitActive(lbId!);
      const got = await octavia.get(`/pools/${poolId}/members/${member.id}`, 'member');
      assert.equal(got.provisioning_status, 'ACTIVE');
      assert.equal(got.address, address);
      assert.equal(got.weight, i + 1);
    }
    const list = await octavia.call('GET', `/pools/${poolId}/members`);
    assert.deepEqual(
      (list.body.members as OctaviaObject[]).map((m) => m.id).sort(),
      [...memberIds].sort(),
    );
  });

  await t.test('health monitor', async () => {
    const hm = await octavia.write('POST', '/healthmonitors', 'healthmonitor', {
      pool_id: poolId,
      name: `${name}-hm`,
      type: 'TCP',
      delay: 5,
      timeout: 3,
      max_retries: 3,
    });
    monitorId = hm.id;
    await octavia.waitActive(lbId!);
    const got = await octavia.get(`/healthmonitors/${monitorId}`, 'healthmonitor');
    assert.equal(got.provisioning_status, 'ACTIVE');
    assert.equal((await octavia.get(`/pools/${poolId}`, 'pool')).healthmonitor_id, monitorId);
  });

  await t.test('the status tree shows the whole load balancer ACTIVE', async () => {
    const r = await octavia.call('GET', `/loadbalancers/${lbId}/status`);
    assert.equal(r.status, 200);
    const lb = r.body.statuses.loadbalancer;
    assert.equal(lb.provisioning_status, 'ACTIVE');
    const [listener] = lb.listeners;
    assert.equal(listener.id, listenerId);
    const [pool] = listener.pools;
    assert.equal(pool.id, poolId);
    assert.equal(pool.health_monitor.id, monitorId);
    assert.equal(pool.members.length, 2);
    for (const o of [listener, pool, pool.health_monitor, ...pool.members]) {
      assert.equal(o.provisioning_status, 'ACTIVE', JSON.stringify(o));
    }
  });
});

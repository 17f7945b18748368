// The OpenStack client against the lab's real Keystone and Octavia: both kinds of credentials,
// one token for many calls, the typed errors, retries, and getTree of a load balancer built
// here, read with a page size small enough that every list spans pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { labState } from '../support/lab.js';
import {
  type CloudConfig,
  type OctaviaClient,
  type Session,
  type Transport,
  OpenStackError,
  createOctaviaClient,
  createSession,
  loadCloud,
  parseCloudsYaml,
} from '../../src/clouds/openstack/index.js';

const os = labState().openstack!;
const env = { OS_CLIENT_CONFIG_FILE: os.cloudsYaml };
const passwordCloud = () => loadCloud({ cloud: os.cloud, env });
const appCredentialCloud = () => loadCloud({ cloud: os.appCredentialCloud, env });

/** Global fetch that counts Keystone authentications and all requests. */
function countingFetch() {
  const counts = { auth: 0, requests: 0 };
  const fetchFn: Transport = (url, init) => {
    counts.requests++;
    if (url.endsWith('/auth/tokens') && init.method === 'POST') counts.auth++;
    return fetch(url, init);
  };
  return { fetch: fetchFn, counts };
}

/** A TCP port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function rejectsWith(p: Promise<unknown>, kind: string): Promise<OpenStackError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpenStackError, `an OpenStackError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail(`expected ${kind}`);
}

for (const [label, cloud] of [
  ['password', passwordCloud],
  ['application credential', appCredentialCloud],
] as const) {
  test(`${label} session: a project token whose catalog leads to Octavia`, async () => {
    const session = createSession(cloud());
    const token = await session.token();
    assert.equal(token.projectId, os.project.id);
    assert.ok(token.expiresAt > Date.now() && token.renewAt < token.expiresAt);
    assert.equal(await session.endpoint('load-balancer'), os.octaviaUrl);
    const octavia = createOctaviaClient(session);
    assert.ok(Array.isArray(await octavia.listPools(randomUUID())));
  });
}

test('clouds.yaml text (as from a Secret) and OS_CLOUD choose the cloud', async () => {
  const text = readFileSync(os.cloudsYaml, 'utf8');
  const cloud = parseCloudsYaml(text, {
    env: { OS_CLOUD: os.appCredentialCloud },
    source: 'Secret x',
  });
  assert.equal(cloud.auth.type, 'v3applicationcredential');
  assert.equal(cloud.regionName, os.region);
  assert.equal((await createSession(cloud).token()).projectId, os.project.id);
});

test('one token serves many calls, sequential and concurrent', async () => {
  const { fetch, counts } = countingFetch();
  const octavia = createOctaviaClient(createSession(passwordCloud(), { fetch }));
  for (let i = 0; i < 5; i++) await octavia.listListeners(randomUUID());
  await Promise.all(Array.from({ length: 10 }, () => octavia.listPools(randomUUID())));
  assert.equal(counts.auth, 1);
  assert.equal(counts.requests, 16);
});

test('concurrent first calls share one authentication', async () => {
  const { fetch, counts } = countingFetch();
  const octavia = createOctaviaClient(createSession(appCredentialCloud(), { fetch }));
  await Promise.all(Array.from({ length: 8 }, () => octavia.listPools(randomUUID())));
  assert.equal(counts.auth, 1);
});

test('a revoked token is replaced once, transparently', async () => {
  const { fetch: countedFetch, counts } = countingFetch();
  const session = createSession(passwordCloud(), { fetch: countedFetch });
  const { value } = await session.token();
  // Revoke it before Octavia ever sees it (keystonemiddleware caches validations it made).
  const res = await fetch(`${os.keystoneUrl}/auth/tokens`, {
    method: 'DELETE',
    headers: { 'x-auth-token': value, 'x-subject-token': value },
  });
  assert.equal(res.status, 204);
  await createOctaviaClient(session).listPools(randomUUID());
  assert.equal(counts.auth, 2);
  assert.notEqual((await session.token()).value, value);
});

test('a wrong password is Unauthorized, and no secret is in the message', async () => {
  const cloud = passwordCloud();
  const wrong = `wrong-${randomUUID()}`;
  cloud.auth = { ...cloud.auth, password: wrong } as CloudConfig['auth'];
  const octavia = createOctaviaClient(createSession(cloud), { attempts: 3, backoffMs: 10 });
  const err = await rejectsWith(octavia.getLoadBalancer(randomUUID()), 'Unauthorized');
  assert.equal(err.status, 401);
  assert.equal(err.service, 'keystone');
  assert.equal(err.operation, 'authenticate');
  for (const secret of [wrong, os.user.password, os.applicationCredential.secret]) {
    assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!String(err.stack).includes(secret));
  }
});

test('a wrong application credential secret is Unauthorized, the secret not shown', async () => {
  const cloud = appCredentialCloud();
  const wrong = `wrong-${randomUUID()}`;
  cloud.auth = { ...cloud.auth, applicationCredentialSecret: wrong } as CloudConfig['auth'];
  const err = await rejectsWith(createSession(cloud).token(), 'Unauthorized');
  assert.ok(!err.message.includes(wrong), err.message);
});

test('an unknown load balancer is NotFound, without retries', async () => {
  const calls: string[] = [];
  const octavia = createOctaviaClient(createSession(passwordCloud()), {
    onCall: (op, outcome) => calls.push(`${op}:${outcome}`),
  });
  const id = randomUUID();
  const err = await rejectsWith(octavia.getLoadBalancer(id), 'NotFound');
  assert.equal(err.status, 404);
  assert.equal(err.service, 'octavia');
  assert.match(err.message, new RegExp(id));
  await rejectsWith(octavia.getHealthMonitor(randomUUID()), 'NotFound');
  assert.deepEqual(calls, ['getLoadBalancer:error', 'getHealthMonitor:error']);
});

test('an unreachable Octavia is Unreachable after 3 attempts', async () => {
  const cloud = passwordCloud();
  cloud.endpointOverrides['load-balancer'] = `http://127.0.0.1:${await closedPort()}`;
  const calls: string[] = [];
  const octavia = createOctaviaClient(createSession(cloud), {
    attempts: 3,
    backoffMs: 20,
    onCall: (op, outcome) => calls.push(`${op}:${outcome}`),
  });
  const err = await rejectsWith(octavia.listMembers(randomUUID()), 'Unreachable');
  assert.match(err.message, /ECONNREFUSED/);
  assert.match(err.message, /after 3 attempts/);
  assert.deepEqual(calls, Array(3).fill('listMembers:error'));
});

test('an unreachable Keystone is Unreachable', async () => {
  const cloud = passwordCloud();
  cloud.auth.authUrl = `http://127.0.0.1:${await closedPort()}/v3`;
  const octavia = createOctaviaClient(createSession(cloud), { attempts: 2, backoffMs: 10 });
  const err = await rejectsWith(octavia.getLoadBalancer(randomUUID()), 'Unreachable');
  assert.equal(err.service, 'keystone');
});

// ---------------------------------------------------------------------------------------------

/** Writes through the session (the client itself only reads). */
async function write(session: Session, method: string, path: string, key: string, body: object) {
  const base = `${await session.endpoint('load-balancer')}/v2/lbaas`;
  const res = (await session.request('octavia', `${method} ${path}`, `${base}${path}`, {
    method,
    body: { [key]: body },
  })) as Record<string, { id: string }>;
  return res[key] as { id: string };
}

async function waitActive(octavia: OctaviaClient, lbId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const lb = await octavia.getLoadBalancer(lbId);
    if (lb.provisioning_status === 'ACTIVE') return;
    assert.notEqual(lb.provisioning_status, 'ERROR', `load balancer ${lbId} went to ERROR`);
    assert.ok(Date.now() < deadline, `load balancer ${lbId} still ${lb.provisioning_status}`);
    await sleep(200);
  }
}

test('getTree reads a whole load balancer across pages, each member exactly once', async (t) => {
  const session = createSession(appCredentialCloud());
  const octavia = createOctaviaClient(session);
  const name = `kachiku-client-${randomUUID().slice(0, 8)}`;
  // One object at a time, ACTIVE after each: Octavia 11 answers 409 while PENDING_*.
  const lb = await write(session, 'POST', '/loadbalancers', 'loadbalancer', {
    name,
    vip_subnet_id: randomUUID(), // the lab's no-op network driver accepts any subnet
    provider: 'amphora',
  });
  const lbId = lb.id;
  t.after(async () => {
    const url = `${await session.endpoint('load-balancer')}/v2/lbaas/loadbalancers/${lbId}`;
    const deadline = Date.now() + 90_000;
    for (;;) {
      let status: string;
      try {
        status = (await octavia.getLoadBalancer(lbId)).provisioning_status;
      } catch (err) {
        if (err instanceof OpenStackError && err.kind === 'NotFound') return;
        throw err;
      }
      if (status === 'DELETED') return;
      // Octavia refuses to delete a PENDING_* load balancer (409): wait that out. ERROR (what a
      // failed step of the test leaves) is deleted too.
      if (status === 'ACTIVE' || status === 'ERROR') {
        try {
          await session.request('octavia', 'delete', `${url}?cascade=true`, { method: 'DELETE' });
        } catch (err) {
          if (!(err instanceof OpenStackError && ['Conflict', 'NotFound'].includes(err.kind))) {
            throw err;
          }
        }
      }
      assert.ok(Date.now() < deadline, `cleanup: load balancer ${lbId} still ${status}`);
      await sleep(250);
    }
  });

  await waitActive(octavia, lbId);
  const listener = await write(session, 'POST', '/listeners', 'listener', {
    loadbalancer_id: lbId,
    name: `${name}-tcp-80`,
    protocol: 'TCP',
    protocol_port: 80,
  });
  await waitActive(octavia, lbId);
  const pool = await write(session, 'POST', '/pools', 'pool', {
    listener_id: listener.id,
    name: `${name}-pool`,
    protocol: 'TCP',
    lb_algorithm: 'ROUND_ROBIN',
  });
  await waitActive(octavia, lbId);
  const memberIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    const member = await write(session, 'POST', `/pools/${pool.id}/members`, 'member', {
      name: `${name}-m${i}`,
      address: `192.0.2.${10 + i}`,
      protocol_port: 8080,
      weight: i,
      backup: i === 4,
    });
    memberIds.push(member.id);
    await waitActive(octavia, lbId);
  }
  const monitor = await write(session, 'POST', '/healthmonitors', 'healthmonitor', {
    pool_id: pool.id,
    type: 'TCP',
    delay: 5,
    timeout: 3,
    max_retries: 3,
  });
  await waitActive(octavia, lbId);
  // A second pool, on the load balancer but behind no listener and with no monitor.
  const spare = await write(session, 'POST', '/pools', 'pool', {
    loadbalancer_id: lbId,
    name: `${name}-spare`,
    protocol: 'TCP',
    lb_algorithm: 'SOURCE_IP',
  });
  await waitActive(octavia, lbId);

  const { fetch, counts } = countingFetch();
  const calls: Record<string, number> = {};
  const paged = createOctaviaClient(createSession(appCredentialCloud(), { fetch }), {
    pageSize: 2,
    onCall: (op, outcome) => {
      assert.equal(outcome, 'ok');
      calls[op] = (calls[op] ?? 0) + 1;
    },
  });
  const tree = await paged.getTree(lbId);

  assert.equal(tree.loadBalancer.id, lbId);
  assert.equal(tree.loadBalancer.provisioning_status, 'ACTIVE');
  assert.deepEqual(
    tree.listeners.map((l) => [l.id, l.protocol, l.protocol_port, l.default_pool_id]),
    [[listener.id, 'TCP', 80, pool.id]],
  );
  assert.deepEqual(tree.pools.map((p) => p.id).sort(), [pool.id, spare.id].sort());
  const main = tree.pools.find((p) => p.id === pool.id)!;
  const sparePool = tree.pools.find((p) => p.id === spare.id)!;
  assert.equal(main.healthmonitor_id, monitor.id);
  assert.equal(main.healthMonitor?.id, monitor.id);
  assert.equal(main.healthMonitor?.type, 'TCP');
  assert.equal(main.healthMonitor?.max_retries, 3);
  assert.equal(sparePool.healthMonitor, null);
  assert.deepEqual(sparePool.members, []);
  // Every member exactly once, with the fields the mirror plans from.
  assert.deepEqual(main.members.map((m) => m.id).sort(), [...memberIds].sort());
  for (const [i, id] of memberIds.entries()) {
    const m = main.members.find((x) => x.id === id)!;
    assert.equal(m.address, `192.0.2.${10 + i}`);
    assert.equal(m.protocol_port, 8080);
    assert.equal(m.weight, i);
    assert.equal(m.backup, i === 4);
    assert.equal(m.admin_state_up, true);
  }
  // Pages of 2: the 5 members take 3 requests; one request per other list and object.
  assert.deepEqual(calls, {
    getLoadBalancer: 1,
    listListeners: 1,
    listPools: 2,
    listMembers: 3 + 1,
    getHealthMonitor: 1,
  });
  assert.equal(counts.auth, 1);
});

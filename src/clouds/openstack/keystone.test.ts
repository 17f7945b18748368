import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudConfig } from './config.js';
import { OpenStackError } from './errors.js';
import {
  type CatalogService,
  authBody,
  createSession,
  renewalMargin,
  selectEndpoint,
} from './keystone.js';

const CATALOG: CatalogService[] = [
  {
    type: 'identity',
    endpoints: [{ url: 'http://k/v3', interface: 'public', region: 'One', region_id: 'One' }],
  },
  {
    type: 'load-balancer',
    name: 'octavia',
    endpoints: [
      { url: 'http://lb-one-public/', interface: 'public', region: 'One', region_id: 'One' },
      { url: 'http://lb-one-internal', interface: 'internal', region: 'One', region_id: 'One' },
      { url: 'http://lb-two-public', interface: 'public', region: 'Two', region_id: 'Two' },
    ],
  },
];

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OpenStackError);
    assert.equal(err.kind, 'Config');
    assert.match(err.message, pattern);
    return true;
  });
}

test('selectEndpoint: by service type, interface and region', () => {
  assert.equal(selectEndpoint(CATALOG, 'load-balancer', 'public', 'One'), 'http://lb-one-public');
  assert.equal(
    selectEndpoint(CATALOG, 'load-balancer', 'internal', 'One'),
    'http://lb-one-internal',
  );
  assert.equal(selectEndpoint(CATALOG, 'load-balancer', 'public', 'Two'), 'http://lb-two-public');
  assert.equal(selectEndpoint(CATALOG, 'identity', 'public'), 'http://k/v3');
  // Old catalogs say publicURL.
  const old = [
    { type: 'x', endpoints: [{ url: 'http://x', interface: 'publicURL', region: 'R' }] },
  ];
  assert.equal(selectEndpoint(old, 'x', 'public', 'R'), 'http://x');
});

test('selectEndpoint: clear errors for a missing service, interface or region, or ambiguity', () => {
  configError(
    () => selectEndpoint(CATALOG, 'compute', 'public', 'One'),
    /no compute service \(it has identity, load-balancer\)/,
  );
  configError(
    () => selectEndpoint(CATALOG, 'load-balancer', 'admin', 'One'),
    /no load-balancer endpoint with interface admin in region One \(it has public@One, internal@One, public@Two\)/,
  );
  configError(() => selectEndpoint(CATALOG, 'load-balancer', 'internal', 'Two'), /region Two/);
  configError(
    () => selectEndpoint(CATALOG, 'load-balancer', 'public'),
    /several regions \(One, Two\): set region_name/,
  );
});

test('renewalMargin: a minute, 10 % of long lifetimes, never more than half', () => {
  assert.equal(renewalMargin(3_600_000), 360_000);
  assert.equal(renewalMargin(300_000), 60_000);
  assert.equal(renewalMargin(60_000), 30_000);
});

const passwordCloud = (authUrl: string): CloudConfig => ({
  name: 'test',
  source: 'test',
  auth: {
    type: 'password',
    authUrl,
    username: 'u',
    password: 'pa55word-xyz',
    userDomainName: 'Default',
    projectName: 'p',
    projectDomainId: 'default',
  },
  regionName: 'One',
  interface: 'public',
  verify: true,
  endpointOverrides: {},
});

test('authBody: password with project scope; application credential without scope', () => {
  assert.deepEqual(authBody(passwordCloud('http://k/v3')), {
    identity: {
      methods: ['password'],
      password: {
        user: { name: 'u', domain: { name: 'Default' }, password: 'pa55word-xyz' },
      },
    },
    scope: { project: { name: 'p', domain: { id: 'default' } } },
  });
  const app = (auth: object): CloudConfig => ({
    ...passwordCloud('http://k/v3'),
    auth: {
      type: 'v3applicationcredential',
      authUrl: 'http://k/v3',
      applicationCredentialSecret: 's',
      ...auth,
    },
  });
  assert.deepEqual(authBody(app({ applicationCredentialId: 'id1' })), {
    identity: {
      methods: ['application_credential'],
      application_credential: { id: 'id1', secret: 's' },
    },
  });
  assert.deepEqual(authBody(app({ applicationCredentialName: 'n', userId: 'uid' })), {
    identity: {
      methods: ['application_credential'],
      application_credential: { name: 'n', user: { id: 'uid' }, secret: 's' },
    },
  });
});

/**
 * A stand-in for Keystone (POST /v3/auth/tokens) and for a service (GET /svc) that accepts
 * only tokens it has not been told to reject.
 */
async function fakeKeystone(t: { after(fn: () => unknown): void }, lifetimeS = 3600) {
  const state = {
    auths: 0,
    bodies: [] as unknown[],
    rejected: new Set<string>(),
    authStatus: 201,
    lifetimeS,
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v3/auth/tokens') {
        state.auths++;
        state.bodies.push(JSON.parse(body));
        if (state.authStatus !== 201) {
          res.writeHead(state.authStatus, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { code: 401, message: 'The request you have made requires authentication.' },
            }),
          );
          return;
        }
        // Keystone's clock is a day off ours: the session must not care.
        const issued = Date.now() - 86_400_000;
        res.writeHead(201, {
          'content-type': 'application/json',
          'x-subject-token': `tok-${state.auths}`,
        });
        res.end(
          JSON.stringify({
            token: {
              issued_at: new Date(issued).toISOString().replace('Z', '000Z'),
              expires_at: new Date(issued + state.lifetimeS * 1000).toISOString(),
              project: { id: 'pid' },
              catalog: [
                {
                  type: 'svc',
                  endpoints: [{ url: `${url}/svc`, interface: 'public', region_id: 'One' }],
                },
              ],
            },
          }),
        );
        return;
      }
      const token = String(req.headers['x-auth-token']);
      if (req.url === '/svc' && !state.rejected.has(token)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token }));
        return;
      }
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `token ${token} is not valid` } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => new Promise((r) => server.close(r)));
  return { url, state };
}

test('a token is reused until its renewal time, then replaced', async (t) => {
  const { url, state } = await fakeKeystone(t, 3600);
  let clock = 1_000_000;
  const session = createSession(passwordCloud(`${url}/v3`), { now: () => clock });
  const call = async () =>
    ((await session.request('svc', 'get', `${await session.endpoint('svc')}`)) as { token: string })
      .token;

  assert.equal(await call(), 'tok-1');
  assert.deepEqual(state.bodies[0], { auth: authBody(passwordCloud('')) });
  const token = await session.token();
  // Lifetime from Keystone's issued_at/expires_at, on our clock; renewed 6 min (10 %) early.
  assert.equal(token.expiresAt, 1_000_000 + 3_600_000);
  assert.equal(token.renewAt, 1_000_000 + 3_240_000);
  clock += 3_240_000 - 1;
  assert.equal(await call(), 'tok-1');
  assert.equal(state.auths, 1);
  clock += 1;
  assert.equal(await call(), 'tok-2');
  assert.equal(await call(), 'tok-2');
  assert.equal(state.auths, 2);
});

test('concurrent callers share one authentication', async (t) => {
  const { url, state } = await fakeKeystone(t);
  const session = createSession(passwordCloud(`${url}/v3`));
  const tokens = await Promise.all(Array.from({ length: 10 }, () => session.token()));
  assert.equal(new Set(tokens.map((x) => x.value)).size, 1);
  assert.equal(state.auths, 1);
});

test('a 401 from a service re-authenticates once; a second 401 is Unauthorized', async (t) => {
  const { url, state } = await fakeKeystone(t);
  const session = createSession(passwordCloud(`${url}/v3`));
  await session.token();
  state.rejected.add('tok-1');
  assert.deepEqual(await session.request('svc', 'get', `${url}/svc`), { token: 'tok-2' });
  assert.equal(state.auths, 2);

  state.rejected.add('tok-2');
  state.rejected.add('tok-3');
  await assert.rejects(session.request('svc', 'get', `${url}/svc`), (err: unknown) => {
    assert.ok(err instanceof OpenStackError);
    assert.equal(err.kind, 'Unauthorized');
    assert.equal(err.status, 401);
    // The token Keystone echoed back is scrubbed.
    assert.equal(err.message, 'svc get: 401 token *** is not valid');
    return true;
  });
  assert.equal(state.auths, 3);
});

test('a failed authentication is Unauthorized, tried once, the password not shown', async (t) => {
  const { url, state } = await fakeKeystone(t);
  state.authStatus = 401;
  const session = createSession(passwordCloud(`${url}/v3`));
  await assert.rejects(session.request('svc', 'get', `${url}/svc`), (err: unknown) => {
    assert.ok(err instanceof OpenStackError);
    assert.equal(err.kind, 'Unauthorized');
    assert.equal(err.service, 'keystone');
    assert.equal(
      err.message,
      'keystone authenticate: 401 The request you have made requires authentication.',
    );
    return true;
  });
  assert.equal(state.auths, 1);
});

test('a service that does not answer in time is Unreachable', async (t) => {
  const server = createServer(() => {}); // accepts, never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const session = createSession(passwordCloud(`${url}/v3`), { timeoutMs: 100 });
  await assert.rejects(session.token(), (err: unknown) => {
    assert.ok(err instanceof OpenStackError);
    assert.equal(err.kind, 'Unreachable');
    assert.match(
      err.message,
      /cannot reach http:\/\/127\.0\.0\.1:\d+\/v3\/auth\/tokens: timed out/,
    );
    return true;
  });
});

test('an endpoint override replaces the catalog', async () => {
  const cloud = passwordCloud('http://127.0.0.1:9/v3');
  cloud.endpointOverrides['load-balancer'] = 'http://octavia.example/';
  // No authentication needed to know it.
  assert.equal(await createSession(cloud).endpoint('load-balancer'), 'http://octavia.example');
});

test('TLS: the system CAs by default, else cacert, else verify: false', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const server = createHttpsServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'tls-token' });
      res.end(
        JSON.stringify({ token: { expires_at: new Date(Date.now() + 3.6e6).toISOString() } }),
      );
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  const base = passwordCloud(`https://127.0.0.1:${(server.address() as AddressInfo).port}/v3`);

  await assert.rejects(createSession(base).token(), {
    kind: 'Unreachable',
    message: /SELF_SIGNED/,
  });
  assert.equal((await createSession({ ...base, cacert: cert }).token()).value, 'tls-token');
  assert.equal((await createSession({ ...base, verify: false }).token()).value, 'tls-token');
  configError(
    () => createSession({ ...base, cacert: join(dir, 'nope.pem') }),
    /cannot read cacert/,
  );
});

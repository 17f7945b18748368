// The registry client's handling of answers the lab's registries never give (they are tested in
// test/clouds/registry.test.ts): a loopback server playing a registry that misbehaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listTags, manifestDigest } from './client.js';
import { isSourceError } from '../source-error.js';

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

async function withRegistry(handler: Handler, f: (host: string) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => handler(req, res, `http://${host}`));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    await f(host);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

test('a next page on another origin, or one already read, is refused rather than followed', async () => {
  await withRegistry(
    (_req, res) =>
      json(
        res,
        200,
        { tags: ['a'] },
        { link: '<http://elsewhere.example/v2/app/tags/list?n=1&last=a>; rel="next"' },
      ),
    async (host) => {
      await assert.rejects(
        listTags(`${host}/app`, { insecure: true }),
        (e) => isSourceError(e, 'BadResponse') && /another origin/.test(e.message),
      );
    },
  );
  await withRegistry(
    (_req, res) =>
      json(res, 200, { tags: ['a'] }, { link: '</v2/app/tags/list?n=1000>; rel="next"' }),
    async (host) => {
      await assert.rejects(
        listTags(`${host}/app`, { insecure: true }),
        (e) => isSourceError(e, 'BadResponse') && /already read/.test(e.message),
      );
    },
  );
});

test('null tags (all deleted) is an empty list; a body without a list is BadResponse', async () => {
  await withRegistry(
    (_req, res) => json(res, 200, { name: 'app', tags: null }),
    async (host) => assert.deepEqual(await listTags(`${host}/app`, { insecure: true }), []),
  );
  await withRegistry(
    (_req, res) => json(res, 200, { name: 'app', tags: 'v1' }),
    async (host) =>
      assert.rejects(listTags(`${host}/app`, { insecure: true }), (e) =>
        isSourceError(e, 'BadResponse'),
      ),
  );
});

test('429 and 5xx are Unreachable (retryable); a 401 without a challenge is AuthFailed', async () => {
  for (const [status, kind] of [
    [429, 'Unreachable'],
    [503, 'Unreachable'],
    [400, 'BadResponse'],
    [401, 'AuthFailed'],
  ] as const) {
    await withRegistry(
      (_req, res) => json(res, status, { errors: [{ code: 'X', message: 'said so' }] }),
      async (host) => {
        await assert.rejects(
          listTags(`${host}/app`, { insecure: true }),
          (e) => isSourceError(e, kind) && e.retryable === (kind === 'Unreachable'),
          String(status),
        );
      },
    );
  }
});

test('an anonymous token is fetched when the realm grants one; the scope asked is pull of the repository', async () => {
  const seen: string[] = [];
  await withRegistry(
    (req, res, base) => {
      const url = new URL(req.url!, base);
      if (url.pathname === '/token') {
        seen.push(
          `${url.searchParams.get('service')} ${url.searchParams.get('scope')} ${req.headers.authorization ?? 'anonymous'}`,
        );
        return json(res, 200, { access_token: 'anon-token' });
      }
      if (req.headers.authorization !== 'Bearer anon-token')
        return json(
          res,
          401,
          {},
          { 'www-authenticate': `Bearer realm="${base}/token",service="reg"` },
        );
      json(res, 200, { tags: ['1.0.0'] });
    },
    async (host) => {
      assert.deepEqual(await listTags(`${host}/team/app`, { insecure: true }), ['1.0.0']);
      assert.deepEqual(seen, ['reg repository:team/app:pull anonymous']);
    },
  );
});

test('manifestDigest falls back to hashing the manifest when HEAD has no digest header', async () => {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  const accepts: string[] = [];
  await withRegistry(
    (req, res) => {
      accepts.push(String(req.headers.accept));
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(req.method === 'HEAD' ? undefined : manifest);
    },
    async (host) => {
      assert.equal(
        await manifestDigest(`${host}/app`, 'v1', { insecure: true }),
        `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
      );
      assert.equal(accepts.length, 2);
      assert.match(accepts[0]!, /application\/vnd\.oci\.image\.index\.v1\+json/);
      assert.match(accepts[0]!, /application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
    },
  );
  await assert.rejects(manifestDigest('127.0.0.1:1/app', 'bad tag!'), (e) =>
    isSourceError(e, 'Invalid'),
  );
});

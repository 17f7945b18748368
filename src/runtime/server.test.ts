import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundAddress, serve, type HttpRequest } from './server.js';

test('serve: a handler gets POSTs under its prefix with the raw body; other methods 405; a body over the limit 413', async () => {
  const seen: HttpRequest[] = [];
  const server = await serve(
    '127.0.0.1:0',
    { '/healthz': async () => ({ status: 200, body: 'ok\n' }) },
    [
      {
        prefix: '/hooks/',
        methods: ['POST'],
        maxBodyBytes: 16,
        handle: async (req) => (seen.push(req), { status: 202, body: 'queued\n' }),
      },
    ],
  );
  const base = `http://${boundAddress(server)}`;
  try {
    const ok = await fetch(`${base}/hooks/ns/web?x=1`, { method: 'POST', body: '{"a":1}' });
    assert.equal(ok.status, 202);
    assert.equal(await ok.text(), 'queued\n');
    assert.equal(seen[0]?.path, '/hooks/ns/web');
    assert.equal(seen[0]?.body.toString(), '{"a":1}');
    assert.equal(seen[0]?.method, 'POST');

    const get = await fetch(`${base}/hooks/ns/web`);
    assert.equal(get.status, 405);
    await get.text();
    const big = await fetch(`${base}/hooks/ns/web`, { method: 'POST', body: 'x'.repeat(17) });
    assert.equal(big.status, 413);
    await big.text();
    assert.equal(seen.length, 1, 'the handler saw neither');

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const missing = await fetch(`${base}/nowhere`, { method: 'POST' });
    assert.equal(missing.status, 404);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

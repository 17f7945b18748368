import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRuntimeApiError } from './errors.js';
import { frame, parseTarget, runtimeClient, word } from './socket.js';

/** A unix-socket stand-in for HAProxy's CLI: hands each request to `answer`, which replies. */
async function fakeCli(answer: (request: string, s: Socket) => void): Promise<[string, Server]> {
  const path = join(mkdtempSync(join(tmpdir(), 'kachiku-cli-')), 'admin.sock');
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let request = '';
    s.on('data', (c) => (request += c.toString()));
    s.on('end', () => answer(request, s));
    s.on('error', () => {});
  });
  await new Promise<void>((ok) => server.listen(path, ok));
  return [path, server];
}

test('targets: unix paths and TCP addresses, with or without HAProxy prefixes', () => {
  assert.deepEqual(parseTarget('/run/haproxy/admin.sock'), { socket: '/run/haproxy/admin.sock' });
  assert.deepEqual(parseTarget('unix@/tmp/a.sock'), { socket: '/tmp/a.sock' });
  assert.deepEqual(parseTarget('127.0.0.1:9999'), { host: '127.0.0.1', port: 9999 });
  assert.deepEqual(parseTarget('ipv4@10.0.0.1:80'), { host: '10.0.0.1', port: 80 });
  assert.deepEqual(parseTarget('[::1]:9999'), { host: '::1', port: 9999 });
});

test('framing: a command line, or a payload closed by an empty line', () => {
  assert.equal(frame('show info'), 'show info\n');
  assert.equal(frame('add map @2 m', ['a b', 'c d e']), 'add map @2 m <<\na b\nc d e\n\n');
});

test('words: ; and \\ escaped, whitespace and control characters refused', () => {
  assert.equal(word('x', 'be_1'), 'be_1');
  assert.equal(word('x', 'a;b\\c'), 'a\\;b\\\\c');
  for (const bad of ['', 'a b', 'a\nb', 'a\tb', 'a\x00'])
    assert.throws(
      () => word('x', bad),
      (e) => isRuntimeApiError(e, 'Invalid'),
    );
});

test('one exchange per connection: the request as framed, the answer without its closing empty line', async () => {
  const seen: string[] = [];
  const [path, server] = await fakeCli((req, s) => {
    seen.push(req);
    s.end(req.startsWith('prepare') ? 'New version created: 7\n\n' : '\n');
  });
  try {
    const c = runtimeClient(path);
    assert.equal(await c.send('prepare map m'), 'New version created: 7');
    assert.equal(await c.send('add map @7 m', ['k v']), '');
    assert.deepEqual(seen, ['prepare map m\n', 'add map @7 m <<\nk v\n\n']);
  } finally {
    server.close();
  }
});

test('transport failures are typed: no socket, no answer, a cut answer, a timeout, too large', async () => {
  const [path, server] = await fakeCli((req, s) => {
    if (req.startsWith('drop')) s.end();
    else if (req.startsWith('cut')) s.end('half an ans');
    // 'hang': never answers
  });
  try {
    const c = runtimeClient(path, { timeoutMs: 300, maxRequestBytes: 64 });
    const kind = async (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (isRuntimeApiError(e) ? e.kind : String(e)),
      );
    assert.equal(await kind(runtimeClient(`${path}.none`).send('show info')), 'Unreachable');
    assert.equal(await kind(c.send('drop')), 'NoAnswer');
    assert.equal(await kind(c.send('cut')), 'BadResponse');
    const t0 = Date.now();
    assert.equal(await kind(c.send('hang')), 'Timeout');
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(await kind(c.send('add map m', ['k'.repeat(40), 'v'.repeat(40)])), 'Invalid');
  } finally {
    server.close();
  }
});

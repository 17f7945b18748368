// The watch stream's decoding, against a loopback HTTP server that sends the bytes of one event
// in two chunks split inside a UTF-8 character (the apiserver's chunks fall anywhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Rest } from './rest.js';

test('a watch event split inside a UTF-8 character arrives whole', async () => {
  const line = Buffer.from(
    JSON.stringify({
      type: 'ADDED',
      object: { metadata: { name: 'w', labels: { note: 'café ☕' } } },
    }) + '\n',
  );
  const cut = line.indexOf(Buffer.from('☕')) + 1;
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(line.subarray(0, cut));
    setTimeout(() => res.end(line.subarray(cut)), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    {
      name: 'c',
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      skipTLSVerify: false,
    },
    { name: 'u' },
  );
  const rest = new Rest(kc);
  try {
    const got = [];
    const gvr = { group: 'x.io', version: 'v1', resource: 'ws', namespaced: false };
    for await (const ev of rest.watch(gvr, undefined, {}, AbortSignal.timeout(5_000))) got.push(ev);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.object.metadata.labels?.note, 'café ☕');
  } finally {
    await rest.close();
    server.close();
  }
});

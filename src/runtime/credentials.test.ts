import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsFor, refreshAt, ExecCredentials } from './credentials.js';

const cluster = { name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false };

/** A real exec plugin: a shell script that counts its runs and prints a token per run. */
function plugin(expiresInSeconds: number | undefined, opts: { fail?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-exec-'));
  const count = join(dir, 'count');
  writeFileSync(count, '0');
  const script = join(dir, 'plugin.sh');
  const expiry =
    expiresInSeconds === undefined
      ? ''
      : `,\\"expirationTimestamp\\":\\"$(date -u -d "+${expiresInSeconds} seconds" +%Y-%m-%dT%H:%M:%SZ)\\"`;
  writeFileSync(
    script,
    `#!/bin/sh
n=$(($(cat ${count}) + 1)); echo $n > ${count}
${opts.fail ? 'echo "not logged in" >&2; exit 3' : ''}
[ -n "$KUBERNETES_EXEC_INFO" ] || exit 4
echo "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"tok-$n-$EXTRA\\"${expiry}}}"
`,
  );
  chmodSync(script, 0o755);
  return {
    exec: { command: script, env: [{ name: 'EXTRA', value: 'x' }] },
    runs: () => Number(readFileSync(count, 'utf8')),
  };
}

test('refreshAt: a fifth of the life before expiry, at most a minute', () => {
  assert.equal(refreshAt(0, 10_000), 8_000);
  assert.equal(refreshAt(0, 3_600_000), 3_540_000);
});

test('a static token and basic auth are headers; no user, no header', async () => {
  assert.equal(
    await credentialsFor({ name: 'u', token: 't' }, cluster).authorization(),
    'Bearer t',
  );
  assert.equal(
    await credentialsFor({ name: 'u', username: 'a', password: 'b' }, cluster).authorization(),
    `Basic ${Buffer.from('a:b').toString('base64')}`,
  );
  assert.equal(await credentialsFor(null, cluster).authorization(), undefined);
});

test('a token file is read, and read again after a 401', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kachiku-token-')), 'token');
  writeFileSync(file, 'one\n');
  const creds = credentialsFor(
    { name: 'u', authProvider: { name: 'tokenFile', config: { tokenFile: file } } },
    cluster,
  );
  const first = await creds.authorization();
  assert.equal(first, 'Bearer one');
  writeFileSync(file, 'two\n');
  assert.equal(await creds.authorization(), 'Bearer one', 'cached within the minute');
  assert.equal(creds.rejected(first!), true);
  assert.equal(await creds.authorization(), 'Bearer two');
});

test('an exec plugin runs once while its token is fresh, with its env and KUBERNETES_EXEC_INFO', async () => {
  const p = plugin(3600);
  const creds = credentialsFor({ name: 'u', exec: p.exec }, cluster);
  const [a, b] = await Promise.all([creds.authorization(), creds.authorization()]);
  assert.equal(a, 'Bearer tok-1-x');
  assert.equal(b, a);
  assert.equal(await creds.authorization(), a);
  assert.equal(p.runs(), 1);
});

test('an exec token is renewed before it expires', async () => {
  const p = plugin(5);
  const creds = new ExecCredentials(p.exec, cluster);
  assert.equal(await creds.authorization(), 'Bearer tok-1-x');
  // The timestamp has whole seconds, so the token lives 4–5 s and is renewed ~1 s before.
  await new Promise((r) => setTimeout(r, 4_200));
  assert.equal(await creds.authorization(), 'Bearer tok-2-x');
  assert.equal(p.runs(), 2);
});

test('a rejected exec token is asked for again, but not in a hot loop', async () => {
  const p = plugin(undefined);
  const creds = new ExecCredentials(p.exec, cluster);
  const first = await creds.authorization();
  assert.equal(creds.rejected(first), true);
  const t0 = Date.now();
  assert.equal(await creds.authorization(), 'Bearer tok-2-x');
  creds.rejected('Bearer tok-2-x');
  assert.equal(await creds.authorization(), 'Bearer tok-3-x');
  assert.ok(Date.now() - t0 >= 2_000, 'runs after a 401 are spaced');
  assert.equal(p.runs(), 3);
});

test('a failing plugin gives its error and stderr, no token', async () => {
  const p = plugin(60, { fail: true });
  await assert.rejects(
    new ExecCredentials(p.exec, cluster).authorization(),
    /exec credential plugin .* failed: .*not logged in/,
  );
});

test('an unsupported auth provider is a clear error', () => {
  assert.throws(
    () => credentialsFor({ name: 'u', authProvider: { name: 'oidc', config: {} } }, cluster),
    /auth provider "oidc" is not supported/,
  );
});

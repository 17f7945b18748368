import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, gitEnv, lsRemote, parseLsRemote } from './lsremote.js';
import { isSourceError } from '../source-error.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('parseLsRemote reads heads, tags and peeled tags; rejects anything else', () => {
  assert.deepEqual(
    parseLsRemote(`${A}\trefs/heads/main\n${B}\trefs/tags/v1.0.0\n${A}\trefs/tags/v1.0.0^{}\n`),
    [
      { name: 'refs/heads/main', sha: A },
      { name: 'refs/tags/v1.0.0', sha: B },
      { name: 'refs/tags/v1.0.0^{}', sha: A },
    ],
  );
  assert.deepEqual(parseLsRemote(''), []);
  // SHA-256 repositories have 64-character ids.
  assert.equal(parseLsRemote(`${'c'.repeat(64)}\trefs/heads/x\n`)[0]?.sha.length, 64);
  for (const bad of ['warning: x', `${A} refs/heads/main`, `zz\trefs/heads/main`, `${A}\tHEAD`]) {
    assert.throws(
      () => parseLsRemote(bad),
      (e) => isSourceError(e, 'BadResponse'),
      bad,
    );
  }
});

test('classify names the kind from git messages, and says whether credentials were given', () => {
  const url = 'https://git.example/team/app.git';
  const cases: [string, string][] = [
    [
      "fatal: could not read Username for 'https://git.example': terminal prompts disabled",
      'AuthFailed',
    ],
    [
      "remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://git.example/x.git/'",
      'AuthFailed',
    ],
    [
      "fatal: unable to access 'https://git.example/x.git/': The requested URL returned error: 403",
      'AuthFailed',
    ],
    [
      "remote: repository 'x.git' not found\nfatal: repository 'https://git.example/x.git/' not found",
      'NotFound',
    ],
    [
      "fatal: unable to access 'https://nohost.invalid/x.git/': Could not resolve host: nohost.invalid",
      'Unreachable',
    ],
    [
      "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server",
      'Unreachable',
    ],
    [
      "fatal: unable to access 'https://git.example/x.git/': The requested URL returned error: 502",
      'Unreachable',
    ],
    [
      "fatal: unable to access 'https://git.example/': SSL certificate problem: self-signed certificate",
      'Unreachable',
    ],
    ["fatal: transport 'file' not allowed", 'Invalid'],
    ['fatal: protocol error: bad line length character: <htm', 'BadResponse'],
  ];
  for (const [stderr, kind] of cases) {
    const e = classify(url, stderr, true);
    assert.equal(e.kind, kind, stderr);
    assert.equal(e.source, 'git');
  }
  assert.match(
    classify(url, cases[0]![0], false).message,
    /credentials are needed and none were given/,
  );
  assert.match(classify(url, cases[0]![0], true).message, /the credentials were refused/);
});

test('gitEnv puts the credentials in a config header scoped to the origin, nowhere else', () => {
  const env = gitEnv('https://git.example:8443/team/app.git', {
    username: 'u',
    password: 'hunter22',
  });
  assert.equal(env.GIT_CONFIG_COUNT, '2');
  assert.equal(env.GIT_CONFIG_KEY_0, 'credential.helper');
  assert.equal(env.GIT_CONFIG_KEY_1, 'http.https://git.example:8443/.extraHeader');
  assert.equal(
    env.GIT_CONFIG_VALUE_1,
    `Authorization: Basic ${Buffer.from('u:hunter22').toString('base64')}`,
  );
  assert.equal(env.GIT_TERMINAL_PROMPT, '0');
  assert.equal(env.GIT_CONFIG_GLOBAL, '/dev/null');
  assert.equal(
    gitEnv('https://h/x.git', { bearerToken: 'tok' }).GIT_CONFIG_VALUE_1,
    'Authorization: Bearer tok',
  );
  // No header for SSH: it has its own keys.
  assert.equal(gitEnv('ssh://git@h/x.git', { bearerToken: 'tok' }).GIT_CONFIG_COUNT, '1');
});

test('lsRemote refuses option-like and local URLs before or through git', async () => {
  await assert.rejects(lsRemote('--upload-pack=touch /tmp/x'), (e) => isSourceError(e, 'Invalid'));
  await assert.rejects(lsRemote('file:///etc'), (e) => isSourceError(e, 'Invalid'));
  await assert.rejects(lsRemote('ext::sh -c touch% /tmp/pwned'), (e) =>
    isSourceError(e, 'Invalid'),
  );
});

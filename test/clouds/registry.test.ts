// clouds/registry against the lab's two registries on one storage: distribution 2.8 with basic
// auth (answers every tag at once, whatever `n`) and distribution v3 with token auth (pages with
// a Link header). Tags pushed through the API are listed across pages, selected by a semver
// range, checked to exist by digest; failures come out typed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { labState } from '../support/lab.js';
import { pushImageTags } from '../support/registry.js';
import {
  isSourceError,
  listTags,
  manifestDigest,
  type OnRegistryCall,
} from '../../src/clouds/registry/index.js';
import { selectImageTag, type Selected } from '../../src/fleet/versions.js';

const versionOf = (s: Selected) => (s.ok ? s.version : `none: ${s.message}`);

const reg = labState().registry!;
const credentials = { username: reg.username, password: reg.password };
const basicRef = (repo: string) => `${new URL(reg.url).host}/${repo}`;
const tokenRef = (repo: string) => `${new URL(reg.tokenUrl).host}/${repo}`;
const newRepo = () => `tests/${randomUUID().slice(0, 8)}/app`;

/** Counts the calls by operation and status. */
function recorder(): { onCall: OnRegistryCall; calls: string[] } {
  const calls: string[] = [];
  return { calls, onCall: (op, status) => calls.push(`${op} ${status}`) };
}

test('tags pushed are listed and selected by a semver range; their digests are found (basic auth, 2.8)', async () => {
  const repo = newRepo();
  const pushed = ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0', 'latest'];
  const digests = await pushImageTags(reg.url, repo, pushed, credentials);

  const { onCall, calls } = recorder();
  const tags = await listTags(basicRef(repo), { credentials, insecure: true, pageSize: 2, onCall });
  assert.deepEqual([...tags].sort(), [...pushed].sort());
  // 2.8 ignores n: one answer with every tag, after the 401 that asked for basic auth.
  assert.deepEqual(calls, ['listTags 401', 'listTags 200']);

  assert.equal(versionOf(selectImageTag(tags, { semver: { range: '^1.0.0' } })), '1.1.0');
  assert.equal(versionOf(selectImageTag(tags, { semver: { range: '>=2.0.0' } })), '2.0.0');
  const none = selectImageTag(tags, { semver: { range: '>=3.0.0' } });
  assert.equal(none.ok, false, 'no tag in the range: nothing is selected');

  for (const ref of [basicRef(repo), tokenRef(repo)]) {
    assert.equal(
      await manifestDigest(ref, '1.1.0', { credentials, insecure: true }),
      digests.get('1.1.0'),
    );
    await assert.rejects(manifestDigest(ref, '9.9.9', { credentials, insecure: true }), (e) =>
      isSourceError(e, 'NotFound'),
    );
  }
});

test('the v3 registry pages tags/list: 25 tags with n=10 come in 3 pages under one token', async () => {
  const repo = newRepo();
  const pushed = Array.from({ length: 25 }, (_, i) => `1.0.${i}`);
  await pushImageTags(reg.url, repo, pushed, credentials);
  const { onCall, calls } = recorder();
  const tags = await listTags(tokenRef(repo), {
    credentials,
    insecure: true,
    pageSize: 10,
    onCall,
  });
  assert.deepEqual([...tags].sort(), [...pushed].sort());
  assert.deepEqual(calls, [
    'listTags 401', // the Bearer challenge
    'token 200',
    'listTags 200',
    'listTags 200',
    'listTags 200',
  ]);
  assert.equal(versionOf(selectImageTag(tags, { semver: { range: '~1.0.0' } })), '1.0.24');
  assert.equal(selectImageTag(tags, { semver: { range: '^2' } }).ok, false);
});

test('wrong or no credentials, a missing repository and a closed port give typed errors', async () => {
  const repo = newRepo();
  await pushImageTags(reg.url, repo, ['1.0.0'], credentials);
  const wrong = { username: reg.username, password: 'wrong' };
  for (const ref of [basicRef(repo), tokenRef(repo)]) {
    await assert.rejects(
      listTags(ref, { credentials: wrong, insecure: true }),
      (e) => isSourceError(e, 'AuthFailed') && /refused/.test(e.message),
      ref,
    );
    await assert.rejects(listTags(ref, { insecure: true }), (e) => isSourceError(e, 'AuthFailed'));
    await assert.rejects(
      manifestDigest(ref, '1.0.0', { credentials: wrong, insecure: true }),
      (e) => isSourceError(e, 'AuthFailed'),
    );
  }
  for (const ref of [basicRef(newRepo()), tokenRef(newRepo())]) {
    await assert.rejects(
      listTags(ref, { credentials, insecure: true }),
      (e) => isSourceError(e, 'NotFound') && /NAME_UNKNOWN/.test(e.message),
      ref,
    );
  }
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  await assert.rejects(listTags(`127.0.0.1:${port}/app`, { credentials, insecure: true }), (e) =>
    isSourceError(e, 'Unreachable'),
  );
  await assert.rejects(listTags('127.0.0.1:1/App', { insecure: true }), (e) =>
    isSourceError(e, 'Invalid'),
  );
});

// The lab's git server front (git-server.ts): every request needs the lab's credentials, a push
// to a new name creates the repository but only for that user and only under the repos
// directory, and reads of a missing repository are 404s that create nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { labState } from '../support/lab.js';

const git = labState().git!;
const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function get(path: string, authorization?: string) {
  const res = await fetch(`${git.url}${path}`, {
    headers: authorization ? { authorization } : {},
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

test('the git server asks for credentials, and creates a repository only on an authenticated push', async () => {
  const name = `lab-${randomUUID().slice(0, 8)}.git`;
  const receive = `/${name}/info/refs?service=git-receive-pack`;
  const none = await get(receive);
  assert.equal(none.status, 401);
  assert.equal((await get(receive, basic(git.username, 'wrong'))).status, 401);
  assert.equal(
    (await get(`/${name}/info/refs?service=git-upload-pack`, basic(git.username, git.password)))
      .status,
    404,
  );
  assert.equal(existsSync(join(git.reposDir, name)), false, 'nothing was created');

  const ok = await get(receive, basic(git.username, git.password));
  assert.equal(ok.status, 200);
  assert.equal(ok.type, 'application/x-git-receive-pack-advertisement');
  assert.equal(existsSync(join(git.reposDir, name)), true);
});

test('the git server refuses paths outside its repositories', async () => {
  const auth = basic(git.username, git.password);
  const escape = `escape-${randomUUID().slice(0, 8)}.git`;
  // Dot segments are resolved by the URL parser: a path that climbs ends at the root, inside.
  for (const path of [
    `/../${escape}/info/refs?service=git-receive-pack`,
    `/a/%2e%2e/%2e%2e/${escape}/info/refs?service=git-receive-pack`,
    `/a%2F..%2F..%2F${escape}/info/refs?service=git-receive-pack`,
  ]) {
    await raw(path, auth);
    assert.equal(existsSync(join(git.reposDir, '..', escape)), false, path);
  }
  assert.equal(await raw('/a%2F..%2Fb.git/info/refs?service=git-receive-pack', auth), 404);
  assert.equal(await raw('/a/.hidden.git/info/refs?service=git-receive-pack', auth), 404);
  assert.equal(await raw('/not-a-repo/info/refs', auth), 404);
  assert.equal(existsSync(join(git.reposDir, 'a', '.hidden.git')), false);
});

/** A request with the path exactly as written (fetch would resolve its dot segments first). */
function raw(path: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${git.url}/`, { path, headers: { authorization } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

// clouds/git against the lab's git server (git http-backend): ls-remote sees what was pushed, and
// with selectGitVersion picks the version each ref rule means; failures come out typed; the
// credentials are in no process's arguments while git runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { labState } from '../support/lab.js';
import { pushCommit } from '../support/git.js';
import { lsRemote, isSourceError, type GitRef } from '../../src/clouds/git/index.js';
import { selectGitVersion, type Selected } from '../../src/fleet/versions.js';

const versionOf = (s: Selected) => (s.ok ? s.version : `none: ${s.message}`);

const git = labState().git!;
const auth = { username: git.username, password: git.password };
const repoUrl = () => `${git.url}/tests/${randomUUID().slice(0, 8)}/app.git`;
const sha = (refs: GitRef[], name: string) => refs.find((r) => r.name === name)?.sha;

test('ls-remote sees pushed tags and branch heads; selectGitVersion picks by branch, tag and semver', async () => {
  const url = repoUrl();
  const c1 = await pushCommit(url, auth, { tags: ['v1.0.0'] });
  const c2 = await pushCommit(url, auth, { annotatedTags: ['v1.1.0'] });
  const c3 = await pushCommit(url, auth, { tags: ['v2.0.0'] });
  const r1 = await pushCommit(url, auth, { branch: 'release-1', tags: ['v1.2.0-rc.1'] });

  let refs = await lsRemote(url, { auth });
  assert.equal(sha(refs, 'refs/heads/main'), c3);
  assert.equal(sha(refs, 'refs/heads/release-1'), r1);
  assert.equal(sha(refs, 'refs/tags/v1.0.0'), c1);
  assert.equal(sha(refs, 'refs/tags/v1.1.0^{}'), c2, 'the annotated tag, peeled');
  assert.notEqual(sha(refs, 'refs/tags/v1.1.0'), c2, 'the tag object itself is another id');
  assert.ok(!refs.some((r) => r.name === 'HEAD'), 'only heads and tags');

  assert.deepEqual(selectGitVersion(refs, { branch: 'main' }), {
    ok: true,
    version: 'v2.0.0',
    tag: 'v2.0.0',
    commit: c3,
  });
  // Outside the range: v2.0.0; a prerelease is not in ^1 either.
  assert.deepEqual(selectGitVersion(refs, { semver: '^1.0.0' }), {
    ok: true,
    version: 'v1.1.0',
    tag: 'v1.1.0',
    commit: c2,
  });
  assert.equal(versionOf(selectGitVersion(refs, { tag: 'v1.*' })), 'v1.2.0-rc.1');
  assert.equal(versionOf(selectGitVersion(refs, { branch: 'release-1' })), 'v1.2.0-rc.1');
  assert.equal(selectGitVersion(refs, { semver: '>=3' }).ok, false);

  // A commit without a tag: the branch's version is its short SHA.
  const c4 = await pushCommit(url, auth, { message: 'untagged' });
  refs = await lsRemote(url, { auth });
  assert.deepEqual(selectGitVersion(refs, { branch: 'main' }), {
    ok: true,
    version: c4.slice(0, 12),
    tag: '',
    commit: c4,
  });
});

test('credentials in the URL are moved out of it and work the same', async () => {
  const url = repoUrl();
  const c = await pushCommit(url, auth, { tags: ['v0.1.0'] });
  const u = new URL(url);
  u.username = git.username;
  u.password = git.password;
  assert.equal(sha(await lsRemote(u.href), 'refs/tags/v0.1.0'), c);
});

test('bad or missing credentials, a missing repository and a closed port give typed errors', async () => {
  const url = repoUrl();
  await pushCommit(url, auth);
  await assert.rejects(
    lsRemote(url, { auth: { username: git.username, password: 'wrong' } }),
    (e) => isSourceError(e, 'AuthFailed') && /credentials were refused/.test(e.message),
  );
  await assert.rejects(
    lsRemote(url),
    (e) => isSourceError(e, 'AuthFailed') && /none were given/.test(e.message),
  );
  await assert.rejects(lsRemote(`${git.url}/tests/none-${randomUUID()}.git`, { auth }), (e) =>
    isSourceError(e, 'NotFound'),
  );
  const closed = await closedPort();
  await assert.rejects(lsRemote(`http://127.0.0.1:${closed}/app.git`, { auth }), (e) =>
    isSourceError(e, 'Unreachable'),
  );
});

test('a server that never answers: Unreachable after the timeout, Aborted by the signal, and the password in no process listing meanwhile', async () => {
  const sockets = new Set<Socket>();
  const server = createServer((s) => sockets.add(s)); // accepts, never answers
  await listen(server);
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/app.git`;
  try {
    const t0 = Date.now();
    await assert.rejects(
      lsRemote(url, { auth, timeoutMs: 1500 }),
      (e) => isSourceError(e, 'Unreachable') && /timed out after 1500 ms/.test(e.message),
    );
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 5000, `${took} ms`);

    const ctl = new AbortController();
    const pending = lsRemote(url, { auth, signal: ctl.signal, timeoutMs: 60_000 });
    // While git waits on the server: every process below this one, its arguments.
    let seen: string[] = [];
    for (let i = 0; i < 100 && !seen.some((c) => c.includes('ls-remote')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = descendants(process.pid).map(cmdline);
    }
    assert.ok(
      seen.some((c) => c.includes('ls-remote')),
      `git ls-remote was seen running: ${seen.join(' | ')}`,
    );
    for (const c of seen) {
      assert.ok(!c.includes(git.password), `no password in "${c}"`);
      assert.ok(!c.includes(Buffer.from(`${git.username}:${git.password}`).toString('base64')));
    }
    ctl.abort();
    await assert.rejects(pending, (e) => isSourceError(e, 'Aborted'));
    // git and its helper both gone, though the server still holds their connection open.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      descendants(process.pid)
        .map(cmdline)
        .filter((c) => c.includes('git')),
      [],
    );
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

const listen = (s: Server) => new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));

async function closedPort(): Promise<number> {
  const s = createServer();
  await listen(s);
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) =>
    (children.get(p) ?? []).forEach((c) => {
      out.push(c);
      walk(c);
    });
  walk(pid);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

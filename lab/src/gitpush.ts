// Pushing to the lab's git server as a developer would, with the git binary: a commit on a
// branch (on top of what the branch has), with lightweight or annotated tags. Credentials go
// the way clouds/git sends them (a header in git's config environment), never in the URL.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gitEnv, type GitAuth } from '../../src/clouds/git/index.js';

const run = promisify(execFile);

export interface PushOptions {
  branch?: string;
  tags?: string[];
  annotatedTags?: string[];
  message?: string;
}

/** Commits (empty tree changes are fine) on `branch` of `url` and pushes it; its SHA. */
export async function pushCommit(
  url: string,
  auth: GitAuth,
  opts: PushOptions = {},
): Promise<string> {
  const branch = opts.branch ?? 'main';
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-git-'));
  const env = gitEnv(url, auth);
  const git = async (...args: string[]) =>
    (
      await run(
        'git',
        ['-c', 'user.name=kachiku test', '-c', 'user.email=test@kachiku.invalid', ...args],
        {
          cwd: dir,
          env,
        },
      )
    ).stdout.trim();
  try {
    await git('init', '--quiet');
    // On top of the branch when it exists; a new branch (or repository) starts from nothing.
    const fetched = await git('fetch', '--quiet', url, `refs/heads/${branch}`).then(
      () => true,
      () => false,
    );
    await git(
      'checkout',
      '--quiet',
      ...(fetched ? ['-B', branch, 'FETCH_HEAD'] : ['--orphan', branch]),
    );
    await git('commit', '--quiet', '--allow-empty', '-m', opts.message ?? `commit on ${branch}`);
    for (const t of opts.tags ?? []) await git('tag', t);
    for (const t of opts.annotatedTags ?? []) await git('tag', '-a', t, '-m', `release ${t}`);
    const tags = [...(opts.tags ?? []), ...(opts.annotatedTags ?? [])].map((t) => `refs/tags/${t}`);
    await git('push', '--quiet', url, `HEAD:refs/heads/${branch}`, ...tags);
    return await git('rev-parse', 'HEAD');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

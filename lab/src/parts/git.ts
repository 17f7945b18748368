// The lab's git server, a release source: Debian's `git http-backend` behind git-server.ts (smart
// HTTP with basic auth; why not `git daemon` is said there). Repositories live under the lab
// directory; tests push commits and tags to `<url>/<name>.git` with the recorded credentials,
// and a push to a new name creates the repository.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PartContext, PartHealth } from '../part.js';
import { freePort } from '../ports.js';
import { waitUntil } from '../proc.js';

const PART = 'git';

export interface GitState {
  /** Base URL; a repository is `<url>/<name>.git`. */
  url: string;
  /** Where the bare repositories are. */
  reposDir: string;
  username: string;
  password: string;
}

export async function startGit(lab: PartContext): Promise<GitState> {
  const port = await freePort();
  const state: GitState = {
    url: `http://127.0.0.1:${port}`,
    reposDir: lab.path('git', 'repos', '.keep').replace(/\/\.keep$/, ''),
    username: 'kachiku',
    password: randomBytes(12).toString('hex'),
  };
  mkdirSync(state.reposDir, { recursive: true });
  const credentials = lab.path('git', 'credentials.json');
  writeFileSync(
    credentials,
    JSON.stringify({ username: state.username, password: state.password }),
    { mode: 0o600 },
  );
  // The probe repository the health check reads, so that it tests http-backend itself.
  await lab.run({
    name: 'git-init',
    part: PART,
    command: 'git',
    args: ['init', '--quiet', '--bare', `${state.reposDir}/lab-health.git`],
  });
  const proc = lab.start({
    name: 'git-http',
    part: PART,
    command: process.execPath,
    args: [
      fileURLToPath(new URL('./git-server.js', import.meta.url)),
      String(port),
      state.reposDir,
      credentials,
    ],
  });
  await waitUntil(PART, 'git http-backend to answer', () => gitOk(state), {
    proc,
    timeoutMs: 30_000,
  });
  return state;
}

/** An authenticated ref advertisement of the probe repository: the server and http-backend work. */
async function gitOk(s: GitState): Promise<boolean> {
  const auth = Buffer.from(`${s.username}:${s.password}`).toString('base64');
  const res = await fetch(`${s.url}/lab-health.git/info/refs?service=git-upload-pack`, {
    headers: { authorization: `Basic ${auth}` },
    signal: AbortSignal.timeout(3000),
  });
  await res.arrayBuffer();
  return (
    res.status === 200 &&
    res.headers.get('content-type') === 'application/x-git-upload-pack-advertisement'
  );
}

export async function gitHealth(s: GitState): Promise<PartHealth[]> {
  return [{ part: 'git', ok: await gitOk(s).catch(() => false), detail: s.url }];
}

export function gitEnv(s: GitState): Record<string, string> {
  return {
    KACHIKU_GIT_URL: s.url,
    KACHIKU_GIT_USERNAME: s.username,
    KACHIKU_GIT_PASSWORD: s.password,
  };
}

// The refs a git repository offers, as `git ls-remote --tags --heads` lists them: no clone, one
// round trip of the smart protocol. Through the git binary rather than a library: isomorphic-git
// speaks only smart HTTP (no SSH) and is maintained by one person; nodegit needs native builds;
// git itself speaks every transport and every server's dialect, and Debian ships it.
//
// Credentials never reach a process listing or a log: they travel as an HTTP Authorization
// header in git's config *environment* (GIT_CONFIG_COUNT/KEY/VALUE, readable only by this user),
// scoped to the URL's origin (`http.<origin>/.extraHeader`), never in the arguments or the URL.
// git runs with a clean environment: no system or global config, no credential helper, no
// terminal prompt, C locale (its messages are parsed), and only the network transports allowed.
import { spawn } from 'node:child_process';
import { SourceError, deadline, where as whereUrl } from '../source-error.js';

/** A ref as ls-remote lists it; annotated tags appear twice, peeled as `<tag>^{}`. */
export interface GitRef {
  name: string;
  sha: string;
}

export type GitAuth = { username: string; password: string } | { bearerToken: string };

export interface LsRemoteOptions {
  /** For http(s) URLs; SSH URLs use the SSH agent and keys of the process. */
  auth?: GitAuth;
  signal?: AbortSignal;
  /** The whole ls-remote, connection included. Default 30 s. */
  timeoutMs?: number;
  /** A PEM bundle to trust for https, instead of the system's. */
  caFile?: string;
  /** Default `git` on PATH. */
  gitBinary?: string;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Lists the branch heads and tags of `url`. Errors are SourceErrors of source 'git'. */
export async function lsRemote(url: string, opts: LsRemoteOptions = {}): Promise<GitRef[]> {
  const { url: target, auth } = splitCredentials(url, opts.auth);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const { signal, aborted } = deadline(opts.signal, timeoutMs);
  const { code, stdout, stderr, error } = await runGit(
    opts.gitBinary ?? 'git',
    // `--` so that a URL can never be read as an option (e.g. --upload-pack=…).
    ['ls-remote', '--tags', '--heads', '--', target],
    gitEnv(target, auth, opts.caFile),
    signal,
  );
  if (signal.aborted) {
    throw aborted()
      ? new SourceError('Aborted', 'git', 'lsRemote', `${where(target)}: aborted`)
      : new SourceError(
          'Unreachable',
          'git',
          'lsRemote',
          `${where(target)}: timed out after ${timeoutMs} ms`,
        );
  }
  if (error?.code === 'ENOENT')
    throw new SourceError('Invalid', 'git', 'lsRemote', `no git binary: ${error.message}`);
  if (code !== 0) throw classify(target, stderr, Boolean(auth), error ?? `git exited ${code}`);
  return parseLsRemote(stdout, target);
}

/**
 * Runs git in a process group of its own, so that a timeout or abort kills git-remote-http with
 * it: killed alone, git would leave its helper waiting on a server that never answers.
 */
function runGit(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<{ code: number | null; stdout: string; stderr: string; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    // Outside any work tree: a repository's own config must not apply.
    const child = spawn(command, args, { env, cwd: '/', detached: true, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let error: NodeJS.ErrnoException | undefined;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => (error = e));
    child.once('close', (code) => {
      // Not killed after git is gone: its group ID could by then be another process's.
      signal.removeEventListener('abort', kill);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(error ? { error } : {}),
      });
    });
  });
}

/** Where, without credentials; scp-like `user@host:path` as `host:path`. */
function where(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? whereUrl(url) : url.replace(/^[^@/]*@/, '');
}

/** Credentials in the URL (`https://user:pass@host/…`) are moved out of it, into the header. */
function splitCredentials(url: string, auth?: GitAuth): { url: string; auth?: GitAuth } {
  if (/^-/.test(url))
    throw new SourceError('Invalid', 'git', 'lsRemote', 'a URL cannot start with "-"');
  if (!/^https?:\/\//i.test(url)) return { url, auth };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SourceError('Invalid', 'git', 'lsRemote', `not a URL: ${where(url)}`);
  }
  if (!u.username && !u.password) return { url, auth };
  const fromUrl = {
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
  u.username = '';
  u.password = '';
  return { url: u.href, auth: auth ?? fromUrl };
}

/** The environment git runs in (exported for the tests' pushes, which need the same header). */
export function gitEnv(url: string, auth?: GitAuth, caFile?: string): NodeJS.ProcessEnv {
  const config: [string, string][] = [['credential.helper', '']];
  if (auth && /^https?:\/\//i.test(url)) {
    const value =
      'bearerToken' in auth
        ? `Bearer ${auth.bearerToken}`
        : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    // Scoped to the origin, so a redirect to another host does not carry it.
    config.push([`http.${new URL(url).origin}/.extraHeader`, `Authorization: ${value}`]);
  }
  if (caFile) config.push(['http.sslCAInfo', caFile]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LC_ALL: 'C',
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // `ext::` runs commands, `file://` reads the controller's disk: neither may be a source.
    GIT_ALLOW_PROTOCOL: 'http:https:ssh:git',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  for (const proxy of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTPS_PROXY', 'NO_PROXY']) {
    if (process.env[proxy]) env[proxy] = process.env[proxy];
  }
  return env;
}

/** `<sha>\t<ref>` lines; anything else is a protocol surprise, not something to guess about. */
export function parseLsRemote(stdout: string, url = ''): GitRef[] {
  const refs: GitRef[] = [];
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const sha = line.slice(0, tab);
    const name = line.slice(tab + 1);
    if (tab < 0 || !SHA.test(sha) || !name.startsWith('refs/')) {
      throw new SourceError(
        'BadResponse',
        'git',
        'lsRemote',
        `${where(url)}: unexpected line ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    refs.push({ name, sha });
  }
  return refs;
}

// git's messages (C locale) for each kind. Auth first: GitHub answers 404 "Repository not found"
// to a private repository without credentials, which is indistinguishable and stays NotFound.
const KINDS: [SourceError['kind'], RegExp][] = [
  [
    'AuthFailed',
    /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|Permission denied \(publickey|Host key verification failed/i,
  ],
  [
    'NotFound',
    /repository '.*' not found|Repository not found|does not appear to be a git repository|returned error: 404/i,
  ],
  [
    'Unreachable',
    /Could not resolve host|Failed to connect|Couldn't connect|Connection refused|Connection reset|Connection timed out|timed out|Network is unreachable|No route to host|SSL|TLS|certificate|early EOF|returned error: 5\d\d|Empty reply|ssh: connect/i,
  ],
  [
    'Invalid',
    /transport '.*' not allowed|strange pathname|not a valid|Unable to find remote helper/i,
  ],
];

/** The kind of a failed ls-remote, from git's message (its `fatal:` lines). */
export function classify(
  url: string,
  stderr: string,
  hadAuth: boolean,
  cause?: unknown,
): SourceError {
  const fatal = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(fatal|error|remote|ssh):/.test(l))
    .join('; ');
  const text = (fatal || stderr.trim() || String(cause)).replace(/\s+/g, ' ').slice(0, 400);
  const kind = KINDS.find(([, re]) => re.test(text))?.[0] ?? 'BadResponse';
  const why =
    kind !== 'AuthFailed'
      ? text
      : `${hadAuth ? 'the credentials were refused' : 'credentials are needed and none were given'} (${text})`;
  return new SourceError(kind, 'git', 'lsRemote', `${where(url)}: ${why}`, undefined, { cause });
}

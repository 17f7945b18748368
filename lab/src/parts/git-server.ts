// The lab's git server: Debian's `git http-backend` (the CGI program that serves git's smart HTTP
// protocol, as it runs behind Apache or nginx at git hosts) behind this small HTTP front that
// does what a web server does for it: basic auth, the CGI environment, streaming both ways.
// Smart HTTP rather than `git daemon` because the release sources must be tested with
// credentials (right, wrong, none), and git:// has no authentication at all.
//
// Every request needs the lab's user and password; pushing to a repository that does not exist
// creates it (as git hosts do on "push to create"), so tests need no set-up step.
// Run as: node git-server.js <port> <repos dir> <credentials file>; the credentials file is JSON
// {username, password}, mode 0600 (a file, so the password is in no process listing).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { timingSafeEqual, createHash } from 'node:crypto';

const [portArg, reposDir, credentialsFile] = process.argv.slice(2);
if (!portArg || !reposDir || !credentialsFile) {
  console.error('usage: git-server.js <port> <repos dir> <credentials file>');
  process.exit(2);
}
const credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as {
  username: string;
  password: string;
};

// A repository path: segments of safe characters, none starting with a dot, ending in `.git`.
const REPO = /^\/((?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.git)(\/.*)$/;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The user when the Authorization header carries the lab's credentials. */
function authenticated(req: IncomingMessage): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  // Compared as digests so that neither the length nor the content leaks through timing.
  const ok =
    timingSafeEqual(digest(user), digest(credentials.username)) &&
    timingSafeEqual(digest(pass), digest(credentials.password));
  return ok ? user : undefined;
}

function reply(res: ServerResponse, status: number, text: string, headers = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://lab');
  if (url.pathname === '/healthz') return reply(res, 200, 'ok');
  const user = authenticated(req);
  if (!user) {
    return reply(res, 401, 'authentication required', {
      'www-authenticate': 'Basic realm="kachiku lab git", charset="UTF-8"',
    });
  }
  const m = REPO.exec(url.pathname);
  if (!m) return reply(res, 404, 'not a repository path');
  const repo = join(reposDir!, m[1]!);
  if (!existsSync(repo)) {
    const pushing = m[2] === '/info/refs' && url.searchParams.get('service') === 'git-receive-pack';
    if (!pushing) return reply(res, 404, `repository '${m[1]}' not found`);
    execFileSync('git', ['init', '--quiet', '--bare', repo]);
  }
  cgi(req, res, url, user);
}

/** Runs git http-backend for one request (RFC 3875 environment; Status header parsed). */
function cgi(req: IncomingMessage, res: ServerResponse, url: URL, user: string): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: reposDir,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    // A set REMOTE_USER is what enables receive-pack (pushes) in http-backend.
    REMOTE_USER: user,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    // Git protocol v2 is asked for in this header and handed to the backend in GIT_PROTOCOL.
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    ...(req.headers['content-encoding']
      ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }
      : {}),
    // Without a length (chunked pushes) http-backend reads the body to its end.
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
  };
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => {}); // the backend may answer before reading everything
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    const endLf = head.indexOf('\n\n');
    const at = end >= 0 ? end : endLf;
    if (at < 0) return;
    const headerText = head.subarray(0, at).toString('latin1');
    const body = head.subarray(at + (end >= 0 ? 4 : 2));
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of headerText.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    headersDone = true;
    if (body.length) res.write(body);
  });
  child.on('error', (err) => {
    if (!res.headersSent) reply(res, 500, `git http-backend: ${err.message}`);
    else res.destroy(err);
  });
  child.on('close', (code) => {
    if (!headersDone) reply(res, 500, `git http-backend exited ${code} without an answer`);
    else res.end();
  });
}

const server = createServer(handle);
server.listen(Number(portArg), '127.0.0.1', () =>
  console.log(`git http-backend serving ${reposDir} on 127.0.0.1:${portArg}`),
);
// Nothing to flush: a request cut short is retried by git.
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));

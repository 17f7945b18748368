// The token server of the lab's token-auth registry: the other half of the Docker registry token
// protocol (distribution's docs/spec/auth/token.md), as Docker Hub, GHCR and Harbor run it. A
// client that the registry answered 401 `WWW-Authenticate: Bearer realm=…,service=…,scope=…`
// asks here, with basic auth, for a token; this checks the lab's credentials and answers a JWT
// (RS256, signed with a key whose self-signed certificate is the registry's `rootcertbundle`,
// carried in the `x5c` header) granting the scopes asked for. Wrong or no credentials: 401.
// Run as: node registry-token-server.js <port> <credentials file> <key> <cert> <issuer> <service>.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomUUID, sign, timingSafeEqual, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [portArg, credentialsFile, keyFile, certFile, issuer, service] = process.argv.slice(2);
if (!portArg || !credentialsFile || !keyFile || !certFile || !issuer || !service) {
  console.error(
    'usage: registry-token-server.js <port> <credentials> <key> <cert> <issuer> <service>',
  );
  process.exit(2);
}
const credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as {
  username: string;
  password: string;
};
const key = readFileSync(keyFile, 'utf8');
const certDer = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
const TOKEN_SECONDS = 300;

const digest = (s: string) => createHash('sha256').update(s).digest();
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function authenticated(req: IncomingMessage): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const ok =
    timingSafeEqual(digest(user), digest(credentials.username)) &&
    timingSafeEqual(digest(decoded.slice(colon + 1)), digest(credentials.password));
  return ok ? user : undefined;
}

/** `repository:team/app:pull,push` → an access claim (the name may itself hold colons). */
function access(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://lab');
  if (url.pathname === '/healthz') return json(res, 200, { ok: true });
  if (url.pathname !== '/token') return json(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
  const user = authenticated(req);
  if (!user) {
    return json(
      res,
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'wrong or missing credentials' }] },
      { 'www-authenticate': 'Basic realm="kachiku lab registry token server"' },
    );
  }
  if (url.searchParams.get('service') !== service) {
    return json(res, 400, { errors: [{ code: 'UNSUPPORTED', message: 'unknown service' }] });
  }
  // The lab's one user may pull and push everything: grant what is asked.
  const grants = url.searchParams
    .getAll('scope')
    .flatMap((s) => s.split(' '))
    .map(access);
  if (grants.some((g) => !g)) return json(res, 400, { errors: [{ code: 'INVALID_SCOPE' }] });
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = {
    iss: issuer,
    sub: user,
    aud: service,
    exp: now + TOKEN_SECONDS,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access: grants,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
  json(res, 200, {
    token,
    access_token: token,
    expires_in: TOKEN_SECONDS,
    issued_at: new Date(now * 1000).toISOString(),
  });
}

createServer(handle).listen(Number(portArg), '127.0.0.1', () =>
  console.log(`registry token server on 127.0.0.1:${portArg} (issuer ${issuer})`),
);
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));

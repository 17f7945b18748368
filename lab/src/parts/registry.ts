// The lab's OCI registries, release sources for images: two instances of the CNCF Distribution
// registry on one storage directory (its supported way to run several), one user for both:
// - `url`: Debian's docker-registry (distribution 2.8) with htpasswd basic auth (bcrypt, written
//   by Debian's `htpasswd -B`); tests push here. 2.8 ignores `n`/`last` on tags/list and answers
//   every tag at once, as some registries still do.
// - `tokenUrl`: distribution v3 (lab/scripts/build-registry.sh, from the Go module proxy), which
//   pages tags/list with a Link header, with token auth as Docker Hub, GHCR and Harbor do it:
//   the lab's token server (registry-token-server.ts) is the realm of its Bearer challenges.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { PartContext, PartHealth } from '../part.js';
import { LabError } from '../errors.js';
import { freePort } from '../ports.js';
import { tail, waitUntil } from '../proc.js';
import { labRoot } from '../paths.js';

const PART = 'registry';

export interface RegistryState {
  /** http://127.0.0.1:PORT, basic auth; images are named `127.0.0.1:PORT/<repository>`. */
  url: string;
  username: string;
  password: string;
  /** The second registry on the same storage, with token auth. */
  tokenUrl: string;
  /** Its token server's endpoint (the realm of its Bearer challenges) and service name. */
  tokenRealm: string;
  tokenService: string;
  storageDir: string;
}

export async function startRegistry(lab: PartContext): Promise<RegistryState> {
  const [port, tokenPort, realmPort] = [await freePort(), await freePort(), await freePort()];
  const state: RegistryState = {
    url: `http://127.0.0.1:${port}`,
    username: 'kachiku',
    password: randomBytes(12).toString('hex'),
    tokenUrl: `http://127.0.0.1:${tokenPort}`,
    tokenRealm: `http://127.0.0.1:${realmPort}/token`,
    tokenService: 'kachiku-lab-registry',
    storageDir: lab.path('registry', 'storage', '.keep').replace(/\/\.keep$/, ''),
  };
  const issuer = 'kachiku-lab-token-server';
  const htpasswd = lab.path('registry', 'htpasswd');
  const credentials = lab.path('registry', 'credentials.json');
  const key = lab.path('registry', 'token.key');
  const cert = lab.path('registry', 'token.crt');
  try {
    // The password on stdin (-i), not in the arguments.
    execFileSync('htpasswd', ['-ciB', htpasswd, state.username], {
      input: state.password,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  } catch (e) {
    throw new LabError(PART, `htpasswd failed: ${(e as Error).message}`, 'htpasswd -ciB');
  }
  writeFileSync(
    credentials,
    JSON.stringify({ username: state.username, password: state.password }),
    { mode: 0o600 },
  );
  await lab.run({
    name: 'registry-token-cert',
    part: PART,
    command: 'openssl',
    args: [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650'],
      ...['-subj', '/CN=kachiku-lab-registry-token', '-keyout', key, '-out', cert],
    ],
  });

  const config = (name: string, listen: number, auth: object) => {
    const file = lab.path('registry', `${name}.yml`);
    writeFileSync(
      file,
      stringify({
        version: 0.1,
        log: { level: 'info', formatter: 'text' },
        storage: {
          filesystem: { rootdirectory: state.storageDir },
          delete: { enabled: true },
          // The instances share the storage: neither may purge the other's uploads.
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { addr: `127.0.0.1:${listen}`, secret: randomBytes(16).toString('hex') },
        auth,
      }),
    );
    return file;
  };
  const v3 = await buildV3(lab);
  const registry = (name: string, command: string, file: string) =>
    lab.start({ name, part: PART, command, args: ['serve', file] });

  const basic = registry(
    'registry',
    // Overridable for hosts that install it elsewhere.
    process.env.KACHIKU_LAB_REGISTRY_BIN || 'docker-registry',
    config('registry', port, { htpasswd: { realm: 'kachiku-lab', path: htpasswd } }),
  );
  const tokenServer = lab.start({
    name: 'registry-token-server',
    part: PART,
    command: process.execPath,
    args: [
      fileURLToPath(new URL('./registry-token-server.js', import.meta.url)),
      ...[String(realmPort), credentials, key, cert, issuer, state.tokenService],
    ],
  });
  const token = registry(
    'registry-token',
    v3,
    config('registry-token', tokenPort, {
      token: {
        realm: state.tokenRealm,
        service: state.tokenService,
        issuer,
        rootcertbundle: cert,
      },
    }),
  );
  await Promise.all([
    waitUntil(PART, 'registry /v2/ with basic auth', () => basicOk(state), {
      proc: basic,
      timeoutMs: 30_000,
    }),
    waitUntil(PART, 'registry token server', () => healthz(state.tokenRealm), {
      proc: tokenServer,
      timeoutMs: 30_000,
    }),
  ]);
  await waitUntil(PART, 'registry /v2/ with a token', () => tokenOk(state), {
    proc: token,
    timeoutMs: 30_000,
  });
  return state;
}

/** Builds distribution v3 into the cache unless it is there; its path. */
async function buildV3(lab: PartContext): Promise<string> {
  const script = join(labRoot, 'scripts', 'build-registry.sh');
  const log = lab.logPath('registry-build');
  const fd = openSync(log, 'a');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    // 'close', not 'exit': 'exit' may come before stdout's last chunk, and the path is in it.
    child.once('close', (c, sig) => resolve(c ?? `signal ${sig}`));
  });
  if (code !== 0)
    throw new LabError(PART, `build-registry.sh failed (${code})${tail(log)}`, script, log);
  const path = out.trim().split('\n').pop() ?? '';
  if (!path) throw new LabError(PART, 'build-registry.sh printed no binary path', script, log);
  return path;
}

const basicAuth = (s: RegistryState) =>
  `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}`;

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  return res.status;
}

const basicOk = async (s: RegistryState) =>
  (await status(`${s.url}/v2/`, { authorization: basicAuth(s) })) === 200;

const healthz = async (realm: string) => (await status(new URL('/healthz', realm).href)) === 200;

/** The whole token flow, by hand: 401 with a Bearer challenge, a token, then 200 with it. */
async function tokenOk(s: RegistryState): Promise<boolean> {
  const challenge = await fetch(`${s.tokenUrl}/v2/`, { signal: AbortSignal.timeout(3000) });
  await challenge.arrayBuffer();
  if (challenge.status !== 401 || !/^Bearer /.test(challenge.headers.get('www-authenticate') ?? ''))
    return false;
  const res = await fetch(`${s.tokenRealm}?service=${encodeURIComponent(s.tokenService)}`, {
    headers: { authorization: basicAuth(s) },
    signal: AbortSignal.timeout(3000),
  });
  if (res.status !== 200) return false;
  const { token } = (await res.json()) as { token: string };
  return (await status(`${s.tokenUrl}/v2/`, { authorization: `Bearer ${token}` })) === 200;
}

export async function registryHealth(s: RegistryState): Promise<PartHealth[]> {
  return [
    { part: 'registry', ok: await basicOk(s).catch(() => false), detail: `${s.url} (basic auth)` },
    {
      part: 'registry-token',
      ok: await tokenOk(s).catch(() => false),
      detail: `${s.tokenUrl} (token auth, realm ${s.tokenRealm})`,
    },
  ];
}

export function registryEnv(s: RegistryState): Record<string, string> {
  return {
    KACHIKU_REGISTRY_URL: s.url,
    KACHIKU_REGISTRY_TOKEN_URL: s.tokenUrl,
    KACHIKU_REGISTRY_USERNAME: s.username,
    KACHIKU_REGISTRY_PASSWORD: s.password,
  };
}

// The credentials a kubeconfig's user presents, as an Authorization header: a static token, a
// token file re-read as it rotates (in-cluster ServiceAccount tokens are projected and renewed
// by the kubelet), an exec credential plugin (how EKS kubeconfigs look), or basic auth. Client
// certificates are TLS, not a header: the transport takes them.
//
// Hand-written because client-node runs an exec plugin again only once the token has expired,
// never before, and never after a 401 (a revoked token stays cached until its expiry); client-go
// does both (k8s.io/client-go/plugin/pkg/client/auth/exec), and so does this.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Cluster, User } from '@kubernetes/client-node';

export interface Credentials {
  /** The Authorization header value, or undefined when the user has none. */
  authorization(): Promise<string | undefined>;
  /**
   * The server answered 401 to `authorization`: forget it, so the next call asks the source
   * again. Returns whether asking again can give something new (a retry is worth it).
   */
  rejected(authorization: string): boolean;
}

const none: Credentials = { authorization: async () => undefined, rejected: () => false };

export function credentialsFor(user: User | null, cluster: Cluster | null): Credentials {
  if (!user) return none;
  if (user.exec) return new ExecCredentials(user.exec as ExecConfig, cluster);
  if (user.token) return staticHeader(`Bearer ${user.token}`);
  // client-node's in-cluster loader (and a kubeconfig's tokenFile) names a file, not a token.
  const tokenFile =
    (user as User & { tokenFile?: string }).tokenFile ??
    (user.authProvider?.name === 'tokenFile'
      ? (user.authProvider.config?.tokenFile as string | undefined)
      : undefined);
  if (tokenFile) return new TokenFileCredentials(tokenFile);
  if (user.username && user.password)
    return staticHeader(
      `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`,
    );
  if (user.authProvider)
    throw new Error(
      `kubeconfig user "${user.name}": auth provider "${String(user.authProvider.name)}" is not supported (use exec or a token)`,
    );
  return none;
}

function staticHeader(value: string): Credentials {
  return { authorization: async () => value, rejected: () => false };
}

/** A token file, re-read every minute (as client-go does) and at once after a 401. */
class TokenFileCredentials implements Credentials {
  private cached?: { value: string; at: number };
  constructor(private readonly path: string) {}

  async authorization(): Promise<string> {
    if (this.cached && Date.now() - this.cached.at < 60_000) return this.cached.value;
    let token: string;
    try {
      token = (await readFile(this.path, 'utf8')).trim();
    } catch (err) {
      throw new Error(`cannot read the token file ${this.path}: ${(err as Error).message}`);
    }
    this.cached = { value: `Bearer ${token}`, at: Date.now() };
    return this.cached.value;
  }

  rejected(authorization: string): boolean {
    if (this.cached?.value === authorization) this.cached = undefined;
    return true;
  }
}

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  provideClusterInfo?: boolean;
}

interface ExecCredential {
  apiVersion?: string;
  kind?: string;
  status?: { token?: string; expirationTimestamp?: string; clientCertificateData?: string };
}

/** How long before a token's expiry it is renewed: a fifth of its life, at most a minute. */
export function refreshAt(issuedAt: number, expiresAt: number): number {
  return expiresAt - Math.min(60_000, (expiresAt - issuedAt) / 5);
}

/** After a 401, the plugin runs again at most this often: a revoked token is no hot loop. */
const MIN_RERUN_AFTER_REJECT_MS = 2_000;
const EXEC_TIMEOUT_MS = 30_000;

export class ExecCredentials implements Credentials {
  private cached?: { value: string; refreshAt: number };
  private inflight?: Promise<string>;
  private lastRun = 0;
  /** How often the plugin ran (metrics and tests). */
  runs = 0;

  constructor(
    private readonly exec: ExecConfig,
    private readonly cluster: Cluster | null,
  ) {
    if (!exec.command) throw new Error('kubeconfig exec plugin has no command');
  }

  async authorization(): Promise<string> {
    if (this.cached && Date.now() < this.cached.refreshAt) return this.cached.value;
    this.inflight ??= this.run().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  rejected(authorization: string): boolean {
    if (this.cached?.value === authorization) this.cached = undefined;
    return true;
  }

  private async run(): Promise<string> {
    const wait = this.lastRun + MIN_RERUN_AFTER_REJECT_MS - Date.now();
    if (wait > 0 && !this.cached) await new Promise((r) => setTimeout(r, wait));
    this.lastRun = Date.now();
    this.runs++;
    const apiVersion = this.exec.apiVersion ?? 'client.authentication.k8s.io/v1';
    const info = {
      apiVersion,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        ...(this.exec.provideClusterInfo && this.cluster
          ? {
              cluster: {
                server: this.cluster.server,
                'certificate-authority-data': this.cluster.caData,
              },
            }
          : {}),
      },
    };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const e of this.exec.env ?? []) env[e.name] = e.value;
    const issuedAt = Date.now();
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        this.exec.command,
        this.exec.args ?? [],
        { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20 },
        (err, out, errOut) => {
          if (!err) return resolve(out);
          // stderr may say why (not logged in, no such profile); it is the plugin's own words.
          const why = String(errOut).trim().split('\n').slice(-3).join(' ').slice(0, 300);
          reject(
            new Error(
              `exec credential plugin ${this.exec.command} failed: ${err.message.split('\n')[0]}${why ? `: ${why}` : ''}`,
            ),
          );
        },
      ),
    );
    let cred: ExecCredential;
    try {
      cred = JSON.parse(stdout) as ExecCredential;
    } catch {
      throw new Error(`exec credential plugin ${this.exec.command} printed no ExecCredential JSON`);
    }
    const token = cred.status?.token;
    if (!token)
      throw new Error(
        cred.status?.clientCertificateData
          ? `exec credential plugin ${this.exec.command} returned a client certificate: only tokens are supported`
          : `exec credential plugin ${this.exec.command} returned no token`,
      );
    const expires = cred.status?.expirationTimestamp
      ? Date.parse(cred.status.expirationTimestamp)
      : Infinity;
    const value = `Bearer ${token}`;
    this.cached = {
      value,
      refreshAt: Number.isFinite(expires) ? refreshAt(issuedAt, expires) : Infinity,
    };
    return value;
  }
}

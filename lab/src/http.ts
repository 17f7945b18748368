// Small HTTP(S) probe used by the lab's health checks (node:https, so client certificates and
// a private CA can be given per request, which fetch cannot do without extra dependencies).
import { request } from 'node:https';
import { readFileSync } from 'node:fs';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** GET `url`; resolves to the status code and body, rejects on connection errors. */
export async function get(
  url: string,
  tls: TlsFiles = {},
  timeoutMs = 3000,
): Promise<{ status: number; body: string }> {
  if (url.startsWith('http:')) {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  }
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: tls.ca ? readFileSync(tls.ca) : undefined,
        cert: tls.cert ? readFileSync(tls.cert) : undefined,
        key: tls.key ? readFileSync(tls.key) : undefined,
        // The controller manager's and scheduler's own serving certificates are self-signed.
        rejectUnauthorized: Boolean(tls.ca),
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function ok(url: string, tls?: TlsFiles): Promise<boolean> {
  return (await get(url, tls)).status === 200;
}

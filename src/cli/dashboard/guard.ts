// Who may talk to the dashboard. It acts with the user's credentials, so a page of another site
// open in the same browser must not be able to make it act (CSRF), nor read it through a DNS name
// rebound to 127.0.0.1. Pure: the server passes the request's method and headers.
//
// - Every request: the Host header must be an address the server listens on (DNS rebinding).
// - Every state-changing request (not GET/HEAD): the per-run token, which only the served HTML
//   carries, in the X-Kachiku-Token header (a cross-site form cannot set a header, and a
//   cross-site fetch that does must pass a CORS preflight the server never grants); an Origin, when
//   the browser sends one, must be the server's own; Sec-Fetch-Site, when sent, same-origin.
import { timingSafeEqual } from 'node:crypto';

export const TOKEN_HEADER = 'x-kachiku-token';

export interface Guard {
  token: string;
  /** Host header values accepted (host:port); undefined: any (listening on every address). */
  hosts?: ReadonlySet<string>;
}

export type Verdict = { ok: true } | { ok: false; why: string };

type Headers = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** The Host values a server on `address:port` answers to. */
export function allowedHosts(address: string, port: number): ReadonlySet<string> | undefined {
  if (address === '0.0.0.0' || address === '::' || address === '') return undefined;
  const hosts = new Set([address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`]);
  if (address === '127.0.0.1' || address === '::1' || address === 'localhost')
    for (const h of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${h}:${port}`);
  return hosts;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function check(method: string, headers: Headers, guard: Guard): Verdict {
  const host = one(headers.host);
  if (!host) return { ok: false, why: 'no Host header' };
  if (guard.hosts && !guard.hosts.has(host.toLowerCase()))
    return { ok: false, why: `Host ${host} is not this dashboard's address` };
  if (method === 'GET' || method === 'HEAD') return { ok: true };
  const origin = one(headers.origin);
  if (origin !== undefined && origin.toLowerCase() !== `http://${host.toLowerCase()}`)
    return { ok: false, why: `cross-site request (Origin ${origin})` };
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin')
    return { ok: false, why: `cross-site request (Sec-Fetch-Site ${site})` };
  const token = one(headers[TOKEN_HEADER]);
  if (!token || !sameToken(token, guard.token))
    return { ok: false, why: 'missing or wrong dashboard token' };
  return { ok: true };
}

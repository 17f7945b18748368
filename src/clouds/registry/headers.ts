// The two headers the registry API is steered by: the authentication challenge of a 401
// (RFC 7235: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`) and the `Link` of a
// tags page (RFC 8288: `</v2/app/tags/list?last=x&n=100>; rel="next"`). Pure.

export interface Challenge {
  /** Lower case: 'bearer', 'basic'. */
  scheme: string;
  params: Record<string, string>;
}

/** The first challenge of a WWW-Authenticate header (registries send one). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  re.lastIndex = m[0].length;
  for (let p = re.exec(header); p; p = re.exec(header)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    if (re.lastIndex >= header.length) break;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The target of the `rel="next"` link, if any (relative as the server wrote it). */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rels = /;\s*rel\s*=\s*"?([^";,]+)"?/i.exec(m[2] ?? '')?.[1] ?? '';
    if (rels.split(/\s+/).includes('next')) return m[1];
  }
  return undefined;
}

// Alertmanager as a release gate: the alerts firing now that match a gate's matchers, through API
// v2 (`GET /api/v2/alerts`, reference/fleet.md). Only active alerts count — not silenced, not
// inhibited — because a silence is how an operator says "known, carry on". Alertmanager decides
// silenced/inhibited at query time, so an alert posted a moment ago is already accounted for.
import { request, type Dispatcher } from 'undici';
import { SourceError, deadline, where } from '../source-error.js';
import { formatMatcher, matcherProblem, type Matcher } from './matchers.js';

export interface ActiveAlert {
  /** Its `alertname` label. */
  name: string;
  labels: Record<string, string>;
  startsAt: string;
  fingerprint: string;
}

export interface AlertmanagerOptions {
  signal?: AbortSignal;
  /** Default 10 s: a gate asks often, and an Alertmanager that slow is as good as down. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

interface ApiAlert {
  labels?: Record<string, string>;
  startsAt?: string;
  fingerprint?: string;
  status?: { state?: string; silencedBy?: string[]; inhibitedBy?: string[] };
}

/**
 * The alerts firing at `baseUrl` (Alertmanager's external URL, without `/api/v2`) that match
 * every matcher. No matchers: every active alert. A bad matcher is an 'Invalid' error before
 * anything is sent.
 */
export async function activeAlerts(
  baseUrl: string,
  matchers: readonly Matcher[],
  opts: AlertmanagerOptions = {},
): Promise<ActiveAlert[]> {
  const fail = (kind: SourceError['kind'], why: string, status?: number, cause?: unknown) =>
    new SourceError(kind, 'alertmanager', 'activeAlerts', why, status, { cause });
  for (const m of matchers) {
    const problem = matcherProblem(m);
    if (problem) throw fail('Invalid', problem);
  }
  const query = new URLSearchParams({
    active: 'true',
    silenced: 'false',
    inhibited: 'false',
    unprocessed: 'false',
  });
  for (const m of matchers) query.append('filter', formatMatcher(m));
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v2/alerts?${query}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const { signal, aborted } = deadline(opts.signal, timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'kachiku' },
      signal,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    if (aborted()) throw fail('Aborted', `${where(url)}: aborted`);
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    const why = signal.aborted
      ? `timed out after ${timeoutMs} ms`
      : (e.code ?? e.cause?.code ?? e.message);
    throw fail('Unreachable', `cannot reach ${where(url)}: ${why}`, undefined, err);
  }
  const said = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  if (status === 401 || status === 403) throw fail('AuthFailed', `${status} ${said}`, status);
  if (status === 404)
    throw fail('NotFound', `${where(url)}: 404 (not an Alertmanager v2 API?)`, status);
  if (status >= 500) throw fail('Unreachable', `${status} ${said}`, status);
  if (status !== 200) throw fail('BadResponse', `${status} ${said}`, status);
  let alerts: ApiAlert[];
  try {
    alerts = JSON.parse(text) as ApiAlert[];
    if (!Array.isArray(alerts)) throw new Error('not a list');
  } catch (e) {
    throw fail('BadResponse', `not a list of alerts: ${(e as Error).message}`, status);
  }
  // Asked of the server already; checked again because a gate that passes wrongly is the one
  // failure a release must not have, and a proxy or an older server may ignore a parameter.
  return alerts
    .filter((a) => (a.status?.state ?? 'active') === 'active')
    .map((a) => ({
      name: a.labels?.alertname ?? '',
      labels: a.labels ?? {},
      startsAt: a.startsAt ?? '',
      fingerprint: a.fingerprint ?? '',
    }));
}

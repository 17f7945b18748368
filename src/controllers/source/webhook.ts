// The webhook receiver: `POST /hooks/<namespace>/<fleet>` on the manager's hooks server polls the
// Fleet's source at once, so that a pushed tag does not wait for the interval (Flux's Receiver).
//
// The request must carry `X-Signature: sha256=<hex>` (or GitHub's X-Hub-Signature-256): the
// HMAC-SHA256 of the raw body under the key `token` of the Secret spec.source.webhook.secretRef
// names. Answers:
//   202  signed: the poll is queued (the body is not read otherwise: any event means "look now")
//   401  no signature, a wrong one, or the token Secret missing or unreadable (logged, not said)
//   404  no such Fleet, or a Fleet without spec.source.webhook
//   413  a body over MAX_BODY_BYTES;  429  more than the per-Fleet rate;  503  not the leader
// 404 and 401 differ on purpose: the path is public and a Fleet's name is no secret (it is in
// its objects, events and metrics), while a sender with a wrong URL needs to tell that apart
// from a wrong token. What is never said is why a signature failed, and the token is never
// logged. At most one poll per Fleet is in flight (the work queue holds a key once), and
// forced polls come at most once per MIN_FORCED_GAP_MS: a burst of hooks coalesces into one.
import type { Counter } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import type { Informer } from '../../runtime/informer.js';
import type { Reply } from '../../runtime/server.js';
import { secretGvr } from '../../runtime/core.js';
import type { KubeObject } from '../../runtime/rest.js';
import type { Fleet } from '../../api/fleet.js';
import type { SourceController } from './reconciler.js';
import { verifySignature } from './signature.js';
import { isSubdomain } from './names.js';

export const HOOK_PREFIX = '/hooks/';
/** Push events of a large push run to a few hundred KiB; the signature needs the whole body. */
export const MAX_BODY_BYTES = 4 << 20;
/** Per Fleet: a burst of this many requests, then one per RATE_REFILL_MS (each costs a GET). */
export const RATE_BURST = 10;
export const RATE_REFILL_MS = 1000;

const text = (status: number, body: string): Reply => ({ status, body: `${body}\n` });

export function registerWebhook(
  mgr: Manager,
  fleets: Informer<Fleet>,
  ctl: SourceController,
  counter: Counter<'code'>,
): void {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (key: string, now: number) => {
    // Only Fleets that exist get a bucket; full ones (idle a while) are dropped now and then.
    if (buckets.size > 1000)
      for (const [k, b] of buckets)
        if (now - b.at >= RATE_BURST * RATE_REFILL_MS) buckets.delete(k);
    const b = buckets.get(key) ?? { tokens: RATE_BURST, at: now };
    b.tokens = Math.min(RATE_BURST, b.tokens + (now - b.at) / RATE_REFILL_MS);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  const log = mgr.log.child({ controller: 'source', handler: 'webhook' });

  const answer = async (path: string, body: Buffer, headers: Record<string, unknown>) => {
    const parts = path.slice(HOOK_PREFIX.length).split('/');
    if (parts.length !== 2 || !parts.every(isSubdomain)) return text(404, 'not found');
    const [namespace, name] = parts as [string, string];
    const key = `${namespace}/${name}`;
    const fleet = fleets.get(key);
    const secretName = fleet?.spec.source?.webhook?.secretRef;
    if (!fleet || !secretName) return text(404, 'not found');
    if (!mgr.isLeader()) return text(503, 'not the leader: try again');
    if (!take(key, Date.now())) return text(429, 'too many requests');
    let token: string | undefined;
    try {
      const secret = await mgr.rest.get<KubeObject & { data?: Record<string, string> }>(
        secretGvr,
        namespace,
        secretName,
      );
      const data = secret.data?.token;
      token = data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
    } catch (err) {
      log.warn(
        { fleet: key, secret: secretName, err: err instanceof Error ? err.message : String(err) },
        'webhook refused: its token Secret cannot be read',
      );
      return text(401, 'unauthorized');
    }
    if (token === undefined) {
      log.warn({ fleet: key, secret: secretName }, 'webhook refused: its Secret has no key token');
      return text(401, 'unauthorized');
    }
    if (!verifySignature(body, token, headers as Record<string, string | undefined>))
      return text(401, 'unauthorized');
    ctl.pollNow({ namespace, name });
    log.info({ fleet: key }, 'webhook: polling the source now');
    return text(202, 'poll queued');
  };

  mgr.handle({
    prefix: HOOK_PREFIX,
    methods: ['POST'],
    maxBodyBytes: MAX_BODY_BYTES,
    handle: async (req) => {
      const reply = await answer(req.path, req.body, req.headers);
      counter.inc({ code: String(reply.status) });
      return reply;
    },
  });
}

// The WarmingUp phase, once every component is Available at the spec's version: warm-up
// requests (retried with backoff until all answer), then the minimum warm-up time, then Ready.
import type { ReconcileContext, Result } from '../../runtime/controller.js';
import { parseDuration } from '../../runtime/duration.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { ProdStatus } from '../../api/prod.js';
import type { ProdEnv } from './context.js';
import { writeStatus, type Draft } from './status.js';
import { sendWarmup } from '../../clouds/dataplane/warmup.js';

/** Warm-up progress of one Prod at one version, in memory. */
export interface Warm {
  uid: string;
  version: string;
  answered: boolean;
  attempts: number;
  retryAt: number;
  /** When this controller moved the Prod to WarmingUp (phaseSince has only seconds). */
  enteredAt?: number;
}

export async function warmUp(
  env: ProdEnv,
  key: string,
  draft: Draft,
  ctx: ReconcileContext,
  resync: Result,
): Promise<Result | void> {
  const { prod } = draft;
  const spec = prod.spec;
  let state = env.warm.get(key);
  if (!state || state.uid !== prod.metadata.uid || state.version !== spec.version) {
    state = {
      uid: prod.metadata.uid ?? '',
      version: spec.version,
      answered: false,
      attempts: 0,
      retryAt: 0,
    };
    env.warm.set(key, state);
  }
  if (draft.phase !== 'WarmingUp') {
    state.enteredAt = Date.now();
    draft.phase = 'WarmingUp';
    draft.set(ConditionType.Ready, 'False', Reason.WarmingUp, 'every component Available');
    draft.prod = await writeStatus(env, key, draft);
  }
  const requests = spec.warmup?.requests;
  if (!state.answered && requests && (requests.count ?? 100) > 0) {
    const wait = state.retryAt - Date.now();
    if (wait > 0) return { requeueAfterMs: wait };
    const base = requests.target ?? firstEndpoint(draft.fields.endpoints);
    if (!base) {
      draft.set(
        ConditionType.Ready,
        'False',
        Reason.WarmupFailed,
        'no endpoint to warm up: set spec.warmup.requests.target or expose a component',
      );
      await writeStatus(env, key, draft);
      return resync;
    }
    const url = new URL(requests.path ?? '/', base);
    const count = requests.count ?? 100;
    const result = await sendWarmup(url.toString(), count, requests.concurrency ?? 4, {
      timeoutMs: env.deps.warmupTimeoutMs ?? 10_000,
      signal: ctx.signal,
    });
    if (result.failed > 0) {
      state.attempts++;
      const delay = Math.min(60_000, (env.deps.warmupRetryMs ?? 2000) * 2 ** (state.attempts - 1));
      state.retryAt = Date.now() + delay;
      const message = `${result.failed}/${count} warm-up requests to ${shown(url)} failed (first: ${result.firstError}); retrying in ${Math.round(delay / 1000)} s`;
      draft.set(ConditionType.Ready, 'False', Reason.WarmupFailed, message);
      await writeStatus(env, key, draft);
      void env.mgr.events.record({
        regarding: prod,
        type: 'Warning',
        reason: Reason.WarmupFailed,
        action: 'WarmUp',
        note: message,
      });
      return { requeueAfterMs: delay };
    }
    state.answered = true;
    ctx.log.info({ url: shown(url), count }, 'warm-up requests answered');
  }
  // After a restart only phaseSince is known: rounded up, the minimum is never cut short.
  const since =
    state.enteredAt ?? (Date.parse(draft.prod.status?.phaseSince ?? '') || Date.now()) + 1000;
  const left = since + parseDuration(spec.warmup?.minimumTime ?? '0s') - Date.now();
  if (left > 0) {
    draft.set(
      ConditionType.Ready,
      'False',
      Reason.WarmingUp,
      `warm-up ${requests ? 'requests answered' : 'without requests'}; ${Math.ceil(left / 1000)} s of minimum warm-up time left`,
    );
    await writeStatus(env, key, draft);
    return { requeueAfterMs: left };
  }
  draft.phase = 'Ready';
  draft.fields.version = spec.version;
  draft.set(
    ConditionType.Ready,
    'True',
    Reason.ComponentsAvailable,
    `${spec.version} running in ${draft.fields.cluster}, warmed up`,
  );
  draft.set(ConditionType.Degraded, 'False', Reason.ComponentsAvailable, '');
  env.warm.delete(key);
  await writeStatus(env, key, draft);
  return resync;
}

function firstEndpoint(eps: ProdStatus['endpoints']): string | undefined {
  const address = eps?.[0]?.address;
  return address ? `http://${address}/` : undefined;
}

/** A URL for messages: without any user:password it may carry. */
function shown(url: URL): string {
  const u = new URL(url.toString());
  u.username = '';
  u.password = '';
  return u.toString();
}

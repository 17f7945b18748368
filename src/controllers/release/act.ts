// The shell's hands: the annotations and versions a decision says to write (nothing when the
// cached object already says so; each write recorded as an expectation so that the next step
// waits until the caches show it), and the gate queries. Versions are read-modify-writes;
// annotations are merge patches, which cannot conflict with the Prod controller's status writes:
// a rollback's avoid annotations must not wait out a 409's re-read and backoff.
import type { ReconcileContext } from '../../runtime/controller.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { isInvalid, isNotFound } from '../../runtime/rest.js';
import { update } from '../../runtime/objects.js';
import { keyOf } from '../../runtime/informer.js';
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import { AVOID_ANNOTATION, type Release } from '../../api/release.js';
import { activeAlerts } from '../../clouds/alertmanager/index.js';
import { fleetGvr, prodGvr, type ReleaseEnv } from './context.js';
import { settings, type Action, type GateCheck, type GateQuery } from './plan.js';
import { errorMessage } from './status.js';
import { lookUpVersion } from '../source/poll.js';

export async function act(
  env: ReleaseEnv,
  key: string,
  release: Release,
  fleet: Fleet | undefined,
  actions: readonly Action[],
  ctx: ReconcileContext,
): Promise<void> {
  const { rest } = env.mgr;
  const ns = release.metadata.namespace ?? '';
  const write = async <T extends Prod | Fleet>(
    resource: 'prods' | 'fleets',
    cached: T | undefined,
    what: string,
    mutate: (o: T) => boolean,
  ) => {
    if (!cached) return;
    const from = cached.metadata.resourceVersion ?? '';
    try {
      const after = await update(rest, resource === 'prods' ? prodGvr : fleetGvr, cached, mutate);
      if (after.metadata.resourceVersion === from) return;
      ctx.log.info({ [resource === 'prods' ? 'prod' : 'fleet']: cached.metadata.name }, what);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    env.expectations.expect(key, resource, keyOf(cached), { kind: 'updated', from });
  };
  const prod = (name: string) => env.prods.get(`${ns}/${name}`);
  /**
   * One annotation set (a value) or lifted (null) on a Prod, if the cache says it differs. A lift
   * removes only this Release's own (a JSON patch that tests the value first: another Release's,
   * set since the cache was read, stays); a set is a merge patch. Neither carries a version, so
   * neither conflicts with the Prod controller's status writes.
   */
  const annotate = async (name: string, k: string, value: string | null, what: string) => {
    const cached = prod(name);
    if (!cached) return;
    if ((cached.metadata.annotations?.[k] !== undefined) === (value !== null)) return;
    const path = `/metadata/annotations/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    try {
      if (value === null)
        await rest.patch<Prod>(
          prodGvr,
          ns,
          name,
          [
            { op: 'test', path, value: release.metadata.name },
            { op: 'remove', path },
          ],
          'json',
        );
      else
        await rest.patch<Prod>(
          prodGvr,
          ns,
          name,
          { metadata: { annotations: { [k]: value } } },
          'merge',
        );
      ctx.log.info({ prod: name }, what);
    } catch (err) {
      if (isNotFound(err)) return;
      // The test failed: the annotation is gone already, or another Release's.
      if (value === null && isInvalid(err)) return;
      throw err;
    }
    // Seen when the cache shows the value: a version past the cached one may be a status write
    // that came before the patch.
    env.expectations.expect(key, 'prods', `${ns}/${name}`, { kind: 'annotated', key: k, value });
  };

  // The avoid annotations of a rollback, all at once: the Fleet moves the tenants of every
  // failed Prod in one placement step when it sees them together, not one step per Prod.
  const avoids = actions.filter(
    (a): a is Extract<Action, { kind: 'annotate' }> =>
      a.kind === 'annotate' && a.key === AVOID_ANNOTATION,
  );
  await Promise.all(avoids.map((a) => annotate(a.prod, a.key, a.value, `annotate ${a.key}`)));
  for (const a of actions) {
    if (avoids.includes(a as Extract<Action, { kind: 'annotate' }>)) continue;
    switch (a.kind) {
      case 'annotate':
        await annotate(a.prod, a.key, a.value, `annotate ${a.key}`);
        break;
      case 'unannotate':
        await annotate(a.prod, a.key, null, `lift ${a.key}`);
        break;
      case 'setProdVersion':
        await write('prods', prod(a.prod), `set version ${a.version}`, (p: Prod) => {
          if (p.spec.version === a.version) return false;
          p.spec.version = a.version;
          return true;
        });
        break;
      case 'setFleetVersion':
        await write('fleets', fleet, `set the Fleet's version ${a.version}`, (f: Fleet) => {
          if (f.spec.version === a.version) return false;
          f.spec.version = a.version;
          return true;
        });
        break;
      case 'checkVersion': {
        const image = fleet?.spec.source?.image;
        if (!fleet || !image) break;
        const found = await lookUpVersion(rest, fleet, image, a.version, {
          signal: ctx.signal,
          timeoutMs: env.deps.gateTimeoutMs ?? 5000,
        });
        env.versionChecks.set(key, {
          version: a.version,
          at: Date.now(),
          found: found.kind === 'found',
          ...(found.kind === 'error' && { reason: found.reason, message: found.message }),
        });
        ctx.log.info(
          {
            version: a.version,
            found: found.kind === 'found',
            reason: found.kind === 'error' ? found.reason : undefined,
          },
          'version looked up',
        );
        break;
      }
      case 'queryGates':
        env.gateChecks.set(key, await checkGates(env, key, release, a.wave, a.queries, ctx));
        break;
    }
  }
}

/** Asks Alertmanager every query of a wave; an error is recorded, never taken for a pass. */
async function checkGates(
  env: ReleaseEnv,
  key: string,
  release: Release,
  wave: number,
  queries: readonly GateQuery[],
  ctx: ReconcileContext,
): Promise<GateCheck> {
  const url = settings(release, env.deps.alertmanagerUrl).alertmanager ?? '';
  const at = Date.now();
  const answers = await mapLimit([...queries], env.deps.gateConcurrency ?? 8, async (q) => {
    try {
      const alerts = await activeAlerts(url, q.matchers, {
        signal: ctx.signal,
        timeoutMs: env.deps.gateTimeoutMs ?? 5000,
        ...(env.deps.dispatcher && { dispatcher: env.deps.dispatcher }),
      });
      return { q, alerts: alerts.map((x) => x.name) };
    } catch (err) {
      return { q, alerts: [] as string[], error: errorMessage(err) };
    }
  });
  const gates = [...new Set(queries.map((q) => q.gate))];
  const results = gates.map((gate) => {
    const mine = answers.filter((x) => x.q.gate === gate);
    const error = mine.find((x) => x.error)?.error;
    const alerts = [...new Set(mine.flatMap((x) => x.alerts))].sort();
    return { gate, alerts, ...(error !== undefined && { error }) };
  });
  const failed = results.some((r) => r.error !== undefined);
  const prev = env.gateChecks.get(key);
  const check: GateCheck = {
    wave,
    at,
    results,
    errorsInRow: failed ? (prev?.wave === wave ? prev.errorsInRow : 0) + 1 : 0,
  };
  ctx.log.info(
    { wave, gates: results.map((r) => `${r.gate}:${r.error ? 'error' : r.alerts.length}`) },
    'gates asked',
  );
  return check;
}

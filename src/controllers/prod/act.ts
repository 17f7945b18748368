// The shell's hands in a member cluster: the Apply, Delete and WarmUp actions of a decision
// (plan.ts). Server-side apply with kachiku's field manager, the namespace first; deletions that
// find nothing are done; warm-up requests go through src/clouds/dataplane.
import type { ReconcileContext } from '../../runtime/controller.js';
import type { ClusterConnection } from '../../runtime/clusters.js';
import { ApiError, isNotFound } from '../../runtime/rest.js';
import { apply } from '../../runtime/objects.js';
import { mapLimit } from '../../runtime/concurrency.js';
import { namespaceGvr } from '../../runtime/core.js';
import { sendWarmup, type WarmupResult } from '../../clouds/dataplane/warmup.js';
import type { DesiredObject } from './render.js';
import { shown, type Action } from './plan.js';
import type { ProdEnv } from './context.js';

/** The member cluster refused an object: the spec must change, retrying at once will not help. */
export class Refused extends Error {}

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;

/** Applies the objects, the Namespace first; what goes in it does not depend on each other. */
export async function applyObjects(
  conn: ClusterConnection,
  { objects }: Of<'Apply'>,
  ctx: ReconcileContext,
): Promise<void> {
  const applyOne = async (d: DesiredObject) => {
    const what = `${d.object.kind} ${d.object.metadata.namespace ? `${d.object.metadata.namespace}/` : ''}${d.object.metadata.name}`;
    ctx.log.debug({ cluster: conn.name }, `apply ${what}`);
    try {
      await apply(conn.rest, d.gvr, d.object);
    } catch (err) {
      if (err instanceof ApiError && [400, 403, 422].includes(err.code))
        throw new Refused(`${conn.name} refused ${what}: ${err.message}`);
      throw err;
    }
  };
  const [first, ...others] = objects;
  if (first?.gvr === namespaceGvr) await applyOne(first);
  else if (first) others.unshift(first);
  await mapLimit(others, 4, applyOne);
}

/** Deletes one object; one already gone is fine. */
export async function deleteObject(
  conn: ClusterConnection,
  { gvr, namespace, name }: Of<'Delete'>,
  ctx: ReconcileContext,
): Promise<void> {
  ctx.log.info(
    { cluster: conn.name },
    `delete ${gvr.resource} ${namespace ? `${namespace}/` : ''}${name}`,
  );
  await conn.rest.delete(gvr, namespace, name).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
}

/** Sends the warm-up requests; failures are in the result, not thrown. */
export async function warmUp(
  env: ProdEnv,
  { url, count, concurrency }: Of<'WarmUp'>,
  ctx: ReconcileContext,
): Promise<WarmupResult> {
  const result = await sendWarmup(url, count, concurrency, {
    timeoutMs: env.deps.warmupTimeoutMs ?? 10_000,
    signal: ctx.signal,
  });
  if (result.failed === 0) ctx.log.info({ url: shown(url), count }, 'warm-up requests answered');
  return result;
}

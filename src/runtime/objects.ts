// Writes that controllers make to their own objects: status (only when it changed, retried on
// conflict), finalizers, and server-side apply with kachiku's field manager.
import { isDeepStrictEqual } from 'node:util';
import { retryOnConflict } from './backoff.js';
import type { Gvr, KubeObject, Rest } from './rest.js';

export const FIELD_MANAGER = 'kachiku';

type WithStatus<S> = KubeObject & { status?: S };

/**
 * Writes `compute(obj)` as the status of `obj` through the status subresource, unless it equals
 * the current status. On a 409 (the object changed since it was read, e.g. from a stale cache)
 * it re-reads the object and computes again. Returns the object as last seen or written.
 */
export async function updateStatus<S, T extends WithStatus<S>>(
  rest: Rest,
  gvr: Gvr,
  obj: T,
  compute: (fresh: T) => S,
  onConflict?: () => void,
): Promise<T> {
  return retryOnConflict(async (attempt) => {
    if (attempt > 0) onConflict?.();
    const fresh =
      attempt === 0 ? obj : await rest.get<T>(gvr, obj.metadata.namespace, obj.metadata.name);
    const status = compute(fresh);
    if (isDeepStrictEqual(status, fresh.status)) return fresh;
    return rest.replace<T>(gvr, { ...fresh, status }, 'status');
  });
}

/** Read-modify-write of the whole object; `mutate` returns false when there is nothing to write. */
export async function update<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  obj: T,
  mutate: (fresh: T) => boolean,
): Promise<T> {
  return retryOnConflict(async (attempt) => {
    const fresh =
      attempt === 0
        ? structuredClone(obj)
        : await rest.get<T>(gvr, obj.metadata.namespace, obj.metadata.name);
    return mutate(fresh) ? rest.replace<T>(gvr, fresh) : fresh;
  });
}

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

export function addFinalizer<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  obj: T,
  finalizer: string,
): Promise<T> {
  return update(rest, gvr, obj, (fresh) => {
    if (hasFinalizer(fresh, finalizer)) return false;
    fresh.metadata.finalizers = [...(fresh.metadata.finalizers ?? []), finalizer];
    return true;
  });
}

export function removeFinalizer<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  obj: T,
  finalizer: string,
): Promise<T> {
  return update(rest, gvr, obj, (fresh) => {
    if (!hasFinalizer(fresh, finalizer)) return false;
    fresh.metadata.finalizers = fresh.metadata.finalizers?.filter((f) => f !== finalizer);
    return true;
  });
}

export function isDeleting(obj: KubeObject): boolean {
  return Boolean(obj.metadata.deletionTimestamp);
}

/** Server-side apply as kachiku: the fields given are kachiku's, conflicts are forced. */
export function apply<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  obj: T,
  subresource?: string,
): Promise<T> {
  return rest.apply(gvr, obj, { fieldManager: FIELD_MANAGER, force: true, subresource });
}

// Credentials from Secrets in the namespace of the object that names them (a mirror, a
// Router). Values are decoded here and handed to the clients; they never reach logs, events or
// status.
import type { Rest } from '../../runtime/rest.js';
import { isForbidden, isNotFound } from '../../runtime/rest.js';
import { secretGvr } from '../../runtime/core.js';
import { TerminalError } from '../../runtime/controller.js';
import { Reason } from '../../api/conditions.js';

/** A missing Secret or key: a condition on the object, not a crash. */
const missing = (message: string) => new TerminalError(Reason.SecretNotFound, message);

export async function readSecret(
  rest: Rest,
  namespace: string,
  name: string,
): Promise<Record<string, string>> {
  try {
    const secret = await rest.get<{ metadata: { name: string }; data?: Record<string, string> }>(
      secretGvr,
      namespace,
      name,
    );
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString('utf8'),
      ]),
    );
  } catch (err) {
    if (isNotFound(err)) throw missing(`Secret ${namespace}/${name} not found`);
    if (isForbidden(err))
      throw new TerminalError(
        Reason.SecretNotReadable,
        `kachiku may not read Secrets in namespace ${namespace} (403): bind ClusterRole kachiku-secret-reader to its ServiceAccount there with a RoleBinding`,
      );
    throw err;
  }
}

export function secretKey(data: Record<string, string>, key: string, where: string): string {
  const value = data[key];
  if (value === undefined) throw missing(`Secret ${where} has no key "${key}"`);
  return value;
}

// What the demo's parts do alike: let kachiku read a namespace's Secrets, as an operator does,
// and wait for a LoadBalancerMirror to be Ready.
import type { KubeObject, Rest } from '../../runtime/rest.js';
import { until } from '../../runtime/wait.js';
import { secretReaderBindingIn } from '../../api/rbac.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { mirrorGvr } from '../../controllers/loadbalancermirror/reconciler.js';

/** As an operator does for a namespace whose objects name Secrets (deploy/rbac's README). */
export async function grantSecretReader(rest: Rest, namespace: string): Promise<void> {
  await rest.apply(
    {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'rolebindings',
      namespaced: true,
    },
    secretReaderBindingIn(namespace) as KubeObject,
    { fieldManager: 'kachiku-demo', force: true },
  );
}

/** The mirror once its Ready condition is True (within a minute). */
export function untilMirrorReady(
  rest: Rest,
  namespace: string,
  name: string,
  what: string,
): Promise<LoadBalancerMirror> {
  return until(
    what,
    async () => {
      const m = await rest.get<LoadBalancerMirror>(mirrorGvr, namespace, name);
      return m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? m
        : undefined;
    },
    60_000,
    250,
  );
}

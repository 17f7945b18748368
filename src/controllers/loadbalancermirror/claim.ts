// One owner per Octavia load balancer (issue 16): a coordination.k8s.io Lease per load-balancer
// id in the mirror's namespace, held by the mirror's uid. Creating an object is atomic in the
// apiserver, so of two mirrors of one load balancer created together — by one replica or by
// two — exactly one creates the Lease; the other reads it and is a DuplicateMirror before it
// touches AWS. The Lease is released on the mirror's deletion (its finalizer); one whose holder
// is gone (finalizer removed by hand) is taken over after a live read shows no such mirror.
// An ownerReference to the holder lets the garbage collector remove it too.
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  resourcePath,
  type KubeObject,
  type Rest,
} from '../../runtime/rest.js';
import { leaseGvr } from '../../runtime/leader.js';
import { API_VERSION } from '../../api/kind.js';
import { loadBalancerMirrorKind, type LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { gvrOf } from '../../api/kind.js';

const mirrorGvr = gvrOf(loadBalancerMirrorKind);

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string };
}

/** The Lease of one Octavia load balancer (its id is a valid name part). */
export const claimName = (loadBalancerID: string) => `kachiku-lbm-${loadBalancerID}`;

export type Claim = { ours: true } | { ours: false; holder: string };

/** Claims the mirror's load balancer, or says which mirror holds it. */
export async function claim(rest: Rest, mirror: LoadBalancerMirror): Promise<Claim> {
  const namespace = mirror.metadata.namespace ?? 'default';
  const uid = mirror.metadata.uid ?? '';
  const name = claimName(mirror.spec.octavia.loadBalancerID);
  for (let attempt = 0; attempt < 5; attempt++) {
    const lease = await rest.get<Lease>(leaseGvr, namespace, name).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!lease) {
      try {
        await rest.create<Lease>(leaseGvr, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace,
            labels: { 'app.kubernetes.io/managed-by': 'kachiku' },
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: 'LoadBalancerMirror',
                name: mirror.metadata.name,
                uid,
              },
            ],
          },
          spec: { holderIdentity: uid },
        });
        return { ours: true };
      } catch (err) {
        if (isAlreadyExists(err)) continue; // another mirror won the create: read whose it is
        throw err;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder === uid) return { ours: true };
    // A live read, not the cache: the holder's mirror always exists before its Lease, so a
    // quorum list that lacks it means it is gone.
    const mirrors = await rest.list<LoadBalancerMirror>(mirrorGvr, namespace);
    const alive = mirrors.items.find((m) => m.metadata.uid === holder);
    if (alive) return { ours: false, holder: alive.metadata.name };
    await deleteLease(rest, lease);
  }
  throw new Error(`the Lease ${namespace}/${name} keeps changing`);
}

/** Releases the claim if this mirror holds it. */
export async function release(rest: Rest, mirror: LoadBalancerMirror): Promise<void> {
  const namespace = mirror.metadata.namespace ?? 'default';
  const name = claimName(mirror.spec.octavia.loadBalancerID);
  const lease = await rest.get<Lease>(leaseGvr, namespace, name).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  if (lease && lease.spec?.holderIdentity === mirror.metadata.uid) await deleteLease(rest, lease);
}

/** Deletes exactly the Lease read (uid and resourceVersion as preconditions). */
async function deleteLease(rest: Rest, lease: Lease): Promise<void> {
  try {
    await rest.request(
      'DELETE',
      resourcePath(leaseGvr, lease.metadata.namespace, lease.metadata.name),
      {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          preconditions: {
            uid: lease.metadata.uid,
            resourceVersion: lease.metadata.resourceVersion,
          },
        },
      },
    );
  } catch (err) {
    // Gone already, or changed since it was read: the caller reads it again.
    if (!isNotFound(err) && !isConflict(err)) throw err;
  }
}

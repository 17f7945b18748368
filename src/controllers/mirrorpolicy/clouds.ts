// The policy's ports on the real clients: Octavia from the controller's clouds.yaml or a
// Secret's (as its mirrors will reach it), cached per credentials; the AMQP URL from a Secret.
import type { Rest } from '../../runtime/rest.js';
import type { MirrorPolicy } from '../../api/mirrorpolicy.js';
import { createOctaviaClient, createSession, type OnCall } from '../../clouds/openstack/index.js';
import { listenNotifications } from '../../clouds/openstack/notifications.js';
import { readSecret, secretKey } from '../shared/secrets.js';
import { octaviaCloud } from '../loadbalancermirror/clouds.js';
import type { LoadBalancerLister, PolicyClouds } from './ports.js';

export function realPolicyClouds(rest: Rest, hooks: { octavia?: OnCall } = {}): PolicyClouds {
  const clients = new Map<string, LoadBalancerLister>();
  return {
    async octavia(p: MirrorPolicy) {
      const { cloud, key } = await octaviaCloud(
        rest,
        p.metadata.namespace ?? 'default',
        p.spec.octavia,
      );
      let client = clients.get(key);
      if (!client) {
        client = createOctaviaClient(
          createSession(cloud, { onCall: hooks.octavia, signal: rest.signal }),
        );
        clients.set(key, client);
      }
      return client;
    },
    async notificationsUrl(p: MirrorPolicy) {
      const ref = p.spec.notifications!.secretRef;
      const namespace = p.metadata.namespace ?? 'default';
      return secretKey(
        await readSecret(rest, namespace, ref.name),
        ref.key ?? 'url',
        `${namespace}/${ref.name}`,
      );
    },
    listen: listenNotifications,
  };
}

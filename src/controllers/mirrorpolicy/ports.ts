// What the MirrorPolicy reconciler needs of the outside: a lister of Octavia load balancers, and
// the AMQP notification listener (both real in clouds.ts; tests may replace them).
import type { MirrorPolicy } from '../../api/mirrorpolicy.js';
import type { ListedLoadBalancer } from './plan.js';
import type { listenNotifications } from '../../clouds/openstack/notifications.js';

export interface LoadBalancerLister {
  /** One load balancer, as a notification names it (much cheaper than a list). */
  getLoadBalancer(id: string): Promise<ListedLoadBalancer>;
  listLoadBalancers(filters: {
    tags?: string[];
    projectID?: string;
  }): Promise<ListedLoadBalancer[]>;
}

export interface PolicyClouds {
  octavia(policy: MirrorPolicy): Promise<LoadBalancerLister>;
  /** The AMQP URL of spec.notifications (from its Secret). */
  notificationsUrl(policy: MirrorPolicy): Promise<string>;
  listen: typeof listenNotifications;
}

// Fixtures for the Router controller's unit tests: Fleets, Tenants, Prods and `show servers
// state` lines as the caches and HAProxy give them.
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant } from '../../api/tenant.js';
import { haproxySettings, type HAProxySettings } from '../../api/router.js';
import type { ServerState } from '../../clouds/haproxy/index.js';

export const NS = 'shop';

export const settings = (over: Partial<HAProxySettings> = {}): HAProxySettings =>
  haproxySettings({
    instances: [{ name: 'a', runtimeAPI: '127.0.0.1:9999' }],
    map: '/etc/haproxy/hosts.map',
    slots: 4,
    serversPerSlot: 2,
    ...over,
  });

export function fleet(name: string, routing: Fleet['spec']['routing'] = { router: 'r' }): Fleet {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name, namespace: NS },
    spec: {
      app: 'shop',
      version: '1.0.0',
      template: { components: [{ name: 'web', image: 'x:{{version}}' }], capacity: 10 },
      prods: { perDomain: 1 },
      routing,
    },
  };
}

export function tenant(
  name: string,
  hosts: string[],
  primary?: string,
  secondary?: string,
  opts: { fleet?: string; created?: string } = {},
): Tenant {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Tenant',
    metadata: {
      name,
      namespace: NS,
      creationTimestamp: opts.created ?? '2025-01-01T00:00:00Z',
    },
    spec: {
      fleet: opts.fleet ?? 'f',
      redundancy: secondary ? 'Dual' : 'Single',
      hosts,
    },
    status: primary ? { prods: { primary, ...(secondary ? { secondary } : {}) } } : {},
  };
}

export function prod(
  name: string,
  addresses: string[],
  opts: {
    fleet?: string;
    component?: string;
    deleting?: boolean;
    held?: boolean;
    avoided?: boolean;
  } = {},
): Prod {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Prod',
    metadata: {
      name,
      namespace: NS,
      labels: { 'kachiku.io/fleet': opts.fleet ?? 'f' },
      ...(opts.held || opts.avoided
        ? {
            annotations: {
              ...(opts.held ? { 'kachiku.io/hold': 'shop-2.0.0' } : {}),
              ...(opts.avoided ? { 'kachiku.io/avoid': 'shop-2.0.0' } : {}),
            },
          }
        : {}),
      ...(opts.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: { app: 'shop', version: '1.0.0' },
    status: {
      endpoints: addresses.map((address) => ({ component: opts.component ?? 'web', address })),
    },
  };
}

/** One server as `show servers state` reports it. */
export function server(
  backend: string,
  id: number,
  at: { addr?: string; port?: number; admin?: ServerState['admin'] } = {},
): ServerState {
  return {
    backendId: 1,
    backend,
    id,
    name: `s${id}`,
    addr: at.addr ?? '127.0.0.1',
    port: at.port ?? 1,
    admin: at.admin ?? 'maint',
    adminFlags: at.admin === 'maint' || at.admin === undefined ? 0x05 : 0x04,
    op: at.admin === 'maint' || at.admin === undefined ? 'down' : 'up',
    weight: 1,
    checkResult: 'unknown',
    checkEnabled: true,
    fqdn: 'unassigned.invalid',
  };
}

/** A freshly started router: every server of every slot in maintenance at 127.0.0.1:1. */
export function freshServers(spec: HAProxySettings): ServerState[] {
  const out: ServerState[] = [];
  for (let i = 0; i < spec.slots; i++)
    for (let j = 1; j <= spec.serversPerSlot; j++) out.push(server(`be_slot_${i}`, j));
  return out;
}

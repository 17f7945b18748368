// Building Octavia load balancers in the lab (demo, tests, benchmarks): one object at a
// time (Octavia 11 loses children of a single-call create), each write retried while the load
// balancer is PENDING_* (409) and followed by a wait for ACTIVE.
import { setTimeout as sleep } from 'node:timers/promises';
import type { OpenStackState } from './parts/openstack.js';

type Json = Record<string, unknown>;

export interface MemberInput {
  address: string;
  protocol_port: number;
  weight?: number;
  admin_state_up?: boolean;
  backup?: boolean;
}

export class OctaviaBuilder {
  private token = '';

  constructor(private readonly os: OpenStackState) {}

  private async auth(): Promise<void> {
    const res = await fetch(`${this.os.keystoneUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: this.os.user.name,
                domain: { name: this.os.user.domain },
                password: this.os.user.password,
              },
            },
          },
          scope: {
            project: { name: this.os.project.name, domain: { name: this.os.project.domain } },
          },
        },
      }),
    });
    if (res.status !== 201) throw new Error(`keystone: ${res.status} ${await res.text()}`);
    this.token = res.headers.get('x-subject-token') ?? '';
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: Json }> {
    if (!this.token) await this.auth();
    const res = await fetch(`${this.os.octaviaUrl}/v2/lbaas${path}`, {
      method,
      headers: {
        'x-auth-token': this.token,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal,
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
  }

  /** A write, retried on 409 while the load balancer is PENDING_*; then waits for ACTIVE. */
  private async write(
    lbId: string | undefined,
    method: string,
    path: string,
    key: string,
    body: Json,
  ): Promise<Json> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.call(method, path, key ? { [key]: body } : undefined);
      // 409: the load balancer is PENDING_*.
      if (r.status === 409 && attempt < 360) {
        await sleep(500);
        continue;
      }
      if (r.status < 200 || r.status >= 300)
        throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      const obj = (key ? r.body[key] : r.body) as Json;
      await this.waitActive(lbId ?? (obj.id as string));
      return obj;
    }
  }

  async waitActive(lbId: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call('GET', `/loadbalancers/${lbId}`);
      const status = (r.body.loadbalancer as Json | undefined)?.provisioning_status;
      if (status === 'ACTIVE') return;
      if (status === 'ERROR') throw new Error(`load balancer ${lbId} went to ERROR`);
      if (Date.now() > deadline) throw new Error(`load balancer ${lbId} still ${String(status)}`);
      await sleep(300);
    }
  }

  /** The id of the load balancer of that name, if there is one. */
  async findLoadBalancer(name: string): Promise<string | undefined> {
    const r = await this.call('GET', `/loadbalancers?name=${encodeURIComponent(name)}`);
    return ((r.body.loadbalancers as Json[] | undefined) ?? [])[0]?.id as string | undefined;
  }

  /** `extra`: more attributes of the create, e.g. `tags`. */
  async loadBalancer(name: string, extra: Json = {}): Promise<string> {
    // The noop network driver accepts any subnet UUID.
    const lb = await this.write(undefined, 'POST', '/loadbalancers', 'loadbalancer', {
      name,
      vip_subnet_id: '5ea6ec23-1c2d-4bba-9cab-2c1a4cad8cd7',
      provider: 'amphora',
      ...extra,
    });
    return lb.id as string;
  }

  async listener(lbId: string, protocol: string, port: number, extra: Json = {}): Promise<string> {
    return (
      await this.write(lbId, 'POST', '/listeners', 'listener', {
        loadbalancer_id: lbId,
        protocol,
        protocol_port: port,
        ...extra,
      })
    ).id as string;
  }

  async pool(
    lbId: string,
    listenerId: string,
    protocol: string,
    extra: Json = {},
  ): Promise<string> {
    return (
      await this.write(lbId, 'POST', '/pools', 'pool', {
        listener_id: listenerId,
        protocol,
        lb_algorithm: 'ROUND_ROBIN',
        ...extra,
      })
    ).id as string;
  }

  async member(lbId: string, poolId: string, m: MemberInput): Promise<string> {
    return (await this.write(lbId, 'POST', `/pools/${poolId}/members`, 'member', { ...m }))
      .id as string;
  }

  /** Sets a pool's whole member list in one call (Octavia's batch member update). */
  async setMembers(lbId: string, poolId: string, members: MemberInput[]): Promise<void> {
    await this.write(
      lbId,
      'PUT',
      `/pools/${poolId}/members`,
      'members',
      members as unknown as Json,
    );
  }

  async updateMember(
    lbId: string,
    poolId: string,
    memberId: string,
    change: Partial<MemberInput>,
  ): Promise<void> {
    await this.write(lbId, 'PUT', `/pools/${poolId}/members/${memberId}`, 'member', change);
  }

  async deleteMember(lbId: string, poolId: string, memberId: string): Promise<void> {
    await this.write(lbId, 'DELETE', `/pools/${poolId}/members/${memberId}`, '', {});
  }

  async healthMonitor(lbId: string, poolId: string, extra: Json): Promise<string> {
    return (
      await this.write(lbId, 'POST', '/healthmonitors', 'healthmonitor', {
        pool_id: poolId,
        ...extra,
      })
    ).id as string;
  }

  /** Changes the load balancer's description: a change to it that touches nothing under it. */
  async describe(lbId: string, description: string): Promise<void> {
    await this.write(lbId, 'PUT', `/loadbalancers/${lbId}`, 'loadbalancer', { description });
  }

  /** Deletes the load balancer and everything in it; waits until it is gone. */
  async deleteLoadBalancer(lbId: string): Promise<void> {
    for (let i = 0; i < 240; i++) {
      const r = await this.call('DELETE', `/loadbalancers/${lbId}?cascade=true`);
      if (r.status === 404) return;
      if (r.status !== 409 && r.status !== 204) throw new Error(`delete ${lbId}: ${r.status}`);
      await sleep(500);
      const g = await this.call('GET', `/loadbalancers/${lbId}`);
      if (
        g.status === 404 ||
        (g.body.loadbalancer as Json | undefined)?.provisioning_status === 'DELETED'
      )
        return;
    }
    throw new Error(`load balancer ${lbId} not deleted`);
  }
}

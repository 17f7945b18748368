// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection: a
// lease is taken when it is free or its holder has not renewed it for leaseDuration as seen by
// our own clock (no trust in other clocks); the leader renews every retryPeriod and steps down
// if it could not renew within renewDeadline (each attempt is cut off at that deadline: a request
// hanging on a dead connection must not keep a deposed leader believing it leads); a graceful
// stop releases the lease so another replica takes over at once.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  type Gvr,
  type KubeObject,
  type Rest,
} from './rest.js';
import type { Logger } from './log.js';
import { microTime } from './time.js';

export const leaseGvr: Gvr = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  namespaced: true,
};

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed?: { record: string; at: number };
  private leading = false;

  constructor(
    private readonly rest: Rest,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.identity = opts.identity ?? defaultIdentity();
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this replica leads, or with false when `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.opts.log.info({ lease: this.opts.name, identity: this.identity }, 'waiting to lead');
    while (!signal.aborted) {
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(this.renewDeadlineMs)]);
      if (await this.tryAcquireOrRenew(attempt).catch((err) => this.warn(err, signal))) {
        this.leading = true;
        this.opts.log.info({ lease: this.opts.name, identity: this.identity }, 'became leader');
        return true;
      }
      await sleep(this.jittered(), undefined, { signal }).catch(() => {});
    }
    return false;
  }

  /**
   * Renews until `signal` aborts (resolves true) or renewal fails for renewDeadline (resolves
   * false: leadership is lost and the caller must stop acting as leader).
   */
  async renew(signal: AbortSignal): Promise<boolean> {
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.retryPeriodMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      const left = Math.max(1, lastRenew + this.renewDeadlineMs - Date.now());
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(left)]);
      const ok = await this.tryAcquireOrRenew(attempt).catch((err) => this.warn(err, signal));
      if (ok) lastRenew = Date.now();
      else if (Date.now() - lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        this.opts.log.error(
          { lease: this.opts.name, identity: this.identity },
          'leadership lost: could not renew the lease',
        );
        return false;
      }
    }
    return true;
  }

  /** Gives the lease up so another replica can take over at once. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.rest.get<Lease>(leaseGvr, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date()),
      };
      await this.rest.replace(leaseGvr, lease);
      this.opts.log.info({ lease: this.opts.name, identity: this.identity }, 'released the lease');
    } catch (err) {
      this.warn(err);
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const rest = this.rest.withSignal(signal);
    const now = new Date();
    const mine = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await rest.get<Lease>(leaseGvr, this.opts.namespace, this.opts.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await rest.create<Lease>(leaseGvr, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: mine,
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = spec.holderIdentity ?? '';
    const held = holder !== '' && holder !== this.identity;
    const expired = Date.now() > this.observed.at + (spec.leaseDurationSeconds ?? 0) * 1000;
    if (held && !expired) return false;
    lease.spec = {
      ...mine,
      acquireTime: holder === this.identity ? spec.acquireTime : mine.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1),
    };
    try {
      await rest.replace(leaseGvr, lease);
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    this.observed = undefined;
    return true;
  }

  private jittered(): number {
    return this.retryPeriodMs * (1 + Math.random() * 0.2);
  }

  private warn(err: unknown, stopping?: AbortSignal): false {
    if (stopping?.aborted) return false;
    this.opts.log.warn(
      { lease: this.opts.name, err: err instanceof Error ? err.message : String(err) },
      'lease request failed',
    );
    return false;
  }
}

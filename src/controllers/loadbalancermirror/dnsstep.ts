// The DNS part of a mirror's reconcile: spec.dns (or its removal) made true in Route 53 through
// dnssync.ts, with kachiku's own probes in controller mode, and the outcome written as the
// DNSSynced condition (and Degraded for an unhealthy side) rather than thrown, so that the
// NLB's own sync stands whatever happens here.
import type { Manager } from '../../runtime/manager.js';
import { TerminalError } from '../../runtime/controller.js';
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { LoadBalancerMirror, LoadBalancerMirrorStatus } from '../../api/loadbalancermirror.js';
import { probeTargets, type DnsInput } from './dns.js';
import { removeDns, syncDns, type DnsMemo } from './dnssync.js';
import type { Prober } from './prober.js';
import type { DnsApi } from './ports.js';

export type SetCondition = (
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
) => void;

/** Sets conditions in place in `conditions`, with the generation they were computed from. */
export function conditionSetter(
  conditions: Condition[],
  generation: number | undefined,
): SetCondition {
  return (type, status, reason, message) =>
    conditions.splice(
      0,
      conditions.length,
      ...setCondition(conditions, { type, status, reason, message }, generation),
    );
}

export interface DnsStepContext {
  mgr: Manager;
  route53: (mirror: LoadBalancerMirror) => Promise<DnsApi>;
  checkEvery: number;
  /** What the controller remembers between syncs, by mirror key. */
  dns: Map<string, DnsMemo>;
  prober: Prober;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Route 53 for spec.dns (or its removal). Problems are written as conditions, not thrown: the
 * NLB's own sync stands. Returns true when a retry should come sooner than the interval.
 */
export async function dnsStep(
  memory: DnsStepContext,
  mirror: LoadBalancerMirror,
  status: Partial<LoadBalancerMirrorStatus>,
  vip: string | undefined,
  set: SetCondition,
  conditions: Condition[],
): Promise<boolean> {
  const { mgr } = memory;
  const input0 = { namespace: mirror.metadata.namespace ?? 'default', name: mirror.metadata.name };
  const key = `${input0.namespace}/${input0.name}`;
  const spec = mirror.spec.dns;
  const previous = mirror.status?.dns;
  const warn = (reason: string, note: string) =>
    void mgr.events.record({ regarding: mirror, type: 'Warning', reason, action: 'DNS', note });
  try {
    const api = await memory.route53(mirror);
    if (!spec) {
      // spec.dns went away: remove what it made, then forget it.
      memory.prober.stop(key);
      memory.dns.delete(key);
      const removed = await removeDns(
        api,
        { ...input0, uid: mirror.metadata.uid ?? '' },
        previous?.hostedZoneID,
        (previous?.records ?? []).map((r) => r.name),
      );
      status.dns = undefined;
      const i = conditions.findIndex((c) => c.type === ConditionType.DNSSynced);
      if (i >= 0) conditions.splice(i, 1);
      void mgr.events.record({
        regarding: mirror,
        type: 'Normal',
        reason: 'DNSRemoved',
        action: 'DNS',
        note: `spec.dns removed: deleted ${removed} record(s) and health check(s)`,
      });
      return false;
    }
    const nlb = status.loadBalancer ?? mirror.status?.loadBalancer;
    const octaviaAddress = spec.octaviaAddress ?? vip ?? previous?.octaviaAddress;
    if (!nlb?.dnsName || !octaviaAddress) {
      set(ConditionType.DNSSynced, 'False', Reason.Reconciling, 'waiting for the NLB to exist');
      return true;
    }
    const input: DnsInput = {
      namespace: input0.namespace,
      name: input0.name,
      uid: mirror.metadata.uid ?? '',
      generation: mirror.metadata.generation ?? 0,
      spec,
      nlb: { dnsName: nlb.dnsName, hostedZoneId: nlb.canonicalHostedZoneID ?? '' },
      octaviaAddress,
      current: Object.fromEntries(
        (previous?.records ?? []).map((r) => [r.side, r.weight] as const),
      ),
    };
    const targets = probeTargets(input);
    const probeHealth = targets ? memory.prober.ensure(key, targets) : undefined;
    if (probeHealth)
      input.probes = { octavia: probeHealth.octavia.state, nlb: probeHealth.nlb.state };
    else memory.prober.stop(key);

    const result = await syncDns(
      api,
      input,
      previous,
      memory.dns.get(key),
      memory.checkEvery,
      probeHealth,
    );
    memory.dns.set(key, result.memo);
    status.dns = result.status;
    for (const change of result.changes)
      void mgr.events.record({
        regarding: mirror,
        type: 'Normal',
        reason: change.startsWith('weight of') ? 'WeightChanged' : 'DNSChanged',
        action: 'DNS',
        note: change,
      });
    const { weights, mode, note } = result.plan;
    const summary = `${spec.recordNames.length} name(s): octavia ${weights.octavia}, nlb ${weights.nlb}; serving ${result.status.servingSide}`;
    set(
      ConditionType.DNSSynced,
      'True',
      mode === 'maintenance' ? Reason.Maintenance : Reason.InSync,
      mode === 'maintenance' ? `maintenance, weights as written: ${summary}` : summary,
    );
    if (note) {
      if (conditions.find((c) => c.type === ConditionType.Degraded)?.status !== 'True')
        set(ConditionType.Degraded, 'True', note.reason, note.message);
      if (previous?.servingSide !== result.status.servingSide) warn(note.reason, note.message);
    } else {
      const degraded = conditions.find((c) => c.type === ConditionType.Degraded);
      if (
        degraded?.status === 'True' &&
        (degraded.reason === Reason.SideUnhealthy || degraded.reason === Reason.BothSidesUnhealthy)
      )
        set(ConditionType.Degraded, 'False', Reason.InSync, 'both sides answer their probes');
    }
    return false;
  } catch (err) {
    memory.dns.delete(key);
    // A DNS problem a condition explains (the spec or the zone, not an outage).
    if (err instanceof TerminalError) {
      set(ConditionType.DNSSynced, 'False', err.reason, err.message);
      set(ConditionType.Ready, 'False', err.reason, err.message);
      warn(err.reason, err.message);
      return false;
    }
    const message = `Route 53: ${errorMessage(err)}`;
    set(ConditionType.DNSSynced, 'False', Reason.AWSUnreachable, message);
    set(ConditionType.Degraded, 'True', Reason.AWSUnreachable, message);
    warn(Reason.AWSUnreachable, message);
    return true;
  }
}

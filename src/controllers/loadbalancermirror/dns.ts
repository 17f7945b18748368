// The mirror's DNS failover, pure: from spec.dns, the NLB, the Octavia address and (in
// controller mode) what kachiku's own probes saw, the Route 53 health checks and weighted
// records that should exist, and which side serves.
//
// Names kachiku gives: a record's SetIdentifier hashes the mirror and the record name (moto
// deletes every record with a SetIdentifier, whatever its name, so it must be unique per name);
// a health check's CallerReference starts with the mirror's UID (found again by that prefix
// after a restart) and ends with the generation that made it (Route 53 refuses a reference
// once used by a deleted check).
import { createHash } from 'node:crypto';
import type { DnsSpec } from '../../api/loadbalancermirror.js';
import {
  fqdn,
  type HealthCheckSpec,
  type HealthState,
  type WeightedRecord,
} from '../../clouds/aws/route53.js';
import { MANAGED_BY_TAG, OWNER_TAG } from './plan.js';

export type Side = 'octavia' | 'nlb';
export type Serving = 'both' | 'octavia' | 'nlb' | 'none';
export type Weights = Record<Side, number>;
export const SIDES: Side[] = ['octavia', 'nlb'];

export interface DnsInput {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  spec: DnsSpec;
  nlb: { dnsName: string; hostedZoneId: string };
  /** spec.dns.octaviaAddress, or the load balancer's VIP. */
  octaviaAddress: string;
  /** Controller mode: what kachiku's probes say of each side. */
  probes?: Record<Side, HealthState>;
  /** The weights Route 53 has now, if known (kept when both sides are down). */
  current?: Partial<Weights>;
}

export interface DesiredHealthCheck {
  side: Side;
  spec: HealthCheckSpec;
  callerReference: string;
  tags: Record<string, string>;
}

export interface DesiredRecord extends Omit<WeightedRecord, 'healthCheckId'> {
  side: Side;
  /** The side whose health check the record carries (route53 mode). */
  healthCheck?: Side;
}

export interface DnsPlan {
  mode: NonNullable<DnsSpec['failoverMode']>;
  healthChecks: DesiredHealthCheck[];
  records: DesiredRecord[];
  weights: Weights;
  /** Why the weights differ from spec.dns.weights, or why they could not. */
  note?: { reason: 'SideUnhealthy' | 'BothSidesUnhealthy'; message: string };
}

/** How kachiku probes one side in controller mode. */
export interface ProbeTarget {
  type: 'TCP' | 'HTTP' | 'HTTPS';
  host: string;
  port: number;
  path: string;
  intervalSeconds: number;
  /** Consecutive failures to turn unhealthy, and successes to recover. */
  threshold: number;
}

const hash = (value: unknown, length: number) =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, length);

export const setIdentifier = (ns: string, name: string, side: Side, recordName: string): string =>
  `kachiku-${side}-${hash([ns, name, fqdn(recordName)], 12)}`;

/** The prefix of every CallerReference of this mirror's health checks. */
export const callerPrefix = (uid: string): string => `kk:${uid.replace(/-/g, '')}:`;

export const defaultWeights = (spec: DnsSpec): Weights => ({
  octavia: spec.weights?.octavia ?? 90,
  nlb: spec.weights?.nlb ?? 10,
});

/** The check of a side as spec'd; in controller mode the NLB side falls back to Octavia's. */
function sideCheck(spec: DnsSpec, side: Side) {
  const own = spec.healthChecks?.[side];
  if (own || side === 'octavia' || spec.failoverMode !== 'controller') return own;
  return spec.healthChecks?.octavia;
}

function sideHost(input: DnsInput, side: Side): string {
  return (
    sideCheck(input.spec, side)?.host ??
    (side === 'octavia' ? input.octaviaAddress : input.nlb.dnsName)
  );
}

export function probeTargets(input: DnsInput): Record<Side, ProbeTarget> | undefined {
  if (input.spec.failoverMode !== 'controller') return undefined;
  const target = (side: Side): ProbeTarget => {
    const hc = sideCheck(input.spec, side)!;
    return {
      type: hc.type ?? 'TCP',
      host: sideHost(input, side),
      port: hc.port,
      path: hc.path ?? '/',
      intervalSeconds: hc.interval ?? 30,
      threshold: hc.failureThreshold ?? 3,
    };
  };
  return { octavia: target('octavia'), nlb: target('nlb') };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The weights to publish: spec's, or in controller mode with an unhealthy side zeroed. */
export function effectiveWeights(input: DnsInput): Pick<DnsPlan, 'weights' | 'note'> {
  const spec = defaultWeights(input.spec);
  if (input.spec.failoverMode !== 'controller' || !input.probes) return { weights: spec };
  const down = (s: Side) => input.probes![s] === 'Unhealthy';
  // Probes not yet conclusive (a restarted controller, a retargeted probe): keep what Route 53
  // has, so that a restart neither undoes a failover nor flaps.
  const current = input.current ?? {};
  if (
    SIDES.some((s) => input.probes![s] === 'Unknown') &&
    current.octavia !== undefined &&
    current.nlb !== undefined
  )
    return { weights: { octavia: current.octavia, nlb: current.nlb } };
  if (down('octavia') && down('nlb'))
    return {
      weights: { ...spec, ...input.current },
      note: {
        reason: 'BothSidesUnhealthy',
        message: 'both sides fail their probes: the weights are left as they were',
      },
    };
  for (const side of SIDES) {
    if (!down(side)) continue;
    const other: Side = side === 'octavia' ? 'nlb' : 'octavia';
    // Never both 0: the healthy side takes the failed side's weight if it had none.
    return {
      weights: { [side]: 0, [other]: spec[other] || spec[side] } as Weights,
      note: {
        reason: 'SideUnhealthy',
        message: `the ${side} side fails its probes: its weight is 0`,
      },
    };
  }
  return { weights: spec };
}

export function planDns(input: DnsInput): DnsPlan {
  const mode = input.spec.failoverMode ?? 'route53';
  const { weights, note } = effectiveWeights(input);
  const healthChecks: DesiredHealthCheck[] = [];
  if (mode === 'route53') {
    for (const side of SIDES) {
      const hc = input.spec.healthChecks?.[side];
      if (!hc) continue;
      const host = sideHost(input, side);
      const spec: HealthCheckSpec = {
        type: hc.type ?? 'TCP',
        ...(IPV4.test(host) ? { ipAddress: host } : { fqdn: host }),
        port: hc.port,
        ...(hc.type !== undefined && hc.type !== 'TCP' && { path: hc.path ?? '/' }),
        requestInterval: (hc.interval ?? 30) as 10 | 30,
        failureThreshold: hc.failureThreshold ?? 3,
      };
      healthChecks.push({
        side,
        spec,
        callerReference: `${callerPrefix(input.uid)}${side[0]}:${hash(spec, 8)}:${input.generation}`,
        tags: {
          Name: `${input.namespace}/${input.name} ${side}`,
          [OWNER_TAG]: `${input.namespace}/${input.name}`,
          [MANAGED_BY_TAG]: 'kachiku',
        },
      });
    }
  }
  const checked = new Set(healthChecks.map((h) => h.side));
  const ttl = input.spec.ttl ?? 60;
  const records = input.spec.recordNames.flatMap((recordName): DesiredRecord[] => {
    const name = fqdn(recordName);
    return [
      {
        side: 'octavia',
        name,
        setIdentifier: setIdentifier(input.namespace, input.name, 'octavia', name),
        weight: weights.octavia,
        ttl,
        values: [input.octaviaAddress],
        ...(checked.has('octavia') && { healthCheck: 'octavia' as Side }),
      },
      {
        side: 'nlb',
        name,
        setIdentifier: setIdentifier(input.namespace, input.name, 'nlb', name),
        weight: weights.nlb,
        alias: {
          hostedZoneId: input.nlb.hostedZoneId,
          dnsName: fqdn(input.nlb.dnsName),
          evaluateTargetHealth: true,
        },
        ...(checked.has('nlb') && { healthCheck: 'nlb' as Side }),
      },
    ];
  });
  return { mode, healthChecks, records, weights, ...(note && { note }) };
}

/**
 * Which side gets traffic: a side serves while its weight is above 0 and it is not known to be
 * unhealthy (by Route 53's checks or kachiku's probes); 'none' when no such side is left.
 */
export function servingSide(weights: Weights, health: Partial<Record<Side, HealthState>>): Serving {
  const up = (s: Side) => weights[s] > 0 && health[s] !== 'Unhealthy';
  if (up('octavia') && up('nlb')) return 'both';
  if (up('octavia')) return 'octavia';
  if (up('nlb')) return 'nlb';
  return 'none';
}

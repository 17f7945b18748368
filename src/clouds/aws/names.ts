// Deterministic ELBv2 names, after aws-load-balancer-controller's `k8s-<8>-<8>-<10 hash>`:
// a readable part for humans and a hash of everything that makes the resource unique, so a
// restarted controller computes the same name and finds what it made, and a change to an
// immutable field yields a new name: a new resource beside the old one, then a safe switch.
//
// ELBv2 names: at most 32 characters, alphanumerics and hyphens, not starting or ending with
// a hyphen, and (as moto checks) no double hyphens. "kachiku-" would leave too little room, so
// the prefix is "kk-": kk-<namespace 8>-<name 8>-<hash 10> is 31 characters at most.
import { createHash } from 'node:crypto';
import type { NlbProtocol } from './types.js';

export const MAX_NAME = 32;
const PREFIX = 'kk';
const HASH = 10;

export interface LoadBalancerNameInput {
  /** Which kachiku installation owns it, so two control planes in one account never clash. */
  cluster?: string;
  namespace: string;
  name: string;
  /** Immutable for an NLB: a change means a new load balancer. */
  scheme: 'internal' | 'internet-facing';
  vpcId: string;
}

export function loadBalancerName(i: LoadBalancerNameInput): string {
  const hash = digest([i.cluster ?? '', i.namespace, i.name, i.scheme, i.vpcId]);
  return join([clip(i.namespace, 8), clip(i.name, 8)], hash);
}

export interface TargetGroupNameInput {
  cluster?: string;
  namespace: string;
  name: string;
  /** Which of the mirror's target groups, e.g. the Octavia pool ID. */
  key: string;
  // ELBv2 cannot change these on an existing target group.
  protocol: NlbProtocol;
  port: number;
  targetType: 'ip';
  vpcId: string;
}

/** kk-<name>-<port><protocol>-<hash 10>, e.g. kk-web-443tcp-1a2b3c4d5e. */
export function targetGroupName(i: TargetGroupNameInput): string {
  const hash = digest([
    i.cluster ?? '',
    i.namespace,
    i.name,
    i.key,
    i.protocol,
    i.port,
    i.targetType,
    i.vpcId,
  ]);
  const portProto = `${i.port}${clip(i.protocol, 8).toLowerCase()}`;
  // The name gets what "kk-", the port and protocol, the hash and three hyphens leave, ≤ 8.
  const room = MAX_NAME - PREFIX.length - portProto.length - HASH - 3;
  return join([clip(i.name, Math.min(8, room)), portProto], hash);
}

/** Only alphanumerics survive: hyphens and dots inside Kubernetes names would add noise. */
const clip = (s: string, n: number): string => s.replace(/[^A-Za-z0-9]/g, '').slice(0, n);

// Empty parts are dropped, so a name never has a double hyphen.
const join = (parts: string[], hash: string): string =>
  [PREFIX, ...parts.filter((p) => p !== ''), hash].join('-');

const digest = (fields: unknown[]): string =>
  createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, HASH);

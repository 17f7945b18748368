// What the mirror's reconciler needs of the outside, as small interfaces: the reconciler stays
// testable and the wiring to the real clients (clouds.ts) stays in one place.
import type { OctaviaLoadBalancer, OctaviaTree } from '../../clouds/openstack/types.js';
import type { ObservedStack, TargetHealth } from '../../clouds/aws/types.js';
import type { Route53Api } from '../../clouds/aws/route53.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { Action } from './plan.js';

export interface OctaviaReader {
  getLoadBalancer(loadBalancerId: string): Promise<OctaviaLoadBalancer>;
  /** The whole tree; with the load balancer just read, without reading it again. */
  getTree(loadBalancerId: string, loadBalancer?: OctaviaLoadBalancer): Promise<OctaviaTree>;
}

/** ARNs known while a sync executes its actions: created resources are added as they come. */
export interface Arns {
  loadBalancer?: string;
  /** The load balancer's DNS name and hosted zone, once known (for status and Route 53). */
  dns?: { dnsName: string; canonicalHostedZoneId: string };
  targetGroups: Map<string, string>;
}

export interface AwsStackApi {
  /** The subnet ids among `subnetIds` that do not exist in `vpcId`. */
  subnetsOutside(vpcId: string, subnetIds: string[]): Promise<string[]>;
  /**
   * Everything that carries the owner tag, in the VPC; with `octaviaLoadBalancerId`, also the
   * owners of other mirrors of that Octavia load balancer there (`relatedOwners`), from the
   * same scan.
   */
  observe(owner: string, vpcId: string, octaviaLoadBalancerId?: string): Promise<ObservedStack>;
  /**
   * The stack read by the ARNs a previous sync recorded, in a few calls; undefined when any is
   * gone or untagged (then `observe` scans).
   */
  observeKnown(
    owner: string,
    known: { loadBalancerArn: string; targetGroupArns: string[] },
  ): Promise<ObservedStack | undefined>;
  /**
   * What one target group holds (DescribeTargetHealth, one call): the steady-state check.
   * Undefined when the target group is gone.
   */
  targetHealth(targetGroupArn: string): Promise<TargetHealth[] | undefined>;
  /** Carries out one planned action; records the ARN of what it created in `arns`. */
  apply(action: Action, arns: Arns): Promise<void>;
  deleteLoadBalancer(arn: string): Promise<void>;
  /** The ARNs among these that still exist in AWS, each asked by ARN. */
  remaining(arns: {
    loadBalancers: string[];
    targetGroups: string[];
    listeners: string[];
  }): Promise<string[]>;
  /** Removes the given tag keys from the resources (deletionPolicy Retain). */
  untag(arns: string[], keys: string[]): Promise<void>;
}

/** What DNS failover needs of Route 53 (see clouds/aws/route53.ts). */
export type DnsApi = Route53Api;

/** Builds the clients of one mirror from its spec and Secrets; cached by the implementation. */
export interface MirrorClouds {
  octavia(mirror: LoadBalancerMirror): Promise<OctaviaReader>;
  aws(mirror: LoadBalancerMirror): Promise<AwsStackApi>;
  route53(mirror: LoadBalancerMirror): Promise<DnsApi>;
}

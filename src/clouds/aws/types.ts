// An NLB "stack" as kachiku models it (after aws-load-balancer-controller): the load balancer,
// its target groups with their targets, and its listeners. The desired stack comes from the
// mirror's plan; the observed stack is what AWS holds, found by kachiku's ownership tags.

export type NlbProtocol = 'TCP' | 'UDP' | 'TCP_UDP' | 'TLS';

export interface HealthCheck {
  protocol: 'TCP' | 'HTTP' | 'HTTPS';
  /** 'traffic-port' or a port number as a string, as ELBv2 takes it. */
  port: string;
  path?: string;
  /** HTTP(S) success codes, e.g. "200-399". */
  matcher?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface Target {
  ip: string;
  port: number;
  /** "all" for targets outside the VPC (on-prem, over Direct Connect). */
  availabilityZone: string;
}

/** A target as DescribeTargetHealth reports it: what is registered, and its health. */
export interface TargetHealth {
  ip: string;
  port: number;
  /** initial, healthy, unhealthy, unhealthy.draining, unused, draining or unavailable. */
  state: string;
  /** Why, e.g. Target.NotInUse (the target group serves no load balancer). */
  reason?: string;
}

export interface TargetGroup {
  /** Deterministic, at most 32 characters. */
  name: string;
  protocol: NlbProtocol;
  port: number;
  vpcId: string;
  targetType: 'ip';
  healthCheck: HealthCheck;
  /** ELBv2 target group attributes, e.g. deregistration_delay.timeout_seconds. */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  targets: Target[];
}

export interface Listener {
  port: number;
  protocol: NlbProtocol;
  /** The name of the target group it forwards to. */
  targetGroup: string;
  tags: Record<string, string>;
}

export interface LoadBalancer {
  name: string;
  scheme: 'internal' | 'internet-facing';
  subnetIds: string[];
  tags: Record<string, string>;
  attributes: Record<string, string>;
}

export interface Stack {
  loadBalancer: LoadBalancer;
  targetGroups: TargetGroup[];
  listeners: Listener[];
}

/** What AWS holds for a stack: the same shapes, with ARNs. */
export interface ObservedStack {
  loadBalancer?: LoadBalancer & {
    arn: string;
    dnsName: string;
    canonicalHostedZoneId: string;
    vpcId: string;
    state: string;
  };
  targetGroups: (TargetGroup & { arn: string; loadBalancerArns: string[] })[];
  listeners: (Omit<Listener, 'targetGroup'> & { arn: string; targetGroupArn: string })[];
  /** With ObserveOptions.related: the other owners of related resources found in the same scan. */
  relatedOwners?: string[];
}

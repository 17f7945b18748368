// AWS's documented constraints on what kachiku sends to ELBv2, checked before sending. moto
// validates few of them (reference/aws.md: "moto's gaps"), so without these a test could pass
// against moto with a request real AWS refuses. Pure: each rule is unit-tested in
// constraints.test.ts. A violation is an AwsError of kind 'Invalid' (code ValidationError, as
// AWS answers), raised before any call.
import { AwsError } from './errors.js';
import type { HealthCheck, LoadBalancer, NlbProtocol, Target, TargetGroup } from './types.js';

export const LIMITS = {
  name: 32,
  interval: [5, 300],
  timeout: [2, 120],
  threshold: [2, 10],
  deregistrationDelay: [0, 3600],
  port: [1, 65535],
} as const;

/** Target-group protocols on which AWS keeps client IP preservation on, unchangeably. */
export const CLIENT_IP_ALWAYS_PRESERVED = new Set<string>(['UDP', 'TCP_UDP', 'QUIC', 'TCP_QUIC']);

/** The target-group protocols a listener of each protocol may forward to. */
const LISTENER_TARGETS: Record<NlbProtocol, NlbProtocol[]> = {
  TCP: ['TCP', 'TCP_UDP'],
  UDP: ['UDP', 'TCP_UDP'],
  TCP_UDP: ['TCP_UDP'],
  TLS: ['TCP', 'TLS'],
};
const PROTOCOLS = new Set<string>(['TCP', 'UDP', 'TCP_UDP', 'TLS']);
const BOOLEAN_ATTRIBUTES = new Set([
  'preserve_client_ip.enabled',
  'proxy_protocol_v2.enabled',
  'stickiness.enabled',
  'load_balancing.cross_zone.enabled',
  'deletion_protection.enabled',
  'deregistration_delay.connection_termination.enabled',
  'connection_termination.on_deregistration.enabled',
]);

const inRange = (v: number, [lo, hi]: readonly [number, number]) =>
  Number.isInteger(v) && v >= lo && v <= hi;

/** Names of load balancers and target groups: ≤ 32 characters, alphanumerics and hyphens, no hyphen at either end. */
export function nameProblems(name: string): string[] {
  const out: string[] = [];
  if (name.length === 0 || name.length > LIMITS.name)
    out.push(`name "${name}" must have 1 to ${LIMITS.name} characters`);
  if (!/^[A-Za-z0-9-]*$/.test(name))
    out.push(`name "${name}" may hold only alphanumerics and hyphens`);
  if (name.startsWith('-') || name.endsWith('-'))
    out.push(`name "${name}" must not begin or end with a hyphen`);
  if (name.toLowerCase().startsWith('internal-'))
    out.push(`name "${name}" must not begin with "internal-"`);
  return out;
}

export function healthCheckProblems(hc: HealthCheck): string[] {
  const out: string[] = [];
  if (!['TCP', 'HTTP', 'HTTPS'].includes(hc.protocol))
    out.push(`health-check protocol ${hc.protocol} is not TCP, HTTP or HTTPS`);
  if (hc.port !== 'traffic-port' && !inRange(Number(hc.port), LIMITS.port))
    out.push(`health-check port ${hc.port} is not traffic-port or 1–65535`);
  if (!inRange(hc.intervalSeconds, LIMITS.interval))
    out.push(`health-check interval ${hc.intervalSeconds} s is not within 5–300`);
  if (!inRange(hc.timeoutSeconds, LIMITS.timeout))
    out.push(`health-check timeout ${hc.timeoutSeconds} s is not within 2–120`);
  if (!inRange(hc.healthyThreshold, LIMITS.threshold))
    out.push(`healthy threshold ${hc.healthyThreshold} is not within 2–10`);
  if (!inRange(hc.unhealthyThreshold, LIMITS.threshold))
    out.push(`unhealthy threshold ${hc.unhealthyThreshold} is not within 2–10`);
  if (hc.protocol === 'TCP' && (hc.path !== undefined || hc.matcher !== undefined))
    out.push('a TCP health check takes no path or matcher');
  return out;
}

export function targetGroupAttributeProblems(
  protocol: string,
  attributes: Record<string, string>,
): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (BOOLEAN_ATTRIBUTES.has(key) && value !== 'true' && value !== 'false')
      out.push(`${key} must be true or false, not "${value}"`);
  }
  const preserve = attributes['preserve_client_ip.enabled'];
  if (preserve === 'false' && CLIENT_IP_ALWAYS_PRESERVED.has(protocol))
    out.push(
      `preserve_client_ip.enabled cannot be disabled on a ${protocol} target group (AWS always preserves the client IP there)`,
    );
  const delay = attributes['deregistration_delay.timeout_seconds'];
  if (delay !== undefined && !inRange(Number(delay), LIMITS.deregistrationDelay))
    out.push(`deregistration_delay.timeout_seconds ${delay} is not within 0–3600`);
  const stickiness = attributes['stickiness.type'];
  if (stickiness !== undefined && stickiness !== 'source_ip')
    out.push(`stickiness.type ${stickiness}: a network load balancer has only source_ip`);
  for (const key of Object.keys(attributes))
    if (key.startsWith('proxy_protocol') && key !== 'proxy_protocol_v2.enabled')
      out.push(`${key}: a network load balancer speaks only proxy protocol v2`);
  return out;
}

/** IPv4 in RFC 1918 or 100.64.0.0/10: the ranges AWS takes for IP targets outside the VPC. */
export function isAllowedTargetIp(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return false;
  const [a, b, c, d] = m.slice(1).map(Number) as [number, number, number, number];
  if ([a, b, c, d].some((x) => x > 255)) return false;
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

export function targetProblems(targets: Target[]): string[] {
  const out: string[] = [];
  for (const t of targets) {
    if (!isAllowedTargetIp(t.ip))
      out.push(
        `target ${t.ip} is not in RFC 1918 or 100.64.0.0/10 (AWS refuses it as an IP target)`,
      );
    if (!inRange(t.port, LIMITS.port)) out.push(`target ${t.ip}:${t.port}: port not 1–65535`);
    if (t.availabilityZone !== 'all')
      out.push(`target ${t.ip}: AvailabilityZone must be "all" outside the VPC`);
  }
  return out;
}

export function targetGroupProblems(tg: TargetGroup): string[] {
  return [
    ...nameProblems(tg.name),
    ...(PROTOCOLS.has(tg.protocol) ? [] : [`target-group protocol ${tg.protocol}`]),
    ...(inRange(tg.port, LIMITS.port) ? [] : [`target-group port ${tg.port} is not 1–65535`]),
    ...healthCheckProblems(tg.healthCheck),
    ...targetGroupAttributeProblems(tg.protocol, tg.attributes),
    ...targetProblems(tg.targets),
  ];
}

export function listenerProblems(l: {
  port: number;
  protocol: NlbProtocol;
  targetGroupProtocol?: NlbProtocol;
}): string[] {
  const out: string[] = [];
  if (!inRange(l.port, LIMITS.port)) out.push(`listener port ${l.port} is not 1–65535`);
  if (!PROTOCOLS.has(l.protocol)) out.push(`listener protocol ${l.protocol}`);
  else if (
    l.targetGroupProtocol !== undefined &&
    !LISTENER_TARGETS[l.protocol].includes(l.targetGroupProtocol)
  )
    out.push(
      `a ${l.protocol} listener cannot forward to a ${l.targetGroupProtocol} target group (takes ${LISTENER_TARGETS[l.protocol].join(' or ')})`,
    );
  return out;
}

export function loadBalancerProblems(lb: Pick<LoadBalancer, 'name' | 'attributes'>): string[] {
  return [
    ...nameProblems(lb.name),
    ...Object.entries(lb.attributes)
      .filter(([k, v]) => BOOLEAN_ATTRIBUTES.has(k) && v !== 'true' && v !== 'false')
      .map(([k, v]) => `${k} must be true or false, not "${v}"`),
  ];
}

/** Throws AwsError Invalid/ValidationError naming every problem, when there is one. */
export function check(operation: string, problems: string[]): void {
  if (problems.length > 0)
    throw new AwsError('Invalid', operation, 'ValidationError', problems.join('; '));
}

// The LoadBalancerMirror's pure core: from the mirror's spec and one Octavia load balancer read
// whole, the NLB stack that mirrors it (and what cannot be mirrored, with why); and from the
// desired and the observed stack, the actions that bring AWS in line, in dependency order.
// No I/O here: every rule is unit-tested case by case in plan.test.ts.
import type {
  OctaviaHealthMonitor,
  OctaviaListener,
  OctaviaMember,
  OctaviaPool,
  OctaviaTree,
} from '../../clouds/openstack/types.js';
import type {
  HealthCheck,
  Listener,
  LoadBalancer,
  NlbProtocol,
  ObservedStack,
  Stack,
  Target,
  TargetGroup,
} from '../../clouds/aws/types.js';
import { CLIENT_IP_ALWAYS_PRESERVED, isAllowedTargetIp } from '../../clouds/aws/constraints.js';

export interface NotMirrored {
  feature: string;
  octaviaID?: string;
  reason: string;
}

/** What the plan needs to know of the mirror itself. */
export interface MirrorInput {
  namespace: string;
  name: string;
  loadBalancerID: string;
  vpcId: string;
  subnetIds: string[];
  scheme: 'internal' | 'internet-facing';
  extraTags: Record<string, string>;
}

/** Deterministic names (src/clouds/aws/names.ts), given to the plan so that it stays pure. */
export interface Naming {
  loadBalancer(): string;
  targetGroup(tg: { port: number; protocol: NlbProtocol; vpcId: string }): string;
}

export interface ListenerMapping {
  port: number;
  protocol: NlbProtocol;
  octaviaListenerID: string;
  octaviaProtocol: string;
  targetGroup: string;
  targets: number;
}

export interface MirrorPlan {
  stack: Stack;
  listeners: ListenerMapping[];
  notMirrored: NotMirrored[];
  membersSeen: number;
}

export const OWNER_TAG = 'kachiku.io/mirror';
export const OCTAVIA_TAG = 'kachiku.io/octavia-loadbalancer';
export const RESOURCE_TAG = 'kachiku.io/resource';
export const MANAGED_BY_TAG = 'kachiku.io/managed-by';

export function ownerTagValue(m: Pick<MirrorInput, 'namespace' | 'name'>): string {
  return `${m.namespace}/${m.name}`;
}

/**
 * Where Octavia's answers disagree with each other: a listener whose default pool is not in the
 * pool list, a pool the load balancer names but the pool list lacks, a member the pool names but
 * its member list lacks. A half answer (a list cut short, a pool that 404s in between) would
 * otherwise plan deletions and deregistrations; a plan is made only from answers that agree.
 */
export function incompleteAnswer(tree: OctaviaTree): string[] {
  const pools = new Set(tree.pools.map((p) => p.id));
  const problems: string[] = [];
  for (const p of tree.loadBalancer.pools ?? [])
    if (!pools.has(p.id))
      problems.push(`pool ${p.id} of the load balancer is not in the pool list`);
  for (const l of tree.listeners)
    if (l.default_pool_id && !pools.has(l.default_pool_id))
      problems.push(`listener ${l.id}'s pool ${l.default_pool_id} is not in the pool list`);
  for (const p of tree.pools) {
    const have = new Set(p.members.map((m) => m.id));
    const missing = (p.listedMemberIds ?? []).filter((id) => !have.has(id));
    if (missing.length > 0)
      problems.push(
        `pool ${p.id} names ${p.listedMemberIds!.length} member(s), its member list holds ${p.members.length}`,
      );
  }
  return problems;
}

/** Octavia objects in PENDING_* are mid-change: a plan made from them would be wrong. */
export function pendingObjects(tree: OctaviaTree): string[] {
  const pending = (s: string) => s.startsWith('PENDING_');
  return [
    ...(pending(tree.loadBalancer.provisioning_status)
      ? [`load balancer ${tree.loadBalancer.id}`]
      : []),
    ...tree.listeners.filter((l) => pending(l.provisioning_status)).map((l) => `listener ${l.id}`),
    ...tree.pools.filter((p) => pending(p.provisioning_status)).map((p) => `pool ${p.id}`),
    ...tree.pools.flatMap((p) =>
      p.members.filter((m) => pending(m.provisioning_status)).map((m) => `member ${m.id}`),
    ),
    ...tree.pools.flatMap((p) =>
      p.healthMonitor && pending(p.healthMonitor.provisioning_status)
        ? [`health monitor ${p.healthMonitor.id}`]
        : [],
    ),
  ];
}

// ----------------------------------------------------------------------------------------------
// Octavia → desired stack

const LISTENER_PROTOCOLS: Record<OctaviaListener['protocol'], NlbProtocol | undefined> = {
  TCP: 'TCP',
  UDP: 'UDP',
  HTTP: 'TCP',
  HTTPS: 'TCP',
  TERMINATED_HTTPS: 'TCP',
  SCTP: undefined,
  PROMETHEUS: undefined,
};

/** NLB ranges (reference/aws.md). */
const RANGES = { interval: [5, 300], timeout: [2, 120], threshold: [2, 10] } as const;

/** AWS's defaults for an NLB TCP health check, used when Octavia has no monitor. */
const DEFAULT_HEALTH_CHECK: HealthCheck = {
  protocol: 'TCP',
  port: 'traffic-port',
  intervalSeconds: 30,
  timeoutSeconds: 10,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
};

export function planStack(mirror: MirrorInput, tree: OctaviaTree, naming: Naming): MirrorPlan {
  const notes: NotMirrored[] = [];
  const owner = ownerTagValue(mirror);
  const tags = (resource: string) => ({
    ...mirror.extraTags,
    [MANAGED_BY_TAG]: 'kachiku',
    [OWNER_TAG]: owner,
    [OCTAVIA_TAG]: mirror.loadBalancerID,
    [RESOURCE_TAG]: resource,
  });
  const pools = new Map(tree.pools.map((p) => [p.id, p]));
  const targetGroups: TargetGroup[] = [];
  const listeners: Listener[] = [];
  const mappings: ListenerMapping[] = [];
  // An NLB has one listener per port (AWS enforces it; moto does not). Octavia may listen on
  // one port over TCP and over UDP: that pair becomes one TCP_UDP listener.
  const usable: {
    l: OctaviaListener;
    protocol: NlbProtocol;
    pool: OctaviaTree['pools'][number];
  }[] = [];
  for (const l of [...tree.listeners].sort(
    (a, b) => a.protocol_port - b.protocol_port || a.id.localeCompare(b.id),
  )) {
    const protocol = LISTENER_PROTOCOLS[l.protocol];
    if (!protocol) {
      notes.push({
        feature: `listener protocol ${l.protocol}`,
        octaviaID: l.id,
        reason: 'an NLB listens only on TCP, UDP, TCP_UDP and TLS',
      });
      continue;
    }
    if (!l.admin_state_up) {
      notes.push({
        feature: 'disabled listener',
        octaviaID: l.id,
        reason: 'admin_state_up is false: Octavia serves nothing on it either',
      });
      continue;
    }
    const pool = l.default_pool_id ? pools.get(l.default_pool_id) : undefined;
    if (!pool) {
      notes.push({
        feature: 'listener without a default pool',
        octaviaID: l.id,
        reason: 'an NLB listener must forward to a target group',
      });
      continue;
    }
    usable.push({ l, protocol, pool });
  }

  const byPort = new Map<number, typeof usable>();
  for (const u of usable)
    byPort.set(u.l.protocol_port, [...(byPort.get(u.l.protocol_port) ?? []), u]);
  for (const [port, group] of byPort) {
    // The first TCP-like listener and the first UDP one on the port; any other is a clash.
    const stream = group.find((u) => u.protocol === 'TCP');
    const dgram = group.find((u) => u.protocol === 'UDP');
    const chosen = [stream, dgram].filter((u): u is (typeof usable)[number] => u !== undefined);
    for (const u of group) {
      if (chosen.includes(u)) continue;
      const first = u.protocol === 'UDP' ? dgram! : stream!;
      notes.push({
        feature: `listener ${u.l.protocol} ${port}`,
        octaviaID: u.l.id,
        reason: `port ${port} is already mirrored from listener ${first.l.id}: an NLB has one listener per port`,
      });
    }
    const protocol: NlbProtocol = chosen.length === 2 ? 'TCP_UDP' : chosen[0]!.protocol;
    for (const { l } of chosen) {
      if (l.protocol !== 'TCP' && l.protocol !== 'UDP') {
        notes.push({
          feature: `listener protocol ${l.protocol}`,
          octaviaID: l.id,
          reason:
            'mirrored as TCP pass-through to the members: the NLB is layer 4 (no TLS termination, headers or HTTP routing)',
        });
      }
      if (l.l7policies.length > 0) {
        notes.push({
          feature: 'L7 policies',
          octaviaID: l.id,
          reason: 'an NLB has no layer-7 routing: all traffic goes to the default pool',
        });
      }
      if (l.allowed_cidrs && l.allowed_cidrs.length > 0) {
        notes.push({
          feature: 'allowed_cidrs',
          octaviaID: l.id,
          reason: 'an NLB listener has no allow list: restrict clients with security groups',
        });
      }
      if (l.connection_limit > 0) {
        notes.push({
          feature: 'connection_limit',
          octaviaID: l.id,
          reason: 'an NLB has no per-listener connection limit',
        });
      }
    }

    // The TCP side's pool sets the health check and attributes; a TCP_UDP target group sends
    // both protocols to every target, so its targets are both pools' members.
    const main = chosen[0]!;
    const name = naming.targetGroup({ port, protocol, vpcId: mirror.vpcId });
    const targets = mergeTargets(chosen.map((u) => poolTargets(u.pool, notes)));
    if (chosen.length === 2) {
      const [a, b] = chosen.map((u) => poolTargets(u.pool, []).map(targetKey).join(','));
      if (a !== b || chosen[0]!.pool.id !== chosen[1]!.pool.id) {
        notes.push({
          feature: `TCP and UDP listeners on port ${port}`,
          octaviaID: dgram!.l.id,
          reason: `mirrored as one TCP_UDP listener (an NLB has one listener per port): every member of pools ${chosen.map((u) => u.pool.id).join(' and ')} gets both TCP and UDP, checked as pool ${main.pool.id} says`,
        });
      }
    }
    targetGroups.push({
      name,
      protocol,
      port,
      vpcId: mirror.vpcId,
      targetType: 'ip',
      healthCheck: healthCheck(main.pool, notes),
      attributes: targetGroupAttributes(main.pool, protocol, notes),
      tags: tags(`targetgroup/${port}-${protocol}`),
      targets,
    });
    listeners.push({
      port,
      protocol,
      targetGroup: name,
      tags: tags(`listener/${port}-${protocol}`),
    });
    // One entry per NLB listener (status.listeners is a map keyed on port and protocol).
    mappings.push({
      port,
      protocol,
      octaviaListenerID: chosen.map((u) => u.l.id).join(','),
      octaviaProtocol: chosen.map((u) => u.l.protocol).join('+'),
      targetGroup: name,
      targets: targets.length,
    });
  }

  const loadBalancer: LoadBalancer = {
    name: naming.loadBalancer(),
    scheme: mirror.scheme,
    subnetIds: [...mirror.subnetIds].sort(),
    tags: tags('loadbalancer'),
    attributes: { 'load_balancing.cross_zone.enabled': 'true' },
  };
  const membersSeen = tree.pools.reduce((n, p) => n + p.members.length, 0);
  return {
    stack: { loadBalancer, targetGroups, listeners },
    listeners: mappings,
    notMirrored: notes,
    membersSeen,
  };
}

function mergeTargets(lists: Target[][]): Target[] {
  const all = new Map(lists.flat().map((t) => [targetKey(t), t]));
  return [...all.values()].sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
}

/** The members registered as targets: enabled, weight > 0; backups only without primaries. */
function registeredMembers(pool: OctaviaTree['pools'][number]) {
  const eligible = (m: OctaviaMember) => m.admin_state_up && m.weight > 0;
  const primaries = pool.members.filter((m) => !m.backup && eligible(m));
  const backups = pool.members.filter((m) => m.backup && eligible(m));
  const chosen = primaries.length > 0 ? primaries : backups;
  return { primaries, backups, chosen };
}

/**
 * The health-check port from the members' monitor_port: a target group has one health-check
 * port, so when every registered member names the same one it is that port; when they differ
 * (or some name none) it stays the traffic port, and that is reported. monitor_address cannot
 * be mirrored: an NLB checks each target at its own IP.
 */
function monitorPort(pool: OctaviaTree['pools'][number], notes: NotMirrored[]): string {
  const members = registeredMembers(pool).chosen;
  if (members.some((m) => m.monitor_address && m.monitor_address !== m.address)) {
    notes.push({
      feature: 'member monitor_address',
      octaviaID: pool.id,
      reason: "an NLB checks each target at the target's own IP",
    });
  }
  const ports = new Set(members.map((m) => m.monitor_port ?? null));
  if (ports.size === 1) {
    const [port] = ports;
    return port ? String(port) : 'traffic-port';
  }
  if (ports.size > 1) {
    notes.push({
      feature: 'member monitor_port',
      octaviaID: pool.id,
      reason: `the members name different monitor ports (${[...ports].map((p) => p ?? 'none').join(', ')}): an NLB target group has one health-check port, so the traffic port is checked`,
    });
  }
  return 'traffic-port';
}

/**
 * Members → targets. Disabled and weight-0 members are not registered (Octavia sends them no
 * new connections). An NLB has no backup targets: backup members are registered only while no
 * primary member is enabled, as Octavia uses them only when every primary is down.
 */
function poolTargets(pool: OctaviaTree['pools'][number], notes: NotMirrored[]): Target[] {
  const { primaries, backups, chosen } = registeredMembers(pool);
  if (backups.length > 0) {
    notes.push({
      feature: 'backup members',
      octaviaID: pool.id,
      reason:
        primaries.length > 0
          ? 'an NLB has no backup targets: backup members are registered only while no primary member is enabled'
          : 'no primary member is enabled: the backup members are registered',
    });
  }
  const weights = new Set(chosen.map((m) => m.weight));
  if (weights.size > 1) {
    notes.push({
      feature: 'member weights',
      octaviaID: pool.id,
      reason: 'an NLB spreads flows evenly over its targets',
    });
  }
  const seen = new Set<string>();
  const targets: Target[] = [];
  const refused = chosen.filter((m) => !isAllowedTargetIp(m.address));
  if (refused.length > 0) {
    notes.push({
      feature: 'members outside private ranges',
      octaviaID: pool.id,
      reason: `not registered: AWS takes IP targets outside the VPC only in RFC 1918 and 100.64.0.0/10 (${refused.map((m) => m.address).join(', ')})`,
    });
  }
  for (const m of chosen) {
    if (!isAllowedTargetIp(m.address)) continue;
    const key = `${m.address}:${m.protocol_port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Members are outside the VPC (on-prem over Direct Connect): AvailabilityZone "all".
    targets.push({ ip: m.address, port: m.protocol_port, availabilityZone: 'all' });
  }
  return targets.sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
}

function targetGroupAttributes(
  pool: OctaviaPool,
  protocol: NlbProtocol,
  notes: NotMirrored[],
): Record<string, string> {
  const attributes: Record<string, string> = {
    'deregistration_delay.timeout_seconds': '300',
    'proxy_protocol_v2.enabled': 'false',
    'stickiness.enabled': 'false',
    'stickiness.type': 'source_ip',
  };
  if (CLIENT_IP_ALWAYS_PRESERVED.has(protocol)) {
    // AWS refuses to turn it off on UDP and TCP_UDP target groups (moto does not).
    notes.push({
      feature: `client IP preservation on ${protocol}`,
      octaviaID: pool.id,
      reason:
        'AWS always preserves the client IP on UDP and TCP_UDP target groups: the members answer the clients directly, so their return path must lead back through the VPC (e.g. a route to the clients via Direct Connect); otherwise replies do not arrive',
    });
  } else {
    // Return traffic from on-prem targets must come back through the NLB.
    attributes['preserve_client_ip.enabled'] = 'false';
  }
  if (pool.protocol === 'PROXY' || pool.protocol === 'PROXYV2') {
    attributes['proxy_protocol_v2.enabled'] = 'true';
    if (pool.protocol === 'PROXY') {
      notes.push({
        feature: 'PROXY protocol v1',
        octaviaID: pool.id,
        reason: 'an NLB speaks only PROXY protocol v2: the members must accept v2',
      });
    }
  }
  const persistence = pool.session_persistence?.type;
  if (pool.lb_algorithm === 'SOURCE_IP' || persistence === 'SOURCE_IP') {
    if (protocol === 'TCP' || protocol === 'UDP' || protocol === 'TCP_UDP')
      attributes['stickiness.enabled'] = 'true';
  }
  if (persistence === 'HTTP_COOKIE' || persistence === 'APP_COOKIE') {
    notes.push({
      feature: `session persistence ${persistence}`,
      octaviaID: pool.id,
      reason: 'an NLB has only source-IP stickiness',
    });
  }
  if (pool.lb_algorithm === 'LEAST_CONNECTIONS' || pool.lb_algorithm === 'SOURCE_IP_PORT') {
    notes.push({
      feature: `lb_algorithm ${pool.lb_algorithm}`,
      octaviaID: pool.id,
      reason: 'an NLB picks targets by a flow hash',
    });
  }
  return attributes;
}

function clamp(value: number, [lo, hi]: readonly [number, number]): number {
  return Math.min(hi, Math.max(lo, value));
}

/** Octavia health monitor → target-group health check, clamped into NLB's ranges (with a note). */
function healthCheck(pool: OctaviaTree['pools'][number], notes: NotMirrored[]): HealthCheck {
  const hm: OctaviaHealthMonitor | null = pool.healthMonitor;
  if (!hm || !hm.admin_state_up) return { ...DEFAULT_HEALTH_CHECK };
  const check: HealthCheck = { ...DEFAULT_HEALTH_CHECK, port: monitorPort(pool, notes) };
  switch (hm.type) {
    case 'HTTP':
    case 'HTTPS':
      check.protocol = hm.type;
      check.path = hm.url_path || '/';
      check.matcher = (hm.expected_codes || '200').replace(/,\s*/g, ',');
      if (hm.http_method && hm.http_method !== 'GET') {
        notes.push({
          feature: `health monitor http_method ${hm.http_method}`,
          octaviaID: hm.id,
          reason: 'NLB health checks use GET',
        });
      }
      break;
    case 'TCP':
      break;
    case 'TLS-HELLO':
      notes.push({
        feature: 'health monitor TLS-HELLO',
        octaviaID: hm.id,
        reason: 'checked as a TCP connect: an NLB cannot send a TLS hello',
      });
      break;
    case 'PING':
      notes.push({
        feature: 'health monitor PING',
        octaviaID: hm.id,
        reason: 'checked as a TCP connect on the traffic port: an NLB cannot ping',
      });
      break;
    case 'UDP-CONNECT':
      notes.push({
        feature: 'health monitor UDP-CONNECT',
        octaviaID: hm.id,
        reason:
          'checked as a TCP connect on the traffic port: NLB health checks are TCP or HTTP(S)',
      });
      break;
    case 'SCTP':
      notes.push({
        feature: 'health monitor SCTP',
        octaviaID: hm.id,
        reason: 'checked as a TCP connect on the traffic port',
      });
      break;
  }
  const wanted = {
    interval: hm.delay,
    timeout: hm.timeout,
    healthy: hm.max_retries,
    unhealthy: hm.max_retries_down,
  };
  check.intervalSeconds = clamp(wanted.interval, RANGES.interval);
  check.timeoutSeconds = clamp(Math.min(wanted.timeout, check.intervalSeconds), RANGES.timeout);
  check.healthyThreshold = clamp(wanted.healthy, RANGES.threshold);
  check.unhealthyThreshold = clamp(wanted.unhealthy, RANGES.threshold);
  const clamped = [
    ['delay', wanted.interval, check.intervalSeconds],
    ['timeout', wanted.timeout, check.timeoutSeconds],
    ['max_retries', wanted.healthy, check.healthyThreshold],
    ['max_retries_down', wanted.unhealthy, check.unhealthyThreshold],
  ].filter(([, a, b]) => a !== b);
  if (clamped.length > 0) {
    notes.push({
      feature: 'health monitor timings',
      octaviaID: hm.id,
      reason: `clamped into NLB's ranges: ${clamped.map(([k, a, b]) => `${k} ${a} → ${b}`).join(', ')}`,
    });
  }
  return check;
}

// ----------------------------------------------------------------------------------------------
// desired vs observed → actions

export type Action =
  | { kind: 'createLoadBalancer'; loadBalancer: LoadBalancer }
  | { kind: 'setSubnets'; arn: string; subnetIds: string[] }
  | { kind: 'setLoadBalancerAttributes'; arn: string; attributes: Record<string, string> }
  | {
      kind: 'retag';
      resource: 'load balancer' | 'target group' | 'listener';
      /** The resource's name (a listener: "<protocol> <port>"), for events. */
      name: string;
      arn: string;
      add: Record<string, string>;
      remove: string[];
    }
  | { kind: 'createTargetGroup'; targetGroup: TargetGroup }
  | { kind: 'modifyHealthCheck'; targetGroup: string; healthCheck: HealthCheck }
  | {
      kind: 'setTargetGroupAttributes';
      targetGroup: string;
      protocol: NlbProtocol;
      attributes: Record<string, string>;
    }
  | { kind: 'registerTargets'; targetGroup: string; targets: Target[] }
  | { kind: 'deregisterTargets'; targetGroup: string; targets: Target[] }
  | { kind: 'createListener'; listener: Listener; targetGroupProtocol: NlbProtocol }
  | {
      kind: 'modifyListener';
      arn: string;
      port: number;
      protocol: NlbProtocol;
      targetGroup: string;
      targetGroupProtocol: NlbProtocol;
    }
  | { kind: 'deleteListener'; arn: string; port: number; protocol: NlbProtocol }
  | { kind: 'deleteTargetGroup'; arn: string; name: string };

const targetKey = (t: Pick<Target, 'ip' | 'port'>) => `${t.ip}:${t.port}`;
/** AWS holds one listener per port: a protocol change modifies it, never adds a second. */
const listenerKey = (l: { port: number }) => l.port;

function sameHealthCheck(a: HealthCheck, b: HealthCheck): boolean {
  return (
    a.protocol === b.protocol &&
    a.port === b.port &&
    a.intervalSeconds === b.intervalSeconds &&
    a.timeoutSeconds === b.timeoutSeconds &&
    a.healthyThreshold === b.healthyThreshold &&
    a.unhealthyThreshold === b.unhealthyThreshold &&
    (a.protocol === 'TCP' ||
      ((a.path ?? '/') === (b.path ?? '/') && (a.matcher ?? '200') === (b.matcher ?? '200')))
  );
}

/** The attributes and tags of `want` that `have` lacks or holds with another value. */
function changed(
  want: Record<string, string>,
  have: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}

/** kachiku's own tag keys: one on a resource that the plan does not want is taken off. */
const OWN_TAG_PREFIX = 'kachiku.io/';

/**
 * The tags to put back on a resource: those missing or changed, and kachiku's own keys the
 * plan does not hold. Tags someone else added are left alone.
 */
function retagAction(
  resource: 'load balancer' | 'target group' | 'listener',
  name: string,
  arn: string,
  want: Record<string, string>,
  have: Record<string, string>,
): Action | undefined {
  const add = changed(want, have);
  const remove = Object.keys(have)
    .filter((k) => k.startsWith(OWN_TAG_PREFIX) && !(k in want))
    .sort();
  if (Object.keys(add).length === 0 && remove.length === 0) return undefined;
  return { kind: 'retag', resource, name, arn, add, remove };
}

/**
 * The actions that make AWS hold `desired`, in dependency order: the load balancer and target
 * groups first, then listeners, then what is no longer wanted (listeners before the target
 * groups they use). Nothing when AWS is in sync; hand-made drift is put back.
 */
export function diffStack(desired: Stack, observed: ObservedStack): Action[] {
  const actions: Action[] = [];
  if (!observed.loadBalancer) {
    actions.push({ kind: 'createLoadBalancer', loadBalancer: desired.loadBalancer });
  } else {
    const lb = observed.loadBalancer;
    const subnets = [...desired.loadBalancer.subnetIds].sort();
    if (subnets.join() !== [...lb.subnetIds].sort().join())
      actions.push({ kind: 'setSubnets', arn: lb.arn, subnetIds: subnets });
    const attributes = changed(desired.loadBalancer.attributes, lb.attributes);
    if (Object.keys(attributes).length > 0)
      actions.push({ kind: 'setLoadBalancerAttributes', arn: lb.arn, attributes });
    const retag = retagAction('load balancer', lb.name, lb.arn, desired.loadBalancer.tags, lb.tags);
    if (retag) actions.push(retag);
  }

  const observedGroups = new Map(observed.targetGroups.map((tg) => [tg.name, tg]));
  for (const tg of desired.targetGroups) {
    const have = observedGroups.get(tg.name);
    if (!have) {
      actions.push({ kind: 'createTargetGroup', targetGroup: tg });
      if (tg.targets.length > 0)
        actions.push({ kind: 'registerTargets', targetGroup: tg.name, targets: tg.targets });
      continue;
    }
    if (!sameHealthCheck(tg.healthCheck, have.healthCheck)) {
      actions.push({
        kind: 'modifyHealthCheck',
        targetGroup: tg.name,
        healthCheck: tg.healthCheck,
      });
    }
    const retag = retagAction('target group', tg.name, have.arn, tg.tags, have.tags);
    if (retag) actions.push(retag);
    const attributes = changed(tg.attributes, have.attributes);
    if (Object.keys(attributes).length > 0) {
      actions.push({
        kind: 'setTargetGroupAttributes',
        targetGroup: tg.name,
        protocol: tg.protocol,
        attributes,
      });
    }
    const want = new Map(tg.targets.map((t) => [targetKey(t), t]));
    const present = new Map(have.targets.map((t) => [targetKey(t), t]));
    const register = [...want].filter(([k]) => !present.has(k)).map(([, t]) => t);
    const deregister = [...present].filter(([k]) => !want.has(k)).map(([, t]) => t);
    // Deregister first: with moto's IP-only keys (and in AWS too) a port moving on one IP
    // must leave before it comes back.
    if (deregister.length > 0)
      actions.push({ kind: 'deregisterTargets', targetGroup: tg.name, targets: deregister });
    if (register.length > 0)
      actions.push({ kind: 'registerTargets', targetGroup: tg.name, targets: register });
  }

  const arnToGroup = new Map(observed.targetGroups.map((tg) => [tg.arn, tg.name]));
  const desiredGroups = new Map(desired.targetGroups.map((tg) => [tg.name, tg]));
  // The first listener seen on a port is the one kept; any other there (AWS allows none) goes.
  const observedListeners = new Map<number, ObservedStack['listeners'][number]>();
  for (const l of observed.listeners)
    if (!observedListeners.has(listenerKey(l))) observedListeners.set(listenerKey(l), l);
  const kept = new Set<string>();
  for (const l of desired.listeners) {
    const have = observedListeners.get(listenerKey(l));
    const targetGroupProtocol = desiredGroups.get(l.targetGroup)?.protocol ?? l.protocol;
    if (!have) {
      actions.push({ kind: 'createListener', listener: l, targetGroupProtocol });
      continue;
    }
    kept.add(have.arn);
    if (have.protocol !== l.protocol || arnToGroup.get(have.targetGroupArn) !== l.targetGroup) {
      actions.push({
        kind: 'modifyListener',
        arn: have.arn,
        port: l.port,
        protocol: l.protocol,
        targetGroup: l.targetGroup,
        targetGroupProtocol,
      });
    }
    const retag = retagAction('listener', `${l.protocol} ${l.port}`, have.arn, l.tags, have.tags);
    if (retag) actions.push(retag);
  }
  for (const have of observed.listeners) {
    if (!kept.has(have.arn)) {
      actions.push({
        kind: 'deleteListener',
        arn: have.arn,
        port: have.port,
        protocol: have.protocol,
      });
    }
  }
  const wantedGroups = new Set(desired.targetGroups.map((tg) => tg.name));
  for (const have of observed.targetGroups) {
    if (!wantedGroups.has(have.name))
      actions.push({ kind: 'deleteTargetGroup', arn: have.arn, name: have.name });
  }
  return actions;
}

/** What kachiku knows had not changed on its side since AWS last matched the plan. */
export interface Unchanged {
  /** The spec is the one the last successful sync was for (subnets and tags come from it). */
  spec: boolean;
  /** Octavia's plan too is the one AWS was last found or made to match (a drift check). */
  plan: boolean;
}

/**
 * The actions of a sync that put back changes made in AWS outside kachiku, as opposed to
 * changes that follow the spec or Octavia (status.lastPutBack):
 * - the NLB's attributes, which nothing on kachiku's side changes;
 * - with the spec unchanged, the NLB's subnets and every tag set, both made from the spec
 *   alone, except a listener's tags changed with its protocol (that is Octavia's change);
 * - with Octavia's plan unchanged too, every action: a health check, target-group
 *   attributes, targets or a listener changed by hand.
 * When kachiku cannot tell (a changed plan, a restart), an action is not called a put-back.
 */
export function putBacks(actions: Action[], unchanged: Unchanged): Action[] {
  if (unchanged.spec && unchanged.plan) return [...actions];
  const repointed = new Set(actions.flatMap((a) => (a.kind === 'modifyListener' ? [a.arn] : [])));
  return actions.filter((a) => {
    if (a.kind === 'setLoadBalancerAttributes') return true;
    if (!unchanged.spec) return false;
    if (a.kind === 'setSubnets') return true;
    return a.kind === 'retag' && !(a.resource === 'listener' && repointed.has(a.arn));
  });
}

/** At most this many put-backs are named in status; the rest are counted. */
export const PUT_BACKS_NAMED = 10;

/** The put-backs' descriptions as status.lastPutBack.what lists them. */
export function putBackList(described: string[]): string[] {
  if (described.length <= PUT_BACKS_NAMED) return [...described];
  const shown = described.slice(0, PUT_BACKS_NAMED - 1);
  return [...shown, `and ${described.length - shown.length} more (see the events)`];
}

/** Deleting the whole stack: listeners, then target groups; the load balancer is the caller's last step. */
export function teardown(observed: ObservedStack): Action[] {
  return [
    ...observed.listeners.map((l): Action => ({
      kind: 'deleteListener',
      arn: l.arn,
      port: l.port,
      protocol: l.protocol,
    })),
    ...observed.targetGroups.map((tg): Action => ({
      kind: 'deleteTargetGroup',
      arn: tg.arn,
      name: tg.name,
    })),
  ];
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'createLoadBalancer':
      return `create NLB ${a.loadBalancer.name}`;
    case 'setSubnets':
      return `put back the NLB's subnets: ${a.subnetIds.join(', ')}`;
    case 'setLoadBalancerAttributes':
      return `put back the NLB's attributes: ${Object.entries(a.attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`;
    case 'retag':
      return `put back the tags of ${a.resource} ${a.name}: ${[
        ...Object.keys(a.add).map((k) => `set ${k}`),
        ...a.remove.map((k) => `remove ${k}`),
      ].join(', ')}`;
    case 'createTargetGroup':
      return `create target group ${a.targetGroup.name} (${a.targetGroup.protocol} ${a.targetGroup.port})`;
    case 'modifyHealthCheck':
      return `set the health check of ${a.targetGroup} (${a.healthCheck.protocol})`;
    case 'setTargetGroupAttributes':
      return `set ${Object.keys(a.attributes).join(', ')} on ${a.targetGroup}`;
    case 'registerTargets':
      return `register ${a.targets.length} target(s) in ${a.targetGroup}: ${a.targets.map(targetKey).join(', ')}`;
    case 'deregisterTargets':
      return `deregister ${a.targets.length} target(s) from ${a.targetGroup}: ${a.targets.map(targetKey).join(', ')}`;
    case 'createListener':
      return `create listener ${a.listener.protocol} ${a.listener.port} → ${a.listener.targetGroup}`;
    case 'modifyListener':
      return `point listener ${a.protocol} ${a.port} at ${a.targetGroup}`;
    case 'deleteListener':
      return `delete listener ${a.protocol} ${a.port}`;
    case 'deleteTargetGroup':
      return `delete target group ${a.name}`;
  }
}

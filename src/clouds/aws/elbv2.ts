// ELBv2 for the NLB reconciler: observe the stack kachiku owns, then small idempotent actions.
//
// Observation follows aws-load-balancer-controller: describe everything in the VPC, read tags
// in chunks of 20 ARNs (DescribeTags' limit) and keep what carries the ownership tag, so a
// restarted controller finds target groups it made before it got to attach them to a listener.
// Each action can be repeated after a crash or a lost answer: it looks before it creates,
// and treats "already gone" as done when it deletes.
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  RemoveTagsCommand,
  SetSubnetsCommand,
  type Action,
  type ElasticLoadBalancingV2Client,
  type Listener as SdkListener,
  type LoadBalancer as SdkLoadBalancer,
  type Tag,
  type TargetGroup as SdkTargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { call, isAwsError, AwsError } from './errors.js';
import {
  check,
  healthCheckProblems,
  listenerProblems,
  loadBalancerProblems,
  targetGroupAttributeProblems,
  targetGroupProblems,
  targetProblems,
} from './constraints.js';
import type {
  HealthCheck,
  LoadBalancer,
  NlbProtocol,
  ObservedStack,
  Target,
  TargetGroup,
  TargetHealth,
} from './types.js';
import { mapLimit } from '../../runtime/concurrency.js';

type Client = ElasticLoadBalancingV2Client;
export type ObservedLoadBalancer = NonNullable<ObservedStack['loadBalancer']>;
export type ObservedTargetGroup = ObservedStack['targetGroups'][number];
export type ObservedListener = ObservedStack['listeners'][number];
/**
 * A listener to create: its default action forwards to `targetGroupArn`, whose protocol, when
 * given, is checked against the listener's (a TCP listener takes a TCP or TCP_UDP group).
 */
export type ListenerSpec = Omit<ObservedListener, 'arn'> & { targetGroupProtocol?: NlbProtocol };

const TAG_CHUNK = 20; // DescribeTags takes at most 20 ARNs
const TARGET_CHUNK = 200; // as aws-load-balancer-controller batches (de)registration
const PAGE_SIZE = 400; // the most DescribeLoadBalancers / DescribeTargetGroups return per page
const PARALLEL = 8; // per-target-group reads in flight; the Describe bucket paces them anyway

// ---- observe ----

export interface ObserveOptions {
  /** The ownership tag [key, value] every resource of the stack carries. */
  ownerTag: [string, string];
  vpcId: string;
  /**
   * Also report, from the same scan, the values of the ownership tag on other load balancers
   * and target groups in the VPC that carry this [key, value] tag (e.g. other mirrors of the
   * same Octavia load balancer): `ObservedStack.relatedOwners`.
   */
  related?: [string, string];
}

/**
 * What AWS holds of the stack owned by `ownerTag` in the VPC. Listeners are every listener of
 * the owned load balancer, tagged or not: one added by hand is drift to see, not to skip.
 * Should two load balancers carry the tag (a twin), the oldest is the stack's.
 */
export async function observeStack(elbv2: Client, options: ObserveOptions): Promise<ObservedStack> {
  const [key, value] = options.ownerTag;
  const owned = (tags: Record<string, string> | undefined) => tags?.[key] === value;

  const lbs = (await describeLoadBalancers(elbv2)).filter(
    (lb) => lb.VpcId === options.vpcId && lb.Type === 'network',
  );
  const lbTags = await describeTags(
    elbv2,
    lbs.map((lb) => lb.LoadBalancerArn!),
  );
  const lb = lbs
    .filter((lb) => owned(lbTags.get(lb.LoadBalancerArn!)))
    .sort(
      (a, b) =>
        (a.CreatedTime?.getTime() ?? 0) - (b.CreatedTime?.getTime() ?? 0) ||
        a.LoadBalancerArn!.localeCompare(b.LoadBalancerArn!),
    )[0];

  const tgs = (await describeTargetGroups(elbv2)).filter((tg) => tg.VpcId === options.vpcId);
  const tgTags = await describeTags(
    elbv2,
    tgs.map((tg) => tg.TargetGroupArn!),
  );
  const relatedOwners = options.related
    ? otherOwners([...lbTags.values(), ...tgTags.values()], options.related, key, value)
    : undefined;
  const stack = await describeStack(
    elbv2,
    lb,
    tgs.filter((tg) => owned(tgTags.get(tg.TargetGroupArn!))),
    new Map([...lbTags, ...tgTags]),
  );
  return { ...stack, ...(relatedOwners && { relatedOwners }) };
}

export interface KnownStack {
  loadBalancerArn: string;
  targetGroupArns: string[];
}

/**
 * The same as observeStack, but read by ARN from what a previous sync found or made: a few
 * calls instead of a scan of the region, whose cost grows with every other stack in it.
 * Undefined when any of them is gone or no longer carries the ownership tag: the caller then
 * scans, so a resource deleted or untagged by hand is found (or made) again.
 */
export async function observeKnown(
  elbv2: Client,
  options: { ownerTag: [string, string]; known: KnownStack },
): Promise<ObservedStack | undefined> {
  const [key, value] = options.ownerTag;
  const { loadBalancerArn, targetGroupArns } = options.known;
  let lbs: SdkLoadBalancer[];
  let tgs: SdkTargetGroup[];
  try {
    [lbs, tgs] = await Promise.all([
      call('DescribeLoadBalancers', () =>
        elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] })),
      ).then((out) => out.LoadBalancers ?? []),
      targetGroupArns.length === 0
        ? Promise.resolve([])
        : call('DescribeTargetGroups', () =>
            elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: targetGroupArns })),
          ).then((out) => out.TargetGroups ?? []),
    ]);
  } catch (err) {
    if (isAwsError(err, 'NotFound')) return undefined;
    throw err;
  }
  const tags = await describeTags(elbv2, [loadBalancerArn, ...targetGroupArns]);
  const lb = lbs[0];
  if (!lb || tgs.length !== targetGroupArns.length) return undefined;
  if ([loadBalancerArn, ...targetGroupArns].some((arn) => tags.get(arn)?.[key] !== value))
    return undefined;
  return describeStack(elbv2, lb, tgs, tags);
}

/** The owned load balancer's attributes and listeners, and each owned target group's state. */
async function describeStack(
  elbv2: Client,
  lb: SdkLoadBalancer | undefined,
  ownedTgs: SdkTargetGroup[],
  tags: Map<string, Record<string, string>>,
): Promise<ObservedStack> {
  const targetGroups = await mapLimit(ownedTgs, PARALLEL, async (tg) =>
    observeTargetGroup(elbv2, tg, tags.get(tg.TargetGroupArn!) ?? {}),
  );
  if (!lb) return { targetGroups, listeners: [] };
  const lbArn = lb.LoadBalancerArn!;
  const [attributes, sdkListeners] = await Promise.all([
    call('DescribeLoadBalancerAttributes', () =>
      elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn })),
    ),
    describeListeners(elbv2, lbArn),
  ]);
  const listenerTags = await describeTags(
    elbv2,
    sdkListeners.map((l) => l.ListenerArn!),
  );
  return {
    loadBalancer: {
      arn: lbArn,
      name: lb.LoadBalancerName ?? '',
      scheme: lb.Scheme === 'internet-facing' ? 'internet-facing' : 'internal',
      subnetIds: (lb.AvailabilityZones ?? []).flatMap((az) => (az.SubnetId ? [az.SubnetId] : [])),
      vpcId: lb.VpcId ?? '',
      dnsName: lb.DNSName ?? '',
      canonicalHostedZoneId: lb.CanonicalHostedZoneId ?? '',
      state: lb.State?.Code ?? '',
      tags: tags.get(lbArn) ?? {},
      attributes: toRecord(attributes.Attributes),
    },
    targetGroups,
    listeners: sdkListeners.map((l) => ({
      arn: l.ListenerArn!,
      port: l.Port ?? 0,
      protocol: l.Protocol as NlbProtocol,
      targetGroupArn: forwardTarget(l.DefaultActions),
      tags: listenerTags.get(l.ListenerArn!) ?? {},
    })),
  };
}

/** The distinct `ownerKey` values, other than `owner`, of the tag sets carrying `related`. */
function otherOwners(
  tagSets: Record<string, string>[],
  related: [string, string],
  ownerKey: string,
  owner: string,
): string[] {
  const owners = tagSets.filter((t) => t[related[0]] === related[1]).map((t) => t[ownerKey]);
  return [...new Set(owners.filter((o): o is string => o !== undefined && o !== owner))].sort();
}

async function observeTargetGroup(
  elbv2: Client,
  tg: SdkTargetGroup,
  tags: Record<string, string>,
): Promise<ObservedTargetGroup> {
  const arn = tg.TargetGroupArn!;
  const [attributes, health] = await Promise.all([
    call('DescribeTargetGroupAttributes', () =>
      elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn })),
    ),
    call('DescribeTargetHealth', () =>
      elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
    ),
  ]);
  return {
    arn,
    name: tg.TargetGroupName ?? '',
    protocol: tg.Protocol as NlbProtocol,
    port: tg.Port ?? 0,
    vpcId: tg.VpcId ?? '',
    // kachiku makes only ip target groups; the type has no room for others, and the name's
    // hash covers the target type, so a foreign one would not match a desired name anyway.
    targetType: tg.TargetType as 'ip',
    loadBalancerArns: tg.LoadBalancerArns ?? [],
    healthCheck: {
      protocol: (tg.HealthCheckProtocol ?? 'TCP') as HealthCheck['protocol'],
      port: tg.HealthCheckPort ?? 'traffic-port',
      ...(tg.HealthCheckPath !== undefined && { path: tg.HealthCheckPath }),
      ...(tg.Matcher?.HttpCode !== undefined && { matcher: tg.Matcher.HttpCode }),
      intervalSeconds: tg.HealthCheckIntervalSeconds ?? 30,
      timeoutSeconds: tg.HealthCheckTimeoutSeconds ?? 10,
      healthyThreshold: tg.HealthyThresholdCount ?? 5,
      unhealthyThreshold: tg.UnhealthyThresholdCount ?? 2,
    },
    attributes: toRecord(attributes.Attributes),
    tags,
    // A draining target is on its way out: to the diff it is not registered, so a member that
    // comes back is registered again (as aws-load-balancer-controller does).
    targets: (health.TargetHealthDescriptions ?? [])
      .filter((d) => d.Target?.Id && d.TargetHealth?.State !== 'draining')
      .map((d) => ({
        ip: d.Target!.Id!,
        port: d.Target!.Port ?? 0,
        availabilityZone: d.Target!.AvailabilityZone ?? '',
      })),
  };
}

/**
 * The targets registered in a target group, with their health, in one call (the steady-state
 * check of a mirror); undefined when the target group is gone.
 */
export async function describeTargetHealth(
  elbv2: Client,
  arn: string,
): Promise<TargetHealth[] | undefined> {
  try {
    const out = await call('DescribeTargetHealth', () =>
      elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
    );
    return (out.TargetHealthDescriptions ?? []).flatMap((d) =>
      d.Target?.Id
        ? [
            {
              ip: d.Target.Id,
              port: d.Target.Port ?? 0,
              state: d.TargetHealth?.State ?? '',
              ...(d.TargetHealth?.Reason && { reason: d.TargetHealth.Reason }),
            },
          ]
        : [],
    );
  } catch (err) {
    if (isAwsError(err, 'NotFound')) return undefined;
    throw err;
  }
}

// Everything in the region, page by page.
const describeLoadBalancers = (elbv2: Client): Promise<SdkLoadBalancer[]> =>
  pages('DescribeLoadBalancers', async (Marker) => {
    const out = await elbv2.send(new DescribeLoadBalancersCommand({ Marker, PageSize: PAGE_SIZE }));
    return [out.LoadBalancers, out.NextMarker];
  });

const describeTargetGroups = (elbv2: Client): Promise<SdkTargetGroup[]> =>
  pages('DescribeTargetGroups', async (Marker) => {
    const out = await elbv2.send(new DescribeTargetGroupsCommand({ Marker, PageSize: PAGE_SIZE }));
    return [out.TargetGroups, out.NextMarker];
  });

const describeListeners = (elbv2: Client, LoadBalancerArn: string): Promise<SdkListener[]> =>
  pages('DescribeListeners', async (Marker) => {
    const out = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn, Marker }));
    return [out.Listeners, out.NextMarker];
  });

/** Tags by ARN, asked 20 ARNs at a time. */
async function describeTags(
  elbv2: Client,
  arns: string[],
): Promise<Map<string, Record<string, string>>> {
  const chunks = chunk(arns, TAG_CHUNK);
  const answers = await mapLimit(chunks, PARALLEL, (ResourceArns) =>
    call('DescribeTags', () => elbv2.send(new DescribeTagsCommand({ ResourceArns }))),
  );
  const tags = new Map<string, Record<string, string>>();
  for (const a of answers)
    for (const d of a.TagDescriptions ?? [])
      if (d.ResourceArn) tags.set(d.ResourceArn, toRecord(d.Tags));
  return tags;
}

/**
 * Which of these ARNs still exist, each asked by ARN (a deletion is verified, not assumed):
 * AWS answers NotFound for one gone. A load balancer still in the list while deleting counts.
 */
export async function remaining(
  elbv2: Client,
  arns: { loadBalancers: string[]; targetGroups: string[]; listeners: string[] },
): Promise<string[]> {
  const exists = async (ask: () => Promise<unknown[]>): Promise<boolean> => {
    try {
      return (await ask()).length > 0;
    } catch (err) {
      if (isAwsError(err, 'NotFound')) return false;
      throw err;
    }
  };
  const left: string[] = [];
  for (const arn of arns.loadBalancers)
    if (
      await exists(
        async () =>
          (
            await call('DescribeLoadBalancers', () =>
              elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] })),
            )
          ).LoadBalancers ?? [],
      )
    )
      left.push(arn);
  for (const arn of arns.targetGroups)
    if (
      await exists(
        async () =>
          (
            await call('DescribeTargetGroups', () =>
              elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] })),
            )
          ).TargetGroups ?? [],
      )
    )
      left.push(arn);
  for (const arn of arns.listeners)
    if (
      await exists(
        async () =>
          (
            await call('DescribeListeners', () =>
              elbv2.send(new DescribeListenersCommand({ ListenerArns: [arn] })),
            )
          ).Listeners ?? [],
      )
    )
      left.push(arn);
  return left;
}

// ---- load balancer ----

/**
 * Creates the NLB, or returns the one of that name (adding any missing tags, so a load
 * balancer made before a crash is adopted). Looks first because AWS's CreateLoadBalancer is
 * idempotent only for identical settings, and moto's not at all.
 */
export async function createLoadBalancer(
  elbv2: Client,
  lb: LoadBalancer,
): Promise<{ arn: string; dnsName: string; canonicalHostedZoneId: string; vpcId: string }> {
  check('CreateLoadBalancer', loadBalancerProblems(lb));
  let found = await findLoadBalancer(elbv2, lb.name);
  if (found) {
    await addTags(elbv2, found.LoadBalancerArn!, lb.tags);
  } else {
    const out = await call('CreateLoadBalancer', () =>
      elbv2.send(
        new CreateLoadBalancerCommand({
          Name: lb.name,
          Type: 'network',
          Scheme: lb.scheme,
          Subnets: lb.subnetIds,
          IpAddressType: 'ipv4',
          Tags: toTags(lb.tags),
        }),
      ),
    );
    found = out.LoadBalancers?.[0];
    if (!found?.LoadBalancerArn)
      throw new AwsError('Other', 'CreateLoadBalancer', 'NoResult', 'no load balancer returned');
  }
  await setLoadBalancerAttributes(elbv2, found.LoadBalancerArn!, lb.attributes);
  return {
    arn: found.LoadBalancerArn!,
    dnsName: found.DNSName ?? '',
    canonicalHostedZoneId: found.CanonicalHostedZoneId ?? '',
    vpcId: found.VpcId ?? '',
  };
}

async function findLoadBalancer(elbv2: Client, name: string): Promise<SdkLoadBalancer | undefined> {
  try {
    const out = await call('DescribeLoadBalancers', () =>
      elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] })),
    );
    return out.LoadBalancers?.[0];
  } catch (err) {
    if (isAwsError(err, 'NotFound')) return undefined;
    throw err;
  }
}

export async function setLoadBalancerAttributes(
  elbv2: Client,
  arn: string,
  attributes: Record<string, string>,
): Promise<void> {
  if (Object.keys(attributes).length === 0) return;
  check('ModifyLoadBalancerAttributes', loadBalancerProblems({ name: 'x', attributes }));
  await call('ModifyLoadBalancerAttributes', () =>
    elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: toAttributes(attributes),
      }),
    ),
  );
}

/** Puts the NLB in exactly these subnets (one per Availability Zone). */
export async function setSubnets(elbv2: Client, arn: string, subnetIds: string[]): Promise<void> {
  await call('SetSubnets', () =>
    elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: subnetIds })),
  );
}

/** Deletes the NLB (and with it its listeners); turns deletion protection off if it refuses. */
export async function deleteLoadBalancer(elbv2: Client, arn: string): Promise<void> {
  const del = () =>
    call('DeleteLoadBalancer', () =>
      elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })),
    );
  try {
    await del();
  } catch (err) {
    if (isAwsError(err, 'NotFound')) return;
    if (!(err instanceof AwsError && err.code === 'OperationNotPermitted')) throw err;
    await setLoadBalancerAttributes(elbv2, arn, { 'deletion_protection.enabled': 'false' });
    await del();
  }
}

// ---- target groups ----

/**
 * Creates the target group with its health check, tags and attributes, or returns the one of
 * that name when its immutable fields match (adding missing tags). Returns its ARN.
 */
export async function createTargetGroup(elbv2: Client, tg: TargetGroup): Promise<string> {
  check('CreateTargetGroup', targetGroupProblems(tg));
  const found = await findTargetGroup(elbv2, tg.name);
  let arn: string;
  if (found) {
    if (
      found.Protocol !== tg.protocol ||
      found.Port !== tg.port ||
      found.VpcId !== tg.vpcId ||
      found.TargetType !== tg.targetType
    )
      throw new AwsError(
        'InUse',
        'CreateTargetGroup',
        'DuplicateTargetGroupName',
        `a target group named ${tg.name} exists with other protocol, port, VPC or target type`,
      );
    arn = found.TargetGroupArn!;
    await addTags(elbv2, arn, tg.tags);
  } else {
    const out = await call('CreateTargetGroup', () =>
      elbv2.send(
        new CreateTargetGroupCommand({
          Name: tg.name,
          Protocol: tg.protocol,
          Port: tg.port,
          VpcId: tg.vpcId,
          TargetType: tg.targetType,
          IpAddressType: 'ipv4',
          ...healthCheckInput(tg.healthCheck),
          Tags: toTags(tg.tags),
        }),
      ),
    );
    const created = out.TargetGroups?.[0]?.TargetGroupArn;
    if (!created)
      throw new AwsError('Other', 'CreateTargetGroup', 'NoResult', 'no target group returned');
    arn = created;
  }
  await setTargetGroupAttributes(elbv2, arn, tg.attributes, tg.protocol);
  return arn;
}

async function findTargetGroup(elbv2: Client, name: string): Promise<SdkTargetGroup | undefined> {
  try {
    const out = await call('DescribeTargetGroups', () =>
      elbv2.send(new DescribeTargetGroupsCommand({ Names: [name] })),
    );
    return out.TargetGroups?.[0];
  } catch (err) {
    if (isAwsError(err, 'NotFound')) return undefined;
    throw err;
  }
}

/** Sets the health check (the mutable part of a target group). */
export async function modifyTargetGroup(
  elbv2: Client,
  arn: string,
  healthCheck: HealthCheck,
): Promise<void> {
  check('ModifyTargetGroup', healthCheckProblems(healthCheck));
  await call('ModifyTargetGroup', () =>
    elbv2.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...healthCheckInput(healthCheck) }),
    ),
  );
}

/** `protocol` is the target group's: some attributes depend on it (preserve_client_ip). */
export async function setTargetGroupAttributes(
  elbv2: Client,
  arn: string,
  attributes: Record<string, string>,
  protocol: NlbProtocol,
): Promise<void> {
  if (Object.keys(attributes).length === 0) return;
  check('ModifyTargetGroupAttributes', targetGroupAttributeProblems(protocol, attributes));
  await call('ModifyTargetGroupAttributes', () =>
    elbv2.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: arn,
        Attributes: toAttributes(attributes),
      }),
    ),
  );
}

/**
 * Deletes the target group; gone already is fine. A listener still forwarding to it makes
 * AWS refuse with ResourceInUse (AwsError kind 'InUse'): delete or move listeners first.
 */
export async function deleteTargetGroup(elbv2: Client, arn: string): Promise<void> {
  await ignoreNotFound(
    call('DeleteTargetGroup', () =>
      elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
    ),
  );
}

/** Registers targets, 200 per call, each with its AvailabilityZone ("all" outside the VPC). */
export async function registerTargets(
  elbv2: Client,
  arn: string,
  targets: Target[],
): Promise<void> {
  check('RegisterTargets', targetProblems(targets));
  for (const part of chunk(targets, TARGET_CHUNK))
    await call('RegisterTargets', () =>
      elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: toTargets(part) })),
    );
}

export async function deregisterTargets(
  elbv2: Client,
  arn: string,
  targets: Target[],
): Promise<void> {
  for (const part of chunk(targets, TARGET_CHUNK))
    await call('DeregisterTargets', () =>
      elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: toTargets(part) })),
    );
}

// ---- listeners ----

/**
 * Creates the listener, or, when the load balancer already has one on that port, makes that
 * one forward as asked (one listener per port; moto does not enforce it, AWS does). Returns
 * its ARN.
 */
export async function createListener(
  elbv2: Client,
  loadBalancerArn: string,
  listener: ListenerSpec,
): Promise<string> {
  check('CreateListener', listenerProblems(listener));
  const existing = (await describeListeners(elbv2, loadBalancerArn)).find(
    (l) => l.Port === listener.port,
  );
  if (existing) {
    const arn = existing.ListenerArn!;
    if (
      existing.Protocol !== listener.protocol ||
      forwardTarget(existing.DefaultActions) !== listener.targetGroupArn
    )
      await modifyListener(elbv2, arn, listener);
    await addTags(elbv2, arn, listener.tags);
    return arn;
  }
  const out = await call('CreateListener', () =>
    elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancerArn,
        Port: listener.port,
        Protocol: listener.protocol,
        DefaultActions: forward(listener.targetGroupArn),
        Tags: toTags(listener.tags),
      }),
    ),
  );
  const arn = out.Listeners?.[0]?.ListenerArn;
  if (!arn) throw new AwsError('Other', 'CreateListener', 'NoResult', 'no listener returned');
  return arn;
}

/** Points the listener's default action at a target group (and sets its protocol, if given). */
export async function modifyListener(
  elbv2: Client,
  arn: string,
  change: { targetGroupArn: string; protocol?: NlbProtocol; targetGroupProtocol?: NlbProtocol },
): Promise<void> {
  if (change.protocol)
    check(
      'ModifyListener',
      listenerProblems({
        port: 1,
        protocol: change.protocol,
        ...(change.targetGroupProtocol && { targetGroupProtocol: change.targetGroupProtocol }),
      }),
    );
  await call('ModifyListener', () =>
    elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: arn,
        ...(change.protocol && { Protocol: change.protocol }),
        DefaultActions: forward(change.targetGroupArn),
      }),
    ),
  );
}

export async function deleteListener(elbv2: Client, arn: string): Promise<void> {
  await ignoreNotFound(
    call('DeleteListener', () => elbv2.send(new DeleteListenerCommand({ ListenerArn: arn }))),
  );
}

// ---- tags ----

export async function addTags(
  elbv2: Client,
  arn: string,
  tags: Record<string, string>,
): Promise<void> {
  if (Object.keys(tags).length === 0) return;
  await call('AddTags', () =>
    elbv2.send(new AddTagsCommand({ ResourceArns: [arn], Tags: toTags(tags) })),
  );
}

export async function removeTags(elbv2: Client, arn: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await call('RemoveTags', () =>
    elbv2.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: keys })),
  );
}

// ---- helpers ----

function healthCheckInput(hc: HealthCheck) {
  return {
    HealthCheckEnabled: true,
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: hc.port,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    // ELBv2 refuses a path or matcher on a TCP check.
    ...(hc.protocol !== 'TCP' && hc.path !== undefined && { HealthCheckPath: hc.path }),
    ...(hc.protocol !== 'TCP' && hc.matcher !== undefined && { Matcher: { HttpCode: hc.matcher } }),
  };
}

const forward = (targetGroupArn: string): Action[] => [
  { Type: 'forward', TargetGroupArn: targetGroupArn },
];

/** The target group a listener's default action forwards to ('' if none). */
function forwardTarget(actions: Action[] | undefined): string {
  const fwd = actions?.find((a) => a.Type === 'forward');
  return fwd?.TargetGroupArn ?? fwd?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn ?? '';
}

const toTargets = (targets: Target[]) =>
  targets.map((t) => ({ Id: t.ip, Port: t.port, AvailabilityZone: t.availabilityZone }));

const toTags = (tags: Record<string, string>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

const toAttributes = (attributes: Record<string, string>) =>
  Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));

function toRecord(pairs: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) if (p.Key !== undefined) out[p.Key] = p.Value ?? '';
  return out;
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isAwsError(err, 'NotFound')) throw err;
  }
}

/** Follows Marker/NextMarker until the last page. */
async function pages<T>(
  operation: string,
  page: (marker: string | undefined) => Promise<[T[] | undefined, string | undefined]>,
): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  do {
    const [items, next] = await call(operation, () => page(marker));
    all.push(...(items ?? []));
    marker = next;
  } while (marker);
  return all;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

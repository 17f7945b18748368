import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  OctaviaHealthMonitor,
  OctaviaListener,
  OctaviaMember,
  OctaviaPool,
  OctaviaTree,
} from '../../clouds/openstack/types.js';
import type { ObservedStack, Stack } from '../../clouds/aws/types.js';
import {
  OWNER_TAG,
  PUT_BACKS_NAMED,
  describeAction,
  diffStack,
  incompleteAnswer,
  pendingObjects,
  planStack,
  putBackList,
  putBacks,
  teardown,
  type MirrorInput,
  type Naming,
} from './plan.js';

const mirror: MirrorInput = {
  namespace: 'shop',
  name: 'web',
  loadBalancerID: '11111111-2222-3333-4444-555555555555',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-b', 'subnet-a'],
  scheme: 'internal',
  extraTags: { team: 'platform' },
};
const naming: Naming = {
  loadBalancer: () => 'kachiku-shop-web',
  targetGroup: ({ port, protocol }) => `tg-${port}-${protocol.toLowerCase()}`,
};

let ids = 0;
const id = (p: string) => `${p}-${++ids}`;
function member(address: string, port: number, extra: Partial<OctaviaMember> = {}): OctaviaMember {
  return {
    id: id('m'),
    name: '',
    address,
    protocol_port: port,
    weight: 1,
    backup: false,
    admin_state_up: true,
    monitor_address: null,
    monitor_port: null,
    provisioning_status: 'ACTIVE',
    operating_status: 'NO_MONITOR',
    ...extra,
  };
}
function monitor(extra: Partial<OctaviaHealthMonitor> = {}): OctaviaHealthMonitor {
  return {
    id: id('hm'),
    type: 'TCP',
    delay: 10,
    timeout: 5,
    max_retries: 3,
    max_retries_down: 3,
    admin_state_up: true,
    provisioning_status: 'ACTIVE',
    ...extra,
  };
}
function pool(
  members: OctaviaMember[],
  extra: Partial<OctaviaPool> = {},
  hm: OctaviaHealthMonitor | null = null,
): OctaviaTree['pools'][number] {
  return {
    id: id('pool'),
    name: '',
    protocol: 'TCP',
    lb_algorithm: 'ROUND_ROBIN',
    session_persistence: null,
    healthmonitor_id: hm?.id ?? null,
    admin_state_up: true,
    provisioning_status: 'ACTIVE',
    listeners: [],
    members,
    healthMonitor: hm,
    ...extra,
  };
}
function listener(
  protocol: OctaviaListener['protocol'],
  port: number,
  poolId: string | null,
  extra: Partial<OctaviaListener> = {},
): OctaviaListener {
  return {
    id: id('l'),
    name: '',
    protocol,
    protocol_port: port,
    default_pool_id: poolId,
    admin_state_up: true,
    provisioning_status: 'ACTIVE',
    connection_limit: -1,
    allowed_cidrs: null,
    l7policies: [],
    ...extra,
  };
}
function tree(listeners: OctaviaListener[], pools: OctaviaTree['pools']): OctaviaTree {
  return {
    loadBalancer: {
      id: mirror.loadBalancerID,
      name: 'web',
      project_id: 'p',
      vip_address: '10.0.0.5',
      admin_state_up: true,
      provisioning_status: 'ACTIVE',
      operating_status: 'ONLINE',
      listeners: listeners.map((l) => ({ id: l.id })),
      pools: pools.map((p) => ({ id: p.id })),
    },
    listeners,
    pools,
  };
}
const notes = (t: OctaviaTree) => planStack(mirror, t, naming).notMirrored.map((n) => n.feature);

test('TCP and HTTP listeners become TCP listeners forwarding to ip target groups of the members', () => {
  const p1 = pool([member('192.168.1.10', 8080), member('192.168.1.11', 8080)]);
  const p2 = pool([member('192.168.1.20', 80)], { protocol: 'HTTP' });
  const plan = planStack(
    mirror,
    tree([listener('TCP', 5432, p1.id), listener('HTTP', 80, p2.id)], [p1, p2]),
    naming,
  );
  assert.deepEqual(
    plan.stack.listeners.map((l) => `${l.protocol}:${l.port}->${l.targetGroup}`),
    ['TCP:80->tg-80-tcp', 'TCP:5432->tg-5432-tcp'],
  );
  const tg = plan.stack.targetGroups.find((t) => t.port === 5432)!;
  assert.equal(tg.targetType, 'ip');
  assert.equal(tg.vpcId, mirror.vpcId);
  assert.deepEqual(tg.targets, [
    { ip: '192.168.1.10', port: 8080, availabilityZone: 'all' },
    { ip: '192.168.1.11', port: 8080, availabilityZone: 'all' },
  ]);
  assert.equal(plan.membersSeen, 3);
  assert.deepEqual(
    plan.notMirrored.map((n) => n.feature),
    ['listener protocol HTTP'],
    'HTTP says it is mirrored as TCP pass-through',
  );
  assert.match(plan.notMirrored[0]!.reason, /TCP pass-through/);
});

test('UDP stays UDP; SCTP and PROMETHEUS listeners are reported, not mirrored', () => {
  const p = pool([member('192.168.1.10', 53)], { protocol: 'UDP' });
  const plan = planStack(
    mirror,
    tree(
      [listener('UDP', 53, p.id), listener('SCTP', 9000, p.id), listener('PROMETHEUS', 9100, null)],
      [p],
    ),
    naming,
  );
  assert.deepEqual(
    plan.stack.listeners.map((l) => `${l.protocol}:${l.port}`),
    ['UDP:53'],
  );
  assert.deepEqual(
    plan.notMirrored.map((n) => n.feature),
    ['listener protocol SCTP', 'listener protocol PROMETHEUS', 'client IP preservation on UDP'],
  );
});

test('disabled and weight-0 members are not registered; members sharing an IP on two ports are two targets', () => {
  const p = pool([
    member('192.168.1.10', 8080),
    member('192.168.1.10', 8081),
    member('192.168.1.11', 8080, { admin_state_up: false }),
    member('192.168.1.12', 8080, { weight: 0 }),
  ]);
  const plan = planStack(mirror, tree([listener('TCP', 80, p.id)], [p]), naming);
  assert.deepEqual(
    plan.stack.targetGroups[0]!.targets.map((t) => `${t.ip}:${t.port}`),
    ['192.168.1.10:8080', '192.168.1.10:8081'],
  );
  assert.equal(plan.listeners[0]!.targets, 2);
  assert.equal(plan.membersSeen, 4);
});

test('backup members are registered only while no primary member is enabled', () => {
  const withPrimary = pool([
    member('192.168.1.10', 80),
    member('192.168.1.99', 80, { backup: true }),
  ]);
  const plan = planStack(
    mirror,
    tree([listener('TCP', 80, withPrimary.id)], [withPrimary]),
    naming,
  );
  assert.deepEqual(
    plan.stack.targetGroups[0]!.targets.map((t) => t.ip),
    ['192.168.1.10'],
  );
  assert.deepEqual(
    plan.notMirrored.map((n) => n.feature),
    ['backup members'],
  );
  const onlyBackup = pool([
    member('192.168.1.10', 80, { admin_state_up: false }),
    member('192.168.1.99', 80, { backup: true }),
  ]);
  const fallback = planStack(
    mirror,
    tree([listener('TCP', 80, onlyBackup.id)], [onlyBackup]),
    naming,
  );
  assert.deepEqual(
    fallback.stack.targetGroups[0]!.targets.map((t) => t.ip),
    ['192.168.1.99'],
  );
  assert.match(fallback.notMirrored[0]!.reason, /backup members are registered/);
});

test('health monitors map to NLB checks; HTTP keeps path and codes; no monitor is a TCP check on the traffic port', () => {
  const http = pool(
    [member('192.168.1.10', 80)],
    {},
    monitor({
      type: 'HTTP',
      url_path: '/healthz',
      expected_codes: '200, 204',
      delay: 15,
      timeout: 4,
      max_retries: 4,
      max_retries_down: 2,
    }),
  );
  const none = pool([member('192.168.1.10', 81)]);
  const plan = planStack(
    mirror,
    tree([listener('HTTP', 80, http.id), listener('TCP', 81, none.id)], [http, none]),
    naming,
  );
  const [a, b] = plan.stack.targetGroups;
  assert.deepEqual(a!.healthCheck, {
    protocol: 'HTTP',
    port: 'traffic-port',
    path: '/healthz',
    matcher: '200,204',
    intervalSeconds: 15,
    timeoutSeconds: 4,
    healthyThreshold: 4,
    unhealthyThreshold: 2,
  });
  assert.deepEqual(b!.healthCheck, {
    protocol: 'TCP',
    port: 'traffic-port',
    intervalSeconds: 30,
    timeoutSeconds: 10,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
  });
});

test('PING and UDP-CONNECT monitors are checked over TCP and reported; timings are clamped with a note', () => {
  const ping = pool(
    [member('192.168.1.10', 80)],
    {},
    monitor({ type: 'PING', delay: 1, timeout: 1, max_retries: 1, max_retries_down: 20 }),
  );
  const plan = planStack(mirror, tree([listener('TCP', 80, ping.id)], [ping]), naming);
  const hc = plan.stack.targetGroups[0]!.healthCheck;
  assert.equal(hc.protocol, 'TCP');
  assert.deepEqual(
    [hc.intervalSeconds, hc.timeoutSeconds, hc.healthyThreshold, hc.unhealthyThreshold],
    [5, 2, 2, 10],
  );
  assert.deepEqual(
    plan.notMirrored.map((n) => n.feature),
    ['health monitor PING', 'health monitor timings'],
  );
  assert.match(
    plan.notMirrored[1]!.reason,
    /delay 1 → 5, timeout 1 → 2, max_retries 1 → 2, max_retries_down 20 → 10/,
  );
  const udp = pool(
    [member('192.168.1.10', 53)],
    { protocol: 'UDP' },
    monitor({ type: 'UDP-CONNECT' }),
  );
  assert.deepEqual(notes(tree([listener('UDP', 53, udp.id)], [udp])), [
    'health monitor UDP-CONNECT',
    'client IP preservation on UDP',
  ]);
  const disabled = pool(
    [member('192.168.1.10', 80)],
    {},
    monitor({ type: 'HTTP', admin_state_up: false }),
  );
  assert.equal(
    planStack(mirror, tree([listener('TCP', 80, disabled.id)], [disabled]), naming).stack
      .targetGroups[0]!.healthCheck.protocol,
    'TCP',
  );
});

test('PROXY pools get proxy protocol v2 (v1 reported); source-IP affinity becomes stickiness; cookies are reported', () => {
  const proxy = pool([member('192.168.1.10', 80)], {
    protocol: 'PROXY',
    lb_algorithm: 'SOURCE_IP',
  });
  const plan = planStack(mirror, tree([listener('TCP', 80, proxy.id)], [proxy]), naming);
  const attrs = plan.stack.targetGroups[0]!.attributes;
  assert.equal(attrs['proxy_protocol_v2.enabled'], 'true');
  assert.equal(attrs['stickiness.enabled'], 'true');
  assert.equal(
    attrs['preserve_client_ip.enabled'],
    'false',
    'return traffic from on-prem goes back through the NLB',
  );
  assert.deepEqual(
    plan.notMirrored.map((n) => n.feature),
    ['PROXY protocol v1'],
  );
  const cookie = pool([member('192.168.1.10', 80)], {
    protocol: 'HTTP',
    lb_algorithm: 'LEAST_CONNECTIONS',
    session_persistence: { type: 'HTTP_COOKIE' },
  });
  assert.deepEqual(notes(tree([listener('TCP', 80, cookie.id)], [cookie])), [
    'session persistence HTTP_COOKIE',
    'lb_algorithm LEAST_CONNECTIONS',
  ]);
});

test('listeners that cannot be mirrored as they are say why', () => {
  const p = pool([member('192.168.1.10', 80)]);
  const t = tree(
    [
      listener('TCP', 80, p.id, {
        l7policies: [{ id: 'x' }],
        allowed_cidrs: ['10.0.0.0/8'],
        connection_limit: 100,
      }),
      listener('HTTP', 80, p.id),
      listener('TCP', 81, null),
      listener('TCP', 82, p.id, { admin_state_up: false }),
    ],
    [p],
  );
  assert.deepEqual(notes(t), [
    'listener without a default pool',
    'disabled listener',
    'listener HTTP 80',
    'L7 policies',
    'allowed_cidrs',
    'connection_limit',
  ]);
});

test('every resource carries the ownership tags and the extra tags', () => {
  const p = pool([member('192.168.1.10', 80)]);
  const { stack } = planStack(mirror, tree([listener('TCP', 80, p.id)], [p]), naming);
  for (const tags of [
    stack.loadBalancer.tags,
    stack.targetGroups[0]!.tags,
    stack.listeners[0]!.tags,
  ]) {
    assert.equal(tags[OWNER_TAG], 'shop/web');
    assert.equal(tags['kachiku.io/octavia-loadbalancer'], mirror.loadBalancerID);
    assert.equal(tags['kachiku.io/managed-by'], 'kachiku');
    assert.equal(tags.team, 'platform');
  }
  assert.deepEqual(stack.loadBalancer.subnetIds, ['subnet-a', 'subnet-b']);
});

test('PENDING_* objects anywhere in the tree are found, so the sync waits instead of acting', () => {
  const p = pool([
    member('192.168.1.10', 80),
    member('192.168.1.11', 80, { provisioning_status: 'PENDING_CREATE' }),
  ]);
  const t = tree([listener('TCP', 80, p.id)], [p]);
  assert.equal(pendingObjects(t).length, 1);
  t.loadBalancer.provisioning_status = 'PENDING_UPDATE';
  assert.equal(pendingObjects(t).length, 2);
});

// ----------------------------------------------------------------------------------------------

function observedFrom(stack: Stack): ObservedStack {
  return {
    loadBalancer: {
      ...structuredClone(stack.loadBalancer),
      arn: 'arn:lb',
      dnsName: 'lb.example',
      canonicalHostedZoneId: 'Z1',
      vpcId: mirror.vpcId,
      state: 'active',
    },
    targetGroups: stack.targetGroups.map((tg) => ({
      ...structuredClone(tg),
      arn: `arn:tg:${tg.name}`,
      loadBalancerArns: ['arn:lb'],
    })),
    listeners: stack.listeners.map((l) => ({
      port: l.port,
      protocol: l.protocol,
      tags: l.tags,
      arn: `arn:l:${l.port}`,
      targetGroupArn: `arn:tg:${l.targetGroup}`,
    })),
  };
}
function desiredStack(members: OctaviaMember[]): Stack {
  const p = pool(members);
  return planStack(mirror, tree([listener('TCP', 80, p.id)], [p]), naming).stack;
}

test('nothing observed: create in dependency order (load balancer, target group, targets, listener)', () => {
  const desired = desiredStack([member('192.168.1.10', 80)]);
  assert.deepEqual(
    diffStack(desired, { targetGroups: [], listeners: [] }).map((a) => a.kind),
    ['createLoadBalancer', 'createTargetGroup', 'registerTargets', 'createListener'],
  );
});

test('in sync: no action at all', () => {
  const desired = desiredStack([member('192.168.1.10', 80), member('192.168.1.11', 80)]);
  assert.deepEqual(diffStack(desired, observedFrom(desired)), []);
});

test('member changes register and deregister exactly the difference, keyed on ip:port', () => {
  const before = desiredStack([member('192.168.1.10', 80), member('192.168.1.10', 81)]);
  const after = desiredStack([member('192.168.1.10', 80), member('192.168.1.12', 80)]);
  const actions = diffStack(after, observedFrom(before));
  assert.deepEqual(actions, [
    {
      kind: 'deregisterTargets',
      targetGroup: 'tg-80-tcp',
      targets: [{ ip: '192.168.1.10', port: 81, availabilityZone: 'all' }],
    },
    {
      kind: 'registerTargets',
      targetGroup: 'tg-80-tcp',
      targets: [{ ip: '192.168.1.12', port: 80, availabilityZone: 'all' }],
    },
  ]);
});

test('hand-made drift is put back: health check, attributes, tags, a deleted listener, a stray target', () => {
  const desired = desiredStack([member('192.168.1.10', 80)]);
  const observed = observedFrom(desired);
  observed.targetGroups[0]!.healthCheck.intervalSeconds = 10;
  observed.targetGroups[0]!.attributes['deregistration_delay.timeout_seconds'] = '0';
  observed.targetGroups[0]!.targets.push({ ip: '203.0.113.9', port: 80, availabilityZone: 'all' });
  observed.loadBalancer!.tags[OWNER_TAG] = 'someone/else';
  observed.listeners = [];
  assert.deepEqual(
    diffStack(desired, observed).map((a) => a.kind),
    [
      'retag',
      'modifyHealthCheck',
      'setTargetGroupAttributes',
      'deregisterTargets',
      'createListener',
    ],
  );
});

test('an immutable change (new target group name) replaces safely: create, repoint the listener, then delete', () => {
  const desired = desiredStack([member('192.168.1.10', 80)]);
  const observed = observedFrom(desired);
  observed.targetGroups[0]!.name = 'tg-old';
  observed.targetGroups[0]!.arn = 'arn:tg:tg-old';
  observed.listeners[0]!.targetGroupArn = 'arn:tg:tg-old';
  assert.deepEqual(
    diffStack(desired, observed).map((a) => a.kind),
    ['createTargetGroup', 'registerTargets', 'modifyListener', 'deleteTargetGroup'],
  );
});

test('a listener gone from Octavia goes, listener before its target group; teardown keeps that order', () => {
  const observed = observedFrom(desiredStack([member('192.168.1.10', 80)]));
  const empty: Stack = {
    ...observedFrom(desiredStack([])),
    targetGroups: [],
    listeners: [],
  } as unknown as Stack;
  empty.loadBalancer = observed.loadBalancer!;
  assert.deepEqual(
    diffStack(empty, observed).map((a) => a.kind),
    ['deleteListener', 'deleteTargetGroup'],
  );
  assert.deepEqual(
    teardown(observed).map((a) => a.kind),
    ['deleteListener', 'deleteTargetGroup'],
  );
});

// ---- one listener per port: every port/protocol transition (the review's item 1) ----

function stackOf(listeners: [OctaviaListener['protocol'], number][]): Stack {
  const p = pool([member('192.168.1.10', 53)]);
  return planStack(
    mirror,
    tree(
      listeners.map(([proto, port]) => listener(proto, port, p.id)),
      [p],
    ),
    naming,
  ).stack;
}
/** Applies the actions to the observed stack as AWS would, one listener per port. */
function applyAll(observed: ObservedStack, desired: Stack): ObservedStack {
  const next = structuredClone(observed);
  for (const a of diffStack(desired, observed)) {
    switch (a.kind) {
      case 'createTargetGroup':
        next.targetGroups.push({
          ...structuredClone(a.targetGroup),
          arn: `arn:tg:${a.targetGroup.name}`,
          loadBalancerArns: [],
        });
        break;
      case 'createListener':
        assert.ok(
          !next.listeners.some((l) => l.port === a.listener.port),
          `AWS refuses a second listener on port ${a.listener.port}`,
        );
        next.listeners.push({
          port: a.listener.port,
          protocol: a.listener.protocol,
          tags: a.listener.tags,
          arn: `arn:l:${a.listener.port}:${a.listener.protocol}`,
          targetGroupArn: `arn:tg:${a.listener.targetGroup}`,
        });
        break;
      case 'modifyListener': {
        const l = next.listeners.find((x) => x.arn === a.arn)!;
        l.protocol = a.protocol;
        l.targetGroupArn = `arn:tg:${a.targetGroup}`;
        break;
      }
      case 'deleteListener':
        next.listeners = next.listeners.filter((l) => l.arn !== a.arn);
        break;
      case 'deleteTargetGroup':
        assert.ok(
          !next.listeners.some((l) => l.targetGroupArn === a.arn),
          `ResourceInUse: ${a.name} is still used by a listener`,
        );
        next.targetGroups = next.targetGroups.filter((tg) => tg.arn !== a.arn);
        break;
      case 'retag': {
        const l = next.listeners.find((x) => x.arn === a.arn);
        const tg = next.targetGroups.find((x) => x.arn === a.arn);
        const target = l ?? tg;
        if (target) {
          target.tags = { ...target.tags, ...a.add };
          for (const k of a.remove) delete target.tags[k];
        }
        break;
      }
      default:
        break;
    }
  }
  return next;
}
const served = (o: ObservedStack) =>
  o.listeners
    .map((l) => `${l.protocol}:${l.port}->${l.targetGroupArn.replace('arn:tg:', '')}`)
    .sort();

const transitions: [
  string,
  [OctaviaListener['protocol'], number][],
  [OctaviaListener['protocol'], number][],
  string[],
][] = [
  ['TCP → UDP', [['TCP', 53]], [['UDP', 53]], ['UDP:53->tg-53-udp']],
  ['UDP → TCP', [['UDP', 53]], [['TCP', 53]], ['TCP:53->tg-53-tcp']],
  [
    'TCP → TCP+UDP = TCP_UDP',
    [['TCP', 53]],
    [
      ['TCP', 53],
      ['UDP', 53],
    ],
    ['TCP_UDP:53->tg-53-tcp_udp'],
  ],
  [
    'TCP_UDP → TCP',
    [
      ['TCP', 53],
      ['UDP', 53],
    ],
    [['TCP', 53]],
    ['TCP:53->tg-53-tcp'],
  ],
  [
    'TCP_UDP → UDP',
    [
      ['TCP', 53],
      ['UDP', 53],
    ],
    [['UDP', 53]],
    ['UDP:53->tg-53-udp'],
  ],
  ['port change', [['TCP', 53]], [['TCP', 5353]], ['TCP:5353->tg-5353-tcp']],
  [
    'listener removed',
    [
      ['TCP', 53],
      ['UDP', 54],
    ],
    [['TCP', 53]],
    ['TCP:53->tg-53-tcp'],
  ],
  [
    'listener added',
    [['TCP', 53]],
    [
      ['TCP', 53],
      ['UDP', 54],
    ],
    ['TCP:53->tg-53-tcp', 'UDP:54->tg-54-udp'],
  ],
];
for (const [name, before, after, want] of transitions) {
  test(`listener transition ${name}: the port is served as planned, one listener per port, nothing stale`, () => {
    const observed = observedFrom(stackOf(before));
    const desired = stackOf(after);
    const result = applyAll(observed, desired);
    assert.deepEqual(served(result), want);
    assert.deepEqual(
      result.targetGroups.map((tg) => tg.name).sort(),
      desired.targetGroups.map((tg) => tg.name).sort(),
      'the target groups are exactly the planned ones',
    );
    assert.deepEqual(diffStack(desired, result), [], 'a second pass finds nothing to do');
  });
}

test('a protocol change on one port modifies the listener and never deletes it', () => {
  const observed = observedFrom(stackOf([['TCP', 53]]));
  const actions = diffStack(stackOf([['UDP', 53]]), observed);
  assert.deepEqual(
    actions.map((a) => a.kind),
    ['createTargetGroup', 'registerTargets', 'modifyListener', 'retag', 'deleteTargetGroup'],
  );
  assert.ok(!actions.some((a) => a.kind === 'deleteListener'));
});

test('TCP and UDP listeners on one port become one TCP_UDP listener and target group', () => {
  const tcp = pool([member('192.168.1.10', 53)]);
  const udp = pool([member('192.168.1.11', 53)], { protocol: 'UDP' });
  const plan = planStack(
    mirror,
    tree([listener('TCP', 53, tcp.id), listener('UDP', 53, udp.id)], [tcp, udp]),
    naming,
  );
  assert.deepEqual(
    plan.stack.listeners.map((l) => `${l.protocol}:${l.port}->${l.targetGroup}`),
    ['TCP_UDP:53->tg-53-tcp_udp'],
  );
  assert.equal(plan.stack.targetGroups.length, 1);
  assert.equal(plan.stack.targetGroups[0]!.protocol, 'TCP_UDP');
  assert.deepEqual(
    plan.stack.targetGroups[0]!.targets.map((t) => t.ip),
    ['192.168.1.10', '192.168.1.11'],
  );
  assert.deepEqual(
    plan.listeners.map((m) => `${m.octaviaProtocol}->${m.protocol}`),
    ['TCP+UDP->TCP_UDP'],
    'one status entry per NLB listener',
  );
  assert.ok(plan.notMirrored.some((n) => n.feature === 'TCP and UDP listeners on port 53'));
  // Two TCP-like listeners on one port still clash: the second is reported, not mirrored.
  const p = pool([member('192.168.1.10', 80)]);
  const clash = planStack(
    mirror,
    tree([listener('TCP', 80, p.id), listener('HTTP', 80, p.id)], [p]),
    naming,
  );
  assert.equal(clash.stack.listeners.length, 1);
  assert.ok(clash.notMirrored.some((n) => /one listener per port/.test(n.reason)));
});

test('the plan asks AWS for nothing it refuses: no preserve_client_ip=false on UDP or TCP_UDP (said in notMirrored), no public targets', () => {
  const p = pool([member('192.168.1.10', 53), member('203.0.113.9', 53)]);
  const plan = planStack(
    mirror,
    tree(
      [
        listener('TCP', 53, p.id),
        listener('UDP', 53, p.id),
        listener('UDP', 54, p.id),
        listener('TCP', 80, p.id),
      ],
      [p],
    ),
    naming,
  );
  const attrs = (port: number) =>
    plan.stack.targetGroups.find((tg) => tg.port === port)!.attributes[
      'preserve_client_ip.enabled'
    ];
  assert.equal(attrs(53), undefined, 'TCP_UDP: AWS keeps it on');
  assert.equal(attrs(54), undefined, 'UDP: AWS keeps it on');
  assert.equal(attrs(80), 'false', 'TCP: return traffic through the NLB');
  assert.ok(
    plan.notMirrored.some(
      (n) => n.feature === 'client IP preservation on UDP' && /return path/.test(n.reason),
    ),
  );
  assert.ok(plan.notMirrored.some((n) => n.feature === 'client IP preservation on TCP_UDP'));
  for (const tg of plan.stack.targetGroups)
    assert.deepEqual(
      tg.targets.map((t) => t.ip),
      ['192.168.1.10'],
    );
  assert.ok(plan.notMirrored.some((n) => n.feature === 'members outside private ranges'));
});

test('the NLB subnets and attributes and every tag set are put back: SetSubnets, attributes, AddTags/RemoveTags', () => {
  const desired = desiredStack([member('192.168.1.10', 80)]);
  const observed = observedFrom(desired);
  observed.loadBalancer!.subnetIds = ['subnet-a'];
  // A crash between creating the NLB and setting its attributes: cross-zone never set.
  observed.loadBalancer!.attributes = { 'load_balancing.cross_zone.enabled': 'false' };
  observed.targetGroups[0]!.tags = { ...observed.targetGroups[0]!.tags, team: 'other' };
  delete observed.targetGroups[0]!.tags[OWNER_TAG];
  observed.listeners[0]!.tags = {
    ...observed.listeners[0]!.tags,
    'kachiku.io/stale': 'x',
    'someone.else/tag': 'kept',
  };
  assert.deepEqual(diffStack(desired, observed), [
    { kind: 'setSubnets', arn: 'arn:lb', subnetIds: ['subnet-a', 'subnet-b'] },
    {
      kind: 'setLoadBalancerAttributes',
      arn: 'arn:lb',
      attributes: { 'load_balancing.cross_zone.enabled': 'true' },
    },
    {
      kind: 'retag',
      resource: 'target group',
      name: 'tg-80-tcp',
      arn: 'arn:tg:tg-80-tcp',
      add: { team: 'platform', [OWNER_TAG]: 'shop/web' },
      remove: [],
    },
    {
      kind: 'retag',
      resource: 'listener',
      name: 'TCP 80',
      arn: 'arn:l:80',
      add: {},
      remove: ['kachiku.io/stale'],
    },
  ]);
  // A change of spec.aws.subnetIDs is a SetSubnets too.
  const moved = structuredClone(desired);
  moved.loadBalancer.subnetIds = ['subnet-c'];
  assert.deepEqual(
    diffStack(moved, observedFrom(desired)).map((a) => a.kind),
    ['setSubnets'],
  );
});

test('put back (status.lastPutBack): on a drift check every action; otherwise only what neither the spec nor Octavia changes', () => {
  const desired = desiredStack([member('192.168.1.10', 80)]);
  // A drift check (spec and Octavia as AWS last matched): everything found is a put-back.
  const drifted = observedFrom(desired);
  drifted.targetGroups[0]!.healthCheck.intervalSeconds = 10;
  drifted.targetGroups[0]!.targets = [];
  drifted.listeners = [];
  const all = diffStack(desired, drifted);
  assert.deepEqual(
    putBacks(all, { spec: true, plan: true }).map((a) => a.kind),
    ['modifyHealthCheck', 'registerTargets', 'createListener'],
  );
  assert.deepEqual(putBacks(all, { spec: true, plan: false }), [], 'Octavia may have done it');

  // Octavia changed (a member added) while the NLB's attribute, subnets and a target group's
  // tag were changed by hand: the registration follows Octavia, the rest is put back.
  const before = observedFrom(desired);
  before.loadBalancer!.attributes = { 'load_balancing.cross_zone.enabled': 'false' };
  before.loadBalancer!.subnetIds = ['subnet-a'];
  delete before.targetGroups[0]!.tags[OWNER_TAG];
  const grown = desiredStack([member('192.168.1.10', 80), member('192.168.1.11', 80)]);
  const mixed = diffStack(grown, before);
  assert.deepEqual(putBacks(mixed, { spec: true, plan: false }).map(describeAction), [
    "put back the NLB's subnets: subnet-a, subnet-b",
    "put back the NLB's attributes: load_balancing.cross_zone.enabled=true",
    `put back the tags of target group tg-80-tcp: set ${OWNER_TAG}`,
  ]);
  // A new spec (subnets, tags): those follow the spec; the NLB's attributes are still drift.
  assert.deepEqual(
    putBacks(mixed, { spec: false, plan: false }).map((a) => a.kind),
    ['setLoadBalancerAttributes'],
  );

  // Octavia changed a listener's protocol: its new tags come with it, nothing is put back.
  const protocol = diffStack(stackOf([['UDP', 53]]), observedFrom(stackOf([['TCP', 53]])));
  assert.ok(protocol.some((a) => a.kind === 'retag' && a.resource === 'listener'));
  assert.deepEqual(putBacks(protocol, { spec: true, plan: false }), []);
  // In sync: nothing.
  assert.deepEqual(
    putBacks(diffStack(desired, observedFrom(desired)), { spec: true, plan: true }),
    [],
  );
});

test('status names at most PUT_BACKS_NAMED put-backs and counts the rest', () => {
  const few = ['a', 'b'];
  assert.deepEqual(putBackList(few), few);
  const many = Array.from({ length: 25 }, (_, i) => `change ${i}`);
  const listed = putBackList(many);
  assert.equal(listed.length, PUT_BACKS_NAMED);
  assert.deepEqual(listed.slice(0, -1), many.slice(0, PUT_BACKS_NAMED - 1));
  assert.equal(listed.at(-1), `and ${25 - PUT_BACKS_NAMED + 1} more (see the events)`);
  assert.deepEqual(putBackList(many.slice(0, PUT_BACKS_NAMED)), many.slice(0, PUT_BACKS_NAMED));
});

test('monitor_port: the same on every member is the health-check port; members that differ are reported', () => {
  const check = (members: OctaviaMember[]) => {
    const p = pool(members, {}, monitor());
    const plan = planStack(mirror, tree([listener('TCP', 80, p.id)], [p]), naming);
    return {
      port: plan.stack.targetGroups[0]!.healthCheck.port,
      notes: plan.notMirrored.map((n) => n.feature),
    };
  };
  assert.deepEqual(
    check([
      member('192.168.1.10', 80, { monitor_port: 9100 }),
      member('192.168.1.11', 80, { monitor_port: 9100 }),
    ]),
    { port: '9100', notes: [] },
  );
  assert.deepEqual(check([member('192.168.1.10', 80), member('192.168.1.11', 80)]), {
    port: 'traffic-port',
    notes: [],
  });
  assert.deepEqual(
    check([
      member('192.168.1.10', 80, { monitor_port: 9100 }),
      member('192.168.1.11', 80, { monitor_port: 9200 }),
    ]),
    { port: 'traffic-port', notes: ['member monitor_port'] },
  );
  assert.deepEqual(
    check([member('192.168.1.10', 80, { monitor_port: 9100 }), member('192.168.1.11', 80)]),
    { port: 'traffic-port', notes: ['member monitor_port'] },
  );
  // A disabled member is not a target: its monitor port does not count.
  assert.deepEqual(
    check([
      member('192.168.1.10', 80, { monitor_port: 9100 }),
      member('192.168.1.11', 80, { monitor_port: 9200, admin_state_up: false }),
    ]),
    { port: '9100', notes: [] },
  );
  assert.deepEqual(check([member('192.168.1.10', 80, { monitor_address: '192.168.9.9' })]), {
    port: 'traffic-port',
    notes: ['member monitor_address'],
  });
});

test('incompleteAnswer: answers that agree pass; a missing pool or a short member list is named', () => {
  const m1 = member('192.168.1.10', 80);
  const m2 = member('192.168.1.11', 80);
  const p = { ...pool([m1, m2]), listedMemberIds: [m1.id, m2.id] };
  const l = listener('TCP', 80, p.id);
  assert.deepEqual(incompleteAnswer(tree([l], [p])), []);
  // Without the pool's own member ids (an answer that lacks them) the member list is taken.
  assert.deepEqual(incompleteAnswer(tree([l], [{ ...p, listedMemberIds: undefined }])), []);
  // An empty pool that says it is empty is fine.
  const empty = { ...pool([]), listedMemberIds: [] };
  assert.deepEqual(incompleteAnswer(tree([listener('TCP', 81, empty.id)], [empty])), []);

  // The member list came back empty (or short) while the pool names two members.
  assert.match(
    incompleteAnswer(tree([l], [{ ...p, members: [] }])).join(),
    /names 2 member\(s\), its member list holds 0/,
  );
  assert.match(incompleteAnswer(tree([l], [{ ...p, members: [m1] }])).join(), /holds 1/);
  // The listener's pool is missing from the pool list (and from the load balancer's view).
  const t = tree([l], [p]);
  const problems = incompleteAnswer({ ...t, pools: [] });
  assert.equal(problems.length, 2);
  assert.match(
    problems.join(),
    new RegExp(`listener ${l.id}'s pool ${p.id} is not in the pool list`),
  );
  assert.match(
    problems.join(),
    new RegExp(`pool ${p.id} of the load balancer is not in the pool list`),
  );
});

// kachiku's AWS client layer against the lab's moto_server. moto cannot see some things (the
// AvailabilityZone of a target, two ports on one IP, throttling, timing), so those are checked
// on what the client sent, through a small recording proxy in front of moto that can also
// answer with ELBv2 throttling errors (test/support/awsproxy.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { labState } from '../support/lab.js';
import { startAwsProxy } from '../support/awsproxy.js';
import {
  awsClients,
  AwsError,
  createListener,
  createLoadBalancer,
  createTargetGroup,
  deleteListener,
  deleteLoadBalancer,
  deleteTargetGroup,
  deregisterTargets,
  isAwsError,
  loadBalancerName,
  modifyListener,
  modifyTargetGroup,
  observeStack,
  registerTargets,
  removeTags,
  addTags,
  setTargetGroupAttributes,
  targetGroupName,
  type AwsClientOptions,
  type HealthCheck,
  type OnCall,
  type Target,
  type TargetGroup,
} from '../../src/clouds/aws/index.js';

const aws = labState().aws!;
const base: AwsClientOptions = {
  region: aws.region,
  endpoint: aws.endpoint,
  credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey },
};

/** The targets a (De)RegisterTargets request carried, as the query protocol encodes them. */
function sentTargets(params: URLSearchParams): Target[] {
  const out: Target[] = [];
  for (let i = 1; params.has(`Targets.member.${i}.Id`); i++)
    out.push({
      ip: params.get(`Targets.member.${i}.Id`)!,
      port: Number(params.get(`Targets.member.${i}.Port`)),
      availabilityZone: params.get(`Targets.member.${i}.AvailabilityZone`) ?? '',
    });
  return out;
}

const proxy = await startAwsProxy(aws.endpoint);
after(() => proxy.close());

// ---- a small stack, built with the actions ----

const tcpCheck: HealthCheck = {
  protocol: 'TCP',
  port: 'traffic-port',
  intervalSeconds: 10,
  timeoutSeconds: 10,
  healthyThreshold: 3,
  unhealthyThreshold: 3,
};

function stackFor(owner: string, name: string) {
  const ns = 'lab-tests';
  const tags = { 'kachiku.io/owner': owner };
  const tg = (key: string, protocol: 'TCP' | 'TCP_UDP', port: number): TargetGroup => ({
    name: targetGroupName({
      namespace: ns,
      name,
      key,
      protocol,
      port,
      targetType: 'ip',
      vpcId: aws.vpc.id,
    }),
    protocol,
    port,
    vpcId: aws.vpc.id,
    targetType: 'ip',
    healthCheck: tcpCheck,
    attributes: { 'deregistration_delay.timeout_seconds': '30' },
    tags,
    targets: [],
  });
  return {
    tags,
    loadBalancer: {
      name: loadBalancerName({ namespace: ns, name, scheme: 'internal', vpcId: aws.vpc.id }),
      scheme: 'internal' as const,
      subnetIds: aws.subnets.map((s) => s.id),
      tags,
      attributes: { 'load_balancing.cross_zone.enabled': 'true' },
    },
    web: tg('pool-web', 'TCP', 80),
    dns: tg('pool-dns', 'TCP_UDP', 53),
  };
}

test('build a stack with the actions; observeStack finds exactly it by its owner tag', async () => {
  const c = awsClients({ ...base, endpoint: proxy.url });
  const run = randomUUID().slice(0, 8);
  const mine = stackFor(`mirror-${run}`, `web-${run}`);
  const neighbour = stackFor(`other-${run}`, `web-${run}-n`);

  // Target groups before listeners, as on create.
  const lb = await createLoadBalancer(c.elbv2, mine.loadBalancer);
  const webArn = await createTargetGroup(c.elbv2, mine.web);
  const dnsArn = await createTargetGroup(c.elbv2, mine.dns);
  const l80 = await createListener(c.elbv2, lb.arn, {
    port: 80,
    protocol: 'TCP',
    targetGroupArn: webArn,
    tags: mine.tags,
  });
  const l53 = await createListener(c.elbv2, lb.arn, {
    port: 53,
    protocol: 'TCP',
    targetGroupArn: dnsArn,
    tags: mine.tags,
  });
  const webTargets: Target[] = [
    { ip: '192.168.10.11', port: 8080, availabilityZone: 'all' },
    { ip: '192.168.10.12', port: 8080, availabilityZone: 'all' },
  ];
  // Octavia members often share an IP across ports: moto keys targets by IP, AWS by ip:port.
  const dnsTargets: Target[] = [
    { ip: '192.168.10.21', port: 53, availabilityZone: 'all' },
    { ip: '192.168.10.21', port: 5353, availabilityZone: 'all' },
  ];
  const before = proxy.sent.length;
  await registerTargets(c.elbv2, webArn, webTargets);
  await registerTargets(c.elbv2, dnsArn, dnsTargets);

  // What was sent, since moto stores no AvailabilityZone and collapses same-IP targets.
  const registered = proxy.sent.slice(before).filter((s) => s.action === 'RegisterTargets');
  assert.deepEqual(
    registered.map((s) => [s.params.get('TargetGroupArn'), sentTargets(s.params)]),
    [
      [webArn, webTargets],
      [dnsArn, dnsTargets],
    ],
  );

  // A neighbour stack in the same VPC under another owner.
  const nlb = await createLoadBalancer(c.elbv2, neighbour.loadBalancer);
  const nweb = await createTargetGroup(c.elbv2, neighbour.web);
  await createListener(c.elbv2, nlb.arn, {
    port: 80,
    protocol: 'TCP',
    targetGroupArn: nweb,
    tags: neighbour.tags,
  });

  // Repeating the creates is harmless: same ARNs, no twins (moto would make a second load
  // balancer and a second listener on the port, and refuse the target group's name).
  assert.equal((await createLoadBalancer(c.elbv2, mine.loadBalancer)).arn, lb.arn);
  assert.equal(await createTargetGroup(c.elbv2, mine.web), webArn);
  const again = await createListener(c.elbv2, lb.arn, {
    port: 80,
    protocol: 'TCP',
    targetGroupArn: webArn,
    tags: mine.tags,
  });
  assert.equal(again, l80);

  const seen = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', mine.tags['kachiku.io/owner']],
    vpcId: aws.vpc.id,
  });
  assert.equal(seen.loadBalancer?.arn, lb.arn);
  assert.equal(seen.loadBalancer?.name, mine.loadBalancer.name);
  assert.equal(seen.loadBalancer?.scheme, 'internal');
  assert.equal(seen.loadBalancer?.vpcId, aws.vpc.id);
  assert.deepEqual([...seen.loadBalancer!.subnetIds].sort(), aws.subnets.map((s) => s.id).sort());
  assert.equal(seen.loadBalancer?.tags['kachiku.io/owner'], mine.tags['kachiku.io/owner']);
  assert.equal(seen.loadBalancer?.attributes['load_balancing.cross_zone.enabled'], 'true');
  assert.ok(seen.loadBalancer?.dnsName);

  assert.deepEqual(
    seen.targetGroups.map((t) => t.arn).sort(),
    [webArn, dnsArn].sort(),
    'exactly my target groups, not the neighbour’s',
  );
  const web = seen.targetGroups.find((t) => t.arn === webArn)!;
  assert.equal(web.name, mine.web.name);
  assert.equal(web.protocol, 'TCP');
  assert.equal(web.port, 80);
  assert.equal(web.targetType, 'ip');
  assert.equal(web.vpcId, aws.vpc.id);
  assert.deepEqual(web.healthCheck, tcpCheck);
  assert.equal(web.attributes['deregistration_delay.timeout_seconds'], '30');
  assert.deepEqual(web.tags, mine.tags);
  assert.deepEqual(web.loadBalancerArns, [lb.arn]);
  // ip:port as moto holds them (distinct IPs); the AZ moto does not keep was checked above.
  assert.deepEqual(
    web.targets.map((t) => `${t.ip}:${t.port}`).sort(),
    webTargets.map((t) => `${t.ip}:${t.port}`),
  );
  assert.equal(seen.targetGroups.find((t) => t.arn === dnsArn)!.protocol, 'TCP_UDP');

  assert.deepEqual(
    seen.listeners
      .sort((a, b) => a.port - b.port)
      .map((l) => [l.arn, l.port, l.protocol, l.targetGroupArn]),
    [
      [l53, 53, 'TCP', dnsArn],
      [l80, 80, 'TCP', webArn],
    ],
  );
  assert.deepEqual(seen.listeners[0]!.tags, mine.tags);

  const theirs = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', neighbour.tags['kachiku.io/owner']],
    vpcId: aws.vpc.id,
  });
  assert.equal(theirs.loadBalancer?.arn, nlb.arn);
  assert.deepEqual(
    theirs.targetGroups.map((t) => t.arn),
    [nweb],
  );
  const nobody = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', `nobody-${run}`],
    vpcId: aws.vpc.id,
  });
  assert.deepEqual(nobody, { targetGroups: [], listeners: [] });
  // `related`: from the same scan, who else owns resources carrying a given tag (here the
  // neighbour's own tag; the mirror asks for its Octavia load balancer's tag).
  const related = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', mine.tags['kachiku.io/owner']],
    vpcId: aws.vpc.id,
    related: ['kachiku.io/owner', neighbour.tags['kachiku.io/owner']],
  });
  assert.deepEqual(related.relatedOwners, [neighbour.tags['kachiku.io/owner']]);
  assert.equal(related.loadBalancer?.arn, seen.loadBalancer?.arn, 'the stack itself as before');
  const alone = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', mine.tags['kachiku.io/owner']],
    vpcId: aws.vpc.id,
    related: ['kachiku.io/owner', mine.tags['kachiku.io/owner']],
  });
  assert.deepEqual(alone.relatedOwners, [], 'its own resources are not another owner');

  // Changes: health check, attributes, listener target, tags, deregistration.
  const beforeModify = proxy.sent.length;
  await modifyTargetGroup(c.elbv2, webArn, {
    ...tcpCheck,
    protocol: 'HTTP',
    path: '/healthz',
    matcher: '200-399',
  });
  await setTargetGroupAttributes(
    c.elbv2,
    webArn,
    { 'deregistration_delay.timeout_seconds': '0' },
    'TCP',
  );
  // What AWS refuses and moto accepts is refused before it is sent.
  const beforeRefused = proxy.sent.length;
  await assert.rejects(
    setTargetGroupAttributes(c.elbv2, dnsArn, { 'preserve_client_ip.enabled': 'false' }, 'TCP_UDP'),
    (err: unknown) => isAwsError(err, 'Invalid') && /preserve_client_ip/.test(err.message),
  );
  await assert.rejects(
    registerTargets(c.elbv2, webArn, [{ ip: '203.0.113.9', port: 80, availabilityZone: 'all' }]),
    (err: unknown) => isAwsError(err, 'Invalid') && /203\.0\.113\.9/.test(err.message),
  );
  await assert.rejects(
    createListener(c.elbv2, lb.arn, {
      port: 81,
      protocol: 'TCP',
      targetGroupArn: webArn,
      targetGroupProtocol: 'UDP',
      tags: mine.tags,
    }),
    (err: unknown) => isAwsError(err, 'Invalid'),
  );
  assert.equal(proxy.sent.length, beforeRefused, 'nothing refused reached moto');
  await modifyListener(c.elbv2, l53, { targetGroupArn: webArn });
  await addTags(c.elbv2, webArn, { extra: 'yes' });
  await removeTags(c.elbv2, webArn, ['extra']);
  const sentBefore = proxy.sent.length;
  await deregisterTargets(c.elbv2, webArn, [webTargets[0]!]);
  const dereg = proxy.sent.slice(sentBefore).find((s) => s.action === 'DeregisterTargets')!;
  assert.deepEqual(sentTargets(dereg.params), [webTargets[0]]);
  const changed = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', mine.tags['kachiku.io/owner']],
    vpcId: aws.vpc.id,
  });
  const web2 = changed.targetGroups.find((t) => t.arn === webArn)!;
  assert.equal(web2.healthCheck.protocol, 'HTTP');
  assert.equal(web2.healthCheck.path, '/healthz');
  // moto keeps a matcher only on HTTP(S) target groups, AWS also on a TCP one checked by HTTP.
  const modify = proxy.sent.slice(beforeModify).find((s) => s.action === 'ModifyTargetGroup')!;
  assert.equal(modify.params.get('Matcher.HttpCode'), '200-399');
  assert.equal(web2.attributes['deregistration_delay.timeout_seconds'], '0');
  assert.deepEqual(web2.tags, mine.tags);
  assert.deepEqual(
    web2.targets.map((t) => t.ip),
    ['192.168.10.12'],
  );
  assert.equal(changed.listeners.find((l) => l.arn === l53)?.targetGroupArn, webArn);

  // Delete in dependency order: a used target group is refused, listeners go first.
  await assert.rejects(deleteTargetGroup(c.elbv2, webArn), (err) => {
    assert.ok(isAwsError(err, 'InUse'));
    assert.equal(err.operation, 'DeleteTargetGroup');
    assert.equal(err.code, 'ResourceInUse');
    return true;
  });
  for (const stack of [
    { lb: lb.arn, listeners: [l80, l53], tgs: [webArn, dnsArn] },
    { lb: nlb.arn, listeners: theirs.listeners.map((l) => l.arn), tgs: [nweb] },
  ]) {
    for (const l of stack.listeners) await deleteListener(c.elbv2, l);
    for (const t of stack.tgs) await deleteTargetGroup(c.elbv2, t);
    await deleteLoadBalancer(c.elbv2, stack.lb);
  }
  // Deleting what is gone already is done, not an error.
  await deleteListener(c.elbv2, l80);
  await deleteTargetGroup(c.elbv2, webArn);
  await deleteLoadBalancer(c.elbv2, lb.arn);
  const gone = await observeStack(c.elbv2, {
    ownerTag: ['kachiku.io/owner', mine.tags['kachiku.io/owner']],
    vpcId: aws.vpc.id,
  });
  assert.deepEqual(gone, { targetGroups: [], listeners: [] });
  c.destroy();
});

test('targets are (de)registered 200 per request', async () => {
  const c = awsClients({
    ...base,
    endpoint: proxy.url,
    limits: { 'elbv2.targets': { rps: 100, burst: 100 } },
  });
  const run = randomUUID().slice(0, 8);
  const { web } = stackFor(`chunks-${run}`, `chunks-${run}`);
  const arn = await createTargetGroup(c.elbv2, web);
  const targets: Target[] = Array.from({ length: 450 }, (_, i) => ({
    ip: `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    port: 80,
    availabilityZone: 'all',
  }));
  const before = proxy.sent.length;
  await registerTargets(c.elbv2, arn, targets);
  await deregisterTargets(c.elbv2, arn, targets.slice(0, 201));
  const sent = proxy.sent.slice(before);
  assert.deepEqual(
    sent.map((s) => [s.action, sentTargets(s.params).length]),
    [
      ['RegisterTargets', 200],
      ['RegisterTargets', 200],
      ['RegisterTargets', 50],
      ['DeregisterTargets', 200],
      ['DeregisterTargets', 1],
    ],
  );
  assert.deepEqual(sent.flatMap((s) => sentTargets(s.params)).slice(0, 450), targets);
  const health = await c.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  assert.equal(health.TargetHealthDescriptions?.length, 450 - 201);
  await deleteTargetGroup(c.elbv2, arn);
  c.destroy();
});

test('the client-side limiter holds RegisterTargets to 4 rps after a burst of 20', async () => {
  const c = awsClients(base);
  const run = randomUUID().slice(0, 8);
  const { web } = stackFor(`limit-${run}`, `limit-${run}`);
  const arn = await createTargetGroup(c.elbv2, web);
  const target = (i: number): Target => ({
    ip: `10.201.0.${i + 1}`,
    port: 80,
    availabilityZone: 'all',
  });

  // 20 go at once, the other 10 at 4 per second: at least 2.5 s, whether sent together or not.
  let start = performance.now();
  await Promise.all(
    Array.from({ length: 30 }, (_, i) => registerTargets(c.elbv2, arn, [target(i)])),
  );
  const limited = (performance.now() - start) / 1000;
  assert.ok(limited >= 2.45, `30 RegisterTargets took ${limited.toFixed(2)} s`);
  assert.ok(limited < 6, `30 RegisterTargets took ${limited.toFixed(2)} s`);

  // The same 30 calls without that limit: moto alone is far quicker, so the time above is
  // the limiter's.
  const free = awsClients({ ...base, limits: { 'elbv2.targets': { rps: 1000, burst: 1000 } } });
  start = performance.now();
  await Promise.all(
    Array.from({ length: 30 }, (_, i) => registerTargets(free.elbv2, arn, [target(i)])),
  );
  const unlimited = (performance.now() - start) / 1000;
  assert.ok(unlimited < 1.5, `30 RegisterTargets without the limit took ${unlimited.toFixed(2)} s`);
  free.destroy();

  // Describe* draws from its own, larger bucket: not held up by the targets bucket.
  start = performance.now();
  await Promise.all(
    Array.from({ length: 30 }, () =>
      c.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
    ),
  );
  const describes = (performance.now() - start) / 1000;
  assert.ok(describes < 2, `30 DescribeTargetHealth took ${describes.toFixed(2)} s`);
  await deleteTargetGroup(c.elbv2, arn);
  c.destroy();
});

test('throttling errors are retried with backoff until the call succeeds', async () => {
  const calls: Parameters<OnCall>[] = [];
  const c = awsClients({
    ...base,
    endpoint: proxy.url,
    onCall: (...args) => void calls.push(args),
  });
  const run = randomUUID().slice(0, 8);
  const { web } = stackFor(`throttle-${run}`, `throttle-${run}`);
  const arn = await createTargetGroup(c.elbv2, web);

  // Three throttled answers: more than the SDK's default of 3 attempts would take.
  proxy.throttle('RegisterTargets', 3);
  const before = proxy.sent.length;
  const start = performance.now();
  await registerTargets(c.elbv2, arn, [{ ip: '10.202.0.1', port: 80, availabilityZone: 'all' }]);
  const seconds = (performance.now() - start) / 1000;
  const tries = proxy.sent.slice(before).filter((s) => s.action === 'RegisterTargets');
  assert.equal(tries.length, 4, 'three throttled attempts, then the one that went through');
  const call = calls.find(([, op]) => op === 'RegisterTargets')!;
  assert.equal(call[2], 'ok');
  assert.equal(call[4].attempts, 4);
  assert.ok(call[3] <= seconds + 0.05);
  const health = await c.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  assert.deepEqual(
    health.TargetHealthDescriptions?.map((d) => d.Target?.Id),
    ['10.202.0.1'],
  );

  // With too few attempts left, the caller gets a typed Throttled error, not an SDK class.
  const impatient = awsClients({ ...base, endpoint: proxy.url, maxAttempts: 2 });
  proxy.throttle('DescribeTargetGroups', 5);
  const beforeImpatient = proxy.sent.length;
  await assert.rejects(
    createTargetGroup(impatient.elbv2, web),
    (err) =>
      err instanceof AwsError &&
      err.kind === 'Throttled' &&
      err.code === 'Throttling' &&
      err.operation === 'DescribeTargetGroups' &&
      err.detail === 'Rate exceeded' &&
      !JSON.stringify(err).includes(aws.secretAccessKey) &&
      !String(err.stack).includes(aws.secretAccessKey),
  );
  assert.equal(proxy.sent.length - beforeImpatient, 2, 'maxAttempts 2: two requests');
  proxy.throttle('DescribeTargetGroups', 0);
  await deleteTargetGroup(c.elbv2, arn);
  c.destroy();
  impatient.destroy();
});

test('onCall is told of every call, by service and operation, with errors', async () => {
  const calls: Parameters<OnCall>[] = [];
  const c = awsClients({ ...base, onCall: (...args) => void calls.push(args) });
  const count = (service: string, op: string, outcome: string) =>
    calls.filter(([s, o, r]) => s === service && o === op && r === outcome).length;

  for (let i = 0; i < 3; i++) await c.elbv2.send(new DescribeLoadBalancersCommand({}));
  await c.ec2.send(new DescribeSubnetsCommand({}));
  await c.route53.send(new ListHostedZonesCommand({}));
  await assert.rejects(
    c.elbv2.send(new DescribeLoadBalancersCommand({ Names: [`nope-${randomUUID().slice(0, 8)}`] })),
  );
  assert.equal(count('elbv2', 'DescribeLoadBalancers', 'ok'), 3);
  assert.equal(count('elbv2', 'DescribeLoadBalancers', 'error'), 1);
  assert.equal(count('ec2', 'DescribeSubnets', 'ok'), 1);
  assert.equal(count('route53', 'ListHostedZones', 'ok'), 1);
  const failed = calls.find(([, , r]) => r === 'error')!;
  assert.equal(failed[4].code, 'LoadBalancerNotFound');
  assert.ok(calls.every(([, , , s]) => s >= 0 && s < 10));

  // A hook that throws does not fail the call it observes.
  const rude = awsClients({
    ...base,
    onCall: () => {
      throw new Error('metrics broke');
    },
  });
  await rude.elbv2.send(new DescribeLoadBalancersCommand({}));
  c.destroy();
  rude.destroy();
});

test('without endpoint and credentials the SDK’s standard settings apply', async () => {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('AWS_'));
  try {
    // What the lab writes: a shared config with endpoint_url and a credentials file.
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    process.env.AWS_CONFIG_FILE = aws.configFile;
    process.env.AWS_SHARED_CREDENTIALS_FILE = aws.credentialsFile;
    const c = awsClients({ region: aws.region });
    const subnets = await c.ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [aws.vpc.id] }] }),
    );
    assert.equal(subnets.Subnets?.length, aws.subnets.length);
    c.destroy();
  } finally {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  }
});

test('an unreachable endpoint is a typed Unreachable error', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  const c = awsClients({ ...base, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 });
  await assert.rejects(
    observeStack(c.elbv2, { ownerTag: ['k', 'v'], vpcId: aws.vpc.id }),
    (err) => isAwsError(err, 'Unreachable') && err.operation === 'DescribeLoadBalancers',
  );
  c.destroy();
});

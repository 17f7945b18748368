// The lab's AWS (moto_server) through the AWS SDK v3 clients, configured only by the standard
// settings the lab writes (shared config/credentials files, AWS_ENDPOINT_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { labState } from '../support/lab.js';
import { awsEnv } from '../../lab/src/parts/aws.js';

const lab = labState();
const aws = lab.aws!;
// Only the standard settings: no endpoint or credentials are passed to the clients below.
Object.assign(process.env, awsEnv(aws));
delete process.env.AWS_ACCESS_KEY_ID;
delete process.env.AWS_SECRET_ACCESS_KEY;

test('the VPC has a subnet in each of two availability zones', async () => {
  const ec2 = new EC2Client({});
  const subnets = await ec2.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [aws.vpc.id] }] }),
  );
  const zones = (subnets.Subnets ?? []).map((s) => s.AvailabilityZone).sort();
  assert.deepEqual(zones, ['us-east-1a', 'us-east-1b']);
});

test('create and delete an NLB with an ip target group and a TCP listener', async () => {
  const elb = new ElasticLoadBalancingV2Client({});
  const suffix = randomUUID().slice(0, 8);
  const lb = await elb.send(
    new CreateLoadBalancerCommand({
      Name: `labtest-${suffix}`,
      Type: 'network',
      Scheme: 'internal',
      Subnets: aws.subnets.map((s) => s.id),
    }),
  );
  const lbArn = lb.LoadBalancers?.[0]?.LoadBalancerArn;
  assert.ok(lbArn);
  assert.equal(lb.LoadBalancers?.[0]?.Type, 'network');
  const tg = await elb.send(
    new CreateTargetGroupCommand({
      Name: `labtest-${suffix}`,
      Protocol: 'TCP',
      Port: 80,
      VpcId: aws.vpc.id,
      TargetType: 'ip',
    }),
  );
  const tgArn = tg.TargetGroups?.[0]?.TargetGroupArn;
  assert.ok(tgArn);
  await elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: tgArn,
      Targets: [{ Id: '192.168.10.5', Port: 8080, AvailabilityZone: 'all' }],
    }),
  );
  const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
  assert.deepEqual(
    health.TargetHealthDescriptions?.map((t) => `${t.Target?.Id}:${t.Target?.Port}`),
    ['192.168.10.5:8080'],
  );
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Protocol: 'TCP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
    }),
  );
  const listenerArn = listener.Listeners?.[0]?.ListenerArn;
  assert.ok(listenerArn);
  const listeners = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }));
  assert.deepEqual(
    listeners.Listeners?.map((l) => `${l.Protocol}:${l.Port}`),
    ['TCP:80'],
  );

  // Delete in dependency order: listener, then target group, then the load balancer.
  await elb.send(new DeleteListenerCommand({ ListenerArn: listenerArn }));
  await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tgArn }));
  await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
  const tgs = await elb.send(new DescribeTargetGroupsCommand({}));
  assert.ok(!tgs.TargetGroups?.some((t) => t.TargetGroupArn === tgArn));
  const lbs = await elb.send(new DescribeLoadBalancersCommand({}));
  assert.ok(!lbs.LoadBalancers?.some((l) => l.LoadBalancerArn === lbArn));
});

test('a Route 53 hosted zone with weighted records', async () => {
  const r53 = new Route53Client({});
  const zoneName = `labtest-${randomUUID().slice(0, 8)}.example.com`;
  const zone = await r53.send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: randomUUID() }),
  );
  const zoneId = zone.HostedZone?.Id;
  assert.ok(zoneId);
  const record = (id: string, weight: number, ip: string): ResourceRecordSet => ({
    Name: `app.${zoneName}`,
    Type: 'A',
    SetIdentifier: id,
    Weight: weight,
    TTL: 30,
    ResourceRecords: [{ Value: ip }],
  });
  const records = [
    record('app-octavia', 90, '203.0.113.10'),
    record('app-nlb', 10, '203.0.113.20'),
  ];
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: records.map((r) => ({ Action: 'CREATE', ResourceRecordSet: r })) },
    }),
  );
  const listed = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  const weighted = (listed.ResourceRecordSets ?? []).filter((r) => r.Type === 'A');
  assert.deepEqual(weighted.map((r) => `${r.SetIdentifier}=${r.Weight}`).sort(), [
    'app-nlb=10',
    'app-octavia=90',
  ]);
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: records.map((r) => ({ Action: 'DELETE', ResourceRecordSet: r })) },
    }),
  );
  await r53.send(new DeleteHostedZoneCommand({ Id: zoneId }));
});

// The mirror's ports (ports.ts) on the real clients: OpenStack from the controller's clouds.yaml
// or a Secret, AWS from a Secret or the SDK's standard chain. Sessions and clients are cached
// per credentials, so a Keystone token and the AWS rate-limit buckets are shared between syncs
// and between mirrors of the same account. They are bound to what `rest` is bound to (the
// manager's rest: this replica's leadership), so a deposed leader's calls stop with its
// control-plane requests.
import { createHash } from 'node:crypto';
import type { Rest } from '../../runtime/rest.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import {
  createOctaviaClient,
  createSession,
  loadCloud,
  parseCloudsYaml,
  type OnCall as OsOnCall,
} from '../../clouds/openstack/index.js';
import { awsClients, type AwsClients } from '../../clouds/aws/clients.js';
import type { OnCall as AwsOnCall } from '../../clouds/aws/ratelimit.js';
import * as elbv2 from '../../clouds/aws/elbv2.js';
import * as route53 from '../../clouds/aws/route53.js';
import { subnetsOutside } from '../../clouds/aws/ec2.js';
import { loadBalancerName, targetGroupName } from '../../clouds/aws/names.js';
import { OCTAVIA_TAG, OWNER_TAG, type Action, type MirrorInput, type Naming } from './plan.js';
import type { Arns, AwsStackApi, DnsApi, MirrorClouds, OctaviaReader } from './ports.js';
import { readSecret, secretKey } from '../shared/secrets.js';
import { awsCredentials } from '../shared/awscredentials.js';

export const mirrorNaming = (m: MirrorInput): Naming => ({
  loadBalancer: () =>
    loadBalancerName({ namespace: m.namespace, name: m.name, scheme: m.scheme, vpcId: m.vpcId }),
  targetGroup: (tg) =>
    targetGroupName({
      namespace: m.namespace,
      name: m.name,
      key: 'listener',
      protocol: tg.protocol,
      port: tg.port,
      targetType: 'ip',
      vpcId: tg.vpcId,
    }),
});

/**
 * The cloud of a Secret's clouds.yaml: the one named, else its only one (the CRD's default).
 * Nothing comes from the controller's environment (its OS_CLOUD names its own clouds.yaml's).
 */
export function secretCloud(text: string, cloud: string | undefined, source: string) {
  return parseCloudsYaml(text, { ...(cloud && { cloud }), env: {}, source });
}

const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * The cloud an object's spec.octavia names (a LoadBalancerMirror's, a MirrorPolicy's): its
 * Secret's clouds.yaml, else the controller's own; and a key for a client cache per cloud.
 */
export async function octaviaCloud(
  rest: Rest,
  namespace: string,
  octavia: {
    cloud?: string;
    credentialsSecretRef?: { name: string; key?: string; cloud?: string };
  },
): Promise<{ cloud: ReturnType<typeof loadCloud>; key: string }> {
  const ref = octavia.credentialsSecretRef;
  const cloud = ref
    ? secretCloud(
        secretKey(
          await readSecret(rest, namespace, ref.name),
          ref.key ?? 'clouds.yaml',
          `${namespace}/${ref.name}`,
        ),
        ref.cloud,
        `Secret ${namespace}/${ref.name}`,
      )
    : loadCloud({ cloud: octavia.cloud });
  return { cloud, key: hash(cloud) };
}

export function realMirrorClouds(
  rest: Rest,
  hooks: { octavia?: OsOnCall; aws?: AwsOnCall } = {},
): MirrorClouds {
  const { signal } = rest;
  const octaviaClients = new Map<string, OctaviaReader>();
  const awsApis = new Map<string, { clients: AwsClients; api: AwsStackApi; dns: DnsApi }>();
  return {
    async octavia(m: LoadBalancerMirror): Promise<OctaviaReader> {
      const { cloud, key } = await octaviaCloud(
        rest,
        m.metadata.namespace ?? 'default',
        m.spec.octavia,
      );
      let client = octaviaClients.get(key);
      if (!client) {
        // The session reports every HTTP exchange (Keystone's too, and each retry), so the
        // client is given no hook of its own: with both, every Octavia call counted twice.
        client = createOctaviaClient(createSession(cloud, { onCall: hooks.octavia, signal }));
        octaviaClients.set(key, client);
      }
      return client;
    },
    async aws(m: LoadBalancerMirror): Promise<AwsStackApi> {
      return (await awsEntry(m)).api;
    },
    async route53(m: LoadBalancerMirror): Promise<DnsApi> {
      return (await awsEntry(m)).dns;
    },
  };

  async function awsEntry(m: LoadBalancerMirror) {
    const ref = m.spec.aws.credentialsSecretRef;
    const namespace = m.metadata.namespace ?? 'default';
    const credentials = await awsCredentials(rest, namespace, ref);
    const key = hash([m.spec.aws.region, credentials]);
    let entry = awsApis.get(key);
    if (!entry) {
      const clients = awsClients({
        region: m.spec.aws.region,
        credentials,
        onCall: hooks.aws,
        signal,
      });
      entry = { clients, api: stackApi(clients), dns: route53.route53Api(clients.route53) };
      awsApis.set(key, entry);
    }
    return entry;
  }
}

function stackApi({ elbv2: client, ec2 }: AwsClients): AwsStackApi {
  return {
    subnetsOutside: (vpcId, subnetIds) => subnetsOutside(ec2, vpcId, subnetIds),
    observe: (owner, vpcId, octaviaLoadBalancerId) =>
      elbv2.observeStack(client, {
        ownerTag: [OWNER_TAG, owner],
        vpcId,
        ...(octaviaLoadBalancerId && {
          related: [OCTAVIA_TAG, octaviaLoadBalancerId] as [string, string],
        }),
      }),
    observeKnown: (owner, known) =>
      elbv2.observeKnown(client, { ownerTag: [OWNER_TAG, owner], known }),
    targetHealth: (arn) => elbv2.describeTargetHealth(client, arn),
    apply: (action, arns) => applyAction(client, action, arns),
    deleteLoadBalancer: (arn) => elbv2.deleteLoadBalancer(client, arn),
    remaining: (arns) => elbv2.remaining(client, arns),
    async untag(arns, keys) {
      for (const arn of arns) await elbv2.removeTags(client, arn, keys);
    },
  };
}

async function applyAction(client: AwsClients['elbv2'], a: Action, arns: Arns): Promise<void> {
  const tgArn = (name: string) => {
    const arn = arns.targetGroups.get(name);
    if (!arn) throw new Error(`target group ${name} has no ARN yet`);
    return arn;
  };
  switch (a.kind) {
    case 'createLoadBalancer': {
      // createLoadBalancer sets the attributes too (and adopts an NLB of the same name).
      const lb = await elbv2.createLoadBalancer(client, a.loadBalancer);
      arns.loadBalancer = lb.arn;
      arns.dns = { dnsName: lb.dnsName, canonicalHostedZoneId: lb.canonicalHostedZoneId };
      return;
    }
    case 'setSubnets':
      return elbv2.setSubnets(client, a.arn, a.subnetIds);
    case 'setLoadBalancerAttributes':
      return elbv2.setLoadBalancerAttributes(client, a.arn, a.attributes);
    case 'retag':
      await elbv2.addTags(client, a.arn, a.add);
      await elbv2.removeTags(client, a.arn, a.remove);
      return;
    case 'createTargetGroup':
      arns.targetGroups.set(
        a.targetGroup.name,
        await elbv2.createTargetGroup(client, a.targetGroup),
      );
      return;
    case 'modifyHealthCheck':
      return elbv2.modifyTargetGroup(client, tgArn(a.targetGroup), a.healthCheck);
    case 'setTargetGroupAttributes':
      return elbv2.setTargetGroupAttributes(client, tgArn(a.targetGroup), a.attributes, a.protocol);
    case 'registerTargets':
      return elbv2.registerTargets(client, tgArn(a.targetGroup), a.targets);
    case 'deregisterTargets':
      return elbv2.deregisterTargets(client, tgArn(a.targetGroup), a.targets);
    case 'createListener': {
      if (!arns.loadBalancer) throw new Error('listener before its load balancer');
      await elbv2.createListener(client, arns.loadBalancer, {
        port: a.listener.port,
        protocol: a.listener.protocol,
        targetGroupArn: tgArn(a.listener.targetGroup),
        targetGroupProtocol: a.targetGroupProtocol,
        tags: a.listener.tags,
      });
      return;
    }
    case 'modifyListener':
      return elbv2.modifyListener(client, a.arn, {
        targetGroupArn: tgArn(a.targetGroup),
        protocol: a.protocol,
        targetGroupProtocol: a.targetGroupProtocol,
      });
    case 'deleteListener':
      return elbv2.deleteListener(client, a.arn);
    case 'deleteTargetGroup':
      return elbv2.deleteTargetGroup(client, a.arn);
  }
}

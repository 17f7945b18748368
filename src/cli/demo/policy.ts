// The demo's "an LB comes with an NLB": a MirrorPolicy selecting the tag kachiku-mirror, listening
// to Octavia's notifications on the lab's RabbitMQ; a new load balancer created with that tag
// gets its mirror from Octavia's create.end (the policy lists Octavia only every 10 minutes),
// then its NLB.
import type { Rest } from '../../runtime/rest.js';
import { isAlreadyExists } from '../../runtime/rest.js';
import { until } from '../../runtime/wait.js';
import { secretGvr } from '../../runtime/core.js';
import { POLICY_LABEL, type MirrorPolicy } from '../../api/mirrorpolicy.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { policyGvr } from '../../controllers/mirrorpolicy/reconciler.js';
import { mirrorGvr } from '../../controllers/loadbalancermirror/reconciler.js';
import { grantSecretReader, untilMirrorReady } from './support.js';
import type { LabState } from '../../../lab/src/state.js';
import { OctaviaBuilder } from '../../../lab/src/octavia.js';

const NAMESPACE = 'demo';
const TAG = 'kachiku-mirror';
const POLICY = 'tagged';

export async function policyDemo(
  lab: LabState,
  rest: Rest,
  print: (line: string) => void,
): Promise<void> {
  const os = lab.openstack!;
  const aws = lab.aws!;
  print('\n— Defend, by itself: every load balancer tagged kachiku-mirror gets an NLB —');
  // The broker's URL is a credential: a Secret, readable by kachiku in this namespace only.
  await grantSecretReader(rest, NAMESPACE);
  await rest
    .create(secretGvr, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'octavia-notifications', namespace: NAMESPACE },
      stringData: { url: os.rabbitmqUrl },
    })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
  const policy: MirrorPolicy = {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MirrorPolicy',
    metadata: { name: POLICY, namespace: NAMESPACE },
    spec: {
      octavia: { cloud: os.cloud, selector: { tags: [TAG] } },
      template: {
        aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
        syncInterval: '10s',
      },
      listInterval: '10m',
      notifications: { secretRef: { name: 'octavia-notifications' } },
    },
  };
  await rest.create(policyGvr, policy).catch((e) => {
    if (!isAlreadyExists(e)) throw e;
  });
  print(
    `MirrorPolicy ${NAMESPACE}/${POLICY}: Octavia load balancers tagged ${TAG}, notified over AMQP (Octavia's messagingv2 notifications), listed only every 10 m`,
  );
  // Listening before the load balancer is made: its create.end must not come first.
  await until(
    'the policy listed and listening',
    async () => {
      const p = await rest.get<MirrorPolicy>(policyGvr, NAMESPACE, POLICY);
      const listening = p.status?.conditions?.some(
        (c) => c.type === 'Notifications' && c.status === 'True',
      );
      return p.status?.lastListTime && listening ? p : undefined;
    },
    60_000,
    250,
  );

  const octavia = new OctaviaBuilder(os);
  const name = 'demo-api';
  let lbId = await octavia.findLoadBalancer(name);
  const made = !lbId;
  if (!lbId) {
    // Returns once Octavia says ACTIVE: create.end has been sent.
    lbId = await octavia.loadBalancer(name, { tags: [TAG] });
  }
  const t0 = Date.now();
  print(
    `Octavia load balancer ${name} (${lbId}) ${made ? 'created' : 'already there'} with tag ${TAG}`,
  );
  const mirror = await until(
    'its mirror',
    async () => {
      const list = await rest.list<LoadBalancerMirror>(mirrorGvr, NAMESPACE, {
        labelSelector: `${POLICY_LABEL}=${POLICY}`,
      });
      return list.items.find((m) => m.spec.octavia.loadBalancerID === lbId);
    },
    60_000,
    100,
  );
  print(
    `… LoadBalancerMirror ${NAMESPACE}/${mirror.metadata.name} made by the policy ${((Date.now() - t0) / 1000).toFixed(1)} s later (from the notification, not the 10 m list)`,
  );
  const ready = await untilMirrorReady(
    rest,
    NAMESPACE,
    mirror.metadata.name,
    'the policy-made mirror to be Ready',
  );
  print(
    `… Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the load balancer: NLB ${ready.status?.loadBalancer?.dnsName}`,
  );
  const p = await rest.get<MirrorPolicy>(policyGvr, NAMESPACE, POLICY);
  print(
    `  policy status: ${p.status?.matched ?? 0} load balancers matched, ${p.status?.mirrors ?? 0} mirrors, ${p.status?.conflicts?.length ?? 0} conflicts`,
  );
}

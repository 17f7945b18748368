// The demo of the first pillar: a sample load balancer in the lab's Octavia, kachiku's
// controller running, a LoadBalancerMirror applied; the NLB, its targets and the mirror's
// status shown; then a member added in Octavia appearing in AWS.
import { KubeConfig } from '@kubernetes/client-node';
import { Manager } from '../../runtime/manager.js';
import { Rest, isAlreadyExists } from '../../runtime/rest.js';
import { newLogger } from '../../runtime/log.js';
import { controllers } from '../../controllers/index.js';
import { mirrorGvr } from '../../controllers/loadbalancermirror/reconciler.js';
import { OWNER_TAG } from '../../controllers/loadbalancermirror/plan.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { awsClients } from '../../clouds/aws/clients.js';
import { observeStack } from '../../clouds/aws/elbv2.js';
import { applyCrds } from '../crds.js';
import { dnsDemo } from './dns.js';
import { policyDemo } from './policy.js';
import { untilMirrorReady } from './support.js';
import type { LabState } from '../../../lab/src/state.js';
import { awsEnv } from '../../../lab/src/parts/aws.js';
import { openstackEnv } from '../../../lab/src/parts/openstack.js';
import { OctaviaBuilder } from '../../../lab/src/octavia.js';
import { until } from '../../runtime/wait.js';
import { namespaceGvr } from '../../runtime/core.js';
import { CONTROLLER_NAMESPACE, SERVICE_ACCOUNT } from '../../api/rbac.js';
import { CONTROLLER_NAME } from '../../api/kind.js';

const NAMESPACE = 'demo';

/**
 * Runs the scenario; returns the running controller (every kachiku controller, for the demos
 * after this one) and its stop function.
 */
export async function mirrorDemo(
  lab: LabState,
  print: (line: string) => void,
): Promise<{ mgr: Manager; stop: () => Promise<void> }> {
  const os = lab.openstack!;
  const aws = lab.aws!;
  const cp = lab.kube!.clusters.find((c) => c.role === 'control-plane')!;
  // The controller finds OpenStack and AWS the standard way, as it would in a cluster.
  Object.assign(process.env, openstackEnv(os), awsEnv(aws));
  const config = new KubeConfig();
  config.loadFromFile(cp.kubeconfig);
  const rest = new Rest(config);

  print('\n— Defend: an Octavia load balancer mirrored as an AWS NLB —');
  await applyCrds(config);
  const octavia = new OctaviaBuilder(os);
  let lbId = await octavia.findLoadBalancer('demo-web');
  if (!lbId) {
    lbId = await octavia.loadBalancer('demo-web');
    const listener = await octavia.listener(lbId, 'HTTP', 80);
    const pool = await octavia.pool(lbId, listener, 'HTTP');
    for (const address of ['192.168.100.11', '192.168.100.12'])
      await octavia.member(lbId, pool, { address, protocol_port: 8080 });
    await octavia.healthMonitor(lbId, pool, {
      type: 'HTTP',
      delay: 10,
      timeout: 5,
      max_retries: 3,
      url_path: '/healthz',
    });
  }
  const tree = await octavia.call('GET', `/pools?loadbalancer_id=${lbId}`);
  const poolId = ((tree.body.pools as { id: string }[] | undefined) ?? [])[0]?.id ?? '';
  print(
    `Octavia load balancer demo-web (${lbId}): HTTP 80 → pool of 192.168.100.11:8080, 192.168.100.12:8080, HTTP health monitor`,
  );

  // kachiku runs as it does in a cluster: its ServiceAccount's token, bound to deploy/rbac only.
  const identity = new KubeConfig();
  identity.loadFromFile(cp.kachikuKubeconfig ?? cp.kubeconfig);
  const mgr = new Manager({
    config: identity,
    name: CONTROLLER_NAME,
    log: newLogger('warn'),
    metricsAddress: '127.0.0.1:0',
    healthAddress: '127.0.0.1:0',
  });
  for (const c of controllers) c.register(mgr, { secretNamespaces: [CONTROLLER_NAMESPACE] });
  const stop = new AbortController();
  const running = mgr.run(stop.signal);
  await until('the controller', async () => mgr.address('health'), 10_000, 250);
  print(
    `kachiku controller running as ServiceAccount ${CONTROLLER_NAMESPACE}/${SERVICE_ACCOUNT} (token kubeconfig ${cp.kachikuKubeconfig}, RBAC of deploy/rbac): http://${mgr.address('metrics')}/metrics, http://${mgr.address('health')}/healthz`,
  );

  await rest
    .create(namespaceGvr, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } })
    .catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
  const mirror: LoadBalancerMirror = {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name: 'web', namespace: NAMESPACE },
    spec: {
      octavia: { loadBalancerID: lbId, cloud: os.cloud },
      aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
      syncInterval: '10s',
    },
  };
  await rest.create(mirrorGvr, mirror).catch((e) => {
    if (!isAlreadyExists(e)) throw e;
  });
  const t0 = Date.now();
  print(
    `LoadBalancerMirror ${NAMESPACE}/web applied (only the Octavia UUID, the VPC and its subnets)`,
  );
  const ready = await untilMirrorReady(rest, NAMESPACE, 'web', 'the mirror to be Ready');
  print(
    `Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: NLB ${ready.status?.loadBalancer?.dnsName}`,
  );

  const clients = awsClients({ region: aws.region });
  const showTargets = async () => {
    const stack = await observeStack(clients.elbv2, {
      ownerTag: [OWNER_TAG, `${NAMESPACE}/web`],
      vpcId: aws.vpc.id,
    });
    for (const tg of stack.targetGroups) {
      const listener = stack.listeners.find((l) => l.targetGroupArn === tg.arn);
      print(
        `  listener ${listener?.protocol} ${listener?.port} → target group ${tg.name}, ${tg.healthCheck.protocol} check ${tg.healthCheck.path ?? ''}: ${tg.targets.map((t) => `${t.ip}:${t.port}`).join(', ')}`,
      );
    }
    return stack;
  };
  await showTargets();
  for (const n of ready.status?.notMirrored ?? [])
    print(`  not mirrored as it is: ${n.feature}: ${n.reason}`);

  print('Adding member 192.168.100.13:8080 in Octavia …');
  await octavia.member(lbId, poolId, { address: '192.168.100.13', protocol_port: 8080 });
  const t1 = Date.now();
  await until(
    'the new member in AWS',
    async () => {
      const stack = await observeStack(clients.elbv2, {
        ownerTag: [OWNER_TAG, `${NAMESPACE}/web`],
        vpcId: aws.vpc.id,
      });
      return stack.targetGroups.some((tg) => tg.targets.some((t) => t.ip === '192.168.100.13'))
        ? true
        : undefined;
    },
    60_000,
    250,
  );
  print(
    `… registered in the NLB ${((Date.now() - t1) / 1000).toFixed(1)} s later (sync interval 10 s):`,
  );
  await showTargets();
  await dnsDemo(rest, clients, print);
  await policyDemo(lab, rest, print);
  print(`See it yourself: KUBECONFIG=${cp.kubeconfig} kubectl get lbm -n ${NAMESPACE} -o wide`);
  return {
    mgr,
    stop: async () => {
      stop.abort();
      await running;
      clients.destroy();
    },
  };
}

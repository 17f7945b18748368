// The set-up of the tests of the mirror controllers (LoadBalancerMirror, MirrorPolicy): the lab's
// OpenStack and AWS exported as the controllers find them (clouds.yaml and the AWS settings), the
// control plane, and kachiku replicas run in the test's process as kachiku's ServiceAccount.
import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { CreateHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { Rest } from '../../src/runtime/rest.js';
import { Manager } from '../../src/runtime/manager.js';
import { newLogger, type Logger } from '../../src/runtime/log.js';
import { applyCrds } from '../../src/cli/crds.js';
import { CONTROLLER_NAME } from '../../src/api/kind.js';
import { awsEnv } from '../../lab/src/parts/aws.js';
import { OctaviaBuilder } from '../../lab/src/octavia.js';
import type { LabState } from '../../lab/src/state.js';
import { labState } from './lab.js';
import { controlPlaneConfig, grantSecrets, kachikuConfig, testNamespace } from './kube.js';

export interface MirrorLab {
  lab: LabState;
  aws: NonNullable<LabState['aws']>;
  os: NonNullable<LabState['openstack']>;
  config: KubeConfig;
  rest: Rest;
  octavia: OctaviaBuilder;
}

/** The lab, its OpenStack and AWS settings put in this process's environment. */
export function mirrorLab(): MirrorLab {
  const lab = labState();
  const aws = lab.aws!;
  const os = lab.openstack!;
  Object.assign(process.env, awsEnv(aws), { OS_CLIENT_CONFIG_FILE: os.cloudsYaml });
  const config = controlPlaneConfig();
  return { lab, aws, os, config, rest: new Rest(config), octavia: new OctaviaBuilder(os) };
}

/** kachiku's CRDs and a namespace of the test's own whose Secrets kachiku may read. */
export async function kachikuNamespace(
  rest: Rest,
  config: KubeConfig,
  prefix: string,
): Promise<string> {
  await applyCrds(config);
  const ns = await testNamespace(rest, prefix);
  await grantSecrets(rest, ns);
  return ns;
}

/** A kachiku replica's Manager for `namespace`, as kachiku's ServiceAccount (TEST_LOG=debug logs). */
export function kachikuManager(
  namespace: string,
  log: Logger = newLogger(process.env.TEST_LOG ? 'debug' : 'silent'),
): Manager {
  return new Manager({ name: CONTROLLER_NAME, config: kachikuConfig(), namespace, log });
}

/** A Route 53 hosted zone of the test's own, `<namespace>.example.com`. */
export async function testZone(
  r53: Route53Client,
  namespace: string,
): Promise<{ zoneId: string; zoneName: string }> {
  const zoneName = `${namespace}.example.com`;
  const zone = await r53.send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: randomUUID() }),
  );
  return { zoneId: zone.HostedZone!.Id!.replace('/hostedzone/', ''), zoneName };
}

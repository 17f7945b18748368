// The lab's AWS: moto_server (pinned, from PyPI, in a venv in the cache) serving every service on
// one port, with a VPC and a subnet in each of two availability zones created at start. The
// endpoint and credentials are written as an AWS shared config/credentials pair, so the SDK's
// standard settings (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, endpoint_url) pick them up.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import type { PartContext, PartHealth } from '../part.js';
import { freePort } from '../ports.js';
import { waitUntil } from '../proc.js';
import { ok } from '../http.js';

const PART = 'aws';

export interface AwsState {
  endpoint: string;
  region: string;
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  configFile: string;
  credentialsFile: string;
  vpc: { id: string; cidr: string };
  subnets: { id: string; cidr: string; availabilityZone: string }[];
}

export async function startAws(lab: PartContext): Promise<AwsState> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const moto = lab.start({
    name: 'moto',
    part: PART,
    command: join(lab.cache, 'venv-moto', 'bin', 'moto_server'),
    args: ['-H', '127.0.0.1', '-p', String(port)],
  });
  await waitUntil(PART, 'moto_server', () => ok(`${endpoint}/moto-api/`), {
    proc: moto,
    timeoutMs: 60_000,
  });

  const state: AwsState = {
    endpoint,
    region: 'us-east-1',
    accountId: '123456789012',
    accessKeyId: 'kachiku-lab',
    secretAccessKey: 'kachiku-lab-secret',
    configFile: lab.path('aws', 'config'),
    credentialsFile: lab.path('aws', 'credentials'),
    vpc: { id: '', cidr: '10.20.0.0/16' },
    subnets: [],
  };
  writeFileSync(
    state.configFile,
    `[default]\nregion = ${state.region}\nendpoint_url = ${endpoint}\n`,
  );
  writeFileSync(
    state.credentialsFile,
    `[default]\naws_access_key_id = ${state.accessKeyId}\naws_secret_access_key = ${state.secretAccessKey}\n`,
    { mode: 0o600 },
  );

  const ec2 = new EC2Client({
    endpoint,
    region: state.region,
    credentials: { accessKeyId: state.accessKeyId, secretAccessKey: state.secretAccessKey },
  });
  try {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: state.vpc.cidr }));
    state.vpc.id = vpc.Vpc?.VpcId ?? '';
    await ec2.send(
      new CreateTagsCommand({
        Resources: [state.vpc.id],
        Tags: [{ Key: 'Name', Value: 'kachiku-lab' }],
      }),
    );
    for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries()) {
      const cidr = `10.20.${i}.0/24`;
      const subnet = await ec2.send(
        new CreateSubnetCommand({ VpcId: state.vpc.id, CidrBlock: cidr, AvailabilityZone: az }),
      );
      state.subnets.push({ id: subnet.Subnet?.SubnetId ?? '', cidr, availabilityZone: az });
    }
  } finally {
    ec2.destroy();
  }
  return state;
}

export async function awsHealth(s: AwsState): Promise<PartHealth[]> {
  const up = await ok(`${s.endpoint}/moto-api/`).catch(() => false);
  return [
    {
      part: 'aws (moto)',
      ok: up,
      detail: `${s.endpoint} vpc ${s.vpc.id} subnets ${s.subnets.map((x) => x.id).join(',')}`,
    },
  ];
}

export function awsEnv(s: AwsState): Record<string, string> {
  return {
    AWS_CONFIG_FILE: s.configFile,
    AWS_SHARED_CREDENTIALS_FILE: s.credentialsFile,
    AWS_ENDPOINT_URL: s.endpoint,
    AWS_REGION: s.region,
  };
}

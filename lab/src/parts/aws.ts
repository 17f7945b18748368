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

  // Seeded before anything is made, so that restartMoto (lab.ts) makes the same ids again.
  await seedMoto(endpoint);
  const network = await createNetwork(state);
  state.vpc.id = network.vpc.id;
  state.subnets = network.subnets;
  return state;
}

/**
 * moto draws every id from one random generator, which its API can seed: the same seed and the
 * same calls after it give the same ids. lab up seeds it before making the VPC and subnets.
 */
const MOTO_SEED = 4242;

async function seedMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/seed?a=${MOTO_SEED}`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto seed: ${res.status} ${await res.text()}`);
}

/** The lab's VPC and its two subnets, made in a moto that was just seeded. */
async function createNetwork(state: AwsState): Promise<Pick<AwsState, 'vpc' | 'subnets'>> {
  const out: Pick<AwsState, 'vpc' | 'subnets'> = {
    vpc: { id: '', cidr: state.vpc.cidr },
    subnets: [],
  };
  const ec2 = new EC2Client({
    endpoint: state.endpoint,
    region: state.region,
    credentials: { accessKeyId: state.accessKeyId, secretAccessKey: state.secretAccessKey },
  });
  try {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: out.vpc.cidr }));
    out.vpc.id = vpc.Vpc?.VpcId ?? '';
    await ec2.send(
      new CreateTagsCommand({
        Resources: [out.vpc.id],
        Tags: [{ Key: 'Name', Value: 'kachiku-lab' }],
      }),
    );
    for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries()) {
      const cidr = `10.20.${i}.0/24`;
      const subnet = await ec2.send(
        new CreateSubnetCommand({ VpcId: out.vpc.id, CidrBlock: cidr, AvailabilityZone: az }),
      );
      out.subnets.push({ id: subnet.Subnet?.SubnetId ?? '', cidr, availabilityZone: az });
    }
  } finally {
    ec2.destroy();
  }
  return out;
}

/**
 * After moto restarted (its state lost): the lab's VPC and subnets made again, with the ids
 * the lab recorded, so that what names them (mirrors' specs) still holds. Everything else made
 * in moto is gone, as a test of lost state wants.
 */
export async function restoreAwsNetwork(state: AwsState): Promise<void> {
  await waitUntil(PART, 'moto_server', () => ok(`${state.endpoint}/moto-api/`), {
    timeoutMs: 60_000,
  });
  await seedMoto(state.endpoint);
  const again = await createNetwork(state);
  const want = [state.vpc.id, ...state.subnets.map((s) => s.id)].join(',');
  const got = [again.vpc.id, ...again.subnets.map((s) => s.id)].join(',');
  if (want !== got)
    throw new Error(
      `moto restarted, but the lab's network came back as ${got}, not ${want}: was the lab made before moto was seeded? lab up again`,
    );
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

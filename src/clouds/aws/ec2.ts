// EC2 reads the NLB mirror needs: which subnets really are in a VPC.
import { DescribeSubnetsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { call } from './errors.js';

/** The ids among `subnetIds` that are not subnets of `vpcId` (unknown ones included). */
export async function subnetsOutside(
  ec2: EC2Client,
  vpcId: string,
  subnetIds: string[],
): Promise<string[]> {
  const found = await call('DescribeSubnets', () =>
    ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })),
  );
  const inside = new Set((found.Subnets ?? []).map((s) => s.SubnetId));
  return subnetIds.filter((id) => !inside.has(id));
}

// AWS credentials named by a kachiku object (a mirror's spec.aws, a Router's spec.route53): a
// Secret in its namespace with the SDK's variable names, or none (the SDK's standard chain).
import type { Rest } from '../../runtime/rest.js';
import type { AwsCredentials } from '../../clouds/aws/clients.js';
import { readSecret, secretKey } from './secrets.js';

export async function awsCredentials(
  rest: Rest,
  namespace: string,
  ref: { name: string } | undefined,
): Promise<AwsCredentials | undefined> {
  if (!ref) return undefined;
  const data = await readSecret(rest, namespace, ref.name);
  const where = `${namespace}/${ref.name}`;
  return {
    accessKeyId: secretKey(data, 'AWS_ACCESS_KEY_ID', where),
    secretAccessKey: secretKey(data, 'AWS_SECRET_ACCESS_KEY', where),
    ...(data.AWS_SESSION_TOKEN ? { sessionToken: data.AWS_SESSION_TOKEN } : {}),
  };
}

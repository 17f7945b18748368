// A kubeconfig exec credential plugin for the lab's member clusters, the way EKS kubeconfigs run
// `aws eks get-token`: prints an ExecCredential (client.authentication.k8s.io/v1) holding a fresh
// token of a ServiceAccount, minted with the TokenRequest API through an admin kubeconfig.
//   node exec-token.js --kubeconfig ADMIN --service-account NAMESPACE/NAME
// KACHIKU_EXEC_TTL_SECONDS: the expiry to report (default: the token's own, 10 minutes);
// KACHIKU_EXEC_LOG: a file that gets one line per run (time, and the reported expiry).
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { restFor, serviceAccountToken } from './identities.js';

const { values } = parseArgs({
  options: { kubeconfig: { type: 'string' }, 'service-account': { type: 'string' } },
});
const [namespace, name] = (values['service-account'] ?? '').split('/');
if (!values.kubeconfig || !namespace || !name) {
  process.stderr.write('usage: exec-token --kubeconfig PATH --service-account NAMESPACE/NAME\n');
  process.exit(2);
}
try {
  const rest = restFor(values.kubeconfig);
  const token = await serviceAccountToken(rest, namespace, name, 600);
  await rest.close();
  const ttl = Number(process.env.KACHIKU_EXEC_TTL_SECONDS ?? 0);
  const expirationTimestamp = ttl
    ? new Date(Date.now() + ttl * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    : token.expirationTimestamp;
  if (process.env.KACHIKU_EXEC_LOG)
    appendFileSync(
      process.env.KACHIKU_EXEC_LOG,
      `${new Date().toISOString()} ${expirationTimestamp}\n`,
    );
  process.stdout.write(
    JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: token.token, expirationTimestamp },
    }) + '\n',
  );
} catch (err) {
  process.stderr.write(`exec-token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
